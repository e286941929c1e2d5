"""Bootstrap confidence intervals of the metrics (:func:`bootstrap_ci`).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import ConfigError
from .labels import _METRIC_NAMES, _check_inputs
from .scores import _auc, _average_precision, _raw

# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.evaluation.metrics")


def bootstrap_ci(
    task: str,
    y_true: Any,
    scores: Any,
    *,
    metrics: Sequence[str],
    n_boot: int = 1000,
    seed: int,
    alpha: float = 0.05,
    n_classes: int | None = None,
    cutoff: Any = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals.

    Classification resamples within each true class (stratified, as pROC does), so each
    replicate keeps the class counts and AUC stays defined; continuous resamples all rows.
    Replicates where a metric is undefined are dropped for that metric (logged).

    Args:
        task: The task.
        y_true: True labels/targets (n,).
        scores: Scores as for :func:`~genoml_core.evaluation.metrics.compute_metrics`.
        metrics: Metric names of ``task`` (see :data:`~genoml_core.evaluation.metrics.METRICS`).
        n_boot: Bootstrap replicates.
        seed: Seed of ``np.random.default_rng``; same inputs and seed -> same intervals.
        alpha: 1 - confidence level (0.05 -> 95 % intervals).
        n_classes: Multiclass K (default: score columns).

    Returns:
        metric -> (low, high); (NaN, NaN) when no replicate defines the metric.

    Raises:
        ConfigError: Unknown metric for the task, ``n_boot < 1`` or ``alpha`` not in (0, 1).
    """
    y, s, k = _check_inputs(task, y_true, scores, n_classes)
    unknown = [m for m in metrics if m not in _METRIC_NAMES[task]]
    if unknown:
        raise ConfigError(f"unknown {task} metric(s) {unknown}; choose from {list(_METRIC_NAMES[task])}")
    if int(n_boot) < 1:
        raise ConfigError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    rng = np.random.default_rng(seed)
    n = y.size
    if task == "continuous":
        idx = rng.integers(0, n, size=(int(n_boot), n))
    else:  # stratified: resample inside each class, keep its count
        parts = []
        for c in np.unique(y):
            members = np.flatnonzero(y == c)
            parts.append(members[rng.integers(0, members.size, size=(int(n_boot), members.size))])
        idx = np.concatenate(parts, axis=1)
    fast = _FAST[task]
    values = np.empty((int(n_boot), len(metrics)))
    for b in range(int(n_boot)):
        yb, sb = y[idx[b]], s[idx[b]]
        full: dict[str, float] | None = None
        for j, m in enumerate(metrics):
            if m in fast:
                values[b, j] = fast[m](yb, sb)
            else:
                full = full if full is not None else _raw(task, yb, sb, k, cutoff)
                values[b, j] = full[m]
    out: dict[str, tuple[float, float]] = {}
    for j, m in enumerate(metrics):
        v = values[:, j]
        ok = v[~np.isnan(v)]
        if ok.size < v.size:
            log.warning("bootstrap %s: %d of %d replicates undefined and dropped", m, v.size - ok.size, v.size)
        if ok.size == 0:
            out[m] = (math.nan, math.nan)
        else:
            lo, hi = np.quantile(ok, [alpha / 2.0, 1.0 - alpha / 2.0])
            out[m] = (float(lo), float(hi))
    return out


#: Single-metric kernels for the bootstrap loop (other metrics use the full per-task dict).
_FAST: dict[str, dict[str, Callable[[np.ndarray, np.ndarray], float]]] = {
    "binary": {
        "roc_auc": lambda yb, sb: _auc(yb == 1, sb),
        "pr_auc": lambda yb, sb: _average_precision(yb == 1, sb),
    },
    "multiclass": {},
    "continuous": {},
}
