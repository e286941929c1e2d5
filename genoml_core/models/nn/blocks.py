"""Building blocks shared by the AutoGenome networks: the FC unit and its residual form.

AutoGenome (Liu et al. 2021) builds every network from one "FC unit": a fully connected layer,
batch normalisation and an activation. Each activation here is its own module instance and
nothing runs in place, so SHAP's ``DeepExplainer`` can hook every non-linearity exactly.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "make_activation", "input_dropout", "FCUnit", "ResidualFCUnit"]

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
