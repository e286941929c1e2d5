"""Trials and selection.

A trial is a pure function of (feature stores, learner, trial index, seed, search space): it
draws its hyperparameters deterministically, trains on each fold's training rows, scores on the
fold's validation rows and writes one model per fold plus ``metrics.json``. Nothing else
decides its result. Selection looks at validation metrics only.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import __version__, io
from ..models import learners, persist, registry
from ..evaluation import metrics
from . import search
from ..memory import check_fit_memory
from ..store import FeatureStore
from ..models.outofcore import fit_streaming

__all__ = ["trial_random_state", "build_estimator", "run_trial", "select_best", "NET_LEARNERS"]

log = logging.getLogger(__name__)

from ..config import NET_LEARNERS  # noqa: E402  (re-exported)


def trial_random_state(seed: int, learner: str, trial: int) -> int:
    """A per-trial random_state derived from the one config seed (stable across processes)."""
    ss = np.random.SeedSequence([seed, zlib.crc32(learner.encode()), trial])
    return int(ss.generate_state(1)[0] % (2**31 - 1))


def build_estimator(
    name: str, params: Mapping[str, Any], *, task: str, random_state: int, threads: int, class_weight: str
) -> Any:
    """A fresh, unfitted estimator for a learner name (classical or torch net)."""
    if registry.is_net(name):
        make_net = registry.builder(name)  # genoml_core.models.estimators.make_net, imported now
        return make_net(
            name, dict(params), task=task, random_state=random_state, n_threads=threads, class_weight=class_weight
        )
    return learners.make_learner(
        name, dict(params), task=task, random_state=random_state, n_jobs=threads, class_weight=class_weight
    )


#: Share of a fold's training rows held out for early stopping (nets, XGBoost).
EARLY_STOPPING_FRACTION = 0.1


def early_stopping_rows(labels: np.ndarray, task: str, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into ``labels``) of the rows to fit on and the rows to stop early on.

    Both come from the fold's *training* rows (stratified by class, seeded), so early stopping
    never looks at the fold's validation rows, whose predictions are the trial's out-of-fold
    scores: those stay as honest as predictions for people the trial never saw.
    """
    rng = np.random.default_rng([random_state, 0xE5])
    n = len(labels)
    strata = labels.astype(int) if task != "continuous" else np.zeros(n, dtype=int)
    stop = []
    for k in np.unique(strata):
        members = np.flatnonzero(strata == k)
        n_k = min(len(members) - 1, int(round(EARLY_STOPPING_FRACTION * len(members))))
        if n_k > 0:
            stop.append(rng.permutation(members)[:n_k])
    es = np.sort(np.concatenate(stop)) if stop else np.empty(0, dtype=np.int64)
    return np.setdiff1d(np.arange(n), es), es


def _fit(est: Any, name: str, store: FeatureStore, task: str, class_weight: str) -> Any:
    """Fit on the fold's training rows; the fold's validation rows are never seen (see
    :func:`early_stopping_rows`)."""
    tr = store.index("train")
    if learners.feature_set(name) == "genome":
        # int8 genotypes of every QC'd SNP, read by the GLM itself (inner CV on these rows only);
        # returned as a linear model on the recipe's scaled features
        from ..models.genome_learner import fit_genome_glm

        params = {k: v for k, v in est.get_params(deep=False).items()
                  if k not in ("task", "n_threads", "random_state")}
        return fit_genome_glm(store, task=task, params=params, random_state=int(est.random_state),
                              threads=int(est.n_threads), class_weight=class_weight)
    if registry.is_net(name):
        # nets stream scaled batches from the int8 store; without X_valid the estimator holds out
        # 10% of these training rows (stratified, seeded) for early stopping
        return est.fit(store.view("train"), store.labels(tr))
    if learners.is_streaming(name):
        # SGD over batches of the int8 store: memory independent of the number of samples; its
        # plateau rule watches training rows
        return fit_streaming(
            est, store.view("train"), store.labels(tr), task=task, class_weight=class_weight,
            random_state=int(est.random_state),
        )
    # in memory: check the estimate against the job's memory before loading anything
    need = check_fit_memory(name, len(tr), store.n_features, params=est.get_params(deep=False))
    if need is not None:
        log.info("%s: estimated peak %.2f GiB for %d rows x %d features", name, need / 2**30, len(tr), store.n_features)
    if name == "xgboost":  # early stopping on held-out training rows
        fit_pos, stop_pos = early_stopping_rows(store.labels(tr), task, int(est.random_state))
        return learners.fit_learner(
            est, store.rows(tr[fit_pos]), store.labels(tr[fit_pos]), task=task, class_weight=class_weight,
            X_valid=store.rows(tr[stop_pos]), y_valid=store.labels(tr[stop_pos]),
        )
    return learners.fit_learner(est, store.rows(tr), store.labels(tr), task=task, class_weight=class_weight)


#: Rows scored per batch: prediction memory does not grow with the number of samples.
PREDICT_BATCH_ROWS = 4096


