"""SHAP values of linear models: exact ``LinearExplainer`` values of the log-odds (or prediction),
and the probabilities of a linear classifier through its link (score space, for stacks)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import Explanation, _as_2d, _as_3d, _class_labels, _name, _output_names, _space
from .families import linear_parts
from .link import LINK_PERMUTATIONS, _link, _link_shapley


def _explain_linear(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                    class_names: Sequence[str] | None) -> Explanation:
    import shap

    coef, intercept, output_fn = linear_parts(est)  # type: ignore[misc]
    n, p = X.shape
    if coef.shape[0] == 1:
        explainer = shap.LinearExplainer((coef[0], float(intercept[0])), background)
    else:
        explainer = shap.LinearExplainer((coef, intercept), background)
    values = _as_3d(explainer.shap_values(X), n, p)
    m = values.shape[2]
    base = np.broadcast_to(np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64)), (n, m)).copy()
    outputs = _as_2d(output_fn(X), n)
    labels = _class_labels(est)
    names = _output_names(task, m, labels, class_names)
    return Explanation(values, base, outputs, names, _space(task, "log-odds", m, names), "linear",
                       "shap.LinearExplainer", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(background))})



def _explain_linear_probability(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                                class_names: Sequence[str] | None, seed: int) -> Explanation:
    """Interventional Shapley values of a linear classifier's *probabilities* (sigmoid / softmax of
    a linear score) by :func:`_link_shapley`: a feature's shift is ``coef_j (x_j - b_j)``. The
    values add up to ``p(x) - mean_b p(b)`` exactly; their split between the features with a
    non-zero coefficient is a Monte Carlo estimate (``LINK_PERMUTATIONS`` or more orderings per pair
    of explained and background rows); features with a zero coefficient get exactly zero.
    """
    coef, intercept, _ = linear_parts(est)  # type: ignore[misc]
    n, p = X.shape
    active = np.flatnonzero(np.any(coef != 0, axis=0))
    Xd = np.asarray(X, dtype=np.float64)
    B = np.asarray(background, dtype=np.float64)
    z_b = B @ coef.T + intercept  # (b, K)
    ca = coef[:, active].T  # (a, K)

    def deltas(rows: slice) -> np.ndarray:
        return (Xd[rows, None, active] - B[None, :, active])[..., None] * ca[None, None]

    values = _link_shapley(z_b, deltas, n, p, active, seed)
    m = values.shape[2]
    outputs = _link(Xd @ coef.T + intercept)
    base = np.broadcast_to(_link(z_b).mean(axis=0)[None, :], (n, m)).copy()
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    names = [_name(labels[-1], class_names)] if m == 1 else [_name(c, class_names) for c in labels]
    return Explanation(values, base, outputs, names, _space(task, "probability", m, names), "linear",
                       "sampled permutations of a linear model's probabilities", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(B)), "nonzero_coefficients": int(len(active)),
                                "min_permutations_per_pair": LINK_PERMUTATIONS})
