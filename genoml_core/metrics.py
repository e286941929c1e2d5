"""Evaluation metrics for the three tasks, with bootstrap confidence intervals.

Scores follow :func:`genoml_core.learners.predict_scores`: binary P(class 1) (n,),
multiclass probabilities (n, K) with column k = class k, continuous predictions (n,).

Metric names are explicit and probabilities/rates are on the 0-1 scale; ``brier``,
``log_loss``, ``rmse`` and ``mae`` are losses (lower is better). Thresholded binary metrics
(``accuracy``, ``balanced_accuracy``, ``sensitivity``, ``specificity``, ``f1``) call a
sample a case when its score is >= the cutoff: 0.5 (:data:`THRESHOLD`) unless a ``cutoff`` is
given (a score equal to the cutoff is a case). Multiclass predictions are the arg-max column, or
with a ``cutoff`` (one positive number per class) the arg-max of ``score_k / cutoff_k``. The final
model carries its cutoff (``genoml_core.ensemble``: the balanced decision rule, the mean OOF score;
for calibrated probabilities the prevalence). :func:`predicted_class` is that one definition;
every predicted label (metrics, confusion matrices, ``predictions.tsv``) comes from it.

Undefined metrics (AUC with one class in ``y_true``, correlation with a constant
prediction...) are NaN, with a logged warning, never an exception.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import rankdata

from .errors import ConfigError, InputError
from .registry import TASKS

__all__ = [
    "TASKS",
    "THRESHOLD",
    "METRICS",
    "SELECTION_METRIC",
    "check_task",
    "encode_labels",
    "compute_metrics",
    "confusion",
    "check_cutoff",
    "predicted_class",
    "greater_is_better",
    "bootstrap_ci",
    "is_degenerate",
]

log = logging.getLogger(__name__)

THRESHOLD = 0.5
_EPS = 1e-15  # probability clip for log_loss

SELECTION_METRIC: dict[str, str] = {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "continuous": "r2"}

_LOWER_IS_BETTER = frozenset({"brier", "log_loss", "rmse", "mae"})


def check_task(task: str) -> str:
    """Return ``task`` or raise :class:`ConfigError` if it is not one of :data:`TASKS`."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    return task


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (False for losses and errors)."""
    if metric not in _ALL_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; known metrics: {sorted(_ALL_METRICS)}")
    return metric not in _LOWER_IS_BETTER


# ----------------------------------------------------------------------------- input checks
def _check_inputs(task: str, y_true: Any, scores: Any, n_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    check_task(task)
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1:
        raise InputError(f"y_true must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise InputError("y_true is empty; metrics need at least one sample")
    if task == "multiclass":
        if s.ndim != 2 or s.shape[0] != y.size:
            raise InputError(f"multiclass scores must be (n, K) with n={y.size}, got shape {s.shape}")
        k = s.shape[1] if n_classes is None else int(n_classes)
        if s.shape[1] != k:
            raise InputError(f"scores have {s.shape[1]} columns but n_classes={k}")
    else:
        if s.shape != y.shape:
            raise InputError(f"{task} scores must have shape {y.shape} like y_true, got {s.shape}")
        k = 2 if task == "binary" else 0
    if not np.isfinite(s).all():
        raise InputError(f"{task} scores contain NaN or infinite values; the model diverged or inputs had NaN")
    if task == "continuous":
        if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y.astype(np.float64)).all():
            raise InputError("continuous y_true must be finite numbers")
        return y.astype(np.float64), s, k
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
        raise InputError(f"{task} y_true must be integer labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise InputError(f"{task} y_true labels must be in 0..{k - 1}, got {sorted(set(y.tolist()))}")
    if task == "binary" and (s.min() < 0 or s.max() > 1):
        raise InputError("binary scores must be probabilities of class 1 in [0, 1]")
    return y, s, k


def encode_labels(y: Any, classes: Any = None, *, what: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Class labels as codes: the one label encoder of the learners (as sklearn's ``LabelEncoder``).

    A label's code is its index in the sorted classes. With ``classes=None`` the classes are the
    labels present, sorted (``np.unique(y)``): encode the training labels so. Then pass those
    classes to encode validation or new labels with the same codes; a label outside them is an
    error, never a silent wrong code.

    Args:
        y: 1-D labels (numbers or strings).
        classes: sorted training classes, or ``None``.
        what: the labels' name in the error message (``"y_valid"``).

    Returns:
        (classes, codes): ``codes`` int64 in 0..len(classes)-1, with ``classes[codes] == y``.

    Raises:
        InputError: ``y`` has a label that is not in ``classes``.

    Example:
        >>> classes, codes = encode_labels(["b", "a", "b"])
        >>> classes.tolist(), codes.tolist(), encode_labels(["b"], classes)[1].tolist()
        (['a', 'b'], [1, 0, 1], [1])
    """
    y = np.asarray(y)
    if classes is None:
        classes, codes = np.unique(y, return_inverse=True)
        return classes, codes.reshape(-1).astype(np.int64)
    classes = np.asarray(classes)
    unseen = ~np.isin(y, classes)
    if unseen.any():
        raise InputError(
            f"{what} has labels {np.unique(y[unseen]).tolist()} not seen in training; the classes are "
            f"{classes.tolist()}"
        )
    return classes, np.searchsorted(classes, y).astype(np.int64)