def predict_rows(est: Any, store: FeatureStore, idx: np.ndarray, task: str) -> np.ndarray:
    """Scores of rows ``idx`` (see :func:`genoml_core.models.learners.predict_scores`), in batches."""
    n_classes = len(store.recipe["class_names"]) if task == "multiclass" else None
    idx = np.asarray(idx)
    if len(idx) == 0:
        return learners.predict_scores(est, store.rows(idx), task=task, n_classes=n_classes)
    parts = [
        learners.predict_scores(est, X, task=task, n_classes=n_classes)
        for _, X in store.iter_rows(idx, PREDICT_BATCH_ROWS)
    ]
    return np.concatenate(parts, axis=0)


def run_trial(
    stores: Mapping[str, str | Path],
    *,
    learner: str,
    trial: int,
    space: Mapping[str, Any],
    seed: int,
    task: str,
    class_weight: str,
    threads: int,
    model_paths: Mapping[str, str | Path],
    architectures: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    metrics_path: str | Path | None = None,
    oof_path: str | Path | None = None,
) -> dict[str, Any]:
    """Train one (learner, trial) on every fold; save models; return the metrics record
    (also written to ``metrics_path`` when given). The models, the metrics and the out-of-fold
    predictions (``oof_path``: every fold's validation rows scored by the model that did not
    train on them, :func:`genoml_core.evaluation.ensemble.oof_frame`) appear together when every fold is
    done (:class:`~genoml_core.io.StagedOutputs`). The record's ``valid`` metrics are those of
    the pooled OOF predictions (every development person once with k folds).

    ``architectures`` (learner ``rrfcn``): the search's ``architectures.json``; trial ``t``
    retrains its architecture ``t`` (merged into the params as ``arch_json``).

    ``checkpoint_dir``, ``checkpoint_every`` (torch nets only; classical learners ignore them):
    fold ``f`` saves its training state every ``checkpoint_every`` epochs to
    ``checkpoint_dir/{learner}_trial{trial}_{f}.pt`` and a rerun after a kill resumes from it.
    """
    params = search.sample_params(dict(space), seed=seed, arch=learner, trial=trial)
    if architectures is not None:
        from ..models.nas import architecture_params

        params = {**params, **architecture_params(architectures, trial)}
    rs = trial_random_state(seed, learner, trial)
    log.info("learner=%s trial=%d random_state=%d params=%s", learner, trial, rs, params)
    with io.StagedOutputs() as staged:
        # models (and metrics) are written under hidden temporary names and renamed together at
        # the end: a job killed mid-way leaves no file under a final name
        tmp_models = {fold: staged.stage(model_paths[fold]) for fold in stores}
        tmp_metrics = staged.stage(metrics_path) if metrics_path is not None else None
        tmp_oof = staged.stage(oof_path) if oof_path is not None else None
        record, oof = _run_folds(
            stores, learner=learner, trial=trial, params=params, rs=rs, seed=seed, task=task,
            class_weight=class_weight, threads=threads, model_paths=tmp_models,
            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
        )
        if tmp_metrics is not None:
            io.write_json(record, tmp_metrics)
        if tmp_oof is not None:
            io.write_tsv(oof, tmp_oof, float_format="%.8g")
    return record


