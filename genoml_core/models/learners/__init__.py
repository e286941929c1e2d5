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
from .fit import fit_learner
from .scores import model_weights, predict_scores
from .specs import CLASS_WEIGHTS, LEARNERS, LearnerSpec, available_learners, feature_set, is_streaming, make_learner, supports
from .specs import BuildFn as BuildFn
from .specs import WrapFn as WrapFn

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
