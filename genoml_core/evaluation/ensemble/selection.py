"""The choice of the final model on OOF predictions: greedy ensemble selection (stack weights), the
cross-fitted stack-or-single decision, the calibrator and the decision cutoff (:func:`select_final`)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import metrics
from ...errors import InputError
from .calibration import CALIBRATORS, _calibration_loss, apply_calibrator, fit_calibrator
from .oof import _scores, oof_frame

log = logging.getLogger("genoml_core.evaluation.ensemble")  # the package's name, not __name__: warnings.json records it

#: The format of ``final_model.json``: written by :func:`select_final`, checked by ``FinalModel.load``.
FINAL_FORMAT = 1
#: Inner folds that cross-fit the stacking and calibration choices on the OOF rows.
N_CROSSFIT = 5
#: The cross-fitted gain (in the selection metric: AUC, macro AUC or R^2) a stack must show over
#: the best single learner to be used: smaller gains are within the noise of weighting in a learner
#: that only fits the OOF rows' chance structure.
STACK_MIN_GAIN = 0.002


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


@dataclass(frozen=True)
class _Stacking:
    """The learners best first (their OOF scores and metrics) and the stack-or-single choice."""

    names: list[str]
    member_scores: list[np.ndarray]
    single: dict[str, float]  # learner -> its OOF selection metric (greater is better)
    weights: np.ndarray  # per name; the best learner alone: 1 for it, 0 for the others
    use_stack: bool
    value_single: float  # cross-fitted metric of the best single learner (greater is better)
    value_stack: float  # cross-fitted metric of ensemble selection
    cf_combined: np.ndarray  # cross-fitted OOF scores of the choice


@dataclass(frozen=True)
class _Calibration:
    """The chosen calibrator kind, each kind's cross-fitted loss, the calibrator fitted on all OOF
    rows, and the cross-fitted calibrated OOF scores of the chosen kind."""

    chosen: str
    losses: dict[str, float]
    calibrator: dict[str, Any]
    final_cf: np.ndarray


def _crossfit_scores(
    member_scores: list[np.ndarray], y: np.ndarray, folds: np.ndarray, task: str, *, n_classes: int | None,
    max_rounds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted OOF scores of the best single learner and of ensemble selection."""
    # cross-fitted: best single learner vs ensemble selection, each chosen without the scored fold
    cf_single = np.zeros_like(member_scores[0])
    cf_stack = np.zeros_like(member_scores[0])
    for k in range(N_CROSSFIT):
        tr, te = folds != k, folds == k
        vals = [_metric(task, y[tr], s[tr], n_classes) for s in member_scores]
        cf_single[te] = member_scores[int(np.argmax(vals))][te]
        w = caruana_weights([s[tr] for s in member_scores], y[tr], task, n_classes=n_classes, max_rounds=max_rounds)
        cf_stack[te] = combine([s[te] for s in member_scores], w)
    return cf_single, cf_stack


def _choose_stack(
    scores: Mapping[str, np.ndarray], y: np.ndarray, folds: np.ndarray, *, task: str, n_classes: int | None,
    stack: bool, max_rounds: int,
) -> _Stacking:
    """Rank the learners, then stack only if its cross-fitted gain exceeds :data:`STACK_MIN_GAIN`."""
    single = {name: _metric(task, y, s, n_classes) for name, s in scores.items()}
    # best first; ties by name, so the order (and the greedy's tie-breaks) is deterministic
    names = sorted(scores, key=lambda n: (-single[n], n))
    member_scores = [scores[n] for n in names]
    cf_single, cf_stack = _crossfit_scores(member_scores, y, folds, task, n_classes=n_classes, max_rounds=max_rounds)
    value_single, value_stack = _metric(task, y, cf_single, n_classes), _metric(task, y, cf_stack, n_classes)
    weights = caruana_weights(member_scores, y, task, n_classes=n_classes, max_rounds=max_rounds)
    use_stack = bool(stack and len(names) > 1 and np.count_nonzero(weights) > 1
                     and value_stack > value_single + STACK_MIN_GAIN)
    if not use_stack:
        weights = np.zeros(len(names))
        weights[0] = 1.0
    return _Stacking(names=names, member_scores=member_scores, single=single, weights=weights, use_stack=use_stack,
                     value_single=value_single, value_stack=value_stack,
                     cf_combined=cf_stack if use_stack else cf_single)


