"""Leaderboard and the one held-out evaluation.

The leaderboard ranks every learner's best trial by its pooled out-of-fold (OOF) score; it holds
no test metrics. The final model (:class:`genoml_core.evaluation.ensemble.FinalModel`, written once by
``select_final`` from OOF predictions alone) is scored once on the test set: each member's fold
models are averaged, the members combined with the stack weights, the calibrator applied. The
result has bootstrap confidence intervals and the test calibration slope and intercept.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import io
from . import metrics, plots
from ..models import persist
from .ensemble import FinalModel, Member
from ..store import FeatureStore

__all__ = [
    "build_leaderboard",
    "calibration_slope_intercept",
    "evaluate_final",
    "member_scores",
    "predict_final",
    "predict_test",
]

log = logging.getLogger(__name__)


def predict_test(
    model_paths: Mapping[str, str | Path], stores: Mapping[str, str | Path], task: str, *, role: str = "test"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Scores of the ``role`` rows (default: the test set) averaged over fold models.

    Returns (ids FID IID, labels, scores)."""
    from ..tuning.tune import predict_rows

    scores = []
    ids = labels = None
    for fold, path in model_paths.items():
        store = FeatureStore(stores[fold])
        te = store.index(role)
        est, _ = persist.load_model(path)
        scores.append(np.asarray(predict_rows(est, store, te, task)))  # in batches of rows
        fold_ids = store.samples.iloc[te][["FID", "IID"]].reset_index(drop=True)
        if ids is None:
            ids, labels = fold_ids, store.labels(te)
        elif not ids.equals(fold_ids):
            raise RuntimeError(f"{role} samples differ between folds ({fold})")
    assert ids is not None and labels is not None  # a member has one model per fold, never none
    return ids, labels, np.mean(scores, axis=0)


def member_scores(member: Member, task: str, role: str = "test") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One member's scores of the rows of ``role`` in its stores, averaged over its fold models."""
    return predict_test(member.models, {f: p.parent for f, p in member.recipes.items()}, task, role=role)


def predict_final(final: FinalModel, role: str = "test") -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The final model's scores of ``role`` rows: (ids, labels, calibrated scores, member scores)."""
    ids = labels = None
    per_member = []
    for member in final.members:
        m_ids, m_y, s = member_scores(member, final.task, role)
        if ids is None:
            ids, labels = m_ids, m_y
        elif not ids.equals(m_ids):
            raise RuntimeError(f"{role} samples differ between the members' stores ({member.learner}); rerun munge")
        per_member.append(s)
    assert ids is not None and labels is not None
    return ids, labels, final.score(per_member), per_member


