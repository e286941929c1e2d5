"""The plan of a prediction: every member's fold models and recipes loaded, the cohort harmonized to
each recipe (ancestry PCs projected), and the coverage report."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import __version__, io
from ..genotypes import harmonize
from ..models import persist
from ..evaluation.ensemble import FinalModel
from ..errors import InputError
from ..store import pca_weights_path
from .checks import CheckedCohort
from .model import _recipe_paths
from .options import PredictOptions

log = logging.getLogger("genoml_core.predict")  # the package's name, not __name__: warnings.json records it


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
        from ..tuning.tune import _names_digest  # the digest written beside every model

        if sha != _names_digest(names):
            raise InputError(f"{path}: the model was trained on other features than the {fold} recipe lists; "
                             "the results folder mixes runs (rerun the workflow)")
    return est


def _project_pcs(
    weights_path: Path, checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cohort's ancestry PCs: its genotypes harmonized to the PCA SNPs (ids, positions,
    swapped alleles as for the model's SNPs), projected with the training weights."""
    from ..genotypes import pca

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


def _harmonize_recipes(
    recipes: Mapping[Path, dict[str, Any]], checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool
) -> tuple[dict[Path, harmonize.VariantPlan], dict[Path, harmonize.OtherMatch],
           dict[Path, tuple[pd.DataFrame, dict[str, Any]]]]:
    """Per recipe its SNP plan and matched covariates/omics; per PCA weights file the projected PCs."""
    plans: dict[Path, harmonize.VariantPlan] = {}
    others: dict[Path, harmonize.OtherMatch] = {}
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
    return plans, others, projected


def _fold_report(
    est: Any, recipe: Mapping[str, Any], plan: harmonize.VariantPlan, other: harmonize.OtherMatch, *,
    table: pd.DataFrame | None, fold: str,
) -> tuple[dict[str, Any], str]:
    """One fold model's coverage report, and where its importance came from."""
    weights, source = harmonize.importance_weights(est, recipe, table=table, fold=fold)
    present = np.concatenate([plan.present, other.present])
    cov = harmonize.coverage_fraction(weights, present)
    top = np.argsort(-weights, kind="stable")[:10]
    names = [f["name"] for f in recipe["features"]]
    report = {
        "coverage": round(cov, 6),
        "importance_source": source,
        "features": len(names),
        "features_present": int(present.sum()),
        "snps": plan.counts(),
        "other": other.report,
        "top_features": [{"feature": names[j], "weight": float(weights[j]), "present": bool(present[j])}
                         for j in top],
    }
    return report, source


def _load_members(
    model: FinalModel, recipes: Mapping[Path, dict[str, Any]], plans: Mapping[Path, harmonize.VariantPlan],
    others: Mapping[Path, harmonize.OtherMatch], table: pd.DataFrame | None,
) -> tuple[dict[tuple[int, str], Any], dict[str, dict[str, Any]], set[str]]:
    """Every member's fold models (checked against their recipes) and their coverage reports."""
    estimators: dict[tuple[int, str], Any] = {}
    per_member: dict[str, dict[str, Any]] = {}
    sources: set[str] = set()
    for i, member in enumerate(model.members):
        folds: dict[str, Any] = {}
        for fold in member.folds:
            rpath = member.recipes[fold]
            recipe, plan, other = recipes[rpath], plans[rpath], others[rpath]
            est = _load_checked_model(member.models[fold], recipe, fold)
            folds[fold], source = _fold_report(est, recipe, plan, other, table=table, fold=fold)
            sources.add(source)
            estimators[(i, fold)] = est
        per_member[member.learner] = folds
    return estimators, per_member, sources


def _coverage_notes(
    model: FinalModel, per_member: Mapping[str, dict[str, Any]], sources: set[str], importance: str | None
) -> list[str]:
    notes = []
    uniform = [m.learner for m in model.members if any(f["importance_source"] == "uniform"
                                                         for f in per_member[m.learner].values())]
    if uniform:
        notes.append(f"{', '.join(uniform)} has neither coefficients nor feature importances: coverage weighs every "
                     "feature the same (give an importance table, e.g. from SHAP, for a weighted coverage)")
    if "table" in sources:
        notes.append(f"coverage weighted by the importance table {importance}")
    return notes


def _plan_report(
    model: FinalModel, checked: CheckedCohort, options: PredictOptions, per_member: dict[str, dict[str, Any]],
    sources: set[str], projected: Mapping[Path, tuple[pd.DataFrame, dict[str, Any]]], *, swap_alleles: bool,
) -> dict[str, Any]:
    """The harmonize report (``harmonize_report.json``): the cohort, the options, the coverage."""
    notes = _coverage_notes(model, per_member, sources, options.importance)
    coverage = min(f["coverage"] for folds in per_member.values() for f in folds.values())
    srcs = sorted(sources)
    return {
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


def plan_cohort(
    model: FinalModel, checked: CheckedCohort, options: PredictOptions, *, swap_alleles: bool = True
) -> CohortPlan:
    """Load every member's fold models and recipes, harmonize the cohort to each recipe and
    measure the coverage (the smallest over members and folds).

    ``swap_alleles=False`` (tests only) uses allele-swapped SNPs' stored counts unswapped.
    """
    table = harmonize.read_importance_table(options.importance) if options.importance else None
    recipes = {p: io.read_json(p) for p in _recipe_paths(model)}
    plans, others, projected = _harmonize_recipes(recipes, checked, options, swap_alleles=swap_alleles)
    estimators, per_member, sources = _load_members(model, recipes, plans, others, table)
    report = _plan_report(model, checked, options, per_member, sources, projected, swap_alleles=swap_alleles)
    return CohortPlan(estimators, recipes, plans, others, report)
