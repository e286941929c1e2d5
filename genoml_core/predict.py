"""Predict on a new cohort: harmonize its data to each fold's recipe and apply the final model.

The final model is ``results/final/final_model.json`` (written once by ``select_final`` from
out-of-fold predictions): one or more members, each with one model per fold, stack weights and a
calibrator. Each fold model sees the new cohort harmonized to its own ``recipe.json``
(:mod:`genoml_core.harmonize`); a member's score is the mean of its fold scores, the members are
combined and calibrated exactly as for the test set. Nothing about the new cohort's own data is used for scaling or imputation.

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
import logging
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__, harmonize, io, layout, metrics, persist, plots
from .ensemble import FinalModel
from .errors import ConfigError, GenomlError, InputError, field_names, reject_unknown
from .inputs import read_id_table, read_numeric_table, read_phenotype, show_id, whitespace_hint
from .munge import pca_weights_path, scale_features

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
# genoml-predict's --out folder holds the files of rule predict, under the same names
PREDICTIONS_FILE = PurePosixPath(layout.PREDICT_PREDICTIONS).name
REPORT_FILE = PurePosixPath(layout.PREDICT_REPORT).name
METRICS_FILE = PurePosixPath(layout.PREDICT_METRICS).name
PLOTS_DIR = PurePosixPath(layout.PREDICT_PLOTS).name


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """How to harmonize and score. Defaults equal genoml_core/config.schema.yaml's (a unit test checks).

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
        reject_unknown(d, field_names(cls), "predict option(s)")
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
        reject_unknown(d, field_names(cls), "cohort key(s)")
        return cls(**dict(d))


def _recipe_task(recipes: Sequence[Path]) -> tuple[str, list[str] | None]:
    found = {(r["task"], tuple(r["class_names"] or ())) for r in (io.read_json(p) for p in recipes)}
    if len(found) != 1:
        raise InputError(f"the fold recipes disagree on task/classes: {sorted(found)}; rerun the workflow")
    task, names = found.pop()
    return str(task), (list(names) or None)


def _recipe_paths(model: FinalModel) -> list[Path]:
    """Every recipe the final model's members read (each once, in member and fold order)."""
    return list(dict.fromkeys(p for m in model.members for p in m.recipes.values()))


def _check_files(model: FinalModel) -> None:
    for m in model.members:
        for p in [*m.models.values(), *m.recipes.values()]:
            if not Path(p).exists():
                raise InputError(f"{p}: not found; the results folder is incomplete (rerun the workflow)")
    for path in _recipe_paths(model):
        w = pca_weights_path(io.read_json(path), path)
        if w is not None and not w.exists():
            raise InputError(f"{w}: the ancestry PCA weights named by {path} are missing; the results folder is "
                             "incomplete (rerun the workflow)")


def final_model_from_inputs(final: str | Path, *, task: str, class_names: list[str] | None) -> FinalModel:
    """The final model a rule reads (``results/final/final_model.json``), checked against the config."""
    model = FinalModel.load(final)
    _check_files(model)
    r_task, _ = _recipe_task(_recipe_paths(model))
    if r_task != task or model.task != task:
        raise InputError(f"the final model was made for task {model.task!r}, the config says {task!r}; "
                         "rerun the workflow")
    return model