def calibration_slope_intercept(task: str, y: np.ndarray, s: np.ndarray) -> dict[str, float | None]:
    """Calibration of held-out predictions: slope and intercept (1 and 0 when calibrated).

    Binary: the slope of ``logit P(y=1) = a + b * logit(score)`` and the calibration-in-the-large
    intercept (``a`` with ``b`` fixed at 1), as in Van Calster et al. 2019. Continuous: the OLS slope
    and intercept of the observed on the predicted value. Multiclass: not defined here (None).
    """
    from scipy.optimize import minimize_scalar

    if task == "continuous":
        if np.ptp(s) == 0:
            return {"calibration_slope": None, "calibration_intercept": None}
        b, a = np.polyfit(s, y, 1)
        return {"calibration_slope": float(b), "calibration_intercept": float(a)}
    if task != "binary" or len(np.unique(y)) < 2:
        return {"calibration_slope": None, "calibration_intercept": None}
    from sklearn.linear_model import LogisticRegression

    p = np.clip(np.asarray(s, dtype=np.float64), 1e-6, 1 - 1e-6)
    z = (np.log(p) - np.log1p(-p)).reshape(-1, 1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(z, y)

    def nll(a: float) -> float:
        t = a + z[:, 0]
        return float(np.sum(np.logaddexp(0, t) - y * t))

    citl = minimize_scalar(nll, bounds=(-10, 10), method="bounded").x
    return {"calibration_slope": float(fit.coef_[0, 0]), "calibration_intercept": float(citl)}


def build_leaderboard(selections: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per learner (its best trial), ranked by the pooled OOF selection metric.

    Columns ``oof_<metric>`` come from each trial's out-of-fold predictions; there are no test
    columns: the test set is scored once, by the final model, in ``evaluate``.
    """
    rows = []
    for sel in selections:
        row: dict[str, Any] = {"learner": sel["learner"], "best_trial": sel["best_trial"], "n_trials": sel["n_trials"]}
        row.update({f"oof_{k}": v for k, v in sel["valid"].items() if k != "fit_seconds"})
        row["fit_seconds"] = sel["valid"].get("fit_seconds", math.nan)
        row["degenerate"] = sel["degenerate"]
        row["params"] = json.dumps(sel["params"], sort_keys=True)
        rows.append(row)
    board = pd.DataFrame(rows)
    metric = selections[0]["selection_metric"]
    asc = not metrics.greater_is_better(metric)
    board["_deg"] = board["degenerate"].astype(int)
    board = board.sort_values(["_deg", f"oof_{metric}", "learner"], ascending=[True, asc, True], kind="mergesort")
    board = board.drop(columns="_deg").reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board


_MAIN = {
    "binary": ["roc_auc", "pr_auc", "balanced_accuracy"],
    "multiclass": ["accuracy", "balanced_accuracy", "roc_auc_ovr_macro"],
    "continuous": ["r2", "rmse", "pearson_r"],
}


def evaluate_final(
    final: FinalModel,
    *,
    class_names: list[str] | None,
    n_bootstrap: int,
    seed: int,
    out_dir: str | Path,
    predictions_path: str | Path,
) -> dict[str, Any]:
    """Score the final model once on the test set; write predictions and plots."""
    task = final.task
    ids, y, s, per_member = predict_final(final, "test")
    n_classes = len(class_names) if class_names else None
    cutoff = final.cutoff
    m: dict[str, Any] = metrics.compute_metrics(task, y, s, n_classes=n_classes, cutoff=cutoff)
    m.update(calibration_slope_intercept(task, y, s))  # floats, and None where undefined
    ci = (
        metrics.bootstrap_ci(task, y, s, metrics=_MAIN[task], n_boot=n_bootstrap, seed=seed, n_classes=n_classes,
                             cutoff=cutoff)
        if n_bootstrap > 0
        else {}
    )
    pred = ids.copy()
    if task == "continuous":
        pred["observed"] = y
        pred["predicted"] = s
    else:
        assert class_names is not None  # a classification task names its classes
        pred["observed"] = [class_names[int(k)] for k in y]
        probs = s if s.ndim == 2 else np.column_stack([1 - s, s])
        for k, c in enumerate(class_names):
            pred[f"prob_{c}"] = probs[:, k]
        if task == "binary":
            pred["score"] = s
        # one definition of the predicted class (the final model's cutoff), as in the metrics
        pred["predicted"] = [class_names[int(k)] for k in metrics.predicted_class(task, s, cutoff)]
    io.write_tsv(pred, predictions_path)
    plot_paths = plots.evaluation_plots(task, y, s, out_dir, class_names=class_names, cutoff=cutoff)
    main = final.main
    uncalibrated = metrics.compute_metrics(task, y, final.score(per_member, calibrated=False), n_classes=n_classes)
    result: dict[str, Any] = {
        "learner": final.learner,
        "best_trial": main.trial,
        "combiner": final.combiner,
        "members": [{"learner": mb.learner, "trial": mb.trial, "weight": mb.weight} for mb in final.members],
        # the models that scored the test set: each member's refit on every development person
        # (final.refit_full), or the mean of its fold models
        "scored_with": "refit" if final.spec.get("refit_full") else f"mean of {len(final.main.folds)} fold model(s)",
        "calibrator": final.calibrator.get("kind", "none"),
        "decision_cutoff": cutoff,
        "selection_metric": metrics.SELECTION_METRIC[task],
        "oof": final.spec.get("evidence", {}).get("final_crossfit", {}),
        "test": m,
        "test_uncalibrated": {k: uncalibrated[k] for k in ("log_loss", "brier", "rmse") if k in uncalibrated},
        "test_ci95": {k: list(v) for k, v in ci.items()},
        "n_test": int(len(y)),
        "plots": {k: str(v) for k, v in plot_paths.items()},
    }
    if task != "continuous":
        result["confusion_matrix"] = {"classes": class_names, "matrix": metrics.confusion(task, y, s, cutoff=cutoff)}
    return result
