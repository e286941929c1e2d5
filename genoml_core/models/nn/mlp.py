"""AutoGenome's multilayer perceptron: stacked FC units and a linear head."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .blocks import FCUnit, _check_positive_int, input_dropout

__all__ = ["MLP"]


class MLP(nn.Module):
    """Multilayer perceptron of FC units (Linear -> BatchNorm1d -> activation -> Dropout).

    AutoGenome's "first-layer keep ratio" is applied as dropout on the input features with
    ``p = 1 - keep_ratio``.

    Args:
        d_in: number of input features.
        d_out: number of outputs (classes for a classifier, 1 for a regression).
        d_hidden: the width of each hidden FC unit, in order; at least one.
        dropout: dropout probability after each hidden activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        activation: activation of the FC units (see ``blocks.ACTIVATIONS``).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)`` (logits or regression outputs; no final activation)

    Example:
        >>> import torch
        >>> net = MLP(d_in=20, d_out=2, d_hidden=[64, 32], dropout=0.1, keep_ratio=0.8)
        >>> tuple(net(torch.randn(8, 20)).shape)
        (8, 2)
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        d_hidden: Sequence[int],
        dropout: float = 0.0,
        keep_ratio: float = 1.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out)
        if isinstance(d_hidden, (str, bytes)) or not isinstance(d_hidden, Sequence) or len(d_hidden) == 0:
            raise ValueError(f"{d_hidden=} must be a non-empty list of widths")
        for i, width in enumerate(d_hidden):
            _check_positive_int(**{f"d_hidden[{i}]": width})
        widths = [d_in, *d_hidden]
        self.input_dropout = input_dropout(keep_ratio)
        self.blocks = nn.Sequential(
            *(FCUnit(a, b, activation=activation, dropout=dropout) for a, b in zip(widths[:-1], widths[1:]))
        )
        self.head = nn.Linear(widths[-1], d_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.input_dropout(x)))
