"""Score a planned cohort with the final model, tabulate the predictions, evaluate them against a
phenotype."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..genotypes import harmonize
from ..evaluation import metrics, plots
from ..evaluation.ensemble import FinalModel
from ..store import scale_features
from .checks import CheckedCohort
from .options import PredictOptions
from .plan import CohortPlan

_MAIN_METRICS = {  # bootstrap CIs for these, as in evaluate
    "binary": ["roc_auc", "pr_auc", "balanced_accuracy"],
    "multiclass": ["accuracy", "balanced_accuracy", "roc_auc_ovr_macro"],
    "continuous": ["r2", "rmse", "pearson_r"],
}


def score_cohort(plan: CohortPlan, checked: CheckedCohort, model: FinalModel, options: PredictOptions) -> np.ndarray:
    """Final scores of every ``.fam`` person: each member's fold models averaged, the members
    combined with the stack weights, the calibrator applied (as for the test set)."""
    from ..models.learners import predict_scores

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
    :func:`genoml_core.evaluation.metrics.predicted_class` with the final model's ``cutoff`` (binary: a score
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
