"""Settings of the RRFCN architecture search (:class:`NASConfig`) and sizes of its search space."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...errors import ConfigError, field_names, reject_unknown
from ..nn.rrfcn import SKIP_MODES, Architecture

FORMAT = "genoml_core.models.nas/1"
SAMPLERS = ("controller", "random")
#: ENAS's logit squashing (``tanh_constant * tanh(logit)``) keeps the early policy from collapsing.
TANH_CONSTANT = 1.5
#: Gradient-norm bound for the shared weights and the controller (ENAS uses 5).
GRAD_BOUND = 5.0

_RETRAIN_DEFAULTS = {
    "lr": 1e-3,
    "batch_size": 64,
    "weight_decay": 1e-4,
    "max_epochs": 30,
    "patience": 5,
    "dropout": 0.1,
    "n_bags": "auto",
    "input_clip": 0.0,
    "lr_schedule": "constant",
}


def _require(ok: bool | np.bool_, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _pos_int(value: Any) -> bool | np.bool_:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True, kw_only=True)
class NASConfig:
    """Settings of the architecture search (defaults = ``genoml_core/config.schema.yaml``'s ``nas`` section).

    Attributes:
        n_layers: hidden layers of every architecture.
        widths: width choices of each layer.
        max_width: widths above this are left out (AutoGenome's first-layer width cap).
        skip_mode: ``"sum"`` or ``"concat"`` (how a layer combines its inputs).
        sampler: ``"controller"`` (ENAS LSTM policy) or ``"random"`` (uniform baseline).
        budget: sampler steps: architectures sampled, scored on validation and (controller)
            learned from.
        supernet_epochs: passes of the shared weights over the training rows.
        supernet_lr: SGD (Nesterov momentum 0.9) learning rate of the shared weights.
        batch_size: supernet training batch size.
        bn_samples: training rows used to recompute BatchNorm statistics per architecture.
        top_k: architectures handed on to be retrained.
        entropy_weight: weight of the policy entropy added to the reward.
        skip_target: skip density the KL penalty pulls the policy towards.
        skip_weight: weight of that KL penalty.
        baseline_decay: decay of the reward's moving-average baseline.
        controller_lr: Adam learning rate of the controller.
        controller_hidden: LSTM width of the controller.
        retrain: training settings of each retrained architecture (trial hyperparameters).
    """

    n_layers: int = 6
    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)
    max_width: int = 2048
    skip_mode: str = "sum"
    sampler: str = "controller"
    budget: int = 20
    supernet_epochs: int = 4
    supernet_lr: float = 0.02
    batch_size: int = 128
    bn_samples: int = 512
    top_k: int = 5
    entropy_weight: float = 0.001
    skip_target: float = 0.4
    skip_weight: float = 0.8
    baseline_decay: float = 0.9
    controller_lr: float = 0.01
    controller_hidden: int = 64
    retrain: Mapping[str, Any] = field(default_factory=lambda: dict(_RETRAIN_DEFAULTS))

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "retrain", dict(self.retrain))
        for name in ("n_layers", "max_width", "budget", "supernet_epochs", "batch_size", "bn_samples", "top_k",
                     "controller_hidden"):  # fmt: skip
            _require(_pos_int(getattr(self, name)), f"nas.{name}={getattr(self, name)!r} must be an integer > 0")
        _require(self.bn_samples >= 2, f"nas.bn_samples={self.bn_samples!r} must be >= 2 (batch statistics)")
        _require(
            len(self.widths) > 0 and all(_pos_int(w) for w in self.widths),
            f"nas.widths={list(self.widths)} must be a non-empty list of positive integers",
        )
        _require(
            len(self.width_choices) > 0,
            f"nas.max_width={self.max_width} is below every width in nas.widths={list(self.widths)}; raise it",
        )
        _require(self.skip_mode in SKIP_MODES, f"nas.skip_mode={self.skip_mode!r} must be one of {SKIP_MODES}")
        _require(self.sampler in SAMPLERS, f"nas.sampler={self.sampler!r} must be one of {SAMPLERS}")
        _require(self.supernet_lr > 0, f"nas.supernet_lr={self.supernet_lr!r} must be > 0")
        _require(self.controller_lr > 0, f"nas.controller_lr={self.controller_lr!r} must be > 0")
        _require(self.entropy_weight >= 0, f"nas.entropy_weight={self.entropy_weight!r} must be >= 0")
        _require(self.skip_weight >= 0, f"nas.skip_weight={self.skip_weight!r} must be >= 0")
        _require(0 < self.skip_target < 1, f"nas.skip_target={self.skip_target!r} must be in (0, 1)")
        _require(0 <= self.baseline_decay < 1, f"nas.baseline_decay={self.baseline_decay!r} must be in [0, 1)")
        _require(
            self.top_k <= self.budget,
            f"nas.top_k={self.top_k} exceeds nas.budget={self.budget}: the search samples at most `budget` "
            "architectures; raise the budget or lower top_k",
        )
        size = search_space_size(self.n_layers, len(self.width_choices))
        _require(
            self.top_k <= size,
            f"nas.top_k={self.top_k} exceeds the {size} architectures of the search space "
            f"({self.n_layers} layers, widths {list(self.width_choices)}); lower top_k",
        )
        unknown = sorted(set(self.retrain) - set(_RETRAIN_DEFAULTS))
        _require(not unknown, f"nas.retrain: unknown key(s) {unknown}; allowed: {sorted(_RETRAIN_DEFAULTS)}")

    @property
    def width_choices(self) -> tuple[int, ...]:
        """The widths a layer may take: ``widths`` up to ``max_width``, ascending, unique."""
        return tuple(sorted({int(w) for w in self.widths if _pos_int(w) and w <= self.max_width}))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NASConfig:
        """Build from the config's ``nas`` section; unknown keys raise :class:`ConfigError`."""
        reject_unknown(d, field_names(cls), "nas option(s)")
        values = dict(d)
        if "retrain" in values:
            values["retrain"] = {**_RETRAIN_DEFAULTS, **dict(values["retrain"])}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["retrain"] = dict(self.retrain)
        return d


def search_space_size(n_layers: int, n_widths: int) -> int:
    """Architectures in the space: ``n_widths ** n_layers * 2 ** (n_layers * (n_layers - 1) / 2)``.

    Example:
        >>> search_space_size(6, 8)
        8589934592
    """
    return int(n_widths) ** int(n_layers) * 2 ** (int(n_layers) * (int(n_layers) - 1) // 2)


def count_parameters(arch: Architecture, d_in: int, d_out: int) -> int:
    """Trainable parameters of ``RRFCN(d_in, d_out, arch)`` (projections, BatchNorm, head).

    Example:
        >>> count_parameters(Architecture(widths=(4,), skips=((),)), d_in=10, d_out=2)
        58
    """
    node_widths = [d_in, *arch.widths]
    total = 0
    for i, width in enumerate(arch.widths):
        total += sum(node_widths[j] for j in arch.inputs(i)) * width + 2 * width
    return total + arch.widths[-1] * d_out + d_out
