"""Model families and the explainer each one gets.

Which explainer (``explain.method: auto``)
    * PyTorch nets (:class:`~genoml_core.models.estimators.NetClassifier` / ``NetRegressor``):
      ``shap.GradientExplainer`` (expected gradients; ``gradient_nsamples`` draws per explained
      row). ``method: deep`` uses ``shap.DeepExplainer`` (DeepLIFT) with its additivity check on:
      a mismatch stops the job; a bagged net (``n_bags`` > 1) falls back to ``gradient``, as
      DeepLIFT has no rule for the log of the bags' mean probability. The module is switched to
      eval mode and its mode restored after.
    * Tree ensembles (random forest, extra trees, XGBoost): ``shap.TreeExplainer``, exact
      path-dependent TreeSHAP; its "background" is the trees' own training cover.
    * Linear models (logistic regression, LDA, ridge/lasso/elastic net/linear SVR, and the binary
      Platt-calibrated linear SVM, whose log-odds are linear): ``shap.LinearExplainer``
      (interventional) on the background rows.
    * Anything else (RBF SVM, KNN, RBF SVR, multiclass calibrated linear SVM):
      ``shap.PermutationExplainer`` on the
      workflow's own score function (:func:`genoml_core.models.learners.predict_scores`), with an
      ``Independent`` masker over ``permutation_background`` background rows and a bounded budget:
      at most ``max_evaluations`` model evaluations in total (one antithetic permutation per row
      costs ``(2 p + 1) x permutation_background``), so few rows are explained when p is large.
    An explicit method that cannot explain the final model (e.g. ``deep`` for a random forest)
    falls back to the automatic choice, with a note in the summary; ``permutation`` explains any
    model.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import ConfigError
from .base import METHODS

log = logging.getLogger("genoml_core.explain")  # the package's name, not __name__: warnings.json records it


def _tree_types() -> tuple[type, ...]:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    from xgboost import XGBModel

    return (XGBModel, RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
            DecisionTreeClassifier, DecisionTreeRegressor)


def _is_torch(est: Any) -> bool:
    return getattr(est, "_genoml_kind", None) == "torch" and hasattr(est, "module_")


def linear_parts(est: Any) -> tuple[np.ndarray, np.ndarray, Any] | None:
    """``(coef (m, p), intercept (m,), output_fn)`` when the explained output is linear in X.

    The output: binary classifiers' log-odds of class 1, multiclass decision scores (one row per
    class in ``classes_`` order), regressors' prediction in the phenotype's units (a standardized
    target's scale undone). None for any other model. Also used for score files (:mod:`genoml_core.pgs`).
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import (
        ElasticNet,
        Lasso,
        LinearRegression,
        LogisticRegression,
        Ridge,
        SGDClassifier,
        SGDRegressor,
    )
    from sklearn.preprocessing import StandardScaler
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC, LinearSVR

    linear_reg = (Ridge, Lasso, ElasticNet, LinearRegression, LinearSVR, SGDRegressor)
    if isinstance(est, CalibratedClassifierCV):
        # Platt-scaled linear SVM, binary: P(1) = 1 / (1 + exp(a f(x) + b)) with f linear, so its
        # log-odds -(a f(x) + b) are linear in x
        cc = getattr(est, "calibrated_classifiers_", None) or []
        if len(cc) != 1 or not isinstance(cc[0].estimator, LinearSVC) or len(cc[0].calibrators) != 1:
            return None
        svm, cal = cc[0].estimator, cc[0].calibrators[0]
        if type(cal).__name__ != "_SigmoidCalibration" or not hasattr(cal, "a_"):
            return None
        a, b = float(cal.a_), float(cal.b_)

        def log_odds(X: np.ndarray) -> np.ndarray:
            return -(a * svm.decision_function(X) + b)

        return (-a * np.atleast_2d(np.asarray(svm.coef_, dtype=np.float64)),
                -(a * np.atleast_1d(np.asarray(svm.intercept_, dtype=np.float64)) + b), log_odds)
    if isinstance(est, TransformedTargetRegressor):
        inner, tr = getattr(est, "regressor_", None), getattr(est, "transformer_", None)
        if isinstance(inner, linear_reg) and isinstance(tr, StandardScaler):
            # y = scaler.inverse(X @ coef + b) = (X @ coef + b) * scale + mean
            scale = float(tr.scale_[0]) if tr.scale_ is not None else 1.0
            mean = float(tr.mean_[0]) if tr.mean_ is not None else 0.0
            coef = np.atleast_2d(np.asarray(inner.coef_, dtype=np.float64)) * scale
            intercept = np.atleast_1d(np.asarray(inner.intercept_, dtype=np.float64)) * scale + mean
            return coef, intercept, est.predict
        return None
    if isinstance(est, (LogisticRegression, LinearDiscriminantAnalysis, SGDClassifier)):
        return (np.atleast_2d(np.asarray(est.coef_, dtype=np.float64)),
                np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)), est.decision_function)
    if isinstance(est, linear_reg):
        return (np.atleast_2d(np.asarray(est.coef_, dtype=np.float64)),
                np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)), est.predict)
    return None


def model_family(est: Any) -> str:
    """``torch``, ``tree``, ``linear`` or ``other`` (explained model-agnostically)."""
    if _is_torch(est):
        return "torch"
    if isinstance(est, _tree_types()):
        return "tree"
    if linear_parts(est) is not None:
        return "linear"
    return "other"


_AUTO = {"torch": "gradient", "tree": "tree", "linear": "linear", "other": "permutation"}
_ALLOWED = {"torch": {"gradient", "deep"}, "tree": {"tree"}, "linear": {"linear"}, "other": set()}


def _is_bagged(est: Any) -> bool:
    """A torch net whose module is several bags (``n_bags`` > 1)."""
    from ..models.nn.bagged import BaggedNet

    return isinstance(getattr(est, "module_", None), BaggedNet)


def resolve_method(est: Any, requested: str = "auto") -> tuple[str, str | None]:
    """The explainer for ``est``: ``(method, note)``; the note says why a request was not followed."""
    if requested not in METHODS:
        raise ConfigError(f"explain.method={requested!r}; use one of {list(METHODS)}")
    family = model_family(est)
    bagged = family == "torch" and _is_bagged(est)
    allowed = _ALLOWED[family] - {"deep"} if bagged else _ALLOWED[family]
    if requested == "auto" or requested == "permutation" or requested in allowed:
        return (_AUTO[family] if requested == "auto" else requested), None
    method = _AUTO[family]
    if bagged:  # DeepLIFT has no rule for the log of the bags' mean probability
        note = (f"explain.method={requested!r} does not apply to a bagged network (n_bags > 1: DeepLIFT cannot "
                f"pass through the bags' mean probability); used {method!r} instead")
    else:
        note = (f"explain.method={requested!r} does not apply to the final model ({type(est).__name__}); "
                f"used {method!r} instead")
    log.warning(note)
    return method, note
