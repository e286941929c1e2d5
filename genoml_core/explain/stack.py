"""Explanations of a stacked final model: member-weighted SHAP in score space.

Stacked final models (:func:`explain_final_stack`)
    The stack's output is the weighted mean of its members' scores, ``S = sum_m w_m s_m`` (P(case),
    class probabilities or trait values). SHAP values are linear in the model, so each member is
    explained in that score space (``explain_model(score_space=True)``) on the same people against the
    same background, and ``phi_j(S) = sum_m w_m phi_j(s_m)`` on the union of the members' features
    (0 for a feature a member does not use). Linear classifiers: their probability is a sigmoid /
    softmax of a linear score, so each feature's shift ``coef_j (x_j - b_j)`` is carried through the
    link along sampled orderings (exact additivity, Monte Carlo split; exactly zero for zero
    coefficients); linear regressors stay exact. XGBoost: interventional TreeSHAP of the probability
    (binary), single-reference margins through the softmax (multiclass). The calibrator, monotone and
    applied after, is not explained. A single-learner final model keeps its own explainer above
    (exact log-odds for a linear one).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import io
from ..models import persist
from ..errors import InputError
from ..store import FeatureStore
from .base import _S_BACKGROUND, _S_EXPLAIN, ExplainInputs, Explanation
from .families import model_family
from .final import _sample
from .model import explain_model
from .write import _write_explanation

log = logging.getLogger("genoml_core.explain")  # the package's name, not __name__: warnings.json records it


def combine_explanations(
    parts: Sequence[tuple[float, Explanation]], names: Sequence[str], *, output_space: str
) -> Explanation:
    """The weighted sum of the members' explanations on one feature list ``names``.

    Interventional (and path-dependent) SHAP values are linear in the model, so the values of the
    weighted mean of member scores are the weighted mean of the members' values; a member's
    feature it does not use contributes 0. Every part must explain the same rows (in the same
    order) in the same output space. Weights are normalized to sum to 1, as in
    :func:`genoml_core.evaluation.ensemble.combine`.
    """
    if not parts:
        raise ValueError("nothing to combine")
    w = np.asarray([wt for wt, _ in parts], dtype=np.float64)
    if w.sum() <= 0:
        raise ValueError("member weights must have a positive sum")
    w = w / w.sum()
    first = parts[0][1]
    n, m = first.outputs.shape
    column = {name: j for j, name in enumerate(names)}
    values = np.zeros((n, len(names), m))
    base = np.zeros((n, m))
    outputs = np.zeros((n, m))
    exact = True
    for wi, (_, exp) in zip(w, parts):
        if exp.outputs.shape != (n, m):
            raise ValueError(f"member explanations differ in rows or outputs: {exp.outputs.shape} vs {(n, m)}")
        cols = [column[f] for f in exp.feature_names]
        values[:, cols, :] += wi * exp.values
        base += wi * exp.base_values
        outputs += wi * exp.outputs
        exact = exact and exp.exact
    return Explanation(values, base, outputs, list(first.output_names), output_space, "stack",
                       "member-weighted SHAP", list(names), first.rows.copy(), exact=exact)



@dataclass(frozen=True)
class StackMember:
    """One member of a stacked final model, as explained: its fold0 model and feature store."""

    learner: str
    trial: int
    weight: float
    model: Path
    store: Path
    n_folds: int = 1


def _union_features(stores: Sequence[FeatureStore]) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The members' features without repeats, SNPs first: (recipe features, (store, column) of each)."""
    seen: dict[str, tuple[int, int]] = {}
    feats: dict[str, dict[str, Any]] = {}
    for k, st in enumerate(stores):
        for j, f in enumerate(st.recipe["features"]):
            if f["name"] not in seen:
                seen[f["name"]] = (k, j)
                feats[f["name"]] = dict(f)
    names = [n for n in feats if feats[n]["source"] == "snp"] + [n for n in feats if feats[n]["source"] != "snp"]
    return [feats[n] for n in names], [seen[n] for n in names]


def _ids(df: pd.DataFrame) -> pd.Index:
    """``FID<tab>IID`` of each row of a sample table."""
    return pd.Index(df.FID.astype(str) + "\t" + df.IID.astype(str))


