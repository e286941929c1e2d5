"""Out-of-core fitting of the linear learners: SGD over batches streamed from the int8 store.

The in-memory learners of :mod:`genoml_core.models.learners` need the training matrix as floats
(8-42 bytes per value at their peak; see :mod:`genoml_core.memory`). The ``*_sgd`` learners
(``logistic_l1_sgd``, ``logistic_l2_sgd``, ``linear_sgd``) never hold more than one batch:
each epoch visits the training rows in a seeded random order, ``batch_size`` rows at a time,
scaled from int8 by the recipe (:class:`~genoml_core.store.StoreView`), and calls
``partial_fit``. Memory is the batch plus the model, whatever the number of samples.

Schedule: a constant step ``eta0 * 1000 / p`` (the stable step of SGD on
standardized features shrinks with their number), divided by 5 whenever the validation loss
fails to improve by ``tol``; training stops after ``n_iter_no_change`` such epochs or
``max_iter`` epochs, and the coefficients of the best validation epoch are kept. Class
imbalance: balanced sample weights (``n / (K * count[class])``), and the validation loss is
weighted the same way. Continuous targets are standardized for fitting and the coefficients
mapped back, so ``predict`` returns phenotype units.

Everything is a function of ``random_state``: the same seed gives the same model.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.utils.class_weight import compute_sample_weight

from ..errors import InputError
from ..evaluation.metrics import encode_labels

__all__ = ["fit_streaming", "STEP_DECAY"]

log = logging.getLogger(__name__)

#: Factor the step is divided by after an epoch without validation gain.
STEP_DECAY = 5.0
#: Training rows scored for the stopping rule when no validation set is given.
_MAX_MONITOR_ROWS = 10_000


def _batched_output(est: Any, X: Any, batch_size: int, proba: bool) -> np.ndarray:
    parts = []
    for start in range(0, len(X), batch_size):
        xb = X[np.arange(start, min(start + batch_size, len(X)))]
        parts.append(est.predict_proba(xb) if proba else est.predict(xb))
    return np.concatenate(parts) if parts else np.zeros(0)


def _loss(est: Any, X: Any, y: np.ndarray, weights: np.ndarray, batch_size: int, clf: bool) -> float:
    out = _batched_output(est, X, batch_size, proba=clf)
    if clf:
        cols = encode_labels(y, est.classes_)[1]
        p = np.clip(out[np.arange(len(y)), cols], 1e-15, 1.0)
        return float(np.average(-np.log(p), weights=weights))
    return float(np.average((out - y) ** 2, weights=weights))


def fit_streaming(
    est: SGDClassifier | SGDRegressor,
    X: Any,
    y: np.ndarray,
    *,
    task: str,
    class_weight: str = "balanced",
    X_valid: Any = None,
    y_valid: np.ndarray | None = None,
    random_state: int = 0,
    batch_size: int = 1024,
) -> SGDClassifier | SGDRegressor:
    """Fit an SGD linear model epoch by epoch over row batches of ``X``; see the module notes.

    Args:
        est: An unfitted ``SGDClassifier``/``SGDRegressor`` from
            :func:`genoml_core.models.learners.make_learner` (a ``*_sgd`` learner). Its ``max_iter``
            is the number of epochs, ``n_iter_no_change`` the patience, ``tol`` the gain that
            counts, ``eta0`` the step per 1,000 features.
        X: Training rows: anything with ``len`` and ``X[index_array] -> float32 (rows, p)``,
            e.g. a :class:`~genoml_core.store.StoreView`; ``shape`` gives p.
        y: Training labels (0..K-1) or continuous targets.
        task: ``binary``, ``multiclass`` or ``continuous``.
        class_weight: ``balanced`` or ``none``.
        X_valid: Optional validation rows for the stopping rule (else up to 10,000 training rows).
        y_valid: Their labels.
        random_state: Seeds the order of the rows.
        batch_size: Rows per ``partial_fit`` call (and per scoring batch).

    Returns:
        ``est``, fitted; ``est.eta0`` is the step of the last epoch and ``est.genoml_epochs_``
        the per-epoch record ``[{epoch, loss, eta}]``.

    Raises:
        InputError: fewer than two classes in y, or X and y of different lengths.
    """
    y = np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise InputError(f"training data: {n} rows but {len(y)} labels")
    p = int(X.shape[1])
    clf = task != "continuous"
    rng = np.random.default_rng(random_state)
    tg = _targets(y, task, class_weight)
    monitored = _monitor_rows(X, X_valid, y_valid, tg, rng)

    eta = float(est.eta0) * 1000.0 / max(p, 1)
    est.set_params(eta0=eta)
    log.info("%s out of core: %d rows x %d features, batches of %d, step %.3g, at most %d epochs (%s loss)",
             type(est).__name__, n, p, batch_size, eta, est.max_iter, monitored.name)
    best, best_loss, record = _run_epochs(est, X, tg, monitored, rng, batch_size)
    if best is not None:
        est.coef_, est.intercept_ = best[0], best[1]
        log.info("kept epoch %d (%s loss %.5f)", best[2], monitored.name, best_loss)
    if not clf:  # back to phenotype units: y = center + spread * (X @ coef + b)
        est.coef_ = est.coef_ * tg.spread
        est.intercept_ = est.intercept_ * tg.spread + tg.center
    est.genoml_epochs_ = record
    return est


@dataclass(frozen=True)
class _Targets:
    """The fitted targets: labels (classification) or the standardized target (continuous), with
    their sample weights; ``classes`` and ``class_w`` for classification, ``center`` and ``spread``
    the standardization (0 and 1 for classification)."""

    y_fit: np.ndarray
    weights: np.ndarray
    classes: np.ndarray | None
    class_w: dict[int, float]
    center: float
    spread: float


def _targets(y: np.ndarray, task: str, class_weight: str) -> _Targets:
    """The targets fitted and their sample weights (balanced: ``n / (K * count[class])``).

    >>> tg = _targets(np.array([0, 0, 0, 1]), "binary", "balanced")
    >>> tg.class_w, tg.weights.tolist()
    ({0: 0.6666666666666666, 1: 2.0}, [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0])
    >>> tg = _targets(np.array([1.0, 3.0]), "continuous", "balanced")
    >>> tg.y_fit.tolist(), tg.center, tg.spread
    ([-1.0, 1.0], 2.0, 1.0)
    """
    n = len(y)
    if task != "continuous":
        y = y.astype(np.int64)
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError(
                f"training labels contain a single class ({classes.tolist()}); a {task} classifier needs two"
            )
        weights = compute_sample_weight("balanced", y) if class_weight == "balanced" else np.ones(n)
        class_w = {int(c): float(weights[y == c][0]) for c in classes}
        return _Targets(y, weights, classes, class_w, 0.0, 1.0)
    y = y.astype(np.float64)
    center, spread = float(y.mean()), float(y.std()) or 1.0
    return _Targets((y - center) / spread, np.ones(n), None, {}, center, spread)


@dataclass(frozen=True)
class _Monitored:
    """The rows whose loss drives the stopping rule (``name``: validation or training subsample)."""

    X: Any
    y: np.ndarray
    weights: np.ndarray
    name: str


def _monitor_rows(X: Any, X_valid: Any, y_valid: np.ndarray | None, tg: _Targets,
                  rng: np.random.Generator) -> _Monitored:
    """The validation rows (classification: those of a training class), else up to
    :data:`_MAX_MONITOR_ROWS` training rows drawn from ``rng``."""
    if X_valid is not None and y_valid is not None and len(y_valid):
        ym = np.asarray(y_valid)
        if tg.classes is not None:
            keep = np.isin(ym, tg.classes)
            rows = np.flatnonzero(keep)
            ym = ym[keep].astype(np.int64)
            return _Monitored(_Rows(X_valid, rows), ym, np.array([tg.class_w[int(c)] for c in ym]), "validation")
        ym = (ym.astype(np.float64) - tg.center) / tg.spread
        return _Monitored(X_valid, ym, np.ones(len(ym)), "validation")
    n = len(X)
    rows = np.sort(rng.choice(n, size=min(n, _MAX_MONITOR_ROWS), replace=False))
    return _Monitored(_Rows(X, rows), tg.y_fit[rows], tg.weights[rows], "training subsample")


def _run_epochs(
    est: SGDClassifier | SGDRegressor, X: Any, tg: _Targets, m: _Monitored, rng: np.random.Generator,
    batch_size: int,
) -> tuple[tuple[np.ndarray, np.ndarray, int] | None, float, list[dict[str, float]]]:
    """The epochs with the step schedule and the stopping rule: (coefficients, intercept, epoch) of
    the best monitored loss, that loss, and the per-epoch record."""
    n, clf = len(X), tg.classes is not None
    best_loss, best, bad = math.inf, None, 0
    record: list[dict[str, float]] = []
    for epoch in range(1, int(est.max_iter) + 1):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = np.sort(order[start : start + batch_size])
            xb = X[idx]
            if clf:
                est.partial_fit(xb, tg.y_fit[idx], classes=tg.classes, sample_weight=tg.weights[idx])
            else:
                est.partial_fit(xb, tg.y_fit[idx], sample_weight=tg.weights[idx])
        loss = _loss(est, m.X, m.y, m.weights, batch_size, clf)
        if not math.isfinite(loss):
            log.warning("epoch %d: the loss is not finite (step %.3g); stopping", epoch, est.eta0)
            break
        record.append({"epoch": epoch, "loss": loss, "eta": float(est.eta0), "seconds": time.perf_counter() - t0})
        log.info("epoch %d: %s loss %.5f, step %.3g, %.1f s", epoch, m.name, loss, est.eta0, record[-1]["seconds"])
        if loss < best_loss - float(est.tol):
            best_loss, bad = loss, 0
            best = (np.array(est.coef_, copy=True), np.array(est.intercept_, copy=True), epoch)
        else:
            if loss < best_loss:  # below the gain that counts, still the best so far
                best_loss = loss
                best = (np.array(est.coef_, copy=True), np.array(est.intercept_, copy=True), epoch)
            bad += 1
            if bad >= int(est.n_iter_no_change):
                log.info("stopping after epoch %d: no gain above tol=%g for %d epochs", epoch, est.tol, bad)
                break
            est.set_params(eta0=float(est.eta0) / STEP_DECAY)
    return best, best_loss, record


class _Rows:
    """Rows ``rows`` of a row source, itself a row source."""

    def __init__(self, X: Any, rows: np.ndarray) -> None:
        self.X, self.rows = X, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self.X[self.rows[idx]]
