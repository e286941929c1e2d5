"""SHAP values of tree ensembles: path-dependent TreeSHAP of the native output, and XGBoost
classifiers' probabilities (score space, for stacks)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import Explanation, _as_2d, _as_3d, _class_labels, _name, _output_names, _space
from .link import LINK_PERMUTATIONS, _link, _link_shapley


def _explain_tree(est: Any, X: np.ndarray, task: str, class_names: Sequence[str] | None) -> Explanation:
    import shap
    from xgboost import XGBModel

    n, p = X.shape
    explainer = shap.TreeExplainer(est, feature_perturbation="tree_path_dependent")
    values = _as_3d(explainer.shap_values(X, check_additivity=True), n, p)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    is_xgb = isinstance(est, XGBModel)
    if task == "continuous":
        outputs = _as_2d(est.predict(X), n)
        kind = "value"
    elif is_xgb:
        outputs = _as_2d(est.predict(X, output_margin=True), n)
        kind = "log-odds"
    else:
        outputs = _as_2d(est.predict_proba(X), n)
        kind = "probability"
    labels = _class_labels(est)
    if task == "binary" and values.shape[2] == 2:  # probabilities of both classes: keep the second
        values, base, outputs = values[:, :, 1:], base[1:], outputs[:, 1:]
    m = values.shape[2]
    names = _output_names(task, m, labels, class_names)
    base2 = np.broadcast_to(base.reshape(1, -1), (n, m)).copy()
    return Explanation(values, base2, outputs, names, _space(task, kind, m, names), "tree",
                       "shap.TreeExplainer", [], np.arange(n), exact=True,
                       details={"feature_perturbation": "tree_path_dependent (the trees' training cover)"})



def _xgb_split_features(est: Any, p: int) -> np.ndarray:
    """Indices of the features an XGBoost model splits on (all of them if the names are not f<j>)."""
    used = []
    for name in est.get_booster().get_score(importance_type="weight"):
        if not (name.startswith("f") and name[1:].isdigit()):
            return np.arange(p)
        used.append(int(name[1:]))
    return np.asarray(sorted(used), dtype=np.int64)


def _explain_xgb_multiclass_probability(est: Any, background: np.ndarray, X: np.ndarray,
                                        class_names: Sequence[str] | None, seed: int) -> Explanation:
    """An XGBoost multiclass model's probabilities: per background row b, exact single-reference
    TreeSHAP of the class margins splits ``z(x) - z(b)`` between the features; those shifts are
    carried through the softmax by :func:`_link_shapley` (exact additivity; exact Shapley values
    where the margins are additive in the features, a sampled approximation where trees interact)."""
    import shap

    n, p = X.shape
    B = np.asarray(background, dtype=np.float64)
    Xd = np.asarray(X, dtype=np.float64)
    active = _xgb_split_features(est, p)
    z_b = _as_2d(est.predict(B, output_margin=True), len(B))
    phis = np.zeros((n, len(B), len(active), z_b.shape[1]), dtype=np.float32)
    for j in range(len(B)):
        explainer = shap.TreeExplainer(est, data=B[j:j + 1], feature_perturbation="interventional")
        phi = _as_3d(explainer.shap_values(Xd, check_additivity=False), n, p)
        phis[:, j] = phi[:, active, :]
    values = _link_shapley(z_b, lambda rows: phis[rows], n, p, active, seed)
    m = values.shape[2]
    outputs = _as_2d(est.predict_proba(X), n)
    base = np.broadcast_to(_link(z_b).mean(axis=0)[None, :], (n, m)).copy()
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    names = [_name(c, class_names) for c in labels]
    return Explanation(values, base, outputs, names, _space("multiclass", "probability", m, names), "tree",
                       "single-reference TreeSHAP through the softmax", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(B)), "split_features": int(len(active)),
                                "min_permutations_per_pair": LINK_PERMUTATIONS})


def _explain_xgb_probability(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                             class_names: Sequence[str] | None) -> Explanation:
    """Interventional TreeSHAP of an XGBoost classifier's probabilities (exact) on the background rows."""
    import shap

    n, p = X.shape
    explainer = shap.TreeExplainer(est, data=np.asarray(background, dtype=np.float64),
                                   feature_perturbation="interventional", model_output="probability")
    values = _as_3d(explainer.shap_values(X, check_additivity=True), n, p)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    outputs = _as_2d(est.predict_proba(X), n)
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    if task == "binary":
        if values.shape[2] == 2:
            values, base = values[:, :, 1:], base[1:]
        outputs = outputs[:, 1:]
    m = values.shape[2]
    names = [_name(labels[-1], class_names)] if m == 1 else [_name(c, class_names) for c in labels]
    base2 = np.broadcast_to(base[-m:].reshape(1, -1), (n, m)).copy()
    return Explanation(values, base2, outputs, names, _space(task, "probability", m, names), "tree",
                       "shap.TreeExplainer (interventional)", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(background)),
                                "feature_perturbation": "interventional (the background rows)"})
