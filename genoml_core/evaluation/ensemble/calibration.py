"""Calibrators of the combined score: binary ``none | platt | isotonic``, multiclass ``none | platt``
(multinomial Platt), continuous ``none | linear``; fitted and applied as JSON-able dicts."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ...errors import InputError

_EPS = 1e-6

CALIBRATORS = {"binary": ("none", "platt", "isotonic"), "multiclass": ("none", "platt"), "continuous": ("none", "linear")}


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _fit_platt_binary(s: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from scipy.optimize import minimize

    z = _logit(s)

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        t = ab[0] * z + ab[1]
        p = 1 / (1 + np.exp(-t))
        # log loss and its gradient; a tiny ridge keeps a separable OOF set finite
        ll = np.sum(np.logaddexp(0, t) - y * t) + 1e-4 * ab[0] ** 2
        g = p - y
        return float(ll), np.array([np.sum(g * z) + 2e-4 * ab[0], np.sum(g)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return {"kind": "platt", "a": float(res.x[0]), "b": float(res.x[1])}


def _fit_isotonic(s: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    return {"kind": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def _fit_platt_multiclass(s: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    logp = np.log(np.clip(s, _EPS, 1.0))
    k = s.shape[1]
    onehot = np.eye(k)[y.astype(int)]

    def loss(v: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = v[0], v[1:]
        t = a * logp + b
        lsm = log_softmax(t, axis=1)
        g = np.exp(lsm) - onehot
        ll = -np.sum(onehot * lsm) + 1e-4 * (a - 1) ** 2
        return float(ll), np.concatenate([[np.sum(g * logp) + 2e-4 * (a - 1)], g.sum(axis=0)])

    res = minimize(loss, np.concatenate([[1.0], np.zeros(k)]), jac=True, method="L-BFGS-B")
    return {"kind": "platt", "a": float(res.x[0]), "b": res.x[1:].tolist()}


def _fit_linear(s: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    b, a = np.polyfit(s, y, 1) if np.ptp(s) > 0 else (1.0, 0.0)
    return {"kind": "linear", "a": float(a), "b": float(b)}


def fit_calibrator(kind: str, s: np.ndarray, y: np.ndarray, task: str) -> dict[str, Any]:
    """Fit a calibrator of ``kind`` to combined scores ``s`` and labels ``y`` (a JSON-able dict)."""
    if kind == "none":
        return {"kind": "none"}
    if kind not in CALIBRATORS[task]:
        raise ValueError(f"calibrator {kind!r} is not available for task {task!r}; choose from {CALIBRATORS[task]}")
    if task == "binary":
        return _fit_platt_binary(s, y) if kind == "platt" else _fit_isotonic(s, y)
    if task == "multiclass":
        return _fit_platt_multiclass(s, y)
    return _fit_linear(s, y)


def apply_calibrator(cal: Mapping[str, Any], s: np.ndarray, task: str) -> np.ndarray:
    """Calibrated scores: probabilities (binary P(case), multiclass rows summing to 1) or values."""
    kind = cal.get("kind", "none")
    s = np.asarray(s, dtype=np.float64)
    if kind == "none":
        return s
    if task == "binary" and kind == "platt":
        return 1 / (1 + np.exp(-(cal["a"] * _logit(s) + cal["b"])))
    if task == "binary" and kind == "isotonic":
        return np.interp(s, np.asarray(cal["x"]), np.asarray(cal["y"]))
    if task == "multiclass" and kind == "platt":
        from scipy.special import softmax

        return softmax(cal["a"] * np.log(np.clip(s, _EPS, 1.0)) + np.asarray(cal["b"]), axis=1)
    if task == "continuous" and kind == "linear":
        return cal["a"] + cal["b"] * s
    raise InputError(f"unknown calibrator {kind!r} for task {task!r} in the final model; rerun select_final")


def _calibration_loss(task: str, y: np.ndarray, s: np.ndarray) -> float:
    if task == "continuous":
        return float(np.mean((y - s) ** 2))
    if task == "binary":
        p = np.clip(s, _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    p = np.clip(s[np.arange(len(y)), y.astype(int)], _EPS, 1.0)
    return float(-np.mean(np.log(p)))
