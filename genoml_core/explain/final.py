"""The workflow step for a single-learner final model: :func:`explain_final_model`.

Data
    Background: ``n_background`` training rows of the fold's feature store, a seeded random
    sample. Explained: the ``explain_set`` rows (test by default), at most ``n_explain`` (seeded
    sample). Features are the recipe's: ``<SNP id>_<counted allele>`` and covariate/omics names.
    With k folds the model of ``fold0`` is explained: the test prediction averages k fold models
    whose features and scaling differ, so their SHAP values do not add up to one model's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import io
from ..models import persist
from ..errors import InputError
from ..store import FeatureStore
from .base import _S_BACKGROUND, _S_EXPLAIN, ExplainInputs, Explanation
from .model import explain_model
from .write import _write_explanation


def _sample(rng: np.random.Generator, idx: np.ndarray, n: int | None, *, sort: bool) -> np.ndarray:
    if n is not None and len(idx) > n:
        idx = rng.choice(idx, n, replace=False)
    elif not sort:
        idx = rng.permutation(idx)
    return np.sort(idx) if sort else idx


def _background_text(exp: Explanation, n_sampled: int, fold: str) -> str:
    if exp.method == "tree":
        return "the trees' own training cover (path-dependent TreeSHAP; no background sample needed)"
    used = int(exp.details.get("background_rows", n_sampled))
    return f"{used} training samples of {fold} (seeded random sample)"


def explain_final_model(
    leaderboard: pd.DataFrame,
    model_paths: Mapping[str, Mapping[str, str | Path]],
    stores: Mapping[str, str | Path],
    inputs: ExplainInputs,
) -> dict[str, Any]:
    """Explain the leaderboard's top model (fold0's with k folds) and write every output.

    Args:
        leaderboard: ``results/leaderboard.tsv``.
        model_paths: learner -> fold -> model file.
        stores: fold -> feature store directory.
        inputs: options, task, seed, output paths and the truth inputs (:class:`ExplainInputs`).

    Returns:
        The summary written to ``inputs.out["summary"]``.
    """
    t0 = time.perf_counter()
    options, seed = inputs.options, inputs.seed
    best = leaderboard.iloc[0]
    learner, trial = str(best["learner"]), int(best["best_trial"])
    folds = list(model_paths[learner])
    fold = folds[0]
    est, meta = persist.load_model(model_paths[learner][fold])
    store = FeatureStore(stores[fold])
    train = store.index("train")
    pool = store.index(options.explain_set)
    if len(pool) == 0:
        raise InputError(f"{stores[fold]}: no {options.explain_set} samples to explain; set explain.explain_set")
    bg_idx = _sample(np.random.default_rng([seed, _S_BACKGROUND]), train, options.n_background, sort=False)
    ex_idx = _sample(np.random.default_rng([seed, _S_EXPLAIN]), pool, options.n_explain, sort=True)
    background, X = store.rows(bg_idx), store.rows(ex_idx)
    t_load = time.perf_counter()
    exp = explain_model(est, background, X, task=inputs.task, class_names=inputs.class_names,
                        feature_names=store.feature_names, options=options, seed=seed, threads=inputs.threads)
    t_explain = time.perf_counter()
    rows = ex_idx[exp.rows]
    train_ids = store.samples.iloc[train][["FID", "IID"]]
    summary = _write_explanation(
        exp, inputs, recipe=store.recipe, X=X[exp.rows], ids=store.samples.iloc[rows][["FID", "IID"]],
        genotypes=np.asarray(store.genotypes[rows]), other=store.other[rows], train_ids=train_ids)
    summary.update({
        "learner": learner,
        "best_trial": trial,
        "fold": fold,
        "n_folds": len(folds),
        "model_class": meta.get("learner_class", type(est).__name__),
        "n_available": int(len(pool)),
        "n_background": int(len(bg_idx)),
        "background": _background_text(exp, len(bg_idx), fold),
        "notes": exp.notes + ([f"k-fold run: the model of {fold} is explained (of {len(folds)} fold models)"]
                              if len(folds) > 1 else []),
    })
    summary["seconds"] = {"load": round(t_load - t0, 3), "explain": round(t_explain - t_load, 3),
                          **summary["seconds"], "total": round(time.perf_counter() - t0, 3)}
    io.write_json(summary, inputs.out["summary"])
    return summary
