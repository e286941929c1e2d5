"""The final model, chosen once on out-of-fold predictions: members, stack weights, calibrator.

Every trial predicts the rows it did not train on (its fold's validation part), so each learner's
best trial has an out-of-fold (OOF) score for every development person (``oof.tsv``). From those
alone, :func:`select_final` decides

1. **the members and their weights**: greedy ensemble selection with replacement (Caruana et al.
   2004, as in AutoGluon): start from the best learner, repeatedly add the learner (again, if it
   helps) whose inclusion most improves the OOF selection metric of the weighted mean of member
   scores (class probabilities, or trait values), and keep the best round. The weights are the
   counts; a learner never chosen gets no weight.
2. **whether to stack at all**: the whole procedure (best single learner vs ensemble selection) is
   cross-fitted over 5 seeded folds of the OOF rows: each fold's rows are scored by weights chosen
   on the other four. The ensemble is used only when its cross-fitted metric beats the best
   single learner's cross-fitted metric by more than :data:`STACK_MIN_GAIN`; otherwise the best
   learner alone is the final model.
3. **a calibrator** for the combined score, chosen by cross-fitted OOF log loss (classification)
   or squared error (continuous): binary ``none | platt | isotonic``; multiclass ``none | platt``
   (multinomial Platt / vector scaling: ``softmax(a * log p + b)``); continuous ``none | linear``.
   Balanced class weights shift probabilities towards 0.5; calibration brings ``prob_case`` back
   to the observed risk.

The test set plays no part: it is scored once, by :class:`FinalModel`, in ``evaluate``. The result
is a JSON document (``results/final/final_model.json``) read by evaluate, explain, predict, the
report and ``genoml-predict``; nothing downstream re-picks a winner.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import layout, metrics
from .errors import InputError
from .split import REFIT_FOLD

__all__ = [
    "FINAL_FORMAT",
    "FinalModel",
    "Member",
    "apply_calibrator",
    "caruana_weights",
    "combine",
    "decision_cutoff",
    "fit_calibrator",
    "oof_frame",
    "read_oof",
    "score_columns",
    "select_final",
]

log = logging.getLogger(__name__)

FINAL_FORMAT = 1
_EPS = 1e-6
#: Inner folds that cross-fit the stacking and calibration choices on the OOF rows.
N_CROSSFIT = 5
#: The cross-fitted gain (in the selection metric: AUC, macro AUC or R^2) a stack must show over
#: the best single learner to be used: smaller gains are within the noise of weighting in a learner
#: that only fits the OOF rows' chance structure.
STACK_MIN_GAIN = 0.002
CALIBRATORS = {"binary": ("none", "platt", "isotonic"), "multiclass": ("none", "platt"), "continuous": ("none", "linear")}


# ----------------------------------------------------------------------------- OOF tables
def score_columns(task: str, n_classes: int | None) -> list[str]:
    """Score columns of an OOF table: ``score`` (binary P(case), continuous value) or ``prob_<k>``."""
    if task == "multiclass":
        if not n_classes:
            raise ValueError("multiclass OOF tables need n_classes")
        return [f"prob_{k}" for k in range(n_classes)]
    return ["score"]


def oof_frame(ids: pd.DataFrame, fold: str, labels: np.ndarray, scores: np.ndarray, task: str) -> pd.DataFrame:
    """One fold's out-of-fold rows: FID IID fold label + score column(s)."""
    s = np.asarray(scores, dtype=np.float64)
    out = ids[["FID", "IID"]].reset_index(drop=True).copy()
    out["fold"] = fold
    out["label"] = labels
    if task == "multiclass":
        for k in range(s.shape[1]):
            out[f"prob_{k}"] = s[:, k]
    else:
        out["score"] = s
    return out


def read_oof(path: str | Path) -> pd.DataFrame:
    """An ``oof.tsv`` written by a trial (ids as strings)."""
    return pd.read_csv(path, sep="\t", dtype={"FID": str, "IID": str, "fold": str})


def _scores(df: pd.DataFrame, task: str) -> np.ndarray:
    if task == "multiclass":
        cols = sorted((c for c in df.columns if c.startswith("prob_")), key=lambda c: int(c[5:]))
        return df[cols].to_numpy(dtype=np.float64)
    return df["score"].to_numpy(dtype=np.float64)


