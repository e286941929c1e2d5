"""Evaluation metrics for the three tasks, with bootstrap confidence intervals.

Scores follow :func:`genoml_core.models.learners.predict_scores`: binary P(class 1) (n,),
multiclass probabilities (n, K) with column k = class k, continuous predictions (n,).

Metric names are explicit and probabilities/rates are on the 0-1 scale; ``brier``,
``log_loss``, ``rmse`` and ``mae`` are losses (lower is better). Thresholded binary metrics
(``accuracy``, ``balanced_accuracy``, ``sensitivity``, ``specificity``, ``f1``) call a
sample a case when its score is >= the cutoff: 0.5 (:data:`THRESHOLD`) unless a ``cutoff`` is
given (a score equal to the cutoff is a case). Multiclass predictions are the arg-max column, or
with a ``cutoff`` (one positive number per class) the arg-max of ``score_k / cutoff_k``. The final
model carries its cutoff (``genoml_core.evaluation.ensemble``: the balanced decision rule, the mean OOF score;
for calibrated probabilities the prevalence). :func:`predicted_class` is that one definition;
every predicted label (metrics, confusion matrices, ``predictions.tsv``) comes from it.

Undefined metrics (AUC with one class in ``y_true``, correlation with a constant
prediction...) are NaN, with a logged warning, never an exception.

One module per concern: :mod:`~genoml_core.evaluation.metrics.labels` (tasks, metric names, labels, the cutoff and
predicted classes, the degenerate guard), :mod:`~genoml_core.evaluation.metrics.scores` (the per-task metrics,
:func:`compute_metrics`, :func:`confusion`) and :mod:`~genoml_core.evaluation.metrics.bootstrap` (:func:`bootstrap_ci`).
Every name below is importable from :mod:`genoml_core.evaluation.metrics` itself, as before the split; the logger is
still ``genoml_core.evaluation.metrics``.
"""

from __future__ import annotations

from ...models.registry import TASKS
from .bootstrap import _FAST as _FAST
from .bootstrap import bootstrap_ci
from .labels import _ALL_METRICS as _ALL_METRICS
from .labels import _LOWER_IS_BETTER as _LOWER_IS_BETTER
from .labels import _METRIC_NAMES as _METRIC_NAMES
from .labels import (
    METRICS,
    SELECTION_METRIC,
    THRESHOLD,
    check_cutoff,
    check_task,
    encode_labels,
    greater_is_better,
    is_degenerate,
    predicted_class,
)
from .labels import _check_inputs as _check_inputs
from .scores import _EPS as _EPS
from .scores import _auc as _auc
from .scores import _average_precision as _average_precision
from .scores import _binary as _binary
from .scores import _continuous as _continuous
from .scores import _div as _div
from .scores import _multiclass as _multiclass
from .scores import _raw as _raw
from .scores import compute_metrics, confusion
from .scores import log as log

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
