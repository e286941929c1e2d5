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
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import _check_positive_int, input_dropout

__all__ = ["TabMNet", "TABM_ARCH_TYPES"]

#: ``tabm``'s architectures: ``tabm`` (BatchEnsemble in every layer, the paper's default),
#: ``tabm-mini`` (one per-member scaling of the input, the rest shared), ``tabm-packed`` (k
#: independent MLPs).
TABM_ARCH_TYPES = ("tabm", "tabm-mini", "tabm-packed")

# our activation names -> torch.nn class names (what tabm takes)
_ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "silu": "SiLU", "elu": "ELU", "selu": "SELU",
                "leaky_relu": "LeakyReLU", "tanh": "Tanh"}


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
        import tabm

        self.input_dropout = input_dropout(keep_ratio)
        self.d_out = int(d_out)
        self.tabm = tabm.TabM.make(
            n_num_features=int(d_in), d_out=int(d_out), k=int(k), n_blocks=int(n_blocks), d_block=int(d_block),
            dropout=float(dropout), activation=_ACTIVATIONS[activation], arch_type=arch_type,
        )

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