def _run_folds(
    stores: Mapping[str, str | Path],
    *,
    learner: str,
    trial: int,
    params: dict[str, Any],
    rs: int,
    seed: int,
    task: str,
    class_weight: str,
    threads: int,
    model_paths: Mapping[str, Path],
    checkpoint_dir: str | Path | None,
    checkpoint_every: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    from ..evaluation.ensemble import oof_frame

    per_fold: dict[str, dict[str, float]] = {}
    oof_parts: list[pd.DataFrame] = []
    n_classes = None
    degenerate = False
    t0 = time.perf_counter()
    for fold, directory in stores.items():
        store = FeatureStore(directory)
        n_classes = len(store.recipe["class_names"] or []) or None
        est = build_estimator(learner, params, task=task, random_state=rs, threads=threads, class_weight=class_weight)
        if registry.is_net(learner) and checkpoint_dir is not None:
            est.set_checkpoint(Path(checkpoint_dir) / f"{learner}_trial{trial}_{fold}.pt", checkpoint_every)
        tf = time.perf_counter()
        est = _fit(est, learner, store, task, class_weight)
        fit_s = time.perf_counter() - tf
        va = store.index("valid")
        scores = predict_rows(est, store, va, task)
        m = metrics.compute_metrics(task, store.labels(va), scores, n_classes=n_classes)
        m["fit_seconds"] = fit_s
        per_fold[fold] = m
        oof_parts.append(oof_frame(store.samples.iloc[va], fold, store.labels(va), scores, task))
        degenerate = degenerate or metrics.is_degenerate(task, scores)
        _save_model(est, model_paths[fold], store, learner=learner, trial=trial, fold=fold, task=task, params=params,
                    rs=rs, seed=seed)
    oof = pd.concat(oof_parts, ignore_index=True)
    if oof.duplicated(["FID", "IID"]).any():
        raise RuntimeError("a person is in the validation part of two folds; the split is broken (rerun split_samples)")
    oof_scores = oof[[c for c in oof.columns if c == "score" or c.startswith("prob_")]].to_numpy()
    pooled = metrics.compute_metrics(
        task, oof["label"].to_numpy(), oof_scores[:, 0] if task != "multiclass" else oof_scores, n_classes=n_classes
    )
    pooled["fit_seconds"] = float(np.mean([per_fold[f]["fit_seconds"] for f in per_fold]))
    sel = metrics.SELECTION_METRIC[task]
    return {
        "learner": learner,
        "trial": trial,
        "params": params,
        "random_state": rs,
        "seed": seed,
        "selection_metric": sel,
        "valid": pooled,  # the pooled out-of-fold predictions
        "folds": per_fold,
        "degenerate": bool(degenerate),
        "seconds": time.perf_counter() - t0,
        "genoml_core_version": __version__,
    }, oof


def refit_best(
    selection: Mapping[str, Any],
    store_dir: str | Path,
    *,
    seed: int,
    task: str,
    class_weight: str,
    threads: int,
    model_path: str | Path,
) -> dict[str, Any]:
    """Refit a learner's best trial (a ``select_learner`` record: learner, best trial, its params)
    on the training rows of the refit store (every development person; see
    :data:`genoml_core.genotypes.split.REFIT_FOLD`) and save the model.

    The trial's hyperparameters and random state are reused as they are; what the learner tunes
    itself (the genome-wide GLM's inner CV, early stopping on held-out training rows) is redone on
    these rows, so nothing here sees a test person. There are no validation rows, hence no
    metrics: the trial was judged on its out-of-fold predictions.

    Returns:
        A small record (learner, trial, rows, fit seconds) for the log.
    """
    learner, trial = str(selection["learner"]), int(selection["best_trial"])
    params = dict(selection.get("params") or {})
    rs = trial_random_state(seed, learner, trial)
    store = FeatureStore(store_dir)
    if len(store.index("valid")):
        raise ValueError(f"{store_dir}: a refit store has no validation rows, this one has {len(store.index('valid'))}")
    log.info("refit learner=%s trial=%d random_state=%d on %d rows, params=%s", learner, trial, rs,
             len(store.index("train")), params)
    est = build_estimator(learner, params, task=task, random_state=rs, threads=threads, class_weight=class_weight)
    t0 = time.perf_counter()
    with io.StagedOutputs() as staged:  # no model under its final name unless the fit finished
        tmp = staged.stage(model_path)
        est = _fit(est, learner, store, task, class_weight)
        fit_s = time.perf_counter() - t0
        # the store folder is named after its fold: results/munge/<fold>
        _save_model(est, tmp, store, learner=learner, trial=trial, fold=Path(store_dir).name, task=task,
                    params=params, rs=rs, seed=seed)
    return {"learner": learner, "trial": trial, "n_train": int(len(store.index("train"))), "fit_seconds": fit_s}


def _save_model(est: Any, path: str | Path, store: FeatureStore, *, learner: str, trial: int, fold: str, task: str,
                params: Mapping[str, Any], rs: int, seed: int) -> None:
    """Save a fitted fold (or refit) model with the metadata prediction checks it against."""
    persist.save_model(
        est,
        path,
        meta={
            "learner": learner,
            "trial": trial,
            "fold": fold,
            "task": task,
            "params": params,
            "random_state": rs,
            "seed": seed,
            "genoml_core_version": __version__,
            "feature_names_sha": _names_digest(store.feature_names),
            "n_features": store.n_features,
            "class_names": store.recipe["class_names"],
        },
    )


def _names_digest(names: Sequence[str]) -> str:
    return format(zlib.crc32("\n".join(names).encode()), "08x")


def select_best(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Best trial on the validation selection metric; ties go to the lower trial index.

    Degenerate models (constant scores on some fold's validation rows, see
    :func:`genoml_core.evaluation.metrics.is_degenerate`) are passed over when any other trial exists. A
    model whose scores vary is ranked by the metric alone, even when every score lies on one
    side of 0.5 (e.g. rare cases fitted without class weights).
    """
    if not records:
        raise ValueError("no trial records to select from")
    metric = records[0]["selection_metric"]
    sign = 1.0 if metrics.greater_is_better(metric) else -1.0

    def key(r: Mapping[str, Any]) -> tuple[int, float, int]:
        v = r["valid"].get(metric, math.nan)
        v = -math.inf if v is None or math.isnan(v) else sign * v
        return (0 if r["degenerate"] else 1, v, -int(r["trial"]))

    best = max(records, key=key)
    return {
        "learner": best["learner"],
        "best_trial": int(best["trial"]),
        "selection_metric": metric,
        "valid_score": best["valid"].get(metric),
        "valid": best["valid"],
        "params": best["params"],
        "degenerate": best["degenerate"],
        "seconds": best["seconds"],
        "n_trials": len(records),
        "all_trials": [
            {"trial": int(r["trial"]), metric: r["valid"].get(metric), "degenerate": r["degenerate"]}
            for r in sorted(records, key=lambda r: int(r["trial"]))
        ],
    }