def predicted_class(task: str, scores: Any, cutoff: Any = None) -> np.ndarray:
    """The predicted class code of each sample: the one definition used everywhere.

    binary: 1 (case) when P(case) >= the cutoff (default :data:`THRESHOLD`, 0.5; the cutoff
    itself is a case), else 0; multiclass: the arg-max column of ``scores / cutoff`` (default:
    of the scores; ties: the lower class code).

    Args:
        task: ``"binary"`` or ``"multiclass"``.
        scores: binary P(class 1) (n,); multiclass probabilities (n, K).
        cutoff: binary a number in (0, 1); multiclass K positive numbers; None: the defaults.

    Returns:
        int64 class codes (n,).

    Raises:
        ConfigError: For ``task="continuous"``.

    Example:
        >>> predicted_class("binary", [0.2, 0.5, 0.7]).tolist()
        [0, 1, 1]
    """
    check_task(task)
    s = np.asarray(scores, dtype=np.float64)
    if task == "binary":
        t = THRESHOLD if cutoff is None else check_cutoff(task, cutoff)
        return (s.reshape(-1) >= t).astype(np.int64)
    if task == "multiclass":
        s = s.reshape(s.shape[0], -1)
        if cutoff is not None:
            s = s / check_cutoff(task, cutoff, s.shape[1])
        return np.argmax(s, axis=1).astype(np.int64)
    raise ConfigError("predicted classes need a classification task (binary or multiclass), not continuous")


def check_cutoff(task: str, cutoff: Any, n_classes: int | None = None) -> Any:
    """A valid cutoff: binary a float in (0, 1); multiclass an array of K positive numbers.

    Raises:
        ConfigError: anything else.
    """
    if task == "binary":
        try:
            t = float(cutoff)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"binary cutoff must be a number in (0, 1), got {cutoff!r}") from err
        if not 0.0 < t < 1.0:
            raise ConfigError(f"binary cutoff must be in (0, 1), got {t}")
        return t
    c = np.asarray(cutoff, dtype=np.float64).reshape(-1)
    if (n_classes is not None and c.size != n_classes) or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ConfigError(f"multiclass cutoff must be {n_classes or 'K'} positive numbers, got {cutoff!r}")
    return c