# ----------------------------------------------------------------------------- combining
def combine(member_scores: Sequence[np.ndarray], weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Weighted mean of member scores (probabilities or trait values); weights need not sum to 1."""
    w = np.asarray(weights, dtype=np.float64)
    if w.sum() <= 0:
        raise ValueError("stack weights must have a positive sum")
    w = w / w.sum()
    out = np.zeros_like(np.asarray(member_scores[0], dtype=np.float64))
    for wi, s in zip(w, member_scores):
        if wi:
            out = out + wi * np.asarray(s, dtype=np.float64)
    return out


def _metric(task: str, y: np.ndarray, s: np.ndarray, n_classes: int | None) -> float:
    name = metrics.SELECTION_METRIC[task]
    value = metrics.compute_metrics(task, y, s, n_classes=n_classes).get(name, math.nan)
    if value is None or not math.isfinite(value):
        return -math.inf
    return float(value) if metrics.greater_is_better(name) else -float(value)


def caruana_weights(
    member_scores: Sequence[np.ndarray], y: np.ndarray, task: str, *, n_classes: int | None, max_rounds: int = 25
) -> np.ndarray:
    """Greedy ensemble selection with replacement; returns one count per member.

    Round 1 takes the best member; each next round adds the member whose inclusion gives the best
    selection metric of the mean; the best round is kept (the earliest on ties), so the result is
    never worse on these rows than the best single member.
    """
    m = len(member_scores)
    counts = np.zeros(m)
    total = np.zeros_like(np.asarray(member_scores[0], dtype=np.float64))
    best_value, best_counts = -math.inf, counts.copy()
    for r in range(1, max_rounds + 1):
        values = [_metric(task, y, (total + s) / r, n_classes) for s in member_scores]
        j = int(np.argmax(values))  # ties: the first member (members are ordered best first)
        counts[j] += 1
        total = total + member_scores[j]
        if values[j] > best_value + 1e-12:
            best_value, best_counts = values[j], counts.copy()
    return best_counts


# ----------------------------------------------------------------------------- calibration
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


# ----------------------------------------------------------------------------- selection
def _crossfit_folds(y: np.ndarray, task: str, seed: int, k: int = N_CROSSFIT) -> np.ndarray:
    """Seeded, stratified fold index (0..k-1) of every OOF row."""
    rng = np.random.default_rng([seed, 0xCA1])
    if task == "continuous":
        strata = np.minimum((pd.Series(y).rank(method="first").to_numpy() - 1) * 5 // len(y), 4).astype(int)
    else:
        strata = y.astype(int)
    fold = np.empty(len(y), dtype=int)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        idx = idx[rng.permutation(len(idx))]
        fold[idx] = np.arange(len(idx)) % k
    return fold


@dataclass(frozen=True)
class Candidate:
    """A learner's best trial and its OOF scores (rows aligned across candidates)."""

    learner: str
    trial: int
    scores: np.ndarray


def _align(oofs: Mapping[str, pd.DataFrame], task: str) -> tuple[pd.DataFrame, dict[str, np.ndarray], np.ndarray]:
    keys = None
    out: dict[str, np.ndarray] = {}
    base = None
    for name, df in oofs.items():
        df = df.sort_values(["FID", "IID"], kind="mergesort").reset_index(drop=True)
        k = df["FID"] + "\t" + df["IID"]
        if keys is None:
            keys, base = k, df
        elif not k.equals(keys):
            raise InputError(
                f"the out-of-fold predictions of {name} cover other people than those of {next(iter(oofs))}; "
                "the trials come from different splits (rerun the workflow)"
            )
        if k.duplicated().any():
            raise InputError(f"the out-of-fold predictions of {name} list a person twice; rerun its trials")
        out[name] = _scores(df, task)
    assert base is not None
    y = base["label"].to_numpy(dtype=np.float64 if task == "continuous" else np.int64)
    return base[["FID", "IID", "fold"]], out, y


def select_final(
    oofs: Mapping[str, pd.DataFrame],
    trials: Mapping[str, int],
    *,
    task: str,
    n_classes: int | None,
    seed: int,
    stack: bool = True,
    calibrate: str = "auto",
    max_rounds: int = 25,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Choose the final model from each learner's best-trial OOF predictions.

    Args:
        oofs: learner -> its best trial's OOF table (:func:`read_oof`); every table covers the
            same people.
        trials: learner -> its best trial index.
        task: ``binary``, ``multiclass`` or ``continuous``.
        n_classes: Number of classes (classification).
        seed: Seeds the cross-fitting folds.
        stack: Allow an ensemble of learners (else the best learner alone).
        calibrate: ``auto`` (chosen by cross-fitted OOF loss among :data:`CALIBRATORS`), or one
            kind to force (``none`` switches calibration off).
        max_rounds: Rounds of greedy ensemble selection.

    Returns:
        ``(spec, oof)``: ``spec`` is the final-model document without file paths (members with
        weights, combiner, calibrator, OOF evidence); ``oof`` the final model's cross-fitted OOF
        predictions (FID IID fold label + scores) for the report's calibration and plots.
    """
    if not oofs:
        raise InputError("no learner has out-of-fold predictions; list learners under train.learners")
    ids, scores, y = _align(oofs, task)
    single = {name: _metric(task, y, s, n_classes) for name, s in scores.items()}
    # best first; ties by name, so the order (and the greedy's tie-breaks) is deterministic
    names = sorted(scores, key=lambda n: (-single[n], n))
    member_scores = [scores[n] for n in names]
    folds = _crossfit_folds(y, task, seed)

    # cross-fitted: best single learner vs ensemble selection, each chosen without the scored fold
    cf_single = np.zeros_like(member_scores[0])
    cf_stack = np.zeros_like(member_scores[0])
    for k in range(N_CROSSFIT):
        tr, te = folds != k, folds == k
        vals = [_metric(task, y[tr], s[tr], n_classes) for s in member_scores]
        cf_single[te] = member_scores[int(np.argmax(vals))][te]
        w = caruana_weights([s[tr] for s in member_scores], y[tr], task, n_classes=n_classes, max_rounds=max_rounds)
        cf_stack[te] = combine([s[te] for s in member_scores], w)
    value_single, value_stack = _metric(task, y, cf_single, n_classes), _metric(task, y, cf_stack, n_classes)
    weights = caruana_weights(member_scores, y, task, n_classes=n_classes, max_rounds=max_rounds)
    use_stack = bool(stack and len(names) > 1 and np.count_nonzero(weights) > 1
                     and value_stack > value_single + STACK_MIN_GAIN)
    if not use_stack:
        weights = np.zeros(len(names))
        weights[0] = 1.0
    combined = combine(member_scores, weights)
    cf_combined = cf_stack if use_stack else cf_single

    # calibrator: cross-fitted loss of each kind on the (cross-fitted) combined scores
    kinds = CALIBRATORS[task] if calibrate == "auto" else (calibrate,)
    losses: dict[str, float] = {}
    cf_cal: dict[str, np.ndarray] = {}
    for kind in kinds:
        out = np.zeros_like(cf_combined)
        for k in range(N_CROSSFIT):
            tr, te = folds != k, folds == k
            out[te] = apply_calibrator(fit_calibrator(kind, cf_combined[tr], y[tr], task), cf_combined[te], task)
        cf_cal[kind], losses[kind] = out, _calibration_loss(task, y, out)
    chosen = min(kinds, key=lambda k: (losses[k], kinds.index(k)))
    calibrator = fit_calibrator(chosen, combined, y, task)
    final_cf = cf_cal[chosen]
    cutoff = decision_cutoff(task, apply_calibrator(calibrator, combined, task))

    sel = metrics.SELECTION_METRIC[task]
    members: list[dict[str, Any]] = [
        {"learner": n, "trial": int(trials[n]), "weight": float(w / weights.sum()), f"oof_{sel}": _signed(sel, single[n])}
        for n, w in zip(names, weights)
        if w > 0
    ]
    spec: dict[str, Any] = {
        "format": FINAL_FORMAT,
        "task": task,
        "selection_metric": sel,
        "combiner": "stack" if use_stack else "single",
        "members": members,
        "calibrator": calibrator,
        "decision": {"rule": "balanced" if cutoff is not None else "none", "cutoff": cutoff},
        "evidence": {
            "n_oof": int(len(y)),
            "n_crossfit_folds": N_CROSSFIT,
            "oof_single": {n: _signed(sel, single[n]) for n in names},
            f"crossfit_{sel}": {"best_single": _signed(sel, value_single), "stack": _signed(sel, value_stack)},
            "stack_weights_all": {n: float(w) for n, w in zip(names, caruana_weights(
                member_scores, y, task, n_classes=n_classes, max_rounds=max_rounds))},
            "calibration_loss": losses,
            "calibrator": chosen,
            "final_crossfit": metrics.compute_metrics(task, y, final_cf, n_classes=n_classes, cutoff=cutoff),
        },
    }
    log.info(
        "final model: %s of %s; cross-fitted OOF %s single %.4f vs stack %.4f; calibrator %s (losses %s)",
        spec["combiner"], [(m["learner"], round(m["weight"], 3)) for m in members], sel,
        _signed(sel, value_single), _signed(sel, value_stack), chosen, {k: round(v, 5) for k, v in losses.items()},
    )
    oof = ids.copy()
    oof["label"] = y
    oof = pd.concat([oof, oof_frame(ids, "", y, final_cf, task).drop(columns=["FID", "IID", "fold", "label"])],
                    axis=1)
    return spec, oof


def decision_cutoff(task: str, final_scores: np.ndarray) -> float | list[float] | None:
    """The balanced decision rule's cutoff from the final model's scores of the OOF people.

    binary: the mean score. For calibrated probabilities that is the prevalence, and calling a
    case when P(case) >= prevalence (likelihood ratio >= 1) is the rule that maximizes balanced
    accuracy, i.e. it weighs a missed case and a false alarm by their class sizes, as balanced
    class weights do at 0.5 before calibration. A fixed 0.5 would turn a calibrated model of a
    rare trait into one that calls almost nobody a case. multiclass: the mean probability of each
    class (predicted class = arg-max of ``p_k / mean_k``). continuous: None.
    """
    if task == "continuous":
        return None
    s = np.asarray(final_scores, dtype=np.float64)
    if task == "binary":
        return float(np.clip(s.mean(), 1e-6, 1 - 1e-6))
    return [float(max(v, 1e-6)) for v in s.mean(axis=0)]


def _signed(metric: str, value: float) -> float | None:
    if not math.isfinite(value):
        return None
    return float(value) if metrics.greater_is_better(metric) else -float(value)


# ----------------------------------------------------------------------------- the final model
@dataclass(frozen=True)
class Member:
    """One learner of the final model: its trial, weight and one model (and recipe) per fold."""

    learner: str
    trial: int
    weight: float
    feature_set: str
    models: dict[str, Path]
    recipes: dict[str, Path]

    @property
    def folds(self) -> list[str]:
        return list(self.models)


@dataclass(frozen=True)
class FinalModel:
    """The final model as written by ``select_final``: read it, never re-pick a winner.

    ``score(member_scores)`` combines the members' fold-averaged scores with the stack weights and
    applies the calibrator. Paths in the file are relative to the results folder.
    """

    task: str
    class_names: list[str] | None
    members: list[Member]
    calibrator: dict[str, Any]
    combiner: str
    spec: dict[str, Any]

    @property
    def learner(self) -> str:
        """A short name: the learner, or ``stack(a+b)``."""
        if len(self.members) == 1:
            return self.members[0].learner
        return "stack(" + "+".join(m.learner for m in self.members) + ")"

    @property
    def main(self) -> Member:
        """The member with the largest weight (the best learner when tied)."""
        return max(self.members, key=lambda m: m.weight)

    @property
    def cutoff(self) -> float | list[float] | None:
        """The decision cutoff of predicted classes (:func:`decision_cutoff`); None: 0.5 / arg-max."""
        return (self.spec.get("decision") or {}).get("cutoff")

    def score(self, member_scores: Sequence[np.ndarray], *, calibrated: bool = True) -> np.ndarray:
        """Final scores from each member's (fold-averaged) scores, in :attr:`members` order."""
        s = combine(member_scores, [m.weight for m in self.members])
        return apply_calibrator(self.calibrator, s, self.task) if calibrated else s

    @classmethod
    def load(cls, path: str | Path, results: str | Path | None = None) -> "FinalModel":
        """Read ``final_model.json``; ``results`` (default: its grandparent) anchors the paths."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: final model not found; run the workflow up to select_final first")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not a final model (invalid JSON: {e}); rerun select_final") from e
        if spec.get("format") != FINAL_FORMAT:
            raise InputError(f"{path}: final model format {spec.get('format')!r}, this genoml_core reads "
                             f"{FINAL_FORMAT}; rerun select_final")
        # the results folder: FINAL_MODEL's depth below it (final/final_model.json: the grandparent)
        root = Path(results) if results is not None else path.parents[len(_FINAL_IN_RESULTS.parts) - 1]
        members = [
            Member(
                learner=str(m["learner"]),
                trial=int(m["trial"]),
                weight=float(m["weight"]),
                feature_set=str(m.get("feature_set", "compact")),
                models={f: root / p for f, p in m["models"].items()},
                recipes={f: root / p for f, p in m["recipes"].items()},
            )
            for m in spec["members"]
        ]
        return cls(spec["task"], spec.get("class_names"), members, dict(spec["calibrator"]), spec["combiner"], spec)


#: Where ``final_model.json`` is below the results folder.
_FINAL_IN_RESULTS = PurePosixPath(layout.in_results(layout.FINAL_MODEL))
#: The end of a trial's OOF path (:data:`genoml_core.layout.TRIAL_OOF`) that names its learner and trial.
_OOF_TAIL = "/".join(PurePosixPath(layout.TRIAL_OOF).parts[-3:])


def final_model_document(
    selections: Sequence[Mapping[str, Any]],
    oof_paths: Sequence[str | Path],
    *,
    folds: Sequence[str],
    task: str,
    class_names: list[str] | None,
    seed: int,
    options: Mapping[str, Any],
    feature_sets: Mapping[str, str] | None = None,
    refit_full: bool = False,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The ``final_model.json`` document from every learner's selection and the trials' OOF files.

    Args:
        selections: One ``select_learner`` record per learner (its best trial).
        oof_paths: Every trial's ``oof.tsv`` (``.../individual/train/<learner>/trial_<t>/oof.tsv``:
            the learner and trial are read from its parent folders); only the
            best trials' are read.
        folds: The fold names (each member has one model per fold).
        task, class_names, seed: As in the config.
        options: The config's ``final`` section (``stack``, ``calibrate``, ``max_rounds``).
        feature_sets: learner -> ``compact`` or ``genome`` (which munge store its models read).
        refit_full: score with each member's refit on every development person
            (``train/<learner>/refit/model_full.zip`` on the ``full`` stores) instead of the mean of
            its fold models; the fold models, whose OOF predictions chose the members, the
            weights and the calibrator, are listed under ``fold_models``.

    Returns:
        ``(document, oof)`` as :func:`select_final`, the document with class names and, per
        member, model and recipe paths relative to the results folder.
    """
    oofs, trials = {}, {}
    for sel in selections:
        # the trial's oof.tsv, wherever the inputs are: its path ends <learner>/trial_<t>/oof.tsv
        want = "/" + _OOF_TAIL.format(learner=sel["learner"], trial=int(sel["best_trial"]))
        found = [p for p in map(Path, oof_paths) if ("/" + p.as_posix()).endswith(want)]
        if not found:
            raise InputError(f"no oof.tsv for {sel['learner']} trial {sel['best_trial']} among the rule's inputs")
        oofs[sel["learner"]] = read_oof(found[-1])
        trials[sel["learner"]] = int(sel["best_trial"])
    n_classes = len(class_names) if class_names else None
    spec, oof = select_final(
        oofs, trials, task=task, n_classes=n_classes, seed=seed, stack=bool(options.get("stack", True)),
        calibrate=str(options.get("calibrate", "auto")), max_rounds=int(options.get("max_rounds", 25)),
    )
    sets = dict(feature_sets or {})
    for m in spec["members"]:
        fs = "genome" if sets.get(m["learner"], "compact") == "genome" else "compact"
        m["feature_set"] = sets.get(m["learner"], "compact")
        fold_models = {f: layout.in_results(layout.TRIAL_MODEL, learner=m["learner"], trial=m["trial"], fold=f)
                       for f in folds}
        if refit_full:
            m["models"] = {REFIT_FOLD: layout.in_results(layout.REFIT_MODEL, learner=m["learner"])}
            m["recipes"] = {REFIT_FOLD: layout.in_results(layout.store_file(fs, fold=REFIT_FOLD))}
            m["fold_models"] = fold_models
        else:
            m["models"] = fold_models
            m["recipes"] = {f: layout.in_results(layout.store_file(fs, fold=f)) for f in folds}
    spec["class_names"] = class_names
    spec["folds"] = [REFIT_FOLD] if refit_full else list(folds)
    spec["refit_full"] = bool(refit_full)
    spec["seed"] = seed
    from . import __version__

    spec["genoml_core_version"] = __version__
    return spec, oof