def final_model_from_results(results: str | Path) -> FinalModel:
    """The final model of a finished results folder (what ``genoml-predict --results`` reads):
    ``final/final_model.json``, written once by ``select_final``; nothing is re-picked here."""
    results = Path(results)
    path = results / layout.in_results(layout.FINAL_MODEL)
    if not path.exists():
        raise InputError(
            f"{path}: not found; {results} is not a finished results folder (run the workflow first, "
            f"e.g. snakemake --cores 2 {layout.FINAL_MODEL})"
        )
    model = FinalModel.load(path, results)
    _check_files(model)
    task, _ = _recipe_task(_recipe_paths(model))
    if task != model.task:
        raise InputError(f"{path}: made for task {model.task!r} but its recipes say {task!r}; rerun the workflow")
    return model


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

    :func:`genoml_core.inputs.read_phenotype` with ``cohort=True``: multiclass values must be
    training classes; unlike training, one class alone is allowed (its metrics are then undefined).
    """
    return read_phenotype(path, column, task, binary_coding=binary_coding, missing_values=missing_values,
                          cohort=True, class_names=class_names)[0]


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
    for path in _recipe_paths(model):
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
        absent = ph.loc[~in_fam, ["FID", "IID"]]
        example = ", ".join(show_id(r.FID, r.IID) for r in absent.head(3).itertuples())
        if not in_fam.any():
            raise InputError(
                f"{cohort.phenotype}: none of its {len(ph)} phenotyped samples is in {prefix}.fam (e.g. {example})"
                f"{whitespace_hint(absent)}; check that FID and IID match the .fam exactly"
            )
        if (~in_fam).any():
            log.warning("%s: %d phenotyped sample(s) are not in %s.fam (e.g. %s)%s; they are not evaluated",
                        cohort.phenotype, int((~in_fam).sum()), prefix, example, whitespace_hint(absent))
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
    """Per member and fold the model; per recipe its SNP plan and matched covariates/omics; the report."""

    estimators: dict[tuple[int, str], Any]  # (member index, fold) -> fitted model
    recipes: dict[Path, dict[str, Any]]
    plans: dict[Path, harmonize.VariantPlan]
    others: dict[Path, harmonize.OtherMatch]
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


def _project_pcs(
    weights_path: Path, checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cohort's ancestry PCs: its genotypes harmonized to the PCA SNPs (ids, positions,
    swapped alleles as for the model's SNPs), projected with the training weights."""
    from . import pca

    weights = pca.read_weights(weights_path)
    plan = harmonize.plan_variants(pca.weights_recipe(weights), checked.bim, ambiguous=options.ambiguous_snps,
                                   match_by_position=options.match_by_position, swap_alleles=swap_alleles)
    (g,) = harmonize.read_harmonized_genotypes(checked.cohort.genotypes, [plan], n_samples=len(checked.fam),
                                               chunk_variants=options.chunk_variants, engine=options.engine)
    scores = pca.project_counts(g, weights)  # absent and imputed SNPs are -1: compensated per person
    table = checked.samples.copy()
    names = [c for c in weights.columns if c.startswith(pca.PC_PREFIX)]
    for i, c in enumerate(names):
        table[c] = scores[:, i]
    report = {"weights": str(weights_path), "n_pcs": len(names), "snps": plan.counts()}
    log.info("ancestry PCs of cohort %s: %d PCs from %d of %d PCA SNPs", checked.cohort.name, len(names),
             int(plan.present.sum()), plan.present.size)
    return table, report


def plan_cohort(
    model: FinalModel, checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool = True
) -> CohortPlan:
    """Load every member's fold models and recipes, harmonize the cohort to each recipe and
    measure the coverage (the smallest over members and folds).

    ``swap_alleles=False`` (tests only) uses allele-swapped SNPs' stored counts unswapped.
    """
    table = harmonize.read_importance_table(options.importance) if options.importance else None
    recipes = {p: io.read_json(p) for p in _recipe_paths(model)}
    plans, others = {}, {}
    projected: dict[Path, tuple[pd.DataFrame, dict[str, Any]]] = {}
    for path, recipe in recipes.items():
        plans[path] = harmonize.plan_variants(recipe, checked.bim, ambiguous=options.ambiguous_snps,
                                              match_by_position=options.match_by_position, swap_alleles=swap_alleles)
        tables = dict(checked.tables)
        wpath = pca_weights_path(recipe, path)
        if wpath is not None:  # ancestry PCs: projected from the cohort's harmonized genotypes
            if wpath not in projected:
                projected[wpath] = _project_pcs(wpath, checked, options, swap_alleles=swap_alleles)
            tables["pca"] = projected[wpath][0]
        others[path] = harmonize.match_other_features(recipe, checked.samples, tables)
    estimators: dict[tuple[int, str], Any] = {}
    per_member: dict[str, dict[str, Any]] = {}
    sources: set[str] = set()
    for i, member in enumerate(model.members):
        folds: dict[str, Any] = {}
        for fold in member.folds:
            rpath = member.recipes[fold]
            recipe, plan, other = recipes[rpath], plans[rpath], others[rpath]
            est = _load_checked_model(member.models[fold], recipe, fold)
            weights, source = harmonize.importance_weights(est, recipe, table=table, fold=fold)
            sources.add(source)
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
            estimators[(i, fold)] = est
        per_member[member.learner] = folds
    notes = []
    uniform = [m.learner for m in model.members if any(f["importance_source"] == "uniform"
                                                         for f in per_member[m.learner].values())]
    if uniform:
        notes.append(f"{', '.join(uniform)} has neither coefficients nor feature importances: coverage weighs every "
                     "feature the same (give an importance table, e.g. from SHAP, for a weighted coverage)")
    if "table" in sources:
        notes.append(f"coverage weighted by the importance table {options.importance}")
    coverage = min(f["coverage"] for folds in per_member.values() for f in folds.values())
    srcs = sorted(sources)
    report = {
        "cohort": checked.cohort.name,
        "genotypes": str(checked.cohort.genotypes),
        "n_samples": int(len(checked.fam)),
        "n_variants": int(len(checked.bim)),
        "learner": model.learner,
        "best_trial": model.main.trial,
        "members": [{"learner": m.learner, "trial": m.trial, "weight": m.weight} for m in model.members],
        "task": model.task,
        "options": {"ambiguous_snps": options.ambiguous_snps, "match_by_position": options.match_by_position,
                    "min_overlap": options.min_overlap, "swap_alleles": bool(swap_alleles)},
        "importance_source": srcs[0] if len(srcs) == 1 else srcs,
        "coverage": coverage,
        "min_overlap": options.min_overlap,
        "passed": bool(coverage >= options.min_overlap),
        "notes": notes,
        # the largest-weight member's folds (what the coverage check of one model reads)
        "folds": per_member[model.main.learner],
        "member_folds": per_member,
        "ancestry_pcs": {str(w.parent.name): rep for w, (_, rep) in projected.items()},
        "genoml_core_version": __version__,
    }
    return CohortPlan(estimators, recipes, plans, others, report)


