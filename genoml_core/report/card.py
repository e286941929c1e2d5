"""The report's model card: the final model, intended use, data, metrics, subgroup gaps and limitations."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from .. import __version__
from .sections import _pca_method
from .tables import _fmt


def _pca_card_line(config: Mapping[str, Any], pca: Mapping[str, Any] | None) -> str:
    """The model card's answer to "were ancestry PCs used?"."""
    k = int((pca or {}).get("n_pcs") or 0)
    if k > 0:
        return (f"yes: {k} PCs ({_pca_method(pca or {})} on {_fmt((pca or {}).get('n_train'))} training people of "
                f"{(pca or {}).get('fold', 'the fold')}, {_fmt((pca or {}).get('n_snps'))} LD-pruned SNPs), "
                "unpenalized covariates")
    if not (config.get("data") or {}).get("genotypes"):
        return "no (matrix-only run: no genotypes)"
    n_cfg = int(((config.get("pca") or {}).get("n_pcs")) or 0)
    if n_cfg > 0 and pca is None:
        return f"pca.n_pcs is {n_cfg} but the report was given no PCA results"
    return "no (pca.n_pcs 0)"


def _final_model_text(ev: Mapping[str, Any], best: Any, main: str | None) -> str:
    """One line on the final model: its members and weights, calibrator, how it was chosen."""
    members = ev.get("members")
    if not members:  # a metrics.json from before the final-model stage
        return f"{best['learner']} (trial {int(best['best_trial'])}), chosen on validation {main}"
    parts = [f"{m['learner']} (trial {m['trial']}, weight {_fmt(m['weight'])})" for m in members]
    kind = "stack of " if len(members) > 1 else ""
    cutoff = ev.get("decision_cutoff")
    if isinstance(cutoff, (int, float)):
        rule = f"; a case when P(case) >= {cutoff:.3g} (the balanced decision rule: the mean OOF score)"
    elif isinstance(cutoff, list):
        rule = "; predicted class = arg-max of P(class) / its mean OOF probability (the balanced decision rule)"
    else:
        rule = ""
    scored = ev.get("scored_with")
    how = ("; each member refitted on every development person" if scored == "refit"
           else f"; each member scored as the {scored}" if scored else "")
    return (f"{kind}{', '.join(parts)}; calibrator {ev.get('calibrator', 'none')}{rule}; chosen on out-of-fold "
            f"{main}{how}")


def _limitations(*, ev: Mapping[str, Any], best: Any, main: str | None, ci: Sequence[float] | None,
                 explain: Mapping[str, Any] | None, subgroups: Mapping[str, Any] | None, too_small: Sequence[str],
                 pca: Mapping[str, Any] | None) -> list[str]:
    """The model card's limitations: the standing ones, then what this run's results add."""
    limitations = [
        f"Validated once on a held-out test set of {ev.get('n_test')} people from the same cohort; performance "
        "on other cohorts (other platforms, ancestries, recruitment) is unknown until predicted with the "
        "predict stage and checked.",
        "SHAP values explain the model, not biology: a top SNP may tag a causal variant in LD with it, and the "
        "association filter and LD pruning decided which SNPs the model could use.",
    ]
    if too_small:
        limitations.append("Too small to judge: " + "; ".join(too_small) + ".")
    if ci and (ci[1] - ci[0]) > 0.1:
        limitations.append(f"The test confidence interval of {main} is wide ({_fmt(ci[0])}-{_fmt(ci[1])}): the test "
                           "set is small.")
    if bool(best.get("degenerate", False)):
        limitations.append("The chosen model's predictions are degenerate (the same score for everybody).")
    if explain and explain.get("n_folds", 1) > 1:
        limitations.append(f"Explanations describe the model of {explain.get('fold')} only "
                           f"(the test prediction averages {explain.get('n_folds')} fold models).")
    if explain:
        limitations.extend(str(n) for n in explain.get("notes", []) if "budget" in str(n) or "approximate" in str(n))
    if pca and int(pca.get("n_pcs") or 0) > 0:
        limitations.append("Ancestry PCs are projections onto the training people's axes: for people of an ancestry "
                           "the training cohort does not represent, they describe ancestry poorly and adjust for it "
                           "poorly.")
    if subgroups:
        limitations.extend(subgroups.get("warnings", []))
    return limitations


