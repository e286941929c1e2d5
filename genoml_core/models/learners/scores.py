"""Scores and feature weights of a fitted classical learner, in the workflow's fixed layout."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor

from ...errors import InputError
from ...evaluation.metrics import check_task

# ----------------------------------------------------------------------------- prediction
def _classes(est: BaseEstimator) -> np.ndarray:
    classes = getattr(est, "genoml_classes_", None)
    if classes is None:
        classes = est.classes_
    return np.asarray(classes)


def predict_scores(est: BaseEstimator, X: np.ndarray, *, task: str, n_classes: int | None = None) -> np.ndarray:
    """Scores in the workflow's fixed layout.

    Args:
        est: A fitted estimator from :func:`fit_learner`.
        X: Features (n, p).
        task: The task ``est`` was fitted for.
        n_classes: Multiclass only: K, the number of columns. Default: the highest label
            seen in training + 1 (give it when the highest label may be absent from a fold).

    Returns:
        binary: P(class 1), float64 (n,); multiclass: probabilities (n, K), column k is
        class k (0 for a class absent from training); continuous: predictions (n,).
    """
    check_task(task)
    X = np.asarray(X)
    if task == "continuous":
        return np.asarray(est.predict(X), dtype=np.float64).reshape(-1)
    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
    classes = _classes(est)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min(initial=0) < 0:
        raise InputError(f"estimator classes_ must be integer labels >= 0, got {classes.tolist()}")
    k = 2 if task == "binary" else (int(n_classes) if n_classes is not None else int(classes.max()) + 1)
    if classes.max() >= k:
        raise InputError(f"estimator was trained on labels {classes.tolist()}, beyond n_classes={k}")
    if proba.shape != (X.shape[0], classes.size):
        raise InputError(f"predict_proba returned shape {proba.shape}, expected {(X.shape[0], classes.size)}")
    out = np.zeros((X.shape[0], k), dtype=np.float64)
    out[:, classes] = proba
    return out[:, 1] if task == "binary" else out


def _fitted_inner(est: BaseEstimator) -> list[BaseEstimator]:
    if isinstance(est, TransformedTargetRegressor):
        return [est.regressor_]
    if isinstance(est, CalibratedClassifierCV):
        return [c.estimator for c in est.calibrated_classifiers_]
    return [est]


def model_weights(est: BaseEstimator, n_features: int) -> np.ndarray | None:
    """Per-feature weight for ranking: |coefficient| or impurity/gain importance.

    Multi-row coefficients (multiclass) are averaged in absolute value over classes.

    Args:
        est: A fitted estimator from :func:`fit_learner`.
        n_features: p, checked against the model.

    Returns:
        float64 (p,) non-negative, or ``None`` when the model has neither ``coef_`` nor
        ``feature_importances_`` (RBF SVM/SVR, KNN).
    """
    rows = []
    for inner in _fitted_inner(est):
        if hasattr(inner, "coef_"):
            coef = np.abs(np.atleast_2d(np.asarray(inner.coef_, dtype=np.float64)))
            rows.append(coef.mean(axis=0))
        elif hasattr(inner, "feature_importances_"):
            rows.append(np.asarray(inner.feature_importances_, dtype=np.float64).reshape(-1))
        else:
            return None
    w = np.mean(rows, axis=0)
    if w.shape != (n_features,):
        raise InputError(f"model has {w.shape[0]} feature weights, expected n_features={n_features}")
    return w
