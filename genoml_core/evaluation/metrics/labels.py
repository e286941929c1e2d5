"""Tasks, labels and predicted classes: :func:`check_task`, the metric names of each task
(:data:`METRICS`, :data:`SELECTION_METRIC`), :func:`encode_labels`, the decision cutoff (:data:`THRESHOLD`,
:func:`check_cutoff`, :func:`predicted_class`) and the degenerate-classifier guard (:func:`is_degenerate`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConfigError, InputError
from ...models.registry import TASKS


THRESHOLD = 0.5


SELECTION_METRIC: dict[str, str] = {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "continuous": "r2"}

_LOWER_IS_BETTER = frozenset({"brier", "log_loss", "rmse", "mae"})


def check_task(task: str) -> str:
    """Return ``task`` or raise :class:`ConfigError` if it is not one of :data:`TASKS`."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    return task


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (False for losses and errors)."""
    if metric not in _ALL_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; known metrics: {sorted(_ALL_METRICS)}")
    return metric not in _LOWER_IS_BETTER


# ----------------------------------------------------------------------------- input checks
def _check_inputs(task: str, y_true: Any, scores: Any, n_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    check_task(task)
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1:
        raise InputError(f"y_true must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise InputError("y_true is empty; metrics need at least one sample")
    if task == "multiclass":
        if s.ndim != 2 or s.shape[0] != y.size:
            raise InputError(f"multiclass scores must be (n, K) with n={y.size}, got shape {s.shape}")
        k = s.shape[1] if n_classes is None else int(n_classes)
        if s.shape[1] != k:
            raise InputError(f"scores have {s.shape[1]} columns but n_classes={k}")
    else:
        if s.shape != y.shape:
            raise InputError(f"{task} scores must have shape {y.shape} like y_true, got {s.shape}")
        k = 2 if task == "binary" else 0
    if not np.isfinite(s).all():
        raise InputError(f"{task} scores contain NaN or infinite values; the model diverged or inputs had NaN")
    if task == "continuous":
        if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y.astype(np.float64)).all():
            raise InputError("continuous y_true must be finite numbers")
        return y.astype(np.float64), s, k
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
        raise InputError(f"{task} y_true must be integer labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise InputError(f"{task} y_true labels must be in 0..{k - 1}, got {sorted(set(y.tolist()))}")
    if task == "binary" and (s.min() < 0 or s.max() > 1):
        raise InputError("binary scores must be probabilities of class 1 in [0, 1]")
    return y, s, k


def encode_labels(y: Any, classes: Any = None, *, what: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Class labels as codes: the one label encoder of the learners (as sklearn's ``LabelEncoder``).

    A label's code is its index in the sorted classes. With ``classes=None`` the classes are the
    labels present, sorted (``np.unique(y)``): encode the training labels so. Then pass those
    classes to encode validation or new labels with the same codes; a label outside them is an
    error, never a silent wrong code.

    Args:
        y: 1-D labels (numbers or strings).
        classes: sorted training classes, or ``None``.
        what: the labels' name in the error message (``"y_valid"``).

    Returns:
        (classes, codes): ``codes`` int64 in 0..len(classes)-1, with ``classes[codes] == y``.

    Raises:
        InputError: ``y`` has a label that is not in ``classes``.

    Example:
        >>> classes, codes = encode_labels(["b", "a", "b"])
        >>> classes.tolist(), codes.tolist(), encode_labels(["b"], classes)[1].tolist()
        (['a', 'b'], [1, 0, 1], [1])
    """
    y = np.asarray(y)
    if classes is None:
        classes, codes = np.unique(y, return_inverse=True)
        return classes, codes.reshape(-1).astype(np.int64)
    classes = np.asarray(classes)
    unseen = ~np.isin(y, classes)
    if unseen.any():
        raise InputError(
            f"{what} has labels {np.unique(y[unseen]).tolist()} not seen in training; the classes are "
            f"{classes.tolist()}"
        )
    return classes, np.searchsorted(classes, y).astype(np.int64)


