"""Evaluation figures, one PNG per function, written atomically.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas, never
``pyplot``: no global figure registry to close, no GUI backend, safe in batch jobs and
threads. PNGs carry no software/date metadata, so the same inputs give the same bytes with
the same matplotlib.

Scores follow :func:`genoml_core.models.learners.predict_scores`. Undefined curves (e.g. ROC with
one class in ``y_true``) are left out with a note on the figure instead of failing.

Modules: :mod:`~genoml_core.evaluation.plots.evaluation` (the evaluation figures of a task and
:func:`evaluation_plots`, the whole set), :mod:`~genoml_core.evaluation.plots.ancestry` (the ancestry PC scatter
of the report) and :mod:`~genoml_core.evaluation.plots.figure` (the figure and the PNG write they share).
"""

from ...layout import PLOT_FILES
from .ancestry import PCA_ROLE_MARKERS, ancestry_group_column, plot_ancestry_pcs
from .evaluation import (evaluation_plots, plot_calibration, plot_confusion, plot_pr, plot_residuals, plot_roc,
                         plot_score_distributions, plot_scatter)

# also importable from here, as when the plots were one module (not in __all__): the path type the plots take
from .figure import PathLike as PathLike

__all__ = [
    "PLOT_FILES",
    "plot_roc",
    "plot_pr",
    "plot_confusion",
    "plot_calibration",
    "plot_score_distributions",
    "plot_scatter",
    "plot_residuals",
    "PCA_ROLE_MARKERS",
    "ancestry_group_column",
    "plot_ancestry_pcs",
    "evaluation_plots",
]
