"""Fitting a classical learner built by :func:`~genoml_core.models.learners.make_learner`, with the imbalance
handling, validation-set use and warnings policy of each kind."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBModel

from ...errors import ConfigError, InputError
from ...evaluation.metrics import check_task, encode_labels
from .builders import _is_clf
from .specs import CLASS_WEIGHTS

try:  # private in scikit-learn, but stable since 1.2
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover
    InvalidParameterError = ValueError

# NOTE: the package's logger, not __name__ (warnings.json records its name)
log = logging.getLogger("genoml_core.models.learners")

#: XGBoost early-stopping patience when a validation set is given and none is configured.
_XGB_EARLY_STOPPING_ROUNDS = 20


# ----------------------------------------------------------------------------- fitting
def _base(est: BaseEstimator) -> BaseEstimator:
    """The unfitted base estimator inside the wrappers built by make_learner."""
    if isinstance(est, TransformedTargetRegressor):
        return est.regressor
    if isinstance(est, CalibratedClassifierCV):
        return est.estimator
    return est


def _check_xy(X: Any, y: Any, task: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise InputError(f"{what}: X must be 2-D (samples, features), got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InputError(f"{what}: y must be 1-D with one label per row of X ({X.shape[0]}), got shape {y.shape}")
    if not np.issubdtype(X.dtype, np.number) or not np.isfinite(X).all():
        raise InputError(f"{what}: X must be numeric and finite; impute missing genotypes before fitting")
    if task == "continuous":
        if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
            raise InputError(f"{what}: continuous y must be finite numbers; drop samples without a phenotype")
        return X, y.astype(np.float64)
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0) or y.min(initial=0) < 0:
        raise InputError(f"{what}: {task} y must be integer labels >= 0, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if task == "binary" and not set(np.unique(y)) <= {0, 1}:
        raise InputError(f"{what}: binary y must be 0/1, got labels {sorted(set(np.unique(y)))}; recode cases as 1")
    return X, y


def fit_learner(
    est: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    class_weight: str = "balanced",
    X_valid: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
) -> BaseEstimator:
    """Fit ``est`` (from :func:`make_learner`) in place, handling imbalance per learner.

    ``class_weight`` must match the value given to :func:`make_learner`. For learners
    without a ``class_weight`` parameter: XGBoost gets balanced sample weights
    (``n / (K * count[class])``), LDA gets uniform priors; KNN cannot be reweighted.
    ``X_valid``/``y_valid`` are used by XGBoost only, for early stopping (patience 20 rounds
    unless ``early_stopping_rounds`` is set; prediction then uses the best iteration); other
    learners ignore them. Warnings raised while fitting (e.g. ConvergenceWarning) are
    logged, never raised.

    Args:
        est: Unfitted estimator from :func:`make_learner`.
        X: Features (n, p).
        y: Labels (binary 0/1, multiclass 0..K-1) or continuous targets.
        task: The task ``est`` was built for.
        class_weight: ``"balanced"`` or ``"none"``.
        X_valid: Optional validation features (XGBoost early stopping).
        y_valid: Optional validation labels.

    Returns:
        ``est``, fitted.

    Raises:
        InputError: Malformed X/y, or fewer than two classes in y for a classifier.
        ConfigError: Bad ``class_weight`` or a parameter value the estimator rejects.
    """
    check_task(task)
    if class_weight not in CLASS_WEIGHTS:
        raise ConfigError(f"class_weight must be one of {list(CLASS_WEIGHTS)}, got {class_weight!r}")
    X, y = _check_xy(X, y, task, "training data")
    base = _base(est)
    if isinstance(base, (SGDClassifier, SGDRegressor)):  # the *_sgd learners: batches, early stopping
        from ..outofcore import fit_streaming

        if X_valid is not None and y_valid is not None:
            X_valid, y_valid = _check_xy(X_valid, y_valid, task, "validation data")
        return fit_streaming(est, X, y, task=task, class_weight=class_weight, X_valid=X_valid, y_valid=y_valid,
                             random_state=int(est.random_state))
    fit_kw: dict[str, Any] = {}
    y_fit = y
    classes = np.unique(y) if _is_clf(task) else None
    if classes is not None and classes.size < 2:
        raise InputError(
            f"training labels contain a single class ({classes.tolist()}); a {task} classifier needs at least two"
        )
    restore: dict[str, Any] = {}

    if isinstance(est, XGBModel):
        y_fit = _prepare_xgboost(est, y, classes, task, class_weight, X_valid, y_valid, fit_kw, restore)
    else:
        _prepare_base(est, base, X, y, classes, class_weight)
    _fit_logging_warnings(est, type(base).__name__, X, y_fit, fit_kw, restore)
    if isinstance(est, XGBModel) and y_fit is not y:
        est.genoml_classes_ = classes
    return est


def _prepare_xgboost(
    est: XGBModel,
    y: np.ndarray,
    classes: np.ndarray | None,
    task: str,
    class_weight: str,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    fit_kw: dict[str, Any],
    restore: dict[str, Any],
) -> np.ndarray:
    """Ready an XGBoost fit: the labels to fit on (``y``, or the ranks of the present labels), and
    into ``fit_kw`` balanced sample weights and the early-stopping set; the params set for this fit
    only go into ``restore``."""
    y_fit = y
    if hasattr(est, "genoml_classes_"):
        del est.genoml_classes_
    if classes is not None and not np.array_equal(classes, np.arange(classes.size)):
        # XGBoost needs labels 0..m-1: fit on the rank of each present label and
        # remember the original labels so predict_scores puts columns back in place.
        y_fit = encode_labels(y, classes)[1]
        log.info("xgboost: labels %s absent from training; fitting on the %d present classes",
                 sorted(set(range(int(classes.max()) + 1)) - set(classes.tolist())), classes.size)
    if classes is not None and class_weight == "balanced":
        fit_kw["sample_weight"] = compute_sample_weight("balanced", y_fit)
    if X_valid is not None and y_valid is not None:
        Xv, yv = _check_xy(X_valid, y_valid, task, "validation data")
        if classes is not None:
            keep = np.isin(yv, classes)
            Xv, yv = Xv[keep], encode_labels(yv[keep], classes)[1]
        if yv.size:
            fit_kw["eval_set"] = [(Xv, yv)]
            fit_kw["verbose"] = False
            if "sample_weight" in fit_kw:
                fit_kw["sample_weight_eval_set"] = [compute_sample_weight("balanced", yv)]
            if est.get_params()["early_stopping_rounds"] is None:
                restore["early_stopping_rounds"] = None
                est.set_params(early_stopping_rounds=_XGB_EARLY_STOPPING_ROUNDS)
    return y_fit


def _prepare_base(
    est: BaseEstimator, base: BaseEstimator, X: np.ndarray, y: np.ndarray, classes: np.ndarray | None,
    class_weight: str,
) -> None:
    """Ready the learners without a ``class_weight`` parameter or with limits on small data: LDA's
    priors, KNN's ``n_neighbors``, the folds of the SVMs' Platt calibration."""
    if isinstance(base, LinearDiscriminantAnalysis) and classes is not None:
        base.set_params(priors=np.full(classes.size, 1.0 / classes.size) if class_weight == "balanced" else None)
    elif isinstance(base, KNeighborsClassifier):
        if class_weight == "balanced":
            log.info("knn: class_weight='balanced' is not possible for k-nearest neighbours; fitted unweighted")
        if base.n_neighbors > X.shape[0]:
            log.warning("knn: n_neighbors=%d > %d training samples; using %d", base.n_neighbors, X.shape[0], X.shape[0])
            base.set_params(n_neighbors=X.shape[0])
    elif isinstance(est, CalibratedClassifierCV) and classes is not None:
        min_count = int(np.bincount(encode_labels(y, classes)[1]).min())
        cv = est.cv
        if isinstance(cv, StratifiedKFold) and min_count < cv.n_splits:
            if min_count < 2:
                raise InputError(
                    f"{type(base).__name__}: a class has {min_count} training sample; Platt calibration needs at "
                    "least 2 per class; merge rare classes or use another learner"
                )
            log.warning("%s: smallest class has %d samples; calibrating with %d folds instead of %d",
                        type(base).__name__, min_count, min_count, cv.n_splits)
            est.set_params(cv=StratifiedKFold(min_count, shuffle=True, random_state=cv.random_state))


def _fit_logging_warnings(
    est: BaseEstimator, name: str, X: np.ndarray, y_fit: np.ndarray, fit_kw: dict[str, Any], restore: dict[str, Any]
) -> None:
    """``est.fit(X, y_fit, **fit_kw)``, its warnings logged once each, never raised; ``restore``'s
    params are set back afterwards."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X, y_fit, **fit_kw)
    except InvalidParameterError as e:
        raise ConfigError(f"{name}: invalid parameter value: {e}; fix the params or search space") from e
    finally:
        if restore:
            est.set_params(**restore)
    seen: set[str] = set()
    for w in caught:
        msg = f"{w.category.__name__}: {w.message}"
        if msg not in seen:
            seen.add(msg)
            log.warning("%s fit: %s", name, msg)
