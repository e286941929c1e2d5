"""The metrics of each task: the per-task kernels, :func:`compute_metrics` and :func:`confusion`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ...errors import ConfigError
from .labels import _check_inputs, is_degenerate, predicted_class


# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.evaluation.metrics")


_EPS = 1e-15  # probability clip for log_loss


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
    """All metrics of ``task`` (see :data:`~genoml_core.evaluation.metrics.METRICS`) as plain floats.

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        y_true: True labels/targets (n,).
        scores: Scores as produced by :func:`genoml_core.models.learners.predict_scores`.
        n_classes: Multiclass K (default: the number of score columns).
        cutoff: The decision cutoff of the thresholded metrics (:func:`~genoml_core.evaluation.metrics.predicted_class`).

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
    predictions of :func:`~genoml_core.evaluation.metrics.predicted_class` with ``cutoff``.

    Raises:
        ConfigError: For ``task="continuous"``.
    """
    if task == "continuous":
        raise ConfigError("a confusion matrix needs a classification task (binary or multiclass), not continuous")
    y, s, k = _check_inputs(task, y_true, scores, n_classes)
    pred = predicted_class(task, s, cutoff)
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    return cm.astype(int).tolist()