def score_cohort(plan: CohortPlan, checked: CheckedCohort, model: FinalModel, options: PredictOptions) -> np.ndarray:
    """Final scores of every ``.fam`` person: each member's fold models averaged, the members
    combined with the stack weights, the calibrator applied (as for the test set)."""
    from .learners import predict_scores

    paths = list(plan.recipes)
    genos = dict(zip(paths, harmonize.read_harmonized_genotypes(
        checked.cohort.genotypes, [plan.plans[p] for p in paths], n_samples=len(checked.fam),
        chunk_variants=options.chunk_variants, engine=options.engine,
    )))
    n = len(checked.fam)
    n_classes = len(model.class_names) if model.task == "multiclass" and model.class_names else None
    member_scores = []
    for i, member in enumerate(model.members):
        fold_scores = []
        for fold in member.folds:
            rpath = member.recipes[fold]
            est, recipe, other, g = plan.estimators[(i, fold)], plan.recipes[rpath], plan.others[rpath].values, genos[rpath]
            parts = []
            for start in range(0, n, options.batch_rows):
                rows = slice(start, start + options.batch_rows)
                x = scale_features(recipe, g[rows], other[rows])
                parts.append(np.asarray(predict_scores(est, x, task=model.task, n_classes=n_classes)))
            fold_scores.append(np.concatenate(parts, axis=0))
        member_scores.append(np.mean(fold_scores, axis=0))
    return model.score(member_scores)


