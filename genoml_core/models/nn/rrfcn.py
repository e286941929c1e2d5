"""AutoGenome's RRFCN: a randomly wired residual fully connected network, and its supernet.

An RRFCN is a directed acyclic graph of FC units. Node 0 is the network input; node ``k``
(``k = 1 .. n_layers``) is hidden layer ``k``. Layer ``k`` always reads node ``k - 1`` (the
chain) and, in addition, any subset of the nodes ``0 .. k - 2`` (its *skip inputs*); node 0 is
a legal skip input, so an input feature can be carried past a narrow layer. Its inputs are
projected to the layer's width and summed (``skip_mode="sum"``) or concatenated and projected
by one linear map (``skip_mode="concat"``), then batch-normalised and activated. A linear head
reads the last layer.

:class:`Architecture` is the wiring (widths, skips, mode), JSON-serialisable, so a network found
by the search (:mod:`genoml_core.models.nas`) is rebuilt from ``results/nas/architectures.json``.
:class:`RRFCN` is the standalone network; :class:`RRFCNSupernet` holds one maximum-width weight
matrix per (input node, layer) pair and one BatchNorm per (layer, width), and runs any
architecture of its search space with sliced weights (:meth:`RRFCNSupernet.extract` copies the
slices into an equivalent :class:`RRFCN`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import _check_dropout, _check_positive_int, input_dropout, make_activation

__all__ = ["SKIP_MODES", "Architecture", "RRFCN", "RRFCNSupernet"]

#: How a layer combines its inputs.
SKIP_MODES = ("sum", "concat")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_wiring(widths: Any, skips: Any, skip_mode: Any) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Validate a wiring; return it as tuples (skips sorted)."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) == 0:
        raise ValueError(f"{widths=} must be a non-empty list of layer widths")
    for i, width in enumerate(widths):
        _check_positive_int(**{f"widths[{i}]": width})
    if isinstance(skips, (str, bytes)) or not isinstance(skips, Sequence) or len(skips) != len(widths):
        raise ValueError(f"{skips=} must be a list with one list of skip inputs per layer ({len(widths)} layers)")
    out = []
    for i, layer_skips in enumerate(skips):
        if isinstance(layer_skips, (str, bytes)) or not isinstance(layer_skips, Sequence):
            raise ValueError(f"skips[{i}]={layer_skips!r} must be a list of node indices")
        for j in layer_skips:
            if not _is_int(j) or not 0 <= j <= i - 1:
                allowed = f"0..{i - 1}" if i >= 1 else "none (layer 1 reads the input already)"
                raise ValueError(
                    f"skips[{i}] has {j!r}: layer {i + 1} may skip from nodes {allowed} "
                    "(node 0 is the input, node k is layer k; node i is its chain input)"
                )
        if len(set(layer_skips)) != len(layer_skips):
            raise ValueError(f"skips[{i}]={list(layer_skips)} repeats a node")
        out.append(tuple(sorted(int(j) for j in layer_skips)))
    if skip_mode not in SKIP_MODES:
        raise ValueError(f"{skip_mode=} must be one of {SKIP_MODES}")
    return tuple(int(w) for w in widths), tuple(out)


@dataclass(frozen=True)
class Architecture:
    """The wiring of an RRFCN: one width and one set of skip inputs per layer.

    Attributes:
        widths: width of layers ``1 .. n_layers``.
        skips: ``skips[i]`` are the extra input nodes of layer ``i + 1``, a sorted subset of
            ``0 .. i - 1`` (node 0 is the network input; node ``i`` is the chain input).
        skip_mode: ``"sum"`` or ``"concat"``.

    Example:
        >>> arch = Architecture(widths=(64, 16, 64), skips=((), (0,), (0, 1)))
        >>> arch.skip_edges, arch.n_skip_slots
        ([(0, 2), (0, 3), (1, 3)], 3)
        >>> Architecture.from_json(arch.to_json()) == arch
        True
    """

    widths: tuple[int, ...]
    skips: tuple[tuple[int, ...], ...]
    skip_mode: str = "sum"

    def __post_init__(self) -> None:
        widths, skips = _check_wiring(self.widths, self.skips, self.skip_mode)
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "skips", skips)

    @property
    def n_layers(self) -> int:
        return len(self.widths)

    def inputs(self, i: int) -> tuple[int, ...]:
        """Input nodes of layer ``i + 1`` (0-based layer index ``i``), ascending."""
        return tuple(sorted({*self.skips[i], i}))

    @property
    def skip_edges(self) -> list[tuple[int, int]]:
        """``(from_node, to_node)`` for every skip connection (chain edges excluded)."""
        return [(j, i + 1) for i, layer in enumerate(self.skips) for j in layer]

    @property
    def n_skip_slots(self) -> int:
        """Number of possible skip edges: ``n_layers * (n_layers - 1) / 2``."""
        return self.n_layers * (self.n_layers - 1) // 2

    @property
    def skip_density(self) -> float:
        """Share of the possible skip edges that are present (0 for one layer)."""
        return len(self.skip_edges) / self.n_skip_slots if self.n_skip_slots else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "skips": [list(s) for s in self.skips], "skip_mode": self.skip_mode}

    def to_json(self) -> str:
        """Compact, canonical JSON (the same architecture always gives the same string)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Architecture:
        """Build from ``{"widths": [...], "skips": [[...], ...], "skip_mode": "sum"}``.

        Raises:
            ValueError: for missing or unknown keys or an impossible wiring.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"an architecture must be a mapping with widths and skips; got {type(d).__name__}")
        unknown = sorted(set(d) - {"widths", "skips", "skip_mode"})
        missing = sorted({"widths", "skips"} - set(d))
        if unknown or missing:
            raise ValueError(
                f"architecture keys: missing {missing}, unknown {unknown}; expected widths, skips, skip_mode"
            )
        skips = d["skips"]
        if isinstance(skips, Sequence) and not isinstance(skips, (str, bytes)):
            skips = tuple(tuple(s) if isinstance(s, Sequence) and not isinstance(s, (str, bytes)) else s for s in skips)
        widths = d["widths"]
        if isinstance(widths, Sequence) and not isinstance(widths, (str, bytes)):
            widths = tuple(widths)
        return cls(widths=widths, skips=skips, skip_mode=d.get("skip_mode", "sum"))

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        """Parse :meth:`to_json` output (or any JSON of :meth:`to_dict`'s form)."""
        if not isinstance(text, str):
            raise ValueError(f"an architecture JSON must be a string; got {type(text).__name__}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"not valid architecture JSON ({err}): {text[:80]!r}") from err
        return cls.from_dict(data)

    def module_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`RRFCN` for this wiring (without ``d_in``/``d_out``)."""
        return self.to_dict()

    def describe(self) -> str:
        """One line, e.g. ``"64-16+0-64+0,1"`` (width, then ``+`` the skip inputs)."""
        parts = [f"{w}" + ("+" + ",".join(map(str, s)) if s else "") for w, s in zip(self.widths, self.skips)]
        return "-".join(parts) + ("" if self.skip_mode == "sum" else " (concat)")


class _RRFCNLayer(nn.Module):
    """One layer: project and combine the inputs, then BatchNorm, activation, dropout."""

    def __init__(
        self, in_widths: Mapping[int, int], d_out: int, *, skip_mode: str, activation: str, dropout: float
    ) -> None:
        super().__init__()
        self.sources = tuple(sorted(in_widths))
        self.skip_mode = skip_mode
        # NOTE[DIFF]: no linear bias before batch norm (its shift replaces it), as in FCUnit.
        # a ModuleDict of one Linear per source ("sum") or one Linear ("concat")
        self.proj: Any
        if skip_mode == "sum":
            self.proj = nn.ModuleDict({str(j): nn.Linear(in_widths[j], d_out, bias=False) for j in self.sources})
        else:
            self.proj = nn.Linear(sum(in_widths.values()), d_out, bias=False)
        self.norm = nn.BatchNorm1d(d_out)
        self.activation = make_activation(activation)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, nodes: Sequence[Tensor]) -> Tensor:
        if self.skip_mode == "sum":
            z = sum(self.proj[str(j)](nodes[j]) for j in self.sources)
        else:
            z = self.proj(torch.cat([nodes[j] for j in self.sources], dim=1))
        return self.dropout(self.activation(self.norm(z)))


class RRFCN(nn.Module):
    """Randomly wired residual fully connected network (a fixed wiring, e.g. one found by search).

    Layer ``k`` reads node ``k - 1`` and its skip inputs ``skips[k - 1]`` (node 0 = the input),
    combines them (``skip_mode``), then BatchNorm -> activation -> dropout. A linear head reads the
    last layer. With no skips this is a plain chain of FC units (an MLP).

    Args:
        d_in: number of input features.
        d_out: number of outputs (classes for a classifier, 1 for a regression).
        widths: width of each layer, in order.
        skips: for each layer, the extra input nodes (a subset of ``0 .. k - 2`` for layer ``k``).
        skip_mode: ``"sum"`` (project each input, add) or ``"concat"`` (concatenate the inputs,
            one projection).
        dropout: dropout probability after each activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        activation: activation of the layers (see ``blocks.ACTIVATIONS``).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> net = RRFCN(d_in=20, d_out=2, widths=[32, 8, 32], skips=[[], [0], [0, 1]])
        >>> tuple(net(torch.randn(8, 20)).shape)
        (8, 2)
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        widths: Sequence[int],
        skips: Sequence[Sequence[int]],
        skip_mode: str = "sum",
        dropout: float = 0.0,
        keep_ratio: float = 1.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out)
        _check_dropout(dropout)
        # Architecture.__post_init__ validates any sequence and stores tuples
        self.architecture = Architecture(widths=widths, skips=skips, skip_mode=skip_mode)  # type: ignore[arg-type]
        arch = self.architecture
        node_widths = [d_in, *arch.widths]
        self.input_dropout = input_dropout(keep_ratio)
        self.layers = nn.ModuleList(
            _RRFCNLayer(
                {j: node_widths[j] for j in arch.inputs(i)},
                arch.widths[i],
                skip_mode=skip_mode,
                activation=activation,
                dropout=dropout,
            )
            for i in range(arch.n_layers)
        )
        self.head = nn.Linear(arch.widths[-1], d_out)

    def forward(self, x: Tensor) -> Tensor:
        nodes = [self.input_dropout(x)]
        for layer in self.layers:
            nodes.append(layer(nodes))
        return self.head(nodes[-1])


class RRFCNSupernet(nn.Module):
    """Weight-sharing supernet over every RRFCN with ``n_layers`` layers and widths in ``widths``.

    Shared weights: for each layer ``k`` and each possible input node ``j < k`` one matrix of
    shape ``(max(widths), width of node j)``; an architecture uses the top-left
    ``(w_k, w_j)`` slice. Batch normalisation is kept per (layer, width), so no two widths share
    normalisation parameters; its running statistics are not trusted across architectures: call
    :meth:`recalibrate` (statistics recomputed on training batches for one architecture) before
    evaluating that architecture in eval mode.

    Args:
        d_in: number of input features.
        d_out: number of outputs.
        n_layers: hidden layers of every architecture.
        widths: the width choices of each layer.
        skip_mode: ``"sum"`` or ``"concat"`` (must match the architectures run).
        activation: activation of the layers.

    Shape:
        - Input: ``(batch, d_in)`` and an :class:`Architecture`
        - Output: ``(batch, d_out)``

    Example:
        >>> import torch
        >>> sn = RRFCNSupernet(d_in=10, d_out=2, n_layers=3, widths=[4, 8])
        >>> arch = Architecture(widths=(8, 4, 8), skips=((), (0,), (1,)))
        >>> tuple(sn(torch.randn(5, 10), arch).shape)
        (5, 2)
    """

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int,
        n_layers: int,
        widths: Sequence[int],
        skip_mode: str = "sum",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_out=d_out, n_layers=n_layers)
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) == 0:
            raise ValueError(f"{widths=} must be a non-empty list of width choices")
        for i, width in enumerate(widths):
            _check_positive_int(**{f"widths[{i}]": width})
        if skip_mode not in SKIP_MODES:
            raise ValueError(f"{skip_mode=} must be one of {SKIP_MODES}")
        self.d_in, self.d_out, self.n_layers = d_in, d_out, n_layers
        self.width_choices = tuple(sorted(set(int(w) for w in widths)))
        self.skip_mode = skip_mode
        self.activation_name = activation
        d_max = self.width_choices[-1]
        self.d_max = d_max
        self.weights = nn.ModuleList()
        for k in range(n_layers):
            pairs = nn.ParameterDict()
            for j in range(k + 1):
                fan_in = d_in if j == 0 else d_max
                w = torch.empty(d_max, fan_in)
                nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # nn.Linear's initialisation
                pairs[str(j)] = nn.Parameter(w)
            self.weights.append(pairs)
        # momentum=None: running statistics are a plain average since the last reset, which is
        # what recalibrate() needs.
        self.norms = nn.ModuleList(
            nn.ModuleDict({str(w): nn.BatchNorm1d(w, momentum=None) for w in self.width_choices})
            for _ in range(n_layers)
        )
        self.activations = nn.ModuleList(make_activation(activation) for _ in range(n_layers))
        self.head = nn.Linear(d_max, d_out)

    def check(self, arch: Architecture) -> None:
        """Raise ``ValueError`` unless ``arch`` belongs to this supernet's search space."""
        if arch.n_layers != self.n_layers:
            raise ValueError(f"the architecture has {arch.n_layers} layers; this supernet has {self.n_layers}")
        bad = [w for w in arch.widths if w not in self.width_choices]
        if bad:
            raise ValueError(f"widths {bad} are not among the supernet's choices {list(self.width_choices)}")
        if arch.skip_mode != self.skip_mode:
            raise ValueError(f"architecture skip_mode={arch.skip_mode!r}; the supernet's is {self.skip_mode!r}")

    def _node_width(self, arch: Architecture, j: int) -> int:
        return self.d_in if j == 0 else arch.widths[j - 1]

    def _slice(self, arch: Architecture, k: int, j: int) -> Tensor:
        return cast(nn.ParameterDict, self.weights[k])[str(j)][: arch.widths[k], : self._node_width(arch, j)]

    def _norm(self, k: int, width: int) -> nn.BatchNorm1d:
        """Layer ``k``'s BatchNorm for width ``width``."""
        return cast(nn.BatchNorm1d, cast(nn.ModuleDict, self.norms[k])[str(width)])

    def forward(self, x: Tensor, arch: Architecture) -> Tensor:
        self.check(arch)
        nodes = [x]
        for k in range(self.n_layers):
            sources = arch.inputs(k)
            if self.skip_mode == "sum":
                z = sum(F.linear(nodes[j], self._slice(arch, k, j)) for j in sources)
            else:
                weight = torch.cat([self._slice(arch, k, j) for j in sources], dim=1)
                z = F.linear(torch.cat([nodes[j] for j in sources], dim=1), weight)
            z = self._norm(k, arch.widths[k])(z)
            nodes.append(self.activations[k](z))
        w_last = arch.widths[-1]
        return F.linear(nodes[-1], self.head.weight[:, :w_last], self.head.bias)

    @torch.no_grad()
    def recalibrate(self, arch: Architecture, batches: Iterable[Tensor]) -> None:
        """Recompute the BatchNorm statistics of ``arch``'s layers from ``batches``.

        Resets the running mean/variance of the (layer, width) norms ``arch`` uses, runs the
        batches in train mode without gradients (each batch needs at least 2 rows), and leaves
        the supernet in eval mode. Other architectures' statistics are not used.
        """
        self.check(arch)
        for k, width in enumerate(arch.widths):
            self._norm(k, width).reset_running_stats()
        self.train()
        for xb in batches:
            self(xb, arch)
        self.eval()

    @torch.no_grad()
    def extract(self, arch: Architecture) -> RRFCN:
        """A standalone :class:`RRFCN` holding ``arch``'s slice of the shared weights.

        In eval mode (and in train mode, where BatchNorm uses batch statistics) the result gives
        the supernet's outputs for ``arch``.
        """
        self.check(arch)
        net = RRFCN(d_in=self.d_in, d_out=self.d_out, **arch.module_kwargs(), activation=self.activation_name)
        for k, layer in enumerate(cast("Iterable[_RRFCNLayer]", net.layers)):
            if self.skip_mode == "sum":
                for j in layer.sources:
                    layer.proj[str(j)].weight.copy_(self._slice(arch, k, j))
            else:
                layer.proj.weight.copy_(torch.cat([self._slice(arch, k, j) for j in layer.sources], dim=1))
            layer.norm.load_state_dict(self._norm(k, arch.widths[k]).state_dict())
        net.head.weight.copy_(self.head.weight[:, : arch.widths[-1]])
        net.head.bias.copy_(self.head.bias)
        return net.to(self.head.weight.device).train(self.training)
