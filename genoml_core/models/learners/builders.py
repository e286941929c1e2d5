"""The classical learners' base estimators, each with this workflow's defaults: the ``builder`` and
``wrap`` functions :mod:`genoml_core.models.registry` names (as ``genoml_core.models.learners:<name>``)."""

from __future__ import annotations

from typing import Any

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
from xgboost import XGBClassifier, XGBRegressor

#: Folds of the Platt-scaling cross-validation wrapped around the SVMs (SVC's old
#: ``probability=True`` used 5 internal folds; 3 keeps one fit to ~4 SVM fits).
_SVM_CALIBRATION_FOLDS = 3


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
    # NOTE[DIFF]: a constant step with validation-driven decay (genoml_core.models.outofcore), not
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
    from ..penalized import GenomeWideGLM

    return GenomeWideGLM(task, n_threads=n_jobs, random_state=rs)


def _standardize_target(base: BaseEstimator, task: str, rs: int, n_jobs: int) -> BaseEstimator:
    return TransformedTargetRegressor(regressor=base, transformer=StandardScaler())