def prediction_table(
    samples: pd.DataFrame, scores: np.ndarray, task: str, class_names: Sequence[str] | None,
    phenotype: pd.DataFrame | None = None, cutoff: Any = None,
) -> pd.DataFrame:
    """FID, IID, score, predicted (+ prob_<class> for classification, observed with a phenotype).

    ``score``: binary P(case); multiclass the probability of the predicted class; continuous the
    predicted value (also in ``predicted``). ``predicted`` is
    :func:`genoml_core.metrics.predicted_class` with the final model's ``cutoff`` (binary: a score
    >= the cutoff, the cutoff included, is a case; default 0.5).
    """
    pred = samples[["FID", "IID"]].copy().reset_index(drop=True)
    s = np.asarray(scores)
    if task == "continuous":
        pred["score"] = s
        pred["predicted"] = s
    else:
        names = list(class_names or [])
        probs = s if s.ndim == 2 else np.column_stack([1 - s, s])
        cls = metrics.predicted_class(task, s, cutoff)
        pred["score"] = s if task == "binary" else probs[np.arange(len(cls)), cls]
        # one definition of the predicted class (the final model's cutoff), as in the metrics
        pred["predicted"] = [names[int(k)] for k in cls]
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
    cutoff = model.cutoff
    m = metrics.compute_metrics(task, y, s, n_classes=n_classes, cutoff=cutoff)
    ci = (
        metrics.bootstrap_ci(task, y, s, metrics=_MAIN_METRICS[task], n_boot=options.n_bootstrap, seed=options.seed,
                             n_classes=n_classes, cutoff=cutoff)
        if options.n_bootstrap > 0
        else {}
    )
    plot_paths = plots.evaluation_plots(task, y, s, plots_dir, class_names=model.class_names, cutoff=cutoff)
    out: dict[str, Any] = {
        "metrics": m,
        "ci95": {k: list(v) for k, v in ci.items()},
        "n_evaluated": int(len(y)),
        "plots": {k: str(v) for k, v in plot_paths.items()},
    }
    if task != "continuous":
        assert model.class_names is not None  # a classification model names its classes
        out["confusion_matrix"] = {"classes": model.class_names,
                                   "matrix": metrics.confusion(task, y, s, n_classes=n_classes, cutoff=cutoff)}
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
    io.write_tsv(prediction_table(checked.samples, scores, model.task, model.class_names, checked.phenotype,
                                  cutoff=model.cutoff),
                 predictions_path, na_rep="NA")
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "cohort": cohort.name,
        "decision_cutoff": model.cutoff,
        "learner": model.learner,
        "best_trial": model.main.trial,
        "members": [{"learner": m.learner, "trial": m.trial, "weight": m.weight} for m in model.members],
        "calibrator": model.calibrator.get("kind", "none"),
        "task": model.task,
        "folds": model.main.folds,
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
def _plink1_genotypes(given: str, out: Path, *, sample: str | None, vcf_id_delim: str | None,
                      hard_call_threshold: float) -> str:
    """A PLINK 1 prefix for ``given``: itself, or its conversion by plink2 into ``out/converted/``."""
    from .genotype_formats import GenotypeFormatError, convert, needs_conversion, resolve

    try:
        src = resolve(given, sample=sample, what="--bfile")
    except GenotypeFormatError as exc:
        raise InputError(str(exc)) from exc
    options = {"vcf_id_delim": vcf_id_delim, "hard_call_threshold": hard_call_threshold}
    if not needs_conversion(src, options):
        return src.path
    prefix = out / "converted" / "genotypes"
    report = convert(src, prefix, options)
    io.write_json(report, out / "converted" / "genotypes.json")
    log.info("converted %s (%s) to %s: %d samples x %d variants", given, src.format, prefix, report["samples"],
             report["variants"])
    return str(prefix)


def main(argv: Sequence[str] | None = None) -> int:
    """``genoml-predict --results DIR --bfile PREFIX [...] --out DIR``: predict outside Snakemake."""
    d = PredictOptions()
    ap = argparse.ArgumentParser(
        prog="genoml-predict",
        description="Harmonize a new PLINK cohort to a finished run's recipes and apply its final model "
                    f"({layout.FINAL_MODEL}: its members' fold models, stack weights and calibrator).",
    )
    ap.add_argument("--results", required=True, help=f"the workflow's results folder (with {layout.in_results(layout.FINAL_MODEL)})")
    ap.add_argument("--bfile", "--genotypes", dest="bfile", required=True,
                    help="the new cohort's genotypes: a PLINK 1 prefix (.bed/.bim/.fam), a PLINK 2 prefix or .pgen, "
                         "a .vcf.gz/.bcf or a .bgen (others are converted by plink2 into OUT/converted/ first)")
    ap.add_argument("--sample", help="the BGEN .sample file (default: beside the .bgen)")
    ap.add_argument("--vcf-id-delim", help="VCF sample ids FID<delim>IID (default: FID = IID = the VCF id)")
    ap.add_argument("--hard-call-threshold", type=float, default=0.1,
                    help="dosages farther than this from 0/1/2 become missing calls (VCF DS, BGEN)")
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
    ap.add_argument("--out", required=True, help=f"output folder: {PREDICTIONS_FILE} (per person: individual-level "
                                                 f"data, not for sharing), {REPORT_FILE}, {METRICS_FILE}, {PLOTS_DIR}/")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__} (genoml_core)")
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
        genotypes = _plink1_genotypes(args.bfile, out, sample=args.sample, vcf_id_delim=args.vcf_id_delim,
                                      hard_call_threshold=args.hard_call_threshold)
        cohort = Cohort(name=args.name or Path(args.bfile).name, genotypes=genotypes, covariates=args.covariates,
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
