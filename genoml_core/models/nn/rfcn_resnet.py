"""AutoGenome's RFCN-ResNet: a residual fully connected network."""

from __future__ import annotations

from torch import Tensor, nn

from .blocks import FCUnit, ResidualFCUnit, _check_positive_int, input_dropout

__all__ = ["RFCNResNet"]


class RFCNResNet(nn.Module):
    """Residual fully connected network (RFCN-ResNet).

    A stem FC unit maps the input to ``d_block`` features; then each of ``n_blocks`` FC units
    takes as input the sum of the previous unit's input and output (``h <- h + FCUnit(h)``, an
    identity shortcut since all blocks share one width); a linear head gives the outputs.

    Args:
        d_in: number of input features.
        d_out: number of outputs (classes for a classifier, 1 for a regression).
        d_block: width of the stem and of every residual FC unit.
        n_blocks: number of residual FC units.
        dropout: dropout probability after each activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        activation: activation of the FC units (see ``blocks.ACTIVATIONS``).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> net = RFCNResNet(d_in=20, d_out=3, d_block=32, n_blocks=2, dropout=0.1, keep_ratio=1.0)
        >>> tuple(net(torch.randn(8, 20)).shape)
        (8, 3)
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        d_block: int,
        n_blocks: int,
        dropout: float = 0.0,
        keep_ratio: float = 1.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out, d_block=d_block, n_blocks=n_blocks)
        self.input_dropout = input_dropout(keep_ratio)
        self.stem = FCUnit(d_in, d_block, activation=activation, dropout=dropout)
        self.blocks = nn.Sequential(
            *(ResidualFCUnit(d_block, d_block, activation=activation, dropout=dropout) for _ in range(n_blocks))
        )
        self.head = nn.Linear(d_block, d_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(self.input_dropout(x))))
