"""AutoGenome's RFCN-DenseNet: densely connected FC units in blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .blocks import FCUnit, _check_dropout, _check_positive_int, input_dropout

__all__ = ["DenseFCBlock", "RFCNDenseNet"]


class DenseFCBlock(nn.Module):
    """A dense block of FC units: unit ``j`` reads the concatenation of the block input and the
    outputs of units ``0 .. j-1`` and adds ``growth_rate`` features.

    Args:
        d_in: width of the block input.
        n_units: number of FC units in the block.
        growth_rate: features each unit adds.
        dropout: dropout probability after each activation.
        activation: activation of the FC units.

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_in + n_units * growth_rate)`` (the block's ``d_out`` attribute)

    Example:
        >>> import torch
        >>> block = DenseFCBlock(d_in=16, n_units=3, growth_rate=8)
        >>> tuple(block(torch.randn(4, 16)).shape), block.d_out
        ((4, 40), 40)
    """

    def __init__(
        self, *, d_in: int, n_units: int, growth_rate: int, dropout: float = 0.0, activation: str = "relu"
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, n_units=n_units, growth_rate=growth_rate)
        self.units = nn.ModuleList(
            FCUnit(d_in + j * growth_rate, growth_rate, activation=activation, dropout=dropout)
            for j in range(n_units)
        )
        self.d_out = d_in + n_units * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for unit in self.units:
            features.append(unit(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class RFCNDenseNet(nn.Module):
    """Densely connected fully connected network (RFCN-DenseNet).

    A stem FC unit maps the input to ``2 * growth_rate`` features (DenseNet's convention);
    dense blocks follow, with ``block_structure[b]`` FC units in block ``b``; between blocks a
    transition FC unit compresses the width by ``compression`` so widths stay bounded; a linear
    head gives the outputs.

    Args:
        d_in: number of input features.
        d_out: number of outputs (classes for a classifier, 1 for a regression).
        block_structure: FC units per dense block, e.g. ``[2, 3, 4]``.
        growth_rate: features each FC unit adds inside a block.
        dropout: dropout probability after each activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        compression: width kept by each transition unit, in (0, 1].
        activation: activation of the FC units (see ``blocks.ACTIVATIONS``).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> net = RFCNDenseNet(d_in=20, d_out=2, block_structure=[2, 3], growth_rate=8,
        ...                    dropout=0.0, keep_ratio=1.0)
        >>> tuple(net(torch.randn(8, 20)).shape)
        (8, 2)
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        block_structure: Sequence[int],
        growth_rate: int,
        dropout: float = 0.0,
        keep_ratio: float = 1.0,
        compression: float = 0.5,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out, growth_rate=growth_rate)
        _check_dropout(dropout)
        if isinstance(block_structure, (str, bytes)) or not isinstance(block_structure, Sequence):
            raise ValueError(f"{block_structure=} must be a non-empty list of unit counts, e.g. [2, 3, 4]")
        if len(block_structure) == 0:
            raise ValueError(f"{block_structure=} must hold at least one block")
        for i, n_units in enumerate(block_structure):
            _check_positive_int(**{f"block_structure[{i}]": n_units})
        if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0 < compression <= 1:
            raise ValueError(f"{compression=} must be in (0, 1]")
        self.input_dropout = input_dropout(keep_ratio)
        # NOTE[DIFF]: AutoGenome does not give the stem width or the transition size; we follow
        # DenseNet (stem of 2 * growth_rate, transitions compressing by 0.5).
        width = 2 * growth_rate
        self.stem = FCUnit(d_in, width, activation=activation, dropout=dropout)
        layers: list[nn.Module] = []
        for b, n_units in enumerate(block_structure):
            block = DenseFCBlock(
                d_in=width, n_units=n_units, growth_rate=growth_rate, dropout=dropout, activation=activation
            )
            layers.append(block)
            width = block.d_out
            if b < len(block_structure) - 1:
                d_next = max(1, int(width * compression))
                layers.append(FCUnit(width, d_next, activation=activation, dropout=dropout))
                width = d_next
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(width, d_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(self.input_dropout(x))))
