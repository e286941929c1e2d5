"""Model-agnostic SHAP values: ``shap.PermutationExplainer`` on the workflow's score function
within a budget of model evaluations."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import _S_PERMUTATION, ExplainOptions, Explanation, _as_2d, _as_3d, _name, _space


def _explain_permutation(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                         class_names: Sequence[str] | None, options: ExplainOptions, seed: int) -> Explanation:
    import shap

    from ..models.learners import predict_scores

    n_all, p = X.shape
    n_classes = len(class_names) if task == "multiclass" and class_names else None
    per_perm = 2 * p + 1
    b = max(1, min(options.permutation_background, len(background), options.max_evaluations // per_perm))
    n_rows = max(1, min(n_all, options.max_evaluations // (per_perm * b)))
    rng = np.random.default_rng([seed, _S_PERMUTATION])
    rows = np.sort(rng.choice(n_all, n_rows, replace=False)) if n_rows < n_all else np.arange(n_all)

    def score(Z: np.ndarray) -> np.ndarray:
        s = np.asarray(predict_scores(est, np.asarray(Z, dtype=np.float32), task=task, n_classes=n_classes))
        return s.reshape(len(Z), -1)

    masker = shap.maskers.Independent(np.asarray(background[:b], dtype=np.float32), max_samples=b)
    explainer = shap.PermutationExplainer(score, masker, seed=seed)
    Xr = X[rows]
    result = explainer(Xr, max_evals=per_perm, silent=True)
    values = _as_3d(result.values, len(rows), p)
    m = values.shape[2]
    base = _as_2d(result.base_values, len(rows))
    outputs = score(Xr)
    if task == "continuous":
        names = ["prediction"]
    elif task == "binary":
        names = [_name(1, class_names)]
    else:
        names = [_name(k, class_names) for k in range(m)]
    budget = n_rows * per_perm * b
    exp = Explanation(values, base, outputs, names, _space(task, "probability", m, names), "permutation",
                      "shap.PermutationExplainer", [], rows, exact=True,
                      details={"background_rows": b, "max_evaluations": options.max_evaluations,
                               "model_evaluations": budget, "rows_available": n_all})
    if n_rows < n_all:
        exp.notes.append(
            f"model-agnostic explainer: {n_rows} of {n_all} rows explained within the budget of "
            f"{options.max_evaluations} model evaluations ({per_perm} x {b} per row); importances from few rows are "
            "noisy: raise explain.max_evaluations for more"
        )
    if budget > options.max_evaluations:
        exp.notes.append(f"one row needs {budget} model evaluations, more than max_evaluations")
    return exp
