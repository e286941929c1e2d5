"""Predict on a new cohort: harmonize its data to each fold's recipe and apply the final model.

The final model is the leaderboard's top row (chosen on validation): its best trial's model of
every fold. Each fold model sees the new cohort harmonized to its own ``recipe.json``
(:mod:`genoml_core.harmonize`); with k folds the prediction is the mean of the fold scores, as
for the test set. Nothing about the new cohort's own data is used for scaling or imputation.

Order of work, so that mistakes stop before anything expensive:

1. :func:`check_cohort`: the ``.fam`` (duplicated sample ids), ``.bim``, the ``.bed`` magic
   number and size, the covariate/omics tables (duplicates, non-numeric values in the columns
   the model uses) and the phenotype (coding, known classes).
2. :func:`plan_cohort`: load the models and recipes, match every feature, compute the share of
   the model's importance that the present features carry (``harmonize_report.json``).
3. Below ``min_overlap`` in any fold: :class:`~genoml_core.harmonize.LowOverlapError`.
4. Read the needed genotypes once (int8), score in batches of people, average the folds; write
   ``predictions.tsv`` and ``metrics.json`` (metrics, bootstrap CIs and the evaluation plots
   when a phenotype is given).

Command line (outside Snakemake, on a finished results folder)::

    genoml-predict --results results --bfile /data/new/chip --covariates /data/new/covar.tsv \\
        --phenotype /data/new/pheno.tsv --phenotype-column T2D --out predictions/new
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__, harmonize, io, metrics, persist, plots
from .errors import ConfigError, GenomlError, InputError
from .inputs import read_id_table, read_numeric_table
from .munge import scale_features

__all__ = [
    "PredictOptions",
    "Cohort",
    "FinalModel",
    "CheckedCohort",
    "CohortPlan",
    "final_model_from_results",
    "final_model_from_inputs",
    "read_cohort_phenotype",
    "check_cohort",
    "plan_cohort",
    "score_cohort",
    "prediction_table",
    "run_prediction",
    "main",
]

log = logging.getLogger(__name__)

_MAIN_METRICS = {  # bootstrap CIs for these, as in evaluate
    "binary": ["roc_auc", "pr_auc", "balanced_accuracy"],
    "multiclass": ["accuracy", "balanced_accuracy", "roc_auc_ovr_macro"],
    "continuous": ["r2", "rmse", "pearson_r"],
}
PREDICTIONS_FILE = "predictions.tsv"
REPORT_FILE = "harmonize_report.json"
METRICS_FILE = "metrics.json"
PLOTS_DIR = "plots"


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """How to harmonize and score. Defaults equal config/schema.yaml's (a unit test checks).

    Attributes:
        min_overlap: minimum share (0-1) of the model's importance the present features must
            carry, in every fold (``predict.min_overlap``).
        ambiguous_snps: ``"drop"`` (impute A/T and C/G SNPs) or ``"keep"`` (trust the new
            cohort's alleles as given) (``predict.ambiguous_snps``).
        match_by_position: match SNPs whose id is absent by chromosome:position:alleles
            (``predict.match_by_position``).
        binary_coding: phenotype coding of a binary task, ``"01"`` or ``"12"`` (``data.binary_coding``).
        missing_values: strings read as missing in tables (``data.missing_values``).
        engine: ``.bed`` decoder, ``"pandas-plink"`` or ``"lut"`` (``munge.engine``).
        chunk_variants: variants decoded per chunk (``munge.chunk_variants``).
        n_bootstrap: bootstrap resamples for metric CIs, 0 = none (``evaluate.n_bootstrap``).
        seed: seed of the bootstrap (``seed``).
        importance: optional feature importance table (``feature``, ``importance`` [, ``fold``]),
            e.g. mean absolute SHAP values, used for the coverage instead of the model's weights.
        batch_rows: people scored per batch (bounds the float32 block in memory).
    """

    min_overlap: float = 0.5
    ambiguous_snps: str = "drop"
    match_by_position: bool = True
    binary_coding: str = "01"
    missing_values: tuple[str, ...] = ("NA", "NaN", "nan", "")
    engine: str = "lut"
    chunk_variants: int = 2048
    n_bootstrap: int = 1000
    seed: int = 42
    importance: str | None = None
    batch_rows: int = 8192

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.min_overlap) <= 1.0:
            raise ConfigError(f"min_overlap={self.min_overlap!r} must be between 0 and 1")
        if self.ambiguous_snps not in harmonize.AMBIGUOUS_POLICIES:
            raise ConfigError(f"ambiguous_snps={self.ambiguous_snps!r} must be one of {harmonize.AMBIGUOUS_POLICIES}")
        if self.binary_coding not in ("01", "12"):
            raise ConfigError(f"binary_coding={self.binary_coding!r} must be '01' or '12'")
        if self.engine not in ("pandas-plink", "lut"):
            raise ConfigError(f"engine={self.engine!r} must be 'pandas-plink' or 'lut'")
        for name in ("chunk_variants", "batch_rows"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be >= 1")
        if int(self.n_bootstrap) < 0:
            raise ConfigError(f"n_bootstrap={self.n_bootstrap!r} must be >= 0")
        object.__setattr__(self, "missing_values", tuple(self.missing_values))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PredictOptions":
        """Build from a plain dict (a rule's params); unknown keys raise :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown predict option(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(d))


@dataclass(frozen=True, kw_only=True)
class Cohort:
    """A new cohort to predict: a PLINK 1 prefix and optional tables (one ``predict.cohorts`` entry)."""

    name: str
    genotypes: str
    covariates: str | None = None
    omics: str | None = None
    phenotype: str | None = None
    phenotype_column: str | None = None

    def __post_init__(self) -> None:
        if self.phenotype and not self.phenotype_column:
            raise ConfigError(f"cohort {self.name}: a phenotype file needs a phenotype column (phenotype_column)")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Cohort":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown cohort key(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(d))


@dataclass(frozen=True)
class FinalModel:
    """The final model: the leaderboard's top learner and trial, one model file per fold."""

    learner: str
    trial: int
    task: str
    class_names: list[str] | None
    models: dict[str, Path]  # fold -> model zip
    recipes: dict[str, Path]  # fold -> recipe.json

    @property
    def folds(self) -> list[str]:
        return list(self.models)


def _best_row(board: pd.DataFrame, where: str) -> tuple[str, int]:
    if board.empty or not {"learner", "best_trial"} <= set(board.columns):
        raise InputError(f"{where}: a leaderboard needs rows with columns learner and best_trial")
    return str(board.learner.iloc[0]), int(board.best_trial.iloc[0])


def _recipe_task(recipes: Mapping[str, Path]) -> tuple[str, list[str] | None]:
    found = {(r["task"], tuple(r["class_names"] or ())) for r in (io.read_json(p) for p in recipes.values())}
    if len(found) != 1:
        raise InputError(f"the fold recipes disagree on task/classes: {sorted(found)}; rerun the workflow")
    task, names = found.pop()
    return str(task), (list(names) or None)


def final_model_from_inputs(
    leaderboard: str | Path,
    models: Sequence[str | Path],
    recipes: Sequence[str | Path],
    folds: Sequence[str],
    *,
    task: str,
    class_names: list[str] | None,
) -> FinalModel:
    """The final model from a rule's inputs (the leaderboard, every trial's models, the recipes)."""
    from .evaluate import leaderboard_model_paths

    board = pd.read_csv(leaderboard, sep="\t")
    learner, trial = _best_row(board, str(leaderboard))
    paths = leaderboard_model_paths(board.iloc[[0]], [str(m) for m in models], folds)[learner]
    recipe_of = dict(zip(folds, map(Path, recipes)))
    r_task, _ = _recipe_task(recipe_of)
    if r_task != task:
        raise InputError(f"the recipes were made for task {r_task!r}, the config says {task!r}; rerun the workflow")
    return FinalModel(learner, trial, task, class_names, {f: Path(paths[f]) for f in folds}, recipe_of)


def final_model_from_results(results: str | Path) -> FinalModel:
    """The final model of a finished results folder (what ``genoml-predict --results`` reads).

    The learner and trial are the leaderboard's top row; the folds are those the trial was
    trained on (its ``metrics.json``); task and class names come from the recipes.
    """
    results = Path(results)
    board_path = results / "leaderboard.tsv"
    if not board_path.exists():
        raise InputError(
            f"{board_path}: not found; {results} is not a finished results folder (run the workflow first, "
            "e.g. snakemake --cores 2 results/leaderboard.tsv)"
        )
    learner, trial = _best_row(pd.read_csv(board_path, sep="\t"), str(board_path))
    trial_dir = results / "train" / learner / f"trial_{trial}"
    record_path = trial_dir / "metrics.json"
    if not record_path.exists():
        raise InputError(f"{record_path}: not found; the leaderboard's best trial has no metrics (rerun the workflow)")
    folds = sorted(io.read_json(record_path)["folds"], key=lambda f: int(re.sub(r"\D", "", f) or 0))
    models = {f: trial_dir / f"model_{f}.zip" for f in folds}
    recipes = {f: results / "munge" / f / "recipe.json" for f in folds}
    for p in [*models.values(), *recipes.values()]:
        if not p.exists():
            raise InputError(f"{p}: not found; the results folder is incomplete (rerun the workflow)")
    task, class_names = _recipe_task(recipes)
    return FinalModel(learner, trial, task, class_names, models, recipes)


# ----------------------------------------------------------------------------- input checks
def read_cohort_phenotype(
    path: str | Path,
    column: str,
    task: str,
    class_names: Sequence[str] | None,
    *,
    binary_coding: str = "01",
    missing_values: Sequence[str] = ("NA",),
) -> pd.DataFrame:
    """A new cohort's phenotype (FID, IID, label) encoded like the training labels.

    Binary: 0/1 (or 1/2 with ``binary_coding="12"``); multiclass: class names of the training
    data (an unknown class is an error); continuous: numbers. Missing values are dropped.
    Unlike training, one class alone is allowed (its metrics are then undefined).
    """
    path = Path(path)
    df = read_id_table(path, missing_values, "phenotype")
    if column not in df.columns:
        raise InputError(f"{path}: no column {column!r} (phenotype_column); available: "
                         f"{', '.join(c for c in df.columns if c not in ('FID', 'IID'))}")
    raw = df[column]
    if task == "binary" and binary_coding == "12":
        raw = raw.mask(raw.isin(["0", "-9"]))
    present = raw.notna()
    values = raw[present].astype(str).str.strip()
    lines = np.flatnonzero(present.to_numpy()) + 2

    def fail(bad: pd.Series, why: str) -> None:
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{path}, line {lines[i]}: phenotype {column} = {values.iloc[i]!r} {why}")

    if task == "binary":
        allowed = ["0", "1"] if binary_coding == "01" else ["1", "2"]
        norm = values.str.replace(r"\.0+$", "", regex=True)
        bad = ~norm.isin(allowed)
        if bad.any():
            fail(bad, f"is not allowed with binary_coding {binary_coding!r} ({allowed}; missing: "
                      f"{list(missing_values)}); fix the file or the coding")
        label = (norm == allowed[1]).astype(np.int64)
    elif task == "multiclass":
        names = list(class_names or [])
        bad = ~values.isin(names)
        if bad.any():
            fail(bad, f"is not one of the training classes {names}; the model cannot score it")
        label = values.map({c: k for k, c in enumerate(names)}).astype(np.int64)
    else:
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna()
        if bad.any():
            fail(bad, "is not a number, but the task is continuous")
        label = num.astype(np.float64)
    out = df.loc[present, ["FID", "IID"]].copy()
    out["label"] = label.to_numpy()
    return out.reset_index(drop=True)


@dataclass
class CheckedCohort:
    """A new cohort whose files passed :func:`check_cohort`."""

    cohort: Cohort
    fam: pd.DataFrame
    bim: pd.DataFrame
    tables: dict[str, pd.DataFrame | None]  # "covariate", "omics"
    phenotype: pd.DataFrame | None  # FID IID label (people in the .fam only)
    phenotype_report: dict[str, Any] | None

    @property
    def samples(self) -> pd.DataFrame:
        return self.fam[["FID", "IID"]].reset_index(drop=True)


def _read_table(path: str | None, wanted: Sequence[str], missing: Sequence[str], what: str) -> pd.DataFrame | None:
    """FID IID + the wanted columns found (numeric-checked); other columns are listed, unchecked."""
    if not path:
        return None
    ids = read_id_table(path, missing, what)
    found = [c for c in wanted if c in ids.columns]
    table = read_numeric_table(path, found, missing, what) if found else ids[["FID", "IID"]].copy()
    for c in ids.columns:  # keep the names of unused columns for the report (values not needed)
        if c not in table.columns:
            table[c] = np.nan
    return table


def check_cohort(cohort: Cohort, model: FinalModel, options: PredictOptions) -> CheckedCohort:
    """Check every file of ``cohort`` before any work: .fam, .bim, .bed, tables, phenotype."""
    prefix = cohort.genotypes
    fam = io.read_fam(prefix)
    bim = io.read_bim(prefix)
    io.check_bed(prefix, len(fam), len(bim))
    wanted: dict[str, list[str]] = {"covariate": [], "omics": []}
    for path in model.recipes.values():
        r = io.read_json(path)
        for f in r["features"][int(r["n_snps"]):]:
            if f["name"] not in wanted.setdefault(f["source"], []):
                wanted[f["source"]].append(f["name"])
    missing = list(options.missing_values)
    tables = {
        "covariate": _read_table(cohort.covariates, wanted["covariate"], missing, "covariate"),
        "omics": _read_table(cohort.omics, wanted["omics"], missing, "omics"),
    }
    pheno = report = None
    if cohort.phenotype:
        ph = read_cohort_phenotype(cohort.phenotype, str(cohort.phenotype_column), model.task, model.class_names,
                                   binary_coding=options.binary_coding, missing_values=missing)
        in_fam = pd.MultiIndex.from_frame(ph[["FID", "IID"]]).isin(pd.MultiIndex.from_frame(fam[["FID", "IID"]]))
        if not in_fam.any():
            raise InputError(
                f"{cohort.phenotype}: none of its {len(ph)} phenotyped samples is in {prefix}.fam; check that FID "
                "and IID match the .fam exactly"
            )
        if (~in_fam).any():
            log.warning("%s: %d phenotyped sample(s) are not in %s.fam; they are not evaluated",
                        cohort.phenotype, int((~in_fam).sum()), prefix)
        pheno = ph[in_fam].reset_index(drop=True)
        report = {"file": str(cohort.phenotype), "column": cohort.phenotype_column,
                  "phenotyped_not_in_fam": int((~in_fam).sum()),
                  "fam_without_phenotype": int(len(fam) - len(pheno))}
    log.info("cohort %s: %d samples x %d variants; covariates %s, omics %s, phenotype %s", cohort.name, len(fam),
             len(bim), cohort.covariates or "-", cohort.omics or "-", cohort.phenotype or "-")
    return CheckedCohort(cohort, fam, bim, tables, pheno, report)


# ----------------------------------------------------------------------------- harmonize + score
@dataclass
class CohortPlan:
    """Per fold: the model, its recipe, the SNP plan and the matched covariates/omics; the report."""

    estimators: dict[str, Any]
    recipes: dict[str, dict[str, Any]]
    plans: dict[str, harmonize.VariantPlan]
    others: dict[str, harmonize.OtherMatch]
    report: dict[str, Any]


def _load_checked_model(path: Path, recipe: Mapping[str, Any], fold: str) -> Any:
    est, meta = persist.load_model(path)
    names = [f["name"] for f in recipe["features"]]
    n = meta.get("n_features")
    if n is not None and int(n) != len(names):
        raise InputError(f"{path}: the model takes {n} features but the {fold} recipe lists {len(names)}; "
                         "the results folder mixes runs (rerun the workflow)")
    sha = meta.get("feature_names_sha")
    if sha is not None:
        from .tune import _names_digest  # the digest written beside every model

        if sha != _names_digest(names):
            raise InputError(f"{path}: the model was trained on other features than the {fold} recipe lists; "
                             "the results folder mixes runs (rerun the workflow)")
    return est


def plan_cohort(
    model: FinalModel, checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool = True
) -> CohortPlan:
    """Load each fold's model and recipe, harmonize the cohort to it and measure the coverage.

    ``swap_alleles=False`` (tests only) uses allele-swapped SNPs' stored counts unswapped.
    """
    table = harmonize.read_importance_table(options.importance) if options.importance else None
    estimators, recipes, plans, others, folds = {}, {}, {}, {}, {}
    for fold in model.folds:
        recipe = io.read_json(model.recipes[fold])
        est = _load_checked_model(model.models[fold], recipe, fold)
        plan = harmonize.plan_variants(recipe, checked.bim, ambiguous=options.ambiguous_snps,
                                       match_by_position=options.match_by_position, swap_alleles=swap_alleles)
        other = harmonize.match_other_features(recipe, checked.samples, checked.tables)
        weights, source = harmonize.importance_weights(est, recipe, table=table, fold=fold)
        present = np.concatenate([plan.present, other.present])
        cov = harmonize.coverage_fraction(weights, present)
        top = np.argsort(-weights, kind="stable")[:10]
        names = [f["name"] for f in recipe["features"]]
        folds[fold] = {
            "coverage": round(cov, 6),
            "importance_source": source,
            "features": len(names),
            "features_present": int(present.sum()),
            "snps": plan.counts(),
            "other": other.report,
            "top_features": [{"feature": names[j], "weight": float(weights[j]), "present": bool(present[j])}
                             for j in top],
        }
        estimators[fold], recipes[fold], plans[fold], others[fold] = est, recipe, plan, other
    sources = sorted({f["importance_source"] for f in folds.values()})
    notes = []
    if "uniform" in sources:
        notes.append(f"{model.learner} has neither coefficients nor feature importances: coverage weighs every "
                     "feature the same (give an importance table, e.g. from SHAP, for a weighted coverage)")
    if "table" in sources:
        notes.append(f"coverage weighted by the importance table {options.importance}")
    coverage = min(f["coverage"] for f in folds.values())
    report = {
        "cohort": checked.cohort.name,
        "genotypes": str(checked.cohort.genotypes),
        "n_samples": int(len(checked.fam)),
        "n_variants": int(len(checked.bim)),
        "learner": model.learner,
        "best_trial": model.trial,
        "task": model.task,
        "options": {"ambiguous_snps": options.ambiguous_snps, "match_by_position": options.match_by_position,
                    "min_overlap": options.min_overlap, "swap_alleles": bool(swap_alleles)},
        "importance_source": sources[0] if len(sources) == 1 else sources,
        "coverage": coverage,
        "min_overlap": options.min_overlap,
        "passed": bool(coverage >= options.min_overlap),
        "notes": notes,
        "folds": folds,
        "genoml_core_version": __version__,
    }
    return CohortPlan(estimators, recipes, plans, others, report)


def score_cohort(plan: CohortPlan, checked: CheckedCohort, model: FinalModel, options: PredictOptions) -> np.ndarray:
    """Scores of every ``.fam`` person, the mean over folds (as :func:`genoml_core.learners.predict_scores`)."""
    from .learners import predict_scores

    folds = model.folds
    genos = harmonize.read_harmonized_genotypes(
        checked.cohort.genotypes, [plan.plans[f] for f in folds], n_samples=len(checked.fam),
        chunk_variants=options.chunk_variants, engine=options.engine,
    )
    n = len(checked.fam)
    n_classes = len(model.class_names) if model.task == "multiclass" and model.class_names else None
    fold_scores = []
    for fold, g in zip(folds, genos):
        est, recipe, other = plan.estimators[fold], plan.recipes[fold], plan.others[fold].values
        parts = []
        for start in range(0, n, options.batch_rows):
            rows = slice(start, start + options.batch_rows)
            x = scale_features(recipe, g[rows], other[rows])
            parts.append(np.asarray(predict_scores(est, x, task=model.task, n_classes=n_classes)))
        fold_scores.append(np.concatenate(parts, axis=0))
    return np.mean(fold_scores, axis=0)


def prediction_table(
    samples: pd.DataFrame, scores: np.ndarray, task: str, class_names: Sequence[str] | None,
    phenotype: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """FID, IID, score, predicted (+ prob_<class> for classification, observed with a phenotype).

    ``score``: binary P(case); multiclass the probability of the predicted class; continuous the
    predicted value (also in ``predicted``).
    """
    pred = samples[["FID", "IID"]].copy().reset_index(drop=True)
    s = np.asarray(scores)
    if task == "continuous":
        pred["score"] = s
        pred["predicted"] = s
    else:
        names = list(class_names or [])
        probs = s if s.ndim == 2 else np.column_stack([1 - s, s])
        pred["score"] = s if task == "binary" else probs.max(axis=1)
        pred["predicted"] = [names[int(k)] for k in probs.argmax(axis=1)]
        for k, c in enumerate(names):
            pred[f"prob_{c}"] = probs[:, k]
    if phenotype is not None:
        obs = pred[["FID", "IID"]].merge(phenotype, on=["FID", "IID"], how="left")["label"]
        if task == "continuous":
            pred["observed"] = obs.to_numpy()
        else:
            pred["observed"] = [None if pd.isna(v) else list(class_names or [])[int(v)] for v in obs]
    return pred


def _evaluate(
    checked: CheckedCohort, scores: np.ndarray, model: FinalModel, options: PredictOptions, plots_dir: Path
) -> dict[str, Any]:
    ph = checked.phenotype
    assert ph is not None
    pos = pd.Series(np.arange(len(checked.fam)), index=pd.MultiIndex.from_frame(checked.samples))
    rows = pos.loc[pd.MultiIndex.from_frame(ph[["FID", "IID"]])].to_numpy()
    task = model.task
    y = ph["label"].to_numpy().astype(np.float64 if task == "continuous" else np.int64)
    s = scores[rows]
    n_classes = len(model.class_names) if model.class_names else None
    m = metrics.compute_metrics(task, y, s, n_classes=n_classes)
    ci = (
        metrics.bootstrap_ci(task, y, s, metrics=_MAIN_METRICS[task], n_boot=options.n_bootstrap, seed=options.seed,
                             n_classes=n_classes)
        if options.n_bootstrap > 0
        else {}
    )
    plot_paths = plots.evaluation_plots(task, y, s, plots_dir, class_names=model.class_names)
    out: dict[str, Any] = {
        "metrics": m,
        "ci95": {k: list(v) for k, v in ci.items()},
        "n_evaluated": int(len(y)),
        "plots": {k: str(v) for k, v in plot_paths.items()},
    }
    if task != "continuous":
        out["confusion_matrix"] = {"classes": model.class_names,
                                   "matrix": metrics.confusion(task, y, s, n_classes=n_classes)}
        out["class_counts"] = {str(model.class_names[int(k)]): int(v)
                               for k, v in pd.Series(y).value_counts().sort_index().items()}
    return out


def run_prediction(
    model: FinalModel,
    cohort: Cohort,
    options: PredictOptions,
    *,
    predictions_path: str | Path,
    report_path: str | Path,
    metrics_path: str | Path,
    plots_dir: str | Path,
    swap_alleles: bool = True,
) -> dict[str, Any]:
    """Check, harmonize, score and evaluate one cohort; write its four outputs.

    Writes ``report_path`` (the harmonize report) before the overlap check, so a cohort that is
    stopped still shows why (Snakemake removes it with the other outputs of the failed job; the
    log keeps the message). ``plots_dir`` is created, and stays empty without a phenotype.

    Returns:
        The content of ``metrics_path``.

    Raises:
        InputError: a malformed input (before any work).
        LowOverlapError: a fold's coverage is below ``options.min_overlap``.
    """
    checked = check_cohort(cohort, model, options)
    plan = plan_cohort(model, checked, options, swap_alleles=swap_alleles)
    io.write_json(plan.report, report_path)
    log.info("coverage of the model's importance: %.3f (%s), minimum %.3f", plan.report["coverage"],
             plan.report["importance_source"], options.min_overlap)
    harmonize.check_overlap(plan.report, options.min_overlap, what=f"cohort {cohort.name} ({cohort.genotypes})")
    scores = score_cohort(plan, checked, model, options)
    io.write_tsv(prediction_table(checked.samples, scores, model.task, model.class_names, checked.phenotype),
                 predictions_path, na_rep="NA")
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "cohort": cohort.name,
        "learner": model.learner,
        "best_trial": model.trial,
        "task": model.task,
        "folds": model.folds,
        "n_predicted": int(len(scores)),
        "coverage": plan.report["coverage"],
        "phenotype": checked.phenotype_report,
        "metrics": None,
    }
    if checked.phenotype is not None:
        result.update(_evaluate(checked, scores, model, options, plots_dir))
        result["phenotype"]["n_evaluated"] = result["n_evaluated"]
        log.info("metrics on cohort %s: %s", cohort.name, result["metrics"])
    io.write_json(result, metrics_path)
    return result


# ----------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``genoml-predict --results DIR --bfile PREFIX [...] --out DIR``: predict outside Snakemake."""
    d = PredictOptions()
    ap = argparse.ArgumentParser(
        prog="genoml-predict",
        description="Harmonize a new PLINK cohort to a finished run's recipes and apply its final model "
                    "(the leaderboard's top learner and trial; the mean over folds).",
    )
    ap.add_argument("--results", required=True, help="the workflow's results folder (with leaderboard.tsv)")
    ap.add_argument("--bfile", required=True, help="PLINK 1 prefix of the new cohort (.bed/.bim/.fam)")
    ap.add_argument("--covariates", help="tab-separated FID, IID and the training covariate columns")
    ap.add_argument("--omics", help="omics matrix (TSV or .parquet) with FID, IID and the training columns")
    ap.add_argument("--phenotype", help="tab-separated FID, IID and a phenotype column, to evaluate on")
    ap.add_argument("--phenotype-column", help="the phenotype column (required with --phenotype)")
    ap.add_argument("--binary-coding", choices=["01", "12"], default=d.binary_coding)
    ap.add_argument("--missing-values", nargs="*", default=list(d.missing_values),
                    help="strings read as missing in the tables")
    ap.add_argument("--min-overlap", type=float, default=d.min_overlap,
                    help="minimum share of the model's importance carried by present features (0-1)")
    ap.add_argument("--ambiguous-snps", choices=list(harmonize.AMBIGUOUS_POLICIES), default=d.ambiguous_snps,
                    help="strand-ambiguous (A/T, C/G) SNPs: drop and impute, or keep the alleles as given")
    ap.add_argument("--no-match-by-position", dest="match_by_position", action="store_false",
                    help="match SNPs by id only")
    ap.add_argument("--importance", help="feature importance table (feature, importance[, fold]) for the coverage")
    ap.add_argument("--engine", choices=["pandas-plink", "lut"], default=d.engine)
    ap.add_argument("--n-bootstrap", type=int, default=d.n_bootstrap)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--name", help="cohort name for the reports (default: the --bfile file name)")
    ap.add_argument("--out", required=True, help="output folder: predictions.tsv, harmonize_report.json, "
                                                 "metrics.json, plots/")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    args = ap.parse_args(argv)
    if args.phenotype and not args.phenotype_column:
        ap.error("--phenotype needs --phenotype-column")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    out = Path(args.out)
    try:
        options = PredictOptions(
            min_overlap=args.min_overlap, ambiguous_snps=args.ambiguous_snps, match_by_position=args.match_by_position,
            binary_coding=args.binary_coding, missing_values=tuple(args.missing_values), engine=args.engine,
            n_bootstrap=args.n_bootstrap, seed=args.seed, importance=args.importance,
        )
        cohort = Cohort(name=args.name or Path(args.bfile).name, genotypes=args.bfile, covariates=args.covariates,
                        omics=args.omics, phenotype=args.phenotype, phenotype_column=args.phenotype_column)
        model = final_model_from_results(args.results)
        result = run_prediction(model, cohort, options, predictions_path=out / PREDICTIONS_FILE,
                                report_path=out / REPORT_FILE, metrics_path=out / METRICS_FILE,
                                plots_dir=out / PLOTS_DIR)
    except GenomlError as err:
        ap.exit(1, f"genoml-predict: error: {err}\n")
    summary = f"wrote {out / PREDICTIONS_FILE} ({result['n_predicted']} people, coverage {result['coverage']:.3f})"
    if result["metrics"]:
        key = metrics.SELECTION_METRIC[result["task"]]
        summary += f"; {key} {result['metrics'][key]:.3f} on {result['n_evaluated']} phenotyped people"
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
