"""TabM (Gorishniy et al., ICLR 2025): one network that is an ensemble of ``k`` MLPs.

The model itself is the ``tabm`` package's reference implementation (``tabm.TabM``: BatchEnsemble
linear layers with shared weights and per-member scalings, the paper's initialisation); this
module only adapts it to the workflow's training loop and explainers:

- **Training** (``module.train()``): the output is ``(batch, k, d_out)``, one prediction per
  member. :func:`genoml_core.models.training.fit_supervised` averages the loss over the ``k`` members
  (each member sees the same batch), as in the paper.
- **Inference** (``module.eval()``): the output is the ensemble's prediction, ``(batch, d_out)``:
  for a classifier the log of the members' mean class probabilities (a valid logit vector:
  ``softmax(log p) = p``), for a regression the members' mean. So early stopping watches the
  ensemble, not single members, and prediction, calibration and gradient SHAP see one ordinary
  network.

AutoGenome's input keep ratio is applied as dropout on the inputs, as for the other networks.

Two changes of cost, not of the model, for training on the CPU (BENCHMARKS.md): the package's
hidden-layer ``nn.Dropout`` modules are replaced by
:class:`~genoml_core.models.nn.blocks.ByteMaskDropout` (a mask from random bytes; dropout over
``batch x k x d_block`` elements was a fifth of a float32 step), and under bf16 autocast
(``cpu_bf16``) the first layer scales its weights per member rather than its input
(:class:`_ScaledWeightsLinearBatchEnsemble`).
"""

from __future__ import annotations

import tabm
import torch
from torch import Tensor, nn

from .blocks import ByteMaskDropout, _check_positive_int, input_dropout

__all__ = ["TabMNet", "TABM_ARCH_TYPES"]

#: ``tabm``'s architectures: ``tabm`` (BatchEnsemble in every layer, the paper's default),
#: ``tabm-mini`` (one per-member scaling of the input, the rest shared), ``tabm-packed`` (k
#: independent MLPs).
TABM_ARCH_TYPES = ("tabm", "tabm-mini", "tabm-packed")

# our activation names -> torch.nn class names (what tabm takes)
_ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "silu": "SiLU", "elu": "ELU", "selu": "SELU",
                "leaky_relu": "LeakyReLU", "tanh": "Tanh"}


class _ScaledWeightsLinearBatchEnsemble(tabm.LinearBatchEnsemble):
    """TabM's first layer, ``((x * r_i) @ W.T) * s_i + b_i`` for each member ``i``, cheaper under
    CPU bf16 autocast.

    Every member sees the same input row (``x`` is one row expanded to ``k``), so
    ``(x * r_i) @ W.T = x @ (W * r_i).T``: the layer forms the ``k`` scaled weight matrices
    (``k x d_out x d_in``) in bf16 and multiplies the batch by all of them at once. That replaces
    the ``batch x k x d_in`` scaled input (the largest elementwise cost of a step) by ``k x d_out x
    d_in`` scaled weights (half as many at batch 256 and width 128), and its backward needs one
    matrix product instead of two (the gradient of the scaled weights; the input needs none). When
    the members' inputs differ, ``x * r_i`` is formed in bf16 instead. Outputs agree with the
    package's bf16 forward to rounding; without CPU autocast (float32 training, evaluation, CUDA)
    this is the package's forward. The parameters are the package's, so model files are unchanged.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
            return super().forward(x)
        dtype = torch.get_autocast_dtype("cpu")
        if x.stride(1) == 0:  # one row per sample, expanded to the k members
            k, d_in = self.r.shape
            weights = self.weight.to(dtype)[None] * self.r.to(dtype)[:, None, :]  # (k, d_out, d_in)
            x = (x[:, 0].to(dtype) @ weights.reshape(-1, d_in).T).view(x.shape[0], k, -1)
        else:
            x = (x.to(dtype) * self.r.to(dtype)) @ self.weight.T
        x = x * self.s
        return x if self.bias is None else x + self.bias


class TabMNet(nn.Module):
    """TabM for ``(batch, d_in)`` numeric inputs (see the module docstring).

    Args:
        d_in: number of input features.
        d_out: number of outputs (classes for a classifier, 1 for a regression). With
            ``d_out == 1`` the members' outputs are averaged; otherwise their softmax
            probabilities are.
        k: number of ensemble members (the paper: 32).
        n_blocks: hidden layers of each member (the paper's default without embeddings: 3).
        d_block: width of the hidden layers (the paper's default: 512).
        dropout: dropout after each hidden activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        activation: one of ``relu gelu silu elu selu leaky_relu tanh``.
        arch_type: one of :data:`TABM_ARCH_TYPES`.

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, k, d_out)`` in training mode, ``(batch, d_out)`` in eval mode.

    Example:
        >>> import torch
        >>> net = TabMNet(d_in=20, d_out=3, k=4, n_blocks=2, d_block=16)
        >>> tuple(net.train()(torch.randn(8, 20)).shape), tuple(net.eval()(torch.randn(8, 20)).shape)
        ((8, 4, 3), (8, 3))
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        k: int = 32,
        n_blocks: int = 3,
        d_block: int = 512,
        dropout: float = 0.1,
        keep_ratio: float = 1.0,
        activation: str = "relu",
        arch_type: str = "tabm",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out, k=k, n_blocks=n_blocks, d_block=d_block)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{activation=} must be one of {tuple(_ACTIVATIONS)}")
        if arch_type not in TABM_ARCH_TYPES:
            raise ValueError(f"{arch_type=} must be one of {TABM_ARCH_TYPES}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{dropout=} must be in [0, 1)")
        self.input_dropout = input_dropout(keep_ratio)
        self.d_out = int(d_out)
        self.tabm = tabm.TabM.make(
            n_num_features=int(d_in), d_out=int(d_out), k=int(k), n_blocks=int(n_blocks), d_block=int(d_block),
            dropout=float(dropout), activation=_ACTIVATIONS[activation], arch_type=arch_type,
        )
        # the hidden layers' dropout, over batch x k x d_block elements, with a cheaper mask
        for block in self.tabm.backbone.blocks:
            if not isinstance(block[-1], nn.Dropout):  # tabm's block layout changed: say so, do not guess
                raise RuntimeError(f"tabm's MLP block no longer ends with nn.Dropout: {block}")
            block[-1] = ByteMaskDropout(float(dropout))
        first = self.tabm.backbone.blocks[0][0]
        if type(first) is tabm.LinearBatchEnsemble:  # arch "tabm": same parameters, cheaper bf16 forward
            first.__class__ = _ScaledWeightsLinearBatchEnsemble

    @property
    def k(self) -> int:
        return int(self.tabm.k)

    def forward(self, x: Tensor) -> Tensor:
        out = self.tabm(self.input_dropout(x))  # (batch, k, d_out)
        if self.training:
            return out
        if self.d_out == 1:
            return out.mean(dim=1)
        # log of the mean probability, computed stably: logsumexp over members of log-softmax - log k
        logp = torch.log_softmax(out.float(), dim=-1)
        return torch.logsumexp(logp, dim=1) - torch.log(torch.tensor(float(out.shape[1]), device=out.device))
