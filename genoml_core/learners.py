"""The classical learners' builders and their common fit / predict / weights flow, by task.

Each learner is declared once, in :mod:`genoml_core.registry` (tasks, kind, feature set, builder,
search space, memory estimate, explainer); :data:`LEARNERS` is the registry's classical learners
with their builders imported from here.

Tasks are ``"binary"`` (y int 0/1), ``"multiclass"`` (y int 0..K-1) and ``"continuous"``
(y float). Features are a float ndarray (n, p), already imputed and scaled.

The flow for every learner and task is the same::

    est = make_learner("xgboost", params, task="binary", random_state=seed)
    fit_learner(est, X_train, y_train, task="binary")
    scores = predict_scores(est, X_test, task="binary")      # P(class 1), shape (n,)
    weights = model_weights(est, X_train.shape[1])            # |coef| or importances, or None

Notes for callers:

* ``params`` set the *base* estimator's own parameters (``C``, ``alpha``, ``max_depth``...),
  also for the wrapped learners: ``svm_*`` are an SVM inside
  :class:`~sklearn.calibration.CalibratedClassifierCV` and every regressor except the tree
  ensembles fits a standardized target inside
  :class:`~sklearn.compose.TransformedTargetRegressor` (so penalties such as ``alpha``,
  ``C`` and ``epsilon`` mean the same for any phenotype unit).
* ``random_state``, ``n_jobs`` and ``class_weight`` are arguments, never params.
* Imbalance: ``class_weight="balanced"`` uses the estimator's ``class_weight`` where it has
  one; :func:`fit_learner` adds balanced sample weights for XGBoost and uniform priors for
  LDA. KNN cannot be reweighted: it is fitted as is (logged).
* Multiclass scores always have columns 0..K-1, also when a class is missing from the
  training fold (its column is 0); pass ``n_classes`` to :func:`predict_scores` when the
  highest label could be missing.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier, XGBModel, XGBRegressor

from . import registry
from .errors import ConfigError, InputError
from .metrics import TASKS, check_task, encode_labels

try:  # private in scikit-learn, but stable since 1.2
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover
    InvalidParameterError = ValueError

__all__ = [
    "TASKS",
    "CLASS_WEIGHTS",
    "LearnerSpec",
    "feature_set",
    "LEARNERS",
    "available_learners",
    "supports",
    "is_streaming",
    "make_learner",
    "fit_learner",
    "predict_scores",
    "model_weights",
]

log = logging.getLogger(__name__)

CLASS_WEIGHTS = ("balanced", "none")

#: Folds of the Platt-scaling cross-validation wrapped around the SVMs (SVC's old
#: ``probability=True`` used 5 internal folds; 3 keeps one fit to ~4 SVM fits).
_SVM_CALIBRATION_FOLDS = 3
#: XGBoost early-stopping patience when a validation set is given and none is configured.
_XGB_EARLY_STOPPING_ROUNDS = 20
#: Params every learner takes as arguments of make_learner instead.
_MANAGED = frozenset({"random_state", "n_jobs", "class_weight"})

BuildFn = Callable[[str, int, int, "str | None"], BaseEstimator]
WrapFn = Callable[[BaseEstimator, str, int, int], BaseEstimator]


@dataclass(frozen=True)
class LearnerSpec:
    """How to build one classical learner: its :class:`genoml_core.registry.Learner` declaration
    with the builder and wrapper imported.

    Attributes:
        name: Registry name.
        tasks: Tasks it supports.
        build: ``build(task, random_state, n_jobs, class_weight_or_None) -> base estimator``
            (unfitted, with this learner's defaults).
        wrap: Optional ``wrap(base, task, random_state, n_jobs) -> estimator`` applied after
            ``params`` are set on the base estimator.
        fixed: Base-estimator params that define the learner and cannot be overridden.
        description: One line for listings.
        streaming: Fitted out of core by :func:`genoml_core.outofcore.fit_streaming`, batch by
            batch from the int8 store (memory independent of the number of samples).
        default: Trained when the config's ``train.learners`` is null. The default set was
            chosen by measurement (``bench/bench_quality.py``, BENCHMARKS.md): penalized_glm
            beside logistic_l2 / ridge, random_forest and xgboost beat a cross-validated lasso
            on all SNPs and the former all-learner default, in a fifth of its time; the others
            (and the out-of-core learners, for cohorts too large for the rest) train when listed.
        feature_set: ``compact`` (the fold's LD-pruned, association-filtered SNPs + covariates)
            or ``genome`` (every SNP that passed the fold's variant QC + covariates, read as
            int8 by the learner itself: :mod:`genoml_core.genome_learner`).
    """

    name: str
    tasks: frozenset[str]
    build: BuildFn
    wrap: WrapFn | None = None
    fixed: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    streaming: bool = False
    default: bool = True
    feature_set: str = "compact"


# ----------------------------------------------------------------------------- factories
def _is_clf(task: str) -> bool:
    return task != "continuous"


def _logistic_l1(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    # liblinear is fast and exact for binary L1; it has no multinomial loss, so saga there.
    if task == "binary":
        return LogisticRegression(l1_ratio=1.0, C=0.1, solver="liblinear", max_iter=1000,
                                  class_weight=cw, random_state=rs)
    return LogisticRegression(l1_ratio=1.0, C=0.1, solver="saga", tol=1e-3, max_iter=1000,
                              class_weight=cw, random_state=rs)


def _logistic_l2(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    # NOTE[DIFF]: L2 uses lbfgs, not saga/liblinear: deterministic, multinomial and an order
    # of magnitude faster to converge on standardized dosages.
    return LogisticRegression(l1_ratio=0.0, C=0.01, solver="lbfgs", max_iter=1000, class_weight=cw, random_state=rs)


def _logistic_elasticnet(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    # tol=1e-3: saga to 1e-4 costs ~3x the epochs on 2000 features for no change in AUC
    return LogisticRegression(l1_ratio=0.5, C=0.1, solver="saga", tol=1e-3, max_iter=1000,
                              class_weight=cw, random_state=rs)


def _sgd_common(rs: int) -> dict[str, Any]:
    # NOTE[DIFF]: a constant step with validation-driven decay (genoml_core.outofcore), not
    # scikit-learn's "optimal" schedule, whose first steps overshoot on thousands of standardized
    # dosages; eta0 is per 1,000 features (the step used is eta0 * 1000 / p).
    return dict(learning_rate="constant", eta0=1e-4, max_iter=20, tol=1e-4, n_iter_no_change=3,
                shuffle=True, average=False, random_state=rs)


def _logistic_l1_sgd(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return SGDClassifier(loss="log_loss", penalty="l1", alpha=1e-3, **_sgd_common(rs))


def _logistic_l2_sgd(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return SGDClassifier(loss="log_loss", penalty="l2", alpha=1e-3, **_sgd_common(rs))


def _linear_sgd(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return SGDRegressor(loss="squared_error", penalty="elasticnet", alpha=1e-3, l1_ratio=0.5, **_sgd_common(rs))


def _random_forest(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    if _is_clf(task):
        return RandomForestClassifier(n_estimators=300, max_features="sqrt", class_weight=cw,
                                      n_jobs=n_jobs, random_state=rs)
    return RandomForestRegressor(n_estimators=300, max_features="sqrt", n_jobs=n_jobs, random_state=rs)


def _extra_trees(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return ExtraTreesClassifier(n_estimators=300, max_features="sqrt", class_weight=cw,
                                n_jobs=n_jobs, random_state=rs)


def _xgboost(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    common: dict[str, Any] = dict(
        n_estimators=300, max_depth=3, learning_rate=0.05, subsample=0.8, colsample_bytree=0.5,
        min_child_weight=1, reg_lambda=1.0, tree_method="hist", n_jobs=n_jobs, random_state=rs,
        verbosity=0,
    )
    if _is_clf(task):
        return XGBClassifier(**common)
    return XGBRegressor(**common)


def _svm_linear(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return LinearSVC(C=1e-2, dual="auto", max_iter=5000, class_weight=cw, random_state=rs)


def _svm_rbf(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return SVC(kernel="rbf", C=1.0, gamma="scale", cache_size=500, class_weight=cw, random_state=rs)


def _calibrate(base: BaseEstimator, task: str, rs: int, n_jobs: int) -> BaseEstimator:
    # NOTE[DIFF]: SVC(probability=True) is deprecated in scikit-learn 1.9; this is its documented
    # replacement (Platt scaling on out-of-fold decision values, one final SVM on all data).
    cv = StratifiedKFold(_SVM_CALIBRATION_FOLDS, shuffle=True, random_state=rs)
    return CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False, n_jobs=n_jobs)


def _knn(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return KNeighborsClassifier(n_neighbors=15, weights="uniform", n_jobs=n_jobs)


def _lda(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")


def _ridge(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return Ridge(alpha=100.0, random_state=rs)


def _lasso(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return Lasso(alpha=1e-2, max_iter=5000, random_state=rs)


def _elastic_net(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return ElasticNet(alpha=1e-2, l1_ratio=0.5, max_iter=5000, random_state=rs)


def _svr(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return SVR(kernel="rbf", C=1.0, epsilon=0.1, gamma="scale", cache_size=500)


def _svr_linear(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    return LinearSVR(C=1e-2, epsilon=0.1, loss="squared_epsilon_insensitive", dual="auto",
                     max_iter=5000, random_state=rs)


def _penalized_glm(task: str, rs: int, n_jobs: int, cw: str | None) -> BaseEstimator:
    from .penalized import GenomeWideGLM

    return GenomeWideGLM(task, n_threads=n_jobs, random_state=rs)


def _standardize_target(base: BaseEstimator, task: str, rs: int, n_jobs: int) -> BaseEstimator:
    return TransformedTargetRegressor(regressor=base, transformer=StandardScaler())


def _spec(learner: registry.Learner) -> LearnerSpec | None:
    return _resolved(learner) if learner.kind in registry.CLASSICAL_KINDS else None


@functools.lru_cache(maxsize=None)
def _resolved(learner: registry.Learner) -> LearnerSpec:  # declarations hash by identity
    return LearnerSpec(
        learner.name, learner.tasks, registry.resolve(learner.builder),
        wrap=None if learner.wrap is None else registry.resolve(learner.wrap), fixed=learner.fixed,
        description=learner.description, streaming=learner.kind == "streaming", default=learner.default,
        feature_set=learner.feature_set,
    )


#: name -> :class:`LearnerSpec` of every classical learner: a live view of
#: :data:`genoml_core.registry.REGISTRY` (declare learners there).
LEARNERS: Mapping[str, LearnerSpec] = registry.RegistryView(_spec, "genoml_core.learners.LEARNERS")


# ----------------------------------------------------------------------------- registry API
def available_learners(task: str, *, defaults_only: bool = False) -> list[str]:
    """Names of the learners supporting ``task``, in registry order (``defaults_only``: those
    trained when the config lists none)."""
    check_task(task)
    return registry.available(task, defaults_only=defaults_only, kinds=registry.CLASSICAL_KINDS)


def feature_set(name: str) -> str:
    """The feature store learner ``name`` trains on: ``compact`` or ``genome``."""
    return registry.feature_set(name)


def is_streaming(name: str) -> bool:
    """Whether learner ``name`` is fitted out of core, batch by batch."""
    return registry.is_streaming(name)


def supports(name: str, task: str) -> bool:
    """Whether learner ``name`` exists and supports ``task``."""
    check_task(task)
    spec = LEARNERS.get(name)
    return spec is not None and task in spec.tasks


def make_learner(
    name: str,
    params: Mapping[str, Any] | None,
    *,
    task: str,
    random_state: int,
    n_jobs: int = 1,
    class_weight: str = "balanced",
) -> BaseEstimator:
    """Build a fresh, unfitted estimator.

    Args:
        name: A key of :data:`LEARNERS`.
        params: Hyperparameters of the base estimator (e.g. from
            :func:`genoml_core.search.sample_params`); ``None`` or ``{}`` keeps the defaults.
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        random_state: Seed of every random step inside the learner.
        n_jobs: Threads/processes the learner may use.
        class_weight: ``"balanced"`` or ``"none"``; ignored for ``"continuous"``.

    Returns:
        A scikit-learn compatible estimator (fit it with :func:`fit_learner`).

    Raises:
        ConfigError: Unknown learner, learner not supporting ``task`` (the message lists
            those that do), unknown or fixed params, or a bad ``class_weight``.
    """
    check_task(task)
    spec = LEARNERS.get(name)
    if spec is None:
        raise ConfigError(f"unknown learner {name!r}; choose one of {available_learners(task)} for task {task!r}")
    if task not in spec.tasks:
        raise ConfigError(
            f"learner {name!r} does not support task {task!r}; learners that do: {available_learners(task)}"
        )
    if class_weight not in CLASS_WEIGHTS:
        raise ConfigError(f"class_weight must be one of {list(CLASS_WEIGHTS)}, got {class_weight!r}")
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ConfigError(f"random_state must be an integer seed, got {random_state!r}")
    cw = "balanced" if (class_weight == "balanced" and _is_clf(task)) else None
    base = spec.build(task, int(random_state), int(n_jobs), cw)
    params = dict(params or {})
    managed = sorted(set(params) & _MANAGED)
    if managed:
        raise ConfigError(
            f"learner {name!r}: {managed} are set by the workflow (seed, threads, class_weight option), "
            "remove them from the params/search space"
        )
    fixed = sorted(set(params) & spec.fixed)
    if fixed:
        raise ConfigError(f"learner {name!r}: {fixed} define this learner and cannot be changed; pick another learner")
    known = set(base.get_params(deep=False)) - _MANAGED - spec.fixed
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"learner {name!r} ({type(base).__name__}) has no parameter(s) {unknown}; "
            f"valid ones are {sorted(known)}"
        )
    base.set_params(**params)
    est = spec.wrap(base, task, int(random_state), int(n_jobs)) if spec.wrap else base
    return est


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
        from .outofcore import fit_streaming

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
    elif isinstance(base, LinearDiscriminantAnalysis) and classes is not None:
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

    name = type(base).__name__
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
    if isinstance(est, XGBModel) and y_fit is not y:
        est.genoml_classes_ = classes
    return est


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
