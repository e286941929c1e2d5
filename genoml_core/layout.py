"""The facts about the results layout that the rule files need, import-light (standard library only).

Parsing the Snakefile imports this module, not :mod:`genoml_core.plots` or :mod:`genoml_core.report`
(which pull in scikit-learn and matplotlib: about 1.7 s and 50 MB more per parse, and every SLURM job
parses the Snakefile again). Those modules re-export these names, so there is one source per fact.
"""

from __future__ import annotations

__all__ = ["REFIT_FOLD", "fold_names", "PLOT_FILES", "OPTIONAL_INPUTS", "PCA_INPUTS", "pca_report_fold"]

#: The pseudo-fold of the refit (``final.refit_full``): every development person trains, nobody
#: validates; the test set is the same. Its stores and models score test and new people.
REFIT_FOLD = "full"


def fold_names(method: str, n_folds: int, *, refit_full: bool = False) -> list[str]:
    """Fold wildcards for a split method: ``["fold0"]`` for holdout, ``fold0..fold{k-1}`` for kfold;
    with ``refit_full`` the refit pseudo-fold :data:`REFIT_FOLD` last."""
    names = ["fold0"] if method == "holdout" else [f"fold{i}" for i in range(n_folds)]
    return names + [REFIT_FOLD] if refit_full else names


#: Plot name -> file name, per task, as written by :func:`genoml_core.plots.evaluation_plots`
#: (before ``prefix``).
PLOT_FILES: dict[str, dict[str, str]] = {
    "binary": {
        "roc": "roc.png",
        "pr": "pr.png",
        "confusion": "confusion.png",
        "calibration": "calibration.png",
        "score_distributions": "score_distributions.png",
    },
    "multiclass": {
        "roc": "roc.png",
        "pr": "pr.png",
        "confusion": "confusion.png",
        "score_distributions": "score_distributions.png",
    },
    "continuous": {"scatter": "scatter.png", "residuals": "residuals.png"},
}

#: Optional report input key -> the file the workflow would read for it.
OPTIONAL_INPUTS: dict[str, str] = {
    "embed_summary": "results/embed/summary.json",
    "embed_plot_res_vae": "results/embed/res_vae_scatter.png",
    "embed_plot_pca": "results/embed/pca_scatter.png",
    "embed_plot_tsne": "results/embed/tsne_scatter.png",
    "nas_architectures": "results/nas/architectures.json",
    "nas_plot_winner": "results/nas/winner.png",
    "nas_plot_curve": "results/nas/search_curve.png",
}

#: Ancestry PC report input key -> file, per fold (``{fold}``: :func:`pca_report_fold`).
PCA_INPUTS: dict[str, str] = {
    "pca_pcs": "results/individual/pca/{fold}/pcs.tsv",
    "pca_summary": "results/pca/{fold}/summary.json",
}


def pca_report_fold(split_method: str, n_folds: int, *, refit_full: bool) -> str:
    """The fold whose ancestry PCs the report shows: the refit pseudo-fold (``full``) when the final
    models are refitted on every development person, else the first fold (``fold0``)."""
    return REFIT_FOLD if refit_full else fold_names(split_method, n_folds)[0]
