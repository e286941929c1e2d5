"""One cohort end to end: check, plan, overlap check, score, evaluate; its four output files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..genotypes import harmonize
from .. import io
from ..evaluation.ensemble import FinalModel
from .checks import check_cohort
from .options import Cohort, PredictOptions
from .plan import plan_cohort
from .score import _evaluate, prediction_table, score_cohort

log = logging.getLogger("genoml_core.predict")  # the package's name, not __name__: warnings.json records it


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
