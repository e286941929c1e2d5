"""The classical learners' builders and their common fit / predict / weights flow, by task.

Each learner is declared once, in :mod:`genoml_core.models.registry` (tasks, kind, feature set, builder,
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

Modules: :mod:`.builders` (each learner's base estimator), :mod:`.specs` (:data:`LEARNERS`,
queries, :func:`make_learner`), :mod:`.fit` (:func:`fit_learner`) and :mod:`.scores`
(:func:`predict_scores`, :func:`model_weights`). Import from the package.
"""

from ...evaluation.metrics import TASKS
from .builders import _calibrate as _calibrate
from .builders import _elastic_net as _elastic_net
from .builders import _extra_trees as _extra_trees
from .builders import _is_clf as _is_clf
from .builders import _knn as _knn
from .builders import _lasso as _lasso
from .builders import _lda as _lda
from .builders import _linear_sgd as _linear_sgd
from .builders import _logistic_elasticnet as _logistic_elasticnet
from .builders import _logistic_l1 as _logistic_l1
from .builders import _logistic_l1_sgd as _logistic_l1_sgd
from .builders import _logistic_l2 as _logistic_l2
from .builders import _logistic_l2_sgd as _logistic_l2_sgd
from .builders import _penalized_glm as _penalized_glm
from .builders import _random_forest as _random_forest
from .builders import _ridge as _ridge
from .builders import _sgd_common as _sgd_common
from .builders import _standardize_target as _standardize_target
from .builders import _SVM_CALIBRATION_FOLDS as _SVM_CALIBRATION_FOLDS
from .builders import _svm_linear as _svm_linear
from .builders import _svm_rbf as _svm_rbf
from .builders import _svr as _svr
from .builders import _svr_linear as _svr_linear
from .builders import _xgboost as _xgboost
from .fit import _XGB_EARLY_STOPPING_ROUNDS as _XGB_EARLY_STOPPING_ROUNDS
from .fit import _base as _base
from .fit import _check_xy as _check_xy
from .fit import fit_learner
from .scores import _classes as _classes
from .scores import _fitted_inner as _fitted_inner
from .scores import model_weights, predict_scores
from .specs import _MANAGED as _MANAGED
from .specs import CLASS_WEIGHTS, LEARNERS, LearnerSpec, available_learners, feature_set, is_streaming, make_learner, supports
from .specs import BuildFn as BuildFn
from .specs import WrapFn as WrapFn
from .specs import _resolved as _resolved
from .specs import _spec as _spec

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
