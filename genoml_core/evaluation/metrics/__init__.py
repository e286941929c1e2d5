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
Every public name is importable from :mod:`genoml_core.evaluation.metrics` itself; the logger is
still ``genoml_core.evaluation.metrics``.
"""

from __future__ import annotations

from ...models.registry import TASKS
from .bootstrap import bootstrap_ci
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
