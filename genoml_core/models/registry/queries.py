"""Queries of :data:`~genoml_core.models.registry.REGISTRY`: live views, lookups, spaces, memory facts and builders."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from ...errors import ConfigError
from .learner import NET_KINDS, TASKS, Learner, Ref, Space
from .table import REGISTRY

# ----------------------------------------------------------------------------- views
V = TypeVar("V")


class RegistryView(Mapping[str, V]):
    """A read-only, live mapping ``name -> value(learner)`` over :data:`REGISTRY`, for the learners
    where ``value`` is not None: it always agrees with the registry (also when a test adds a
    learner)."""

    def __init__(self, value: Callable[[Learner], V | None], what: str) -> None:
        self._value = value
        self._what = what

    def _pairs(self) -> Iterator[tuple[str, V]]:
        for name, spec in REGISTRY.items():
            v = self._value(spec)
            if v is not None:
                yield name, v

    def __getitem__(self, name: str) -> V:
        spec = REGISTRY.get(name)
        v = None if spec is None else self._value(spec)
        if v is None:
            raise KeyError(name)
        return v

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs())

    def __len__(self) -> int:
        return sum(1 for _ in self._pairs())

    def __repr__(self) -> str:
        return f"<{self._what}: a view of genoml_core.models.registry.REGISTRY ({', '.join(self)})>"


# ----------------------------------------------------------------------------- lookups
def get(name: str) -> Learner | None:
    """The declaration of learner ``name``, or None."""
    return REGISTRY.get(name)


def learner(name: str) -> Learner:
    """The declaration of learner ``name``.

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(f"unknown learner {name!r}; known learners: {', '.join(REGISTRY)}")
    return spec


def names(*, kinds: tuple[str, ...] | str | None = None, task: str | None = None,
          defaults_only: bool = False) -> tuple[str, ...]:
    """Learner names in declaration order, optionally only those of ``kinds``, supporting ``task``,
    or in the default set."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    return tuple(
        name for name, spec in REGISTRY.items()
        if (kinds is None or spec.kind in kinds) and (task is None or task in spec.tasks)
        and (spec.default or not defaults_only)
    )


def available(task: str, *, defaults_only: bool = False, kinds: tuple[str, ...] | None = None) -> list[str]:
    """The learners that can be trained for ``task`` (``defaults_only``: those trained when
    ``train.learners`` is null), in declaration order."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    return list(names(kinds=kinds, task=task, defaults_only=defaults_only))


def kind(name: str) -> str:
    """One of :data:`KINDS` (raises :class:`ConfigError` for an unknown learner)."""
    return learner(name).kind


def is_net(name: str) -> bool:
    """Whether ``name`` is a PyTorch network (built by :func:`genoml_core.models.estimators.make_net`)."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind in NET_KINDS


def is_streaming(name: str) -> bool:
    """Whether ``name`` is a classical learner fitted out of core, batch by batch."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind == "streaming"


def streams(name: str) -> bool:
    """Whether ``name`` reads batches of the store instead of holding its rows (streaming, nets)."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind != "classical"


def feature_set(name: str) -> str:
    """The feature store ``name`` trains on: ``compact`` or ``genome`` (``compact`` for a name the
    registry does not know)."""
    spec = REGISTRY.get(name)
    return spec.feature_set if spec is not None else "compact"


def default_space(name: str, cfg: Mapping[str, Any] | None = None) -> Space:
    """A deep copy of ``name``'s default search space (the caller may edit it).

    Args:
        name: A registered learner.
        cfg: The validated config, for learners whose space comes from it (rrfcn: ``nas.retrain``).

    Raises:
        ConfigError: for an unknown learner, or a config-dependent space without ``cfg``.
    """
    spec = learner(name)
    if isinstance(spec.space, Mapping):
        return copy.deepcopy(dict(spec.space))
    return copy.deepcopy(spec.space(cfg))


def fixed_trials(name: str, cfg: Mapping[str, Any]) -> int | None:
    """The number of trials when the registry fixes it (``n_trials`` hook, or 1 for a self-tuning
    learner); None when ``train.n_trials`` / ``n_trials_per_learner`` decide."""
    spec = REGISTRY.get(name)
    if spec is None:
        return None
    if spec.n_trials is not None:
        return int(spec.n_trials(cfg))
    return 1 if spec.self_tuning else None


def fit_bytes_per_value(name: str) -> float | None:
    """Measured peak bytes per training value of an in-memory fit; None for learners that stream
    (and unknown names)."""
    spec = REGISTRY.get(name)
    return None if spec is None else spec.fit_bytes_per_value


def memory_extra_bytes(name: str, n_rows: int, n_features: int, params: Mapping[str, Any] | None = None) -> float:
    """The learner's own memory term beyond bytes per value (0 when it declares none)."""
    spec = REGISTRY.get(name)
    if spec is None or spec.memory_extra is None:
        return 0.0
    return float(spec.memory_extra(int(n_rows), int(n_features), params or {}))


def explainer(name: str) -> str:
    """How ``name``'s final model is explained: one of :data:`EXPLAINERS` (``linear``, ``tree``,
    ``permutation``, ``gradient``). :mod:`genoml_core.explain` still checks the fitted model (a
    multiclass calibrated linear SVM is explained by permutation).

    Raises:
        ConfigError: for an unknown learner.
    """
    return learner(name).explainer


def resolve(ref: Ref) -> Callable[..., Any]:
    """The function a ``"module:function"`` reference names (imported now), or ``ref`` itself."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"learner builder {ref!r} cannot be imported: {e}") from e


def builder(name: str) -> Callable[..., Any]:
    """``name``'s builder (its module imported now)."""
    return resolve(learner(name).builder)


def wrapper(name: str) -> Callable[..., Any] | None:
    """``name``'s wrap function, or None."""
    wrap = learner(name).wrap
    return None if wrap is None else resolve(wrap)


def out_of_core_hint() -> str:
    """The streaming learners by task, for messages: ``"a / b (binary, multiclass) or c (continuous)"``."""
    groups: dict[frozenset[str], list[str]] = {}
    for name in names(kinds="streaming"):
        groups.setdefault(REGISTRY[name].tasks, []).append(name)
    return " or ".join(
        f"{' / '.join(group)} ({', '.join(t for t in TASKS if t in tasks)})" for tasks, group in groups.items()
    )