def _choose_calibrator(
    cf_combined: np.ndarray, combined: np.ndarray, y: np.ndarray, folds: np.ndarray, *, task: str, calibrate: str
) -> _Calibration:
    """The calibrator kind of least cross-fitted loss (the first on ties), fitted on all OOF rows."""
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
    return _Calibration(chosen=chosen, losses=losses, calibrator=calibrator, final_cf=cf_cal[chosen])


def _final_spec(
    st: _Stacking, cal: _Calibration, trials: Mapping[str, int], y: np.ndarray, *, task: str,
    n_classes: int | None, max_rounds: int, cutoff: float | list[float] | None,
) -> dict[str, Any]:
    """The final-model document without file paths: members, combiner, calibrator, decision, evidence."""
    names, weights, single, member_scores = st.names, st.weights, st.single, st.member_scores
    sel = metrics.SELECTION_METRIC[task]
    members: list[dict[str, Any]] = [
        {"learner": n, "trial": int(trials[n]), "weight": float(w / weights.sum()), f"oof_{sel}": _signed(sel, single[n])}
        for n, w in zip(names, weights)
        if w > 0
    ]
    return {
        "format": FINAL_FORMAT,
        "task": task,
        "selection_metric": sel,
        "combiner": "stack" if st.use_stack else "single",
        "members": members,
        "calibrator": cal.calibrator,
        "decision": {"rule": "balanced" if cutoff is not None else "none", "cutoff": cutoff},
        "evidence": {
            "n_oof": int(len(y)),
            "n_crossfit_folds": N_CROSSFIT,
            "oof_single": {n: _signed(sel, single[n]) for n in names},
            f"crossfit_{sel}": {"best_single": _signed(sel, st.value_single), "stack": _signed(sel, st.value_stack)},
            "stack_weights_all": {n: float(w) for n, w in zip(names, caruana_weights(
                member_scores, y, task, n_classes=n_classes, max_rounds=max_rounds))},
            "calibration_loss": cal.losses,
            "calibrator": cal.chosen,
            "final_crossfit": metrics.compute_metrics(task, y, cal.final_cf, n_classes=n_classes, cutoff=cutoff),
        },
    }


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
    folds = _crossfit_folds(y, task, seed)
    st = _choose_stack(scores, y, folds, task=task, n_classes=n_classes, stack=stack, max_rounds=max_rounds)
    combined = combine(st.member_scores, st.weights)
    cal = _choose_calibrator(st.cf_combined, combined, y, folds, task=task, calibrate=calibrate)
    cutoff = decision_cutoff(task, apply_calibrator(cal.calibrator, combined, task))
    spec = _final_spec(st, cal, trials, y, task=task, n_classes=n_classes, max_rounds=max_rounds, cutoff=cutoff)
    sel, members, losses = spec["selection_metric"], spec["members"], cal.losses
    log.info(
        "final model: %s of %s; cross-fitted OOF %s single %.4f vs stack %.4f; calibrator %s (losses %s)",
        spec["combiner"], [(m["learner"], round(m["weight"], 3)) for m in members], sel,
        _signed(sel, st.value_single), _signed(sel, st.value_stack), cal.chosen,
        {k: round(v, 5) for k, v in losses.items()},
    )
    oof = ids.copy()
    oof["label"] = y
    oof = pd.concat([oof, oof_frame(ids, "", y, cal.final_cf, task).drop(columns=["FID", "IID", "fold", "label"])],
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