def _member_rows(members: Sequence[StackMember], stores: Sequence[FeatureStore], bg_idx: np.ndarray,
                 ex_idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The background and explained people (rows ``bg_idx``, ``ex_idx`` of the first store), found by
    id in each member's store: (background rows, explained rows) per member."""
    main_keys = _ids(stores[0].samples)
    bg_keys, ex_keys = main_keys[bg_idx], main_keys[ex_idx]
    positions = []
    for m, st in zip(members, stores):
        pos = pd.Series(np.arange(len(st.samples)), index=_ids(st.samples))
        missing = bg_keys.difference(pos.index).union(ex_keys.difference(pos.index))
        if len(missing):
            raise InputError(f"{m.store}: {len(missing)} people of {members[0].store} are missing "
                             f"(e.g. {missing[0]!r}); rerun the munge rules of this fold")
        positions.append((pos.loc[bg_keys].to_numpy(), pos.loc[ex_keys].to_numpy()))
    return positions


def _explain_members(members: Sequence[StackMember], stores: Sequence[FeatureStore],
                     positions: Sequence[tuple[np.ndarray, np.ndarray]], inputs: ExplainInputs,
                     ) -> tuple[list[tuple[float, Explanation]], list[dict[str, Any]], np.ndarray]:
    """Each member in score space on the same people: ``(weight, explanation)`` per member (in
    ``members`` order), each member's details for the summary, and the explained rows kept (of
    ``positions``' explained rows)."""
    # members whose explainer may keep only some rows (the budgeted permutation explainer) go last,
    # on the rows the others explained
    details = []
    keep = np.arange(len(positions[0][1]))
    fitted = [persist.load_model(m.model) for m in members]
    by_cost = sorted(range(len(members)), key=lambda k: model_family(fitted[k][0]) == "other")
    explained: dict[int, Explanation] = {}
    for k in by_cost:
        m, st, (bg_pos, ex_pos) = members[k], stores[k], positions[k]
        est, meta = fitted[k]
        exp = explain_model(est, st.rows(bg_pos), st.rows(ex_pos[keep]), task=inputs.task, score_space=True,
                            class_names=inputs.class_names, feature_names=st.feature_names,
                            options=inputs.options, seed=inputs.seed, threads=inputs.threads)
        if len(exp.rows) < len(keep):
            for j in explained:  # rows are independent in every other explainer: keep the same ones
                e = explained[j]
                explained[j] = Explanation(e.values[exp.rows], e.base_values[exp.rows], e.outputs[exp.rows],
                                           e.output_names, e.output_space, e.method, e.explainer, e.feature_names,
                                           np.arange(len(exp.rows)), e.exact, e.details, e.notes)
            keep = keep[exp.rows]
            exp.rows = np.arange(len(keep))
        explained[k] = exp
        details.append({"learner": m.learner, "trial": m.trial, "weight": m.weight,
                        "model_class": meta.get("learner_class", type(est).__name__), "explainer": exp.explainer,
                        "output_space": exp.output_space, "n_features": int(exp.values.shape[1]),
                        "additivity_error": exp.additivity_error(), "seconds": exp.details.get("seconds"),
                        "details": {k2: v for k2, v in exp.details.items() if k2 != "seconds"},
                        "notes": exp.notes})
        log.info("member %s (weight %.3g): %s, %d features, %.1f s", m.learner, m.weight, exp.explainer,
                 exp.values.shape[1], exp.details.get("seconds", 0.0))
    return [(members[k].weight, explained[k]) for k in range(len(members))], details, keep


def _union_data(stores: Sequence[FeatureStore], rows_by_store: Sequence[np.ndarray], feats: Sequence[Mapping[str, Any]],
                where: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union's scaled feature values, genotypes and other columns of the explained people, each
    column from the first store that has it (``where``); stores' rows ``rows_by_store``."""
    n = len(rows_by_store[0])
    X = np.empty((n, len(feats)), dtype=np.float32)
    n_snps = sum(f["source"] == "snp" for f in feats)
    genotypes = np.empty((n, n_snps), dtype=np.int8)
    other = np.empty((n, len(feats) - n_snps), dtype=np.float64)
    scaled = [st.rows(r) for st, r in zip(stores, rows_by_store)]
    geno = [np.asarray(st.genotypes[r]) for st, r in zip(stores, rows_by_store)]
    oth = [st.other[r] for st, r in zip(stores, rows_by_store)]
    for j, (k, col) in enumerate(where):
        X[:, j] = scaled[k][:, col]
        n_k = int(stores[k].recipe["n_snps"])
        if j < n_snps:
            genotypes[:, j] = geno[k][:, col]
        else:
            other[:, j - n_snps] = oth[k][:, col - n_k]
    return X, genotypes, other


def _stack_notes(members: Sequence[StackMember], details: Sequence[Mapping[str, Any]], calibrator: str,
                 n_folds: int) -> list[str]:
    """The summary's notes: what was explained, then each member's own notes."""
    notes = [f"stacked final model: SHAP values of the weighted mean of {len(members)} members' scores, "
             "each member explained in score space and weighted by its stack weight"]
    if calibrator != "none":
        notes.append(f"the {calibrator} calibrator (monotone, applied after the stack) is not explained")
    if n_folds > 1:
        notes.append(f"k-fold run: each member's fold0 model is explained (of {n_folds} fold models)")
    return notes + [f"{d['learner']}: {n}" for d in details for n in d["notes"]]


def explain_final_stack(
    members: Sequence[StackMember],
    inputs: ExplainInputs,
    *,
    calibrator: str = "none",
) -> dict[str, Any]:
    """Explain a stacked final model (the weighted mean of its members' scores) and write every output.

    How: the stack's output is ``S(x) = sum_m w_m s_m(x)`` with ``s_m`` member m's score (P(case),
    class probabilities or the trait value) and weights summing to 1. SHAP values are linear in
    the model, so ``phi_j(S) = sum_m w_m phi_j(s_m)``: each member is explained in score space by
    ``explain_model(score_space=True)`` on the same people (the same seeded background of training
    rows, the same explained rows), on its own features, and the weighted values are added on the
    union of the members' features (a feature a member does not use contributes 0 for it). They
    add up to ``S(x) - E[S]`` over the background (exactly, but for a net's expected gradients).
    The calibrator, a monotone map applied to ``S`` after, is not explained: it changes the
    scale, not the order of people or the ranking of features. With k folds, the fold0 model of
    each member is explained.

    Args:
        members: the stack's members (weight 0 ones left out).
        inputs: options, task, seed, output paths and the truth inputs (:class:`ExplainInputs`).
        calibrator: the final model's calibrator kind (named in the summary; not explained).

    Returns:
        The summary written to ``inputs.out["summary"]``.
    """
    t0 = time.perf_counter()
    options, seed = inputs.options, inputs.seed
    if not members:
        raise InputError("explain: the final model has no members")
    order = sorted(range(len(members)), key=lambda k: -members[k].weight)
    members = [members[k] for k in order]
    stores = [FeatureStore(m.store) for m in members]
    main = stores[0]
    train = main.index("train")
    pool = main.index(options.explain_set)
    if len(pool) == 0:
        raise InputError(f"{members[0].store}: no {options.explain_set} samples to explain; set explain.explain_set")
    bg_idx = _sample(np.random.default_rng([seed, _S_BACKGROUND]), train, options.n_background, sort=False)
    ex_idx = _sample(np.random.default_rng([seed, _S_EXPLAIN]), pool, options.n_explain, sort=True)
    positions = _member_rows(members, stores, bg_idx, ex_idx)
    t_load = time.perf_counter()
    parts, details, keep = _explain_members(members, stores, positions, inputs)
    t_explain = time.perf_counter()

    feats, where = _union_features(stores)
    space = parts[0][1].output_space
    exp = combine_explanations(parts, [f["name"] for f in feats],
                               output_space=f"{space}: weighted mean of the members' scores"
                               + (f", before the {calibrator} calibrator" if calibrator != "none" else ""))
    exp.rows = keep
    X, genotypes, other = _union_data(stores, [pos[1][keep] for pos in positions], feats, where)
    recipe = {"features": feats, "n_snps": genotypes.shape[1]}
    summary = _write_explanation(
        exp, inputs, recipe=recipe, X=X, ids=main.samples.iloc[ex_idx[keep]][["FID", "IID"]], genotypes=genotypes,
        other=other, train_ids=main.samples.iloc[train][["FID", "IID"]])
    n_folds = max(m.n_folds for m in members)
    summary.update({
        "learner": "stack(" + "+".join(m.learner for m in members) + ")",
        "best_trial": None,
        "members": details,
        "fold": Path(members[0].store).name,  # fold0, or "full" (the refits)
        "n_folds": n_folds,
        "model_class": "stack",
        "n_available": int(len(pool)),
        "n_background": int(len(bg_idx)),
        "background": f"{len(bg_idx)} training samples of fold0 (seeded random sample), the same for every member "
                      "(random forests: their trees' training cover)",
        "notes": _stack_notes(members, details, calibrator, n_folds),
    })
    summary["seconds"] = {"load": round(t_load - t0, 3), "explain": round(t_explain - t_load, 3),
                          **summary["seconds"], "total": round(time.perf_counter() - t0, 3)}
    io.write_json(summary, inputs.out["summary"])
    return summary