def _subgroup_gaps(subgroups: Mapping[str, Any] | None) -> list[str]:
    """The model card's subgroup gaps: per group column, the largest gap of the main metric."""
    gaps: list[str] = []
    if subgroups:
        for col, info in (subgroups.get("columns") or {}).items():
            if info.get("gap") is not None and not (isinstance(info.get("gap"), float) and math.isnan(info["gap"])):
                gaps.append(f"{col}: largest {subgroups.get('metric')} gap {_fmt(info['gap'])} "
                            f"({info.get('worst_group')} {_fmt(info.get('worst_value'))} vs {info.get('best_group')} "
                            f"{_fmt(info.get('best_value'))})" + (" - FLAGGED" if info.get("flagged") else ""))
            else:
                gaps.append(f"{col}: fewer than two groups large enough to compare")
    else:
        gaps.append("No groups file configured (data.groups): performance per ancestry, sex or site was not checked.")
    return gaps


def _model_card(*, config: Mapping[str, Any], inputs: Mapping[str, Any], qc: Mapping[str, Any],
                split: Mapping[str, Any], ev: Mapping[str, Any], board: pd.DataFrame,
                explain: Mapping[str, Any] | None, subgroups: Mapping[str, Any] | None,
                intended_use: str | None, too_small: Sequence[str] = (),
                pca: Mapping[str, Any] | None = None) -> dict[str, Any]:
    task = config.get("task")
    data = config.get("data", {})
    pheno = data.get("phenotype_column")
    best = board.iloc[0]
    recipe_n = (explain or {}).get("n_features")
    parts = split.get("parts") or {}
    main = ev.get("selection_metric")
    ci = (ev.get("test_ci95") or {}).get(main)
    test_value = (ev.get("test") or {}).get(main)
    metric_text = f"{main} = {_fmt(test_value)}" + (f" (95% CI {_fmt(ci[0])}-{_fmt(ci[1])})" if ci else "")
    use = intended_use or (
        f"Research: estimating the genetic predisposition to '{pheno}' ({task}) in people similar to the "
        "training cohort (same genotyping platform, QC and ancestry mix). Not validated for clinical or "
        "individual decisions."
    )
    limitations = _limitations(ev=ev, best=best, main=main, ci=ci, explain=explain, subgroups=subgroups,
                               too_small=too_small, pca=pca)
    gaps = _subgroup_gaps(subgroups)
    return {
        "details": [
            ("model", _final_model_text(ev, best, main)),
            ("hyperparameters", str(best.get("params", ""))),
            ("genoml_core", __version__),
            ("task", f"{task}: {pheno}"),
        ],
        "intended_use": use,
        "data": [
            ("genotypes", str(data.get("genotypes_source") or data.get("genotypes")
                              or f"none (matrix-only run: {data.get('omics')})")
             + (f" (converted by plink2 to {data['genotypes']})"
                if data.get("genotypes_source") and data.get("genotypes") != data.get("genotypes_source")
                and not str(data.get("genotypes_source")).endswith(".bed") else "")),
            ("samples after QC", _fmt((qc.get("sample_qc") or {}).get("samples_after_qc"))),
            ("train / valid / test", " / ".join(_fmt((parts.get(p) or {}).get("n")) for p in ("train", "valid", "test"))),
            ("features", _fmt(recipe_n) if recipe_n else "see the recipe"),
            ("covariates", ", ".join(inputs.get("covariates_columns") or []) or "none"),
            ("ancestry PCs", _pca_card_line(config, pca)),
            ("classes", ", ".join(f"{k}: {v}" for k, v in (inputs.get("class_counts") or {}).items()) or "n/a"),
        ],
        "metrics": metric_text,
        "gaps": gaps,
        "limitations": limitations,
    }
