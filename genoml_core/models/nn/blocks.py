"""Building blocks shared by the AutoGenome networks: the FC unit and its residual form.

AutoGenome (Liu et al. 2021) builds every network from one "FC unit": a fully connected layer,
batch normalisation and an activation. Each activation here is its own module instance and
nothing runs in place, so SHAP's ``DeepExplainer`` can hook every non-linearity exactly.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "make_activation", "input_dropout", "ByteMaskDropout", "FCUnit", "ResidualFCUnit"]

#: Activation names accepted by :class:`FCUnit`.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh")


def make_activation(activation: str) -> nn.Module:
    """Return a new, not-in-place activation module.

    Args:
        activation: one of :data:`ACTIVATIONS`.

    Raises:
        ValueError: for an unknown name.

    Example:
        >>> make_activation("relu")
        ReLU()
    """
    if activation == "relu":
        return nn.ReLU(inplace=False)
    if activation == "leaky_relu":
        return nn.LeakyReLU(inplace=False)
    if activation == "elu":
        return nn.ELU(inplace=False)
    if activation == "gelu":
        return nn.GELU()
    if activation == "selu":
        return nn.SELU(inplace=False)
    if activation == "silu":
        return nn.SiLU(inplace=False)
    if activation == "tanh":
        return nn.Tanh()
    raise ValueError(f"{activation=} must be one of {ACTIVATIONS}")


def input_dropout(keep_ratio: float) -> nn.Module:
    """AutoGenome's first-layer keep ratio as dropout on the input (p = 1 - keep_ratio).

    Args:
        keep_ratio: the fraction of input features kept, in (0, 1]; 1 gives ``nn.Identity``.

    Raises:
        ValueError: when ``keep_ratio`` is outside (0, 1].

    Example:
        >>> input_dropout(0.8)
        Dropout(p=0.2, inplace=False)
    """
    _check_keep_ratio(keep_ratio)
    # NOTE[DIFF]: AutoGenome tunes a keep probability on its first layer; here it drops input
    # features (p = 1 - keep_ratio), which is what a keep ratio on the first layer's input does.
    if keep_ratio == 1.0:
        return nn.Identity()
    return nn.Dropout(p=round(1.0 - keep_ratio, 12), inplace=False)


class _ByteMaskDropoutFn(torch.autograd.Function):
    """``x * keep / (1 - p)``, ``keep`` from random bytes; the scaled mask is kept for backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, threshold: int) -> Tensor:
        n = x.numel()
        # 32 random bits per draw give 4 random bytes: a quarter of the generator calls of rand
        words = torch.randint(-(2**31), 2**31, ((n + 3) // 4,), dtype=torch.int32, device=x.device)
        keep = words.view(torch.uint8)[:n].view(x.shape).ge(threshold).to(x.dtype)
        keep.mul_(256.0 / (256 - threshold))
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (keep,) = ctx.saved_tensors
        return grad * keep, None


class ByteMaskDropout(nn.Module):
    """Dropout whose mask comes from random bytes rather than ``bernoulli_`` (on the CPU).

    Each element is dropped when a uniform random byte is below ``round(256 p)``, so the drop
    probability is ``p`` rounded to a multiple of 1/256 (0.1 -> 0.1016, reported by
    :attr:`p_effective`), and kept elements are scaled by ``1 / (1 - p_effective)``: the
    expectation is unchanged, as with ``nn.Dropout``. The identity in eval mode. On CUDA it calls
    ``F.dropout`` (a fused kernel) with ``p``.

    Why: in TabM's hidden layers dropout covers ``batch x k x d_block`` elements, and
    ``bernoulli_`` on 256 x 32 x 128 took 6.1 ms on 2 cores against 1.5 ms for this mask, a
    fifth of a float32 training step (BENCHMARKS.md).

    Example:
        >>> import torch
        >>> drop = ByteMaskDropout(0.25).train()
        >>> y = drop(torch.ones(100_000))
        >>> sorted(set(y.tolist())), drop.p_effective, abs(float((y == 0).float().mean()) - 0.25) < 0.01
        ([0.0, 1.3333333730697632], 0.25, True)
        >>> drop.eval()(torch.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        _check_dropout(p)
        self.p = float(p)
        self.threshold = min(255, int(round(256 * self.p)))

    @property
    def p_effective(self) -> float:
        """The drop probability applied on the CPU: ``round(256 p) / 256``."""
        return self.threshold / 256

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.is_cuda:
            return F.dropout(x, self.p, training=True)
        if self.threshold == 0:
            return x
        return _ByteMaskDropoutFn.apply(x, self.threshold)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _check_keep_ratio(keep_ratio: float) -> None:
    if isinstance(keep_ratio, bool) or not isinstance(keep_ratio, (int, float)) or not 0.0 < keep_ratio <= 1.0:
        raise ValueError(f"{keep_ratio=} must be in (0, 1]")


def _check_dropout(dropout: float) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{dropout=} must be in [0, 1)")


def _check_positive_int(**kwargs: object) -> None:
    for name, value in kwargs.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} must be > 0")


class FCUnit(nn.Module):
    """AutoGenome's FC unit: Linear -> BatchNorm1d -> activation (-> Dropout).

    Args:
        d_in: input width.
        d_out: output width.
        activation: a name from :data:`ACTIVATIONS`.
        dropout: dropout probability after the activation; 0 adds no dropout layer.
        batchnorm: add ``BatchNorm1d`` after the linear layer (the linear layer then has no bias,
            which the normalisation would cancel anyway).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> unit = FCUnit(10, 4, dropout=0.1)
        >>> tuple(unit(torch.randn(8, 10)).shape)
        (8, 4)
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out)
        _check_dropout(dropout)
        # NOTE[DIFF]: no linear bias before batch norm (the norm's shift replaces it).
        self.linear = nn.Linear(d_in, d_out, bias=not batchnorm)
        self.norm: nn.Module = nn.BatchNorm1d(d_out) if batchnorm else nn.Identity()
        self.activation = make_activation(activation)
        self.dropout: nn.Module = nn.Dropout(dropout, inplace=False) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.activation(self.norm(self.linear(x))))


class ResidualFCUnit(nn.Module):
    """An FC unit whose output is added to its input: ``y = shortcut(x) + FCUnit(x)``.

    The shortcut is the identity when the widths match and a bias-free ``Linear`` projection
    otherwise (as in ResNet's projection shortcuts).

    Args:
        d_in: input width.
        d_out: output width.
        activation: a name from :data:`ACTIVATIONS`.
        dropout: dropout probability inside the FC unit.
        batchnorm: use batch normalisation inside the FC unit.

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> unit = ResidualFCUnit(16, 8)
        >>> tuple(unit(torch.randn(4, 16)).shape), type(unit.shortcut).__name__
        ((4, 8), 'Linear')
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        self.unit = FCUnit(d_in, d_out, activation=activation, dropout=dropout, batchnorm=batchnorm)
        self.shortcut: nn.Module = nn.Identity() if d_in == d_out else nn.Linear(d_in, d_out, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.unit(x)
