"""Leaderboard and the one held-out evaluation.

The leaderboard ranks every learner's best trial by its validation score; test metrics appear
beside them for information only. The final model is the leaderboard's top row (chosen on
validation alone); it is scored once on the test set, with bootstrap confidence intervals.
With k folds the test prediction is the mean of the k fold models.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import io, metrics, persist, plots
from .munge import FeatureStore

__all__ = ["predict_test", "build_leaderboard", "evaluate_best"]

log = logging.getLogger(__name__)


def predict_test(model_paths: Mapping[str, str | Path], stores: Mapping[str, str | Path], task: str) -> tuple[
    pd.DataFrame, np.ndarray, np.ndarray
]:
    """Test-set scores averaged over fold models. Returns (ids FID IID, labels, scores)."""
    from .tune import predict_rows

    scores = []
    ids = labels = None
    for fold, path in model_paths.items():
        store = FeatureStore(stores[fold])
        te = store.index("test")
        est, _ = persist.load_model(path)
        scores.append(np.asarray(predict_rows(est, store, te, task)))  # in batches of rows
        fold_ids = store.samples.iloc[te][["FID", "IID"]].reset_index(drop=True)
        if ids is None:
            ids, labels = fold_ids, store.labels(te)
        elif not ids.equals(fold_ids):
            raise RuntimeError(f"test samples differ between folds ({fold})")
    return ids, labels, np.mean(scores, axis=0)


def build_leaderboard(
    selections: Sequence[Mapping[str, Any]],
    model_paths: Mapping[str, Mapping[str, str | Path]],
    stores: Mapping[str, str | Path],
    task: str,
    n_classes: int | None,
) -> pd.DataFrame:
    """One row per learner (its best trial), ranked by the validation selection metric."""
    rows = []
    for sel in selections:
        name = sel["learner"]
        _, y, s = predict_test(model_paths[name], stores, task)
        test = metrics.compute_metrics(task, y, s, n_classes=n_classes)
        row: dict[str, Any] = {"learner": name, "best_trial": sel["best_trial"], "n_trials": sel["n_trials"]}
        row.update({f"valid_{k}": v for k, v in sel["valid"].items() if k != "fit_seconds"})
        row["fit_seconds"] = sel["valid"].get("fit_seconds", math.nan)
        row["degenerate"] = sel["degenerate"]
        row.update({f"test_{k}": v for k, v in test.items()})
        row["params"] = json.dumps(sel["params"], sort_keys=True)
        rows.append(row)
    board = pd.DataFrame(rows)
    metric = selections[0]["selection_metric"]
    asc = not metrics.greater_is_better(metric)
    board["_deg"] = board["degenerate"].astype(int)
    board = board.sort_values(["_deg", f"valid_{metric}", "learner"], ascending=[True, asc, True], kind="mergesort")
    board = board.drop(columns="_deg").reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    return board


def evaluate_best(
    leaderboard: pd.DataFrame,
    model_paths: Mapping[str, Mapping[str, str | Path]],
    stores: Mapping[str, str | Path],
    *,
    task: str,
    class_names: list[str] | None,
    n_bootstrap: int,
    seed: int,
    out_dir: str | Path,
    predictions_path: str | Path,
) -> dict[str, Any]:
    """Score the leaderboard's top model once on the test set; write predictions and plots."""
    best = leaderboard.iloc[0]
    name = str(best["learner"])
    ids, y, s = predict_test(model_paths[name], stores, task)
    n_classes = len(class_names) if class_names else None
    m = metrics.compute_metrics(task, y, s, n_classes=n_classes)
    main = {"binary": ["roc_auc", "pr_auc", "balanced_accuracy"], "multiclass": ["accuracy", "balanced_accuracy",
            "roc_auc_ovr_macro"], "continuous": ["r2", "rmse", "pearson_r"]}[task]
    ci = (
        metrics.bootstrap_ci(task, y, s, metrics=main, n_boot=n_bootstrap, seed=seed, n_classes=n_classes)
        if n_bootstrap > 0
        else {}
    )
    pred = ids.copy()
    if task == "continuous":
        pred["observed"] = y
        pred["predicted"] = s
    else:
        pred["observed"] = [class_names[int(k)] for k in y]
        probs = s if s.ndim == 2 else np.column_stack([1 - s, s])
        for k, c in enumerate(class_names):
            pred[f"prob_{c}"] = probs[:, k]
        if task == "binary":
            pred["score"] = s
        pred["predicted"] = [class_names[int(k)] for k in probs.argmax(axis=1)]
    io.write_tsv(pred, predictions_path)
    plot_paths = plots.evaluation_plots(task, y, s, out_dir, class_names=class_names)
    result: dict[str, Any] = {
        "learner": name,
        "best_trial": int(best["best_trial"]),
        "selection_metric": metrics.SELECTION_METRIC[task],
        "valid": {c.removeprefix("valid_"): best[c] for c in leaderboard.columns if c.startswith("valid_")},
        "test": m,
        "test_ci95": {k: list(v) for k, v in ci.items()},
        "n_test": int(len(y)),
        "plots": {k: str(v) for k, v in plot_paths.items()},
    }
    if task != "continuous":
        result["confusion_matrix"] = {"classes": class_names, "matrix": metrics.confusion(task, y, s)}
    return result


def _models_of(learner: str, trial: int, models: Sequence[str], folds: Sequence[str]) -> dict[str, str]:
    out = {}
    for fold in folds:
        suffix = f"/{learner}/trial_{trial}/model_{fold}.zip"
        hits = [m for m in models if str(m).endswith(suffix)]
        if len(hits) != 1:
            raise FileNotFoundError(f"model for {learner} trial {trial} {fold} not among the rule inputs")
        out[fold] = hits[0]
    return out


def best_model_paths(
    selections: Sequence[Mapping[str, Any]], models: Sequence[str], folds: Sequence[str]
) -> dict[str, dict[str, str]]:
    """learner -> fold -> model file of that learner's best trial."""
    return {s["learner"]: _models_of(s["learner"], int(s["best_trial"]), models, folds) for s in selections}


def leaderboard_model_paths(
    board: pd.DataFrame, models: Sequence[str], folds: Sequence[str]
) -> dict[str, dict[str, str]]:
    return {r.learner: _models_of(r.learner, int(r.best_trial), models, folds) for r in board.itertuples()}
