"""Every path of the results layout, once, import-light (standard library only).

The rule files (``workflow/rules/*.smk``), the scripts, the library (final model, prediction,
report, warnings summary, Python API) and the ``genoml-predict`` CLI take the workflow's file
names from here. Each is a Snakemake pattern relative to the working directory
(strings such as ``results/train/{learner}/trial_{trial}/metrics.json`` with ``{fold}``, ``{learner}``, ``{trial}``, ``{cohort}``,
... wildcards): a rule names it as is (``output: layout.TRIAL_METRICS``), ``expand()`` fills it,
and code outside Snakemake fills it with ``str.format`` or :func:`in_results` (the part below
``results/``, for paths anchored at a results folder, as ``final_model.json`` stores them).
Patterns are whole literal strings, not assembled from a prefix, so each file is found by
searching for its path.

Parsing the Snakefile imports this module, not :mod:`genoml_core.evaluation.plots` or :mod:`genoml_core.report`
(which pull in scikit-learn and matplotlib: about 1.7 s and 50 MB more per parse, and every SLURM job
parses the Snakefile again). Those modules re-export these names, so there is one source per fact.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

__all__ = [
    "REFIT_FOLD", "RESULTS", "INDIVIDUAL", "LOGS", "BENCHMARKS", "CHECKPOINTS", "WARNING_SIDECARS",
    "CONVERTED_GENOTYPES", "CONVERTED_GENOTYPES_REPORT", "CONVERTED_COHORT", "CONVERTED_COHORT_REPORT",
    "INPUT_SAMPLES", "INPUT_REPORT", "QC_KEEP", "QC_REMOVED", "QC_SAMPLES_SUMMARY", "RELATED_PAIRS",
    "RELATEDNESS_SUMMARY", "VARIANTS_SNPLIST", "VARIANTS_SUMMARY", "PRUNED_SNPLIST", "PRUNE_SUMMARY", "PCS",
    "PCA_WEIGHTS", "PCA_SUMMARY", "ASSOC_SNPLIST", "ASSOC_TABLE", "ASSOC_SUMMARY", "QC_SUMMARY",
    "SPLIT_TABLE", "SPLIT_SUMMARY", "SPLIT_TRAIN_KEEP", "SPLIT_HWE_KEEP", "FEATURE_SET_STAGES",
    "STORE_FILE_NAMES", "TRIAL_MODEL", "TRIAL_METRICS", "TRIAL_OOF", "TRIAL_CHECKPOINTS", "REFIT_MODEL",
    "SELECTION", "LEADERBOARD", "FINAL_MODEL", "FINAL_OOF", "EVALUATE_METRICS", "EVALUATE_PREDICTIONS",
    "EVALUATE_PLOT", "SCORE_DIR", "SCORE_SUMMARY", "PREDICT_PREDICTIONS", "PREDICT_REPORT", "PREDICT_METRICS", "PREDICT_PLOTS",
    "EMBED_VAE_MODEL", "EMBED_VAE_METRICS", "EMBED_SUMMARY", "EMBED_PLOT", "EMBED_LATENT",
    "EMBED_RECONSTRUCTION", "NAS_ARCHITECTURES", "NAS_WINNER", "NAS_CURVE", "NAS_CURVE_PLOT",
    "EXPLAIN_SUMMARY", "EXPLAIN_IMPORTANCE", "EXPLAIN_TOP_SNPS", "EXPLAIN_SHAP_VALUES", "EXPLAIN_BEESWARM",
    "EXPLAIN_BAR", "EXPLAIN_DEPENDENCE", "SUBGROUP_TABLE", "SUBGROUP_SUMMARY", "SUBGROUP_PLOT",
    "SUBGROUP_FILES", "WARNINGS_FILE", "REPORT_HTML", "PLOT_FILES", "OPTIONAL_INPUTS", "PCA_INPUTS",
    "fold_names", "in_results", "log_file", "benchmark_file", "store_file", "store_files", "evaluation_plots",
    "pca_report_fold",
]

#: The pseudo-fold of the refit (``final.refit_full``): every development person trains, nobody
#: validates; the test set is the same. Its stores and models score test and new people.
REFIT_FOLD = "full"


def fold_names(method: str, n_folds: int, *, refit_full: bool = False) -> list[str]:
    """Fold wildcards for a split method: ``["fold0"]`` for holdout, ``fold0..fold{k-1}`` for kfold;
    with ``refit_full`` the refit pseudo-fold :data:`REFIT_FOLD` last."""
    names = ["fold0"] if method == "holdout" else [f"fold{i}" for i in range(n_folds)]
    return names + [REFIT_FOLD] if refit_full else names


# ---------------------------------------------------------------------------------------------
# Top-level folders. results/individual/ holds individual-level data (one row per person), never
# shared; the rest of results/ is aggregates.

#: Every result file is below this folder (the working directory's ``results/``).
RESULTS = "results"
#: Individual-level results (per-person predictions, PCs, SHAP values, converted genotypes).
INDIVIDUAL = "results/individual"
#: One log per job: ``logs/<name>.log`` (:func:`log_file`).
LOGS = "logs"
#: One benchmark per job: ``benchmarks/<name>.tsv`` (:func:`benchmark_file`).
BENCHMARKS = "benchmarks"
#: Resumable training state (not an output: Snakemake leaves it alone when a job fails).
CHECKPOINTS = "checkpoints"
#: The warning sidecar of each job: ``logs/warnings/<log path>.json`` (:mod:`genoml_core.warnings_log`).
WARNING_SIDECARS = "logs/warnings"


def in_results(pattern: str, **wildcards: Any) -> str:
    """``pattern`` (a path below :data:`RESULTS`) relative to the results folder, its wildcards
    filled from ``wildcards`` (all of them, or none for the bare pattern):
    ``in_results(FINAL_MODEL) == "final/final_model.json"``."""
    rel = PurePosixPath(pattern).relative_to(RESULTS).as_posix()
    return rel.format(**wildcards) if wildcards else rel


def log_file(name: str) -> str:
    """The log of a job: ``log_file("qc_variants/{fold}") == "logs/qc_variants/{fold}.log"``."""
    return f"{LOGS}/{name}.log"


def benchmark_file(name: str) -> str:
    """The benchmark of a job: ``benchmarks/<name>.tsv``."""
    return f"{BENCHMARKS}/{name}.tsv"


# ---------------------------------------------------------------------------------------------
# Inputs: checks and conversions (genoml_core.config, genotype_formats).

#: PLINK 1 prefix plink2 writes data.genotypes to when it is not a PLINK 1 fileset (or is subset).
CONVERTED_GENOTYPES = "results/individual/inputs/genotypes"
#: ... and its conversion report.
CONVERTED_GENOTYPES_REPORT = "results/individual/inputs/genotypes.json"
#: The same for a new cohort (predict.cohorts.<cohort>.genotypes).
CONVERTED_COHORT = "results/individual/inputs/cohorts/{cohort}/genotypes"
CONVERTED_COHORT_REPORT = "results/individual/inputs/cohorts/{cohort}/genotypes.json"
#: Analysis samples (check_inputs) and the input report (task, phenotype column, classes, ...).
INPUT_SAMPLES = "results/inputs/samples.tsv"
INPUT_REPORT = "results/inputs/report.json"

# QC, relatedness, per-fold variant QC, LD pruning, ancestry PCs, association filter.
QC_KEEP = "results/qc/samples.keep"
QC_REMOVED = "results/individual/qc/removed_samples.tsv"
QC_SAMPLES_SUMMARY = "results/qc/samples.json"
RELATED_PAIRS = "results/individual/qc/related_pairs.tsv"
RELATEDNESS_SUMMARY = "results/qc/relatedness.json"
VARIANTS_SNPLIST = "results/qc/{fold}/variants.snplist"
VARIANTS_SUMMARY = "results/qc/{fold}/variants.json"
PRUNED_SNPLIST = "results/ld_prune/{fold}/pruned.snplist"
PRUNE_SUMMARY = "results/ld_prune/{fold}/summary.json"
PCS = "results/individual/pca/{fold}/pcs.tsv"
PCA_WEIGHTS = "results/pca/{fold}/weights.tsv"
PCA_SUMMARY = "results/pca/{fold}/summary.json"
ASSOC_SNPLIST = "results/assoc/{fold}/selected.snplist"
ASSOC_TABLE = "results/assoc/{fold}/assoc.tsv"
ASSOC_SUMMARY = "results/assoc/{fold}/summary.json"
#: The QC summary of every stage above (rule qc_summary).
QC_SUMMARY = "results/qc/summary.json"

# The split: decided right after sample QC.
SPLIT_TABLE = "results/split/split.tsv"
SPLIT_SUMMARY = "results/split/summary.json"
SPLIT_TRAIN_KEEP = "results/split/{fold}/train.keep"
SPLIT_HWE_KEEP = "results/split/{fold}/hwe.keep"

# ---------------------------------------------------------------------------------------------
# Feature stores (rule munge: compact; munge_genome: genome-wide), one folder per fold.

#: Feature set -> the stage (folder below results/) of its stores.
FEATURE_SET_STAGES: dict[str, str] = {"compact": "munge", "genome": "munge_genome"}
#: The files of a store, by output name (``recipe.json`` is staged last and marks it complete).
STORE_FILE_NAMES: dict[str, str] = {
    "genotypes": "genotypes.npy",
    "other": "other.npy",
    "samples": "samples.tsv",
    "recipe": "recipe.json",
    "summary": "summary.json",
}


def store_file(feature_set: str, name: str = "recipe", *, fold: str = "{fold}") -> str:
    """A file of a fold's feature store: ``store_file("compact") == "results/munge/{fold}/recipe.json"``,
    ``store_file("genome", fold="full") == "results/munge_genome/full/recipe.json"``."""
    return f"{RESULTS}/{FEATURE_SET_STAGES[feature_set]}/{fold}/{STORE_FILE_NAMES[name]}"


def store_files(feature_set: str) -> dict[str, str]:
    """Output name -> pattern of every file of a store (rules munge, munge_genome)."""
    return {name: store_file(feature_set, name) for name in STORE_FILE_NAMES}


# ---------------------------------------------------------------------------------------------
# Training: one folder per (learner, trial); the refit; the best trial per learner.

TRIAL_MODEL = "results/train/{learner}/trial_{trial}/model_{fold}.zip"
TRIAL_METRICS = "results/train/{learner}/trial_{trial}/metrics.json"
TRIAL_OOF = "results/individual/train/{learner}/trial_{trial}/oof.tsv"
TRIAL_CHECKPOINTS = "checkpoints/train/{learner}/trial_{trial}"
REFIT_MODEL = "results/train/{learner}/refit/model_full.zip"
SELECTION = "results/select/{learner}.json"

# Selection and the single held-out evaluation.
LEADERBOARD = "results/leaderboard.tsv"
FINAL_MODEL = "results/final/final_model.json"
FINAL_OOF = "results/individual/final/oof_predictions.tsv"
EVALUATE_METRICS = "results/evaluate/metrics.json"
EVALUATE_PREDICTIONS = "results/individual/evaluate/predictions.tsv"
#: One evaluation plot (``{plot}``: a file name of :data:`PLOT_FILES`).
EVALUATE_PLOT = "results/evaluate/{plot}"
#: The PGS Catalog score folder (rule pgs_score).
SCORE_DIR = "results/score"
#: ... and its summary, always written (whether a score file was written, and why not).
SCORE_SUMMARY = "results/score/summary.json"

# New cohorts (rule predict; genoml-predict writes the same file names into its --out folder).
PREDICT_PREDICTIONS = "results/individual/predict/{cohort}/predictions.tsv"
PREDICT_REPORT = "results/predict/{cohort}/harmonize_report.json"
PREDICT_METRICS = "results/predict/{cohort}/metrics.json"
PREDICT_PLOTS = "results/predict/{cohort}/plots"

# Embeddings (embed.enabled). ``{method}``: res_vae, pca, tsne.
EMBED_VAE_MODEL = "results/embed/res_vae/trial_{trial}/model.zip"
EMBED_VAE_METRICS = "results/embed/res_vae/trial_{trial}/metrics.json"
EMBED_SUMMARY = "results/embed/summary.json"
EMBED_PLOT = "results/embed/{method}_scatter.png"
EMBED_LATENT = "results/individual/embed/{method}_latent.tsv"
EMBED_RECONSTRUCTION = "results/individual/embed/{method}_reconstruction.npy"

# The RRFCN architecture search.
NAS_ARCHITECTURES = "results/nas/architectures.json"
NAS_WINNER = "results/nas/winner.png"
NAS_CURVE = "results/nas/search_curve.tsv"
NAS_CURVE_PLOT = "results/nas/search_curve.png"

# Explanations, subgroups, warnings, the report.
EXPLAIN_SUMMARY = "results/explain/summary.json"
EXPLAIN_IMPORTANCE = "results/explain/importance.tsv"
EXPLAIN_TOP_SNPS = "results/explain/top_features.snplist"
EXPLAIN_SHAP_VALUES = "results/individual/explain/shap_values.tsv.gz"
EXPLAIN_BEESWARM = "results/explain/beeswarm.png"
EXPLAIN_BAR = "results/explain/bar.png"
EXPLAIN_DEPENDENCE = "results/explain/dependence.png"
SUBGROUP_TABLE = "results/subgroups/metrics.tsv"
SUBGROUP_SUMMARY = "results/subgroups/summary.json"
SUBGROUP_PLOT = "results/subgroups/metrics.png"
#: Subgroup report input key -> file.
SUBGROUP_FILES: dict[str, str] = {
    "subgroup_table": SUBGROUP_TABLE,
    "subgroup_summary": SUBGROUP_SUMMARY,
    "subgroup_plot": SUBGROUP_PLOT,
}
WARNINGS_FILE = "results/warnings.json"
REPORT_HTML = "results/report.html"


#: Plot name -> file name, per task, as written by :func:`genoml_core.evaluation.plots.evaluation_plots`
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


def evaluation_plots(task: str) -> list[str]:
    """The test evaluation's plot files for a task (rule evaluate)."""
    return [EVALUATE_PLOT.format(plot=name) for name in PLOT_FILES[task].values()]


#: Optional report input key -> the file the workflow would read for it.
OPTIONAL_INPUTS: dict[str, str] = {
    "embed_summary": EMBED_SUMMARY,
    "embed_plot_res_vae": EMBED_PLOT.format(method="res_vae"),
    "embed_plot_pca": EMBED_PLOT.format(method="pca"),
    "embed_plot_tsne": EMBED_PLOT.format(method="tsne"),
    "nas_architectures": NAS_ARCHITECTURES,
    "nas_plot_winner": NAS_WINNER,
    "nas_plot_curve": NAS_CURVE_PLOT,
}

#: Ancestry PC report input key -> file, per fold (``{fold}``: :func:`pca_report_fold`).
PCA_INPUTS: dict[str, str] = {"pca_pcs": PCS, "pca_summary": PCA_SUMMARY}


def pca_report_fold(split_method: str, n_folds: int, *, refit_full: bool) -> str:
    """The fold whose ancestry PCs the report shows: the refit pseudo-fold (``full``) when the final
    models are refitted on every development person, else the first fold (``fold0``)."""
    return REFIT_FOLD if refit_full else fold_names(split_method, n_folds)[0]