def predicted_class(task: str, scores: Any, cutoff: Any = None) -> np.ndarray:
    """The predicted class code of each sample: the one definition used everywhere.

    binary: 1 (case) when P(case) >= the cutoff (default :data:`THRESHOLD`, 0.5; the cutoff
    itself is a case), else 0; multiclass: the arg-max column of ``scores / cutoff`` (default:
    of the scores; ties: the lower class code).

    Args:
        task: ``"binary"`` or ``"multiclass"``.
        scores: binary P(class 1) (n,); multiclass probabilities (n, K).
        cutoff: binary a number in (0, 1); multiclass K positive numbers; None: the defaults.

    Returns:
        int64 class codes (n,).

    Raises:
        ConfigError: For ``task="continuous"``.

    Example:
        >>> predicted_class("binary", [0.2, 0.5, 0.7]).tolist()
        [0, 1, 1]
    """
    check_task(task)
    s = np.asarray(scores, dtype=np.float64)
    if task == "binary":
        t = THRESHOLD if cutoff is None else check_cutoff(task, cutoff)
        return (s.reshape(-1) >= t).astype(np.int64)
    if task == "multiclass":
        s = s.reshape(s.shape[0], -1)
        if cutoff is not None:
            s = s / check_cutoff(task, cutoff, s.shape[1])
        return np.argmax(s, axis=1).astype(np.int64)
    raise ConfigError("predicted classes need a classification task (binary or multiclass), not continuous")


def check_cutoff(task: str, cutoff: Any, n_classes: int | None = None) -> Any:
    """A valid cutoff: binary a float in (0, 1); multiclass an array of K positive numbers.

    Raises:
        ConfigError: anything else.
    """
    if task == "binary":
        try:
            t = float(cutoff)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"binary cutoff must be a number in (0, 1), got {cutoff!r}") from err
        if not 0.0 < t < 1.0:
            raise ConfigError(f"binary cutoff must be in (0, 1), got {t}")
        return t
    c = np.asarray(cutoff, dtype=np.float64).reshape(-1)
    if (n_classes is not None and c.size != n_classes) or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ConfigError(f"multiclass cutoff must be {n_classes or 'K'} positive numbers, got {cutoff!r}")
    return c


# ----------------------------------------------------------------------------- fast kernels


_METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "pr_auc", "balanced_accuracy", "accuracy", "sensitivity", "specificity", "f1",
               "brier", "log_loss", "n", "n_cases"),
    "multiclass": ("accuracy", "balanced_accuracy", "roc_auc_ovr_macro", "log_loss", "n"),
    "continuous": ("r2", "rmse", "mae", "pearson_r", "n"),
}
_ALL_METRICS = frozenset(m for names in _METRIC_NAMES.values() for m in names)
#: Metric names produced by :func:`~genoml_core.evaluation.metrics.compute_metrics`, per task.
METRICS: dict[str, tuple[str, ...]] = dict(_METRIC_NAMES)


def is_degenerate(task: str, scores: Any, *, atol: float = 1e-10) -> bool:
    """The degenerate-classifier guard: constant scores, a model that ranks nobody.

    binary: all scores equal (range <= ``atol``); multiclass: every class column constant
    (all rows equal); continuous: a constant prediction (range <= ``atol`` * max(1, |mean|)).

    It looks at the variation of the scores only, never at the 0.5 threshold: a model fitted
    with ``class_weight="none"`` on rare cases (say 7 % prevalence) can rank people well (AUC
    0.74) yet put every score below 0.5; it is not degenerate and is ranked by its AUC like
    any other. (GenoML2 flagged "one predicted class for everybody", which ranked such a model
    below worse ones.)
    """
    check_task(task)
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return True
    if task == "multiclass":
        s = s.reshape(s.shape[0], -1)
        return bool(np.all(np.ptp(s, axis=0) <= atol))
    s = s.reshape(-1)
    if task == "binary":
        return bool(np.ptp(s) <= atol)
    return bool(np.ptp(s) <= atol * max(1.0, abs(float(s.mean()))))