# ----------------------------------------------------------------------------- fast kernels
def _auc(pos: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted 1/2; NaN if one class is missing."""
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _average_precision(pos: np.ndarray, score: np.ndarray) -> float:
    """Average precision as in sklearn: sum over thresholds of (R_i - R_{i-1}) P_i."""
    n_pos = int(pos.sum())
    if n_pos == 0:
        return math.nan
    order = np.argsort(-score, kind="mergesort")
    s, p = score[order], pos[order]
    tp = np.cumsum(p)
    fp = np.cumsum(~p)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # last index of each distinct score
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _div(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _binary(y: np.ndarray, s: np.ndarray, cutoff: Any = None) -> dict[str, float]:
    pos = y == 1
    pred = predicted_class("binary", s, cutoff) == 1
    tp = float(np.sum(pred & pos))
    fn = float(np.sum(~pred & pos))
    tn = float(np.sum(~pred & ~pos))
    fp = float(np.sum(pred & ~pos))
    sens = _div(tp, tp + fn)
    spec = _div(tn, tn + fp)
    p = np.clip(s, _EPS, 1 - _EPS)
    return {
        "roc_auc": _auc(pos, s),
        "pr_auc": _average_precision(pos, s),
        "balanced_accuracy": (sens + spec) / 2.0,
        "accuracy": (tp + tn) / y.size,
        "sensitivity": sens,
        "specificity": spec,
        "f1": _div(2 * tp, 2 * tp + fp + fn),
        "brier": float(np.mean((s - pos) ** 2)),
        "log_loss": float(-np.mean(np.where(pos, np.log(p), np.log1p(-p)))),
        "n": float(y.size),
        "n_cases": float(tp + fn),
    }


def _multiclass(y: np.ndarray, s: np.ndarray, k: int, cutoff: Any = None) -> dict[str, float]:
    pred = predicted_class("multiclass", s, cutoff)
    present = np.unique(y)
    recalls = [float(np.mean(pred[y == c] == c)) for c in present]
    aucs = [_auc(y == c, s[:, c]) for c in present if 0 < np.sum(y == c) < y.size]
    p = np.clip(s[np.arange(y.size), y], _EPS, 1.0)
    return {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(np.mean(recalls)) if present.size >= 2 else math.nan,
        "roc_auc_ovr_macro": float(np.mean(aucs)) if present.size >= 2 else math.nan,
        "log_loss": float(-np.mean(np.log(p))),
        "n": float(y.size),
    }


def _continuous(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    resid = y - s
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    sy, ss = y - y.mean(), s - s.mean()
    denom = math.sqrt(float(np.sum(sy**2)) * float(np.sum(ss**2)))
    return {
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else math.nan,
        "rmse": math.sqrt(float(np.mean(resid**2))),
        "mae": float(np.mean(np.abs(resid))),
        "pearson_r": float(np.sum(sy * ss)) / denom if denom > 0 else math.nan,
        "n": float(y.size),
    }


_METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "pr_auc", "balanced_accuracy", "accuracy", "sensitivity", "specificity", "f1",
               "brier", "log_loss", "n", "n_cases"),
    "multiclass": ("accuracy", "balanced_accuracy", "roc_auc_ovr_macro", "log_loss", "n"),
    "continuous": ("r2", "rmse", "mae", "pearson_r", "n"),
}
_ALL_METRICS = frozenset(m for names in _METRIC_NAMES.values() for m in names)
#: Metric names produced by :func:`compute_metrics`, per task.
METRICS: dict[str, tuple[str, ...]] = dict(_METRIC_NAMES)


def _raw(task: str, y: np.ndarray, s: np.ndarray, k: int, cutoff: Any = None) -> dict[str, float]:
    if task == "binary":
        return _binary(y, s, cutoff)
    if task == "multiclass":
        return _multiclass(y, s, k, cutoff)
    return _continuous(y, s)


# ----------------------------------------------------------------------------- public API
def compute_metrics(
    task: str, y_true: Any, scores: Any, *, n_classes: int | None = None, cutoff: Any = None
) -> dict[str, float]:
    """All metrics of ``task`` (see :data:`METRICS`) as plain floats.

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        y_true: True labels/targets (n,).
        scores: Scores as produced by :func:`genoml_core.learners.predict_scores`.
        n_classes: Multiclass K (default: the number of score columns).
        cutoff: The decision cutoff of the thresholded metrics (:func:`predicted_class`).

    Returns:
        Metric name -> value; NaN (with a logged warning) where a metric is undefined.

    Raises:
        InputError: Shapes disagree, labels outside 0..K-1, non-finite scores or binary
            scores outside [0, 1].
    """
    y, s, k = _check_inputs(task, y_true, scores, n_classes)
    out = _raw(task, y, s, k, cutoff)
    if task == "multiclass" and np.unique(y).size < k:
        log.warning("multiclass y_true lacks classes %s: balanced_accuracy and roc_auc_ovr_macro average "
                    "over the classes present", sorted(set(range(k)) - set(np.unique(y).tolist())))
    undefined = sorted(m for m, v in out.items() if math.isnan(v))
    if undefined:
        log.warning("%s metrics undefined for these inputs (n=%d, %d distinct labels): %s set to NaN",
                    task, y.size, np.unique(y).size, undefined)
    if is_degenerate(task, s):
        log.warning("%s predictions are degenerate (the same score for all %d samples)", task, y.size)
    return out


def confusion(
    task: str, y_true: Any, scores: Any, *, n_classes: int | None = None, cutoff: Any = None
) -> list[list[int]]:
    """Confusion matrix: rows are true classes, columns predicted classes (0..K-1), the
    predictions of :func:`predicted_class` with ``cutoff``.

    Raises:
        ConfigError: For ``task="continuous"``.
    """
    if task == "continuous":
        raise ConfigError("a confusion matrix needs a classification task (binary or multiclass), not continuous")
    y, s, k = _check_inputs(task, y_true, scores, n_classes)
    pred = predicted_class(task, s, cutoff)
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    return cm.astype(int).tolist()


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
        scores: Scores as for :func:`compute_metrics`.
        metrics: Metric names of ``task`` (see :data:`METRICS`).
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


def is_degenerate(task: str, scores: Any, *, atol: float = 1e-10) -> bool:
    """The degenerate-classifier guard: constant scores, a model that ranks nobody.

    binary: all scores equal (range <= ``atol``); multiclass: every class column constant
    (all rows equal); continuous: a constant prediction (range <= ``atol`` * max(1, |mean|)).

    It looks at the variation of the scores only, never at the 0.5 threshold: a model fitted
    with ``class_weight="none"`` on rare cases (say 7 % prevalence) can rank people well (AUC
    0.74) yet put every score below 0.5; it is not degenerate and is ranked by its AUC like
    any other. (GenoML2 flagged "one predicted class for everybody", which ranked such a model
    below worse ones.)
    """
    check_task(task)
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return True
    if task == "multiclass":
        s = s.reshape(s.shape[0], -1)
        return bool(np.all(np.ptp(s, axis=0) <= atol))
    s = s.reshape(-1)
    if task == "binary":
        return bool(np.ptp(s) <= atol)
    return bool(np.ptp(s) <= atol * max(1.0, abs(float(s.mean()))))
