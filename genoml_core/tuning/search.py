"""Deterministic hyperparameter draws from plain-dict search spaces.

A search space maps a parameter name to a spec, written in YAML config as a plain dict::

    C:            {type: float, low: 0.001, high: 10.0, log: true, default: 0.1}
    n_estimators: {type: int, low: 200, high: 600, default: 300}
    max_features: {type: categorical, values: ["sqrt", 0.05, 0.2], default: "sqrt"}

``log`` is optional (default false) and so is ``default``. Trial 0 is the "default" point
(each ``default``, else the range midpoint: geometric for ``log`` ranges, or the first
categorical value); every later trial is an independent draw from
``np.random.default_rng([seed, stable_hash(arch), trial])``, so the same
``(space, seed, arch, trial)`` gives the same parameters in any process, on any machine.

Example:
    >>> space = DEFAULT_SPACES["logistic_l2"]
    >>> sample_params(space, seed=1, arch="logistic_l2", trial=0)
    {'C': 0.01}
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Mapping

import numpy as np

from ..models import registry
from ..io import plain_scalar
from ..errors import ConfigError

__all__ = [
    "PARAM_TYPES",
    "DEFAULT_SPACES",
    "stable_hash",
    "validate_space",
    "sample_params",
]

PARAM_TYPES = ("float", "int", "categorical")

_RANGE_KEYS = frozenset({"type", "low", "high", "log", "default"})
_CATEGORICAL_KEYS = frozenset({"type", "values", "default"})
_SCALAR_TYPES = (str, int, float, bool, type(None))


#: The default search space of every classical learner (:mod:`genoml_core.models.learners`): a live
#: view of the spaces declared in :data:`genoml_core.models.registry.REGISTRY`. Trial 0 (the defaults)
#: fits 1600 samples x 2000 features in a few seconds on 2 CPU cores; regression penalties
#: (``alpha``) assume the standardized target that :func:`genoml_core.models.learners.make_learner` fits on.
#: The nets' spaces are in :mod:`genoml_core.tuning.net_spaces`; every learner's, with the config's
#: overrides, comes from :func:`genoml_core.config.learner_space`.
DEFAULT_SPACES: Mapping[str, dict[str, dict[str, Any]]] = registry.RegistryView(
    lambda spec: spec.space if spec.kind in registry.CLASSICAL_KINDS and isinstance(spec.space, Mapping) else None,
    "genoml_core.tuning.search.DEFAULT_SPACES",
)


def stable_hash(text: str) -> int:
    """CRC-32 of ``text`` (UTF-8): the same in every process, unlike ``hash()``."""
    return zlib.crc32(text.encode("utf-8"))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def validate_space(arch: str, space: Mapping[str, Any]) -> None:
    """Check a search space; raise :class:`ConfigError` naming ``arch``, the parameter and the fix.

    Args:
        arch: Learner or architecture name, only used in messages.
        space: Mapping parameter name -> spec dict (see the module docstring).

    Raises:
        ConfigError: For a spec that is not a dict, an unknown ``type`` or key, a
            non-numeric bound, ``low >= high``, ``log`` with ``low <= 0``, an int range with
            non-integer bounds, empty or non-scalar categorical ``values``, or a ``default``
            outside the range / not among the values.
    """
    if not isinstance(space, Mapping):
        raise ConfigError(
            f"search space for {arch!r} must be a mapping parameter -> spec, got {type(space).__name__}"
        )
    for name, spec in space.items():
        where = f"search space {arch!r}, parameter {name!r}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"search space {arch!r}: parameter names must be non-empty strings, got {name!r}")
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{where}: the spec must be a mapping like {{type: float, low: 0.1, high: 1.0}}, got {spec!r}"
            )
        kind = spec.get("type")
        if kind not in PARAM_TYPES:
            raise ConfigError(f"{where}: type must be one of {list(PARAM_TYPES)}, got {kind!r}")
        allowed = _CATEGORICAL_KEYS if kind == "categorical" else _RANGE_KEYS
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {unknown} for type {kind!r}; allowed keys are {sorted(allowed)}"
            )
        if kind == "categorical":
            values = spec.get("values")
            if not isinstance(values, (list, tuple)) or len(values) == 0:
                raise ConfigError(f"{where}: 'values' must be a non-empty list, got {values!r}")
            bad = [v for v in values if not isinstance(v, _SCALAR_TYPES)]
            if bad:
                raise ConfigError(f"{where}: 'values' must be scalars (str, number, bool, null), got {bad!r}")
            if "default" in spec and spec["default"] not in values:
                raise ConfigError(f"{where}: default {spec['default']!r} is not one of the values {list(values)}")
            continue
        for key in ("low", "high"):
            if key not in spec:
                raise ConfigError(f"{where}: missing {key!r}; a {kind} range needs both 'low' and 'high'")
            if not _is_number(spec[key]) or not math.isfinite(float(spec[key])):
                raise ConfigError(f"{where}: {key!r} must be a finite number, got {spec[key]!r}")
            if kind == "int" and not _is_int(spec[key]):
                raise ConfigError(f"{where}: {key!r} must be an integer for type int, got {spec[key]!r}")
        low, high = spec["low"], spec["high"]
        if low >= high:
            raise ConfigError(f"{where}: low ({low}) must be < high ({high}); swap or widen the bounds")
        log = spec.get("log", False)
        if not isinstance(log, (bool, np.bool_)):
            raise ConfigError(f"{where}: 'log' must be true or false, got {log!r}")
        if log and low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got low={low}; raise low or set log: false")
        if "default" in spec:
            d = spec["default"]
            if not _is_number(d) or (kind == "int" and not _is_int(d)):
                raise ConfigError(f"{where}: default must be a{'n integer' if kind == 'int' else ' number'}, got {d!r}")
            if not low <= d <= high:
                raise ConfigError(f"{where}: default {d} is outside [{low}, {high}]; move it inside the range")


def _default_value(spec: Mapping[str, Any]) -> Any:
    kind = spec["type"]
    if "default" in spec:
        value = spec["default"]
    elif kind == "categorical":
        value = spec["values"][0]
    else:
        low, high = float(spec["low"]), float(spec["high"])
        value = math.sqrt(low * high) if spec.get("log", False) else (low + high) / 2.0
        if kind == "int":
            value = min(max(int(round(value)), int(spec["low"])), int(spec["high"]))
    return _to_python(value, kind)


def _draw(spec: Mapping[str, Any], u: float) -> Any:
    """Map one uniform draw ``u`` in [0, 1) to a value of ``spec`` (inverse CDF)."""
    kind = spec["type"]
    if kind == "categorical":
        values = spec["values"]
        return _to_python(values[min(int(u * len(values)), len(values) - 1)], kind)
    low, high = float(spec["low"]), float(spec["high"])
    log = bool(spec.get("log", False))
    if kind == "float":
        if log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = low + u * (high - low)
        return min(max(value, low), high)
    # int: every integer in [low, high] reachable; log-uniform over [low, high + 1) when log
    if log:
        value = math.floor(math.exp(math.log(low) + u * (math.log(high + 1.0) - math.log(low))))
    else:
        value = math.floor(low + u * (high - low + 1.0))
    return int(min(max(value, int(low)), int(high)))


def _to_python(value: Any, kind: str) -> Any:
    """Plain Python scalars only, so that parameters serialize to JSON unchanged."""
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return plain_scalar(value)


def sample_params(space: Mapping[str, Any], *, seed: int, arch: str, trial: int) -> dict[str, Any]:
    """Draw one hyperparameter set, deterministically.

    Trial 0 returns the defaults (each spec's ``default``, else the midpoint: arithmetic,
    geometric for ``log``, or the first categorical value). Trial ``t >= 1`` draws every
    parameter independently from ``np.random.default_rng([seed, stable_hash(arch), t])``,
    one uniform number per parameter, in sorted-name order (so the YAML key order does not
    matter).

    Args:
        space: Search space (validated here).
        seed: The workflow seed, >= 0.
        arch: Learner/architecture name; different names give different streams.
        trial: Trial index, >= 0.

    Returns:
        Parameter name -> value; ints are ``int``, floats ``float``, categorical values as
        written in the space.

    Raises:
        ConfigError: For an invalid space or a negative seed/trial.
    """
    validate_space(arch, space)
    if not _is_int(seed) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_int(trial) or trial < 0:
        raise ConfigError(f"trial must be a non-negative integer, got {trial!r}")
    if trial == 0:
        return {name: _default_value(space[name]) for name in sorted(space)}
    rng = np.random.default_rng([int(seed), stable_hash(arch), int(trial)])
    return {name: _draw(space[name], float(rng.random())) for name in sorted(space)}
