"""The search loop: supernet epochs on the shared loop, sampler steps after each, final rescoring."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import ConfigError, InputError
from ..loop import run_epochs
from ...evaluation.metrics import encode_labels
from ..nn.rrfcn import RRFCNSupernet
from ...runtime import resolve_device, seed_everything, set_threads
from ..training import (
    METRICS,
    TASKS,
    RowSource,
    balanced_class_weights,
    iter_batches,
    load_batch,
)
from .config import GRAD_BOUND, NASConfig
from .result import SearchResult
from .samplers import Controller, UniformSampler
from .steps import _Search, _SupernetEpochs

log = logging.getLogger("genoml_core.models.nas")  # the package's name, not __name__: warnings.json records it


def _encode_targets(
    task: str, y: np.ndarray, y_valid: np.ndarray, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Class codes (or standardised targets) for train and valid, and the number of outputs."""
    y, y_valid = np.asarray(y), np.asarray(y_valid)
    if task == "continuous":
        mean, std = float(np.mean(y)), float(np.std(y))
        scale = std if std > 0 else 1.0
        return ((y - mean) / scale).astype(np.float32), ((y_valid - mean) / scale).astype(np.float32), 1
    classes, codes = encode_labels(y)
    if len(classes) < 2:
        raise InputError(f"the training rows hold a single class ({classes.tolist()}); the search needs two or more")
    _, codes_valid = encode_labels(y_valid, classes, what="the validation data")
    k = max(len(classes), int(n_classes or 0))
    if task == "binary":
        if len(classes) != 2:
            raise ConfigError(f"task='binary' but y has {len(classes)} classes; use task='multiclass'")
        k = 2
    return codes, codes_valid, k


def run_search(
    X: RowSource,
    y: np.ndarray,
    *,
    X_valid: RowSource,
    y_valid: np.ndarray,
    task: str,
    config: NASConfig,
    seed: int,
    device: torch.device,
    class_weight: str | None = "balanced",
    n_classes: int | None = None,
) -> SearchResult:
    """Search RRFCN wirings with a weight-sharing supernet and a sampler; return the top-k.

    Args:
        X: training rows (a :class:`~genoml_core.models.training.RowSource`, e.g. ``store.view("train")``).
        y: training labels (any class labels) or continuous targets.
        X_valid: validation rows: every reward is the metric on all of them.
        y_valid: validation labels or targets.
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        config: the search settings.
        seed: seeds initialisation, batch order, BatchNorm rows and every architecture draw.
        device: where to compute.
        class_weight: ``"balanced"`` (cross-entropy weighted per class) or ``None``/``"none"``.
        n_classes: number of classes when some are absent from ``y`` (multiclass).

    Returns:
        :class:`SearchResult`. On the CPU the same inputs and seed give the same result.

    Raises:
        ConfigError: for an unknown task or impossible settings.
        InputError: for mismatched or too small inputs.
    """
    _check_inputs(X, y, X_valid, y_valid, task)
    t0 = time.perf_counter()
    codes, y_val, d_out = _encode_targets(task, y, y_valid, n_classes)
    n_features = int(X.shape[1]) if hasattr(X, "shape") else int(np.asarray(X[np.array([0])]).shape[1])
    seed_everything(seed)
    gen = torch.Generator().manual_seed(int(seed))
    choices = config.width_choices
    supernet = RRFCNSupernet(
        d_in=n_features, d_out=d_out, n_layers=config.n_layers, widths=choices, skip_mode=config.skip_mode
    ).to(device)
    sampler = _make_sampler(config, device)
    # NOTE[DIFF]: ENAS trains shared weights with SGD; momentum touches only the slices used.
    shared_opt = torch.optim.SGD(supernet.parameters(), lr=config.supernet_lr, momentum=0.9, nesterov=True)
    loss_fn = _loss_fn(task, codes, d_out, class_weight, device)
    search = _Search(
        supernet, sampler, config=config, task=task, X_valid=X_valid, y_val=y_val,
        bn_batches=_bn_batches(X, config, gen, device), gen=gen, device=device, metric=METRICS[task], t0=t0,
    )  # fmt: skip
    log.info(
        "RRFCN search: sampler=%s budget=%d supernet_epochs=%d n_layers=%d widths=%s skip_mode=%s "
        "n_train=%d n_valid=%d n_features=%d device=%s",
        config.sampler, config.budget, config.supernet_epochs, config.n_layers, list(choices), config.skip_mode,
        len(X), len(X_valid), n_features, device,
    )  # fmt: skip
    objective = _SupernetEpochs(supernet, X, torch.from_numpy(codes), loss_fn=loss_fn, draw=search.draw,
                                device=device, after_epoch=search.controller_steps,
                                epochs=config.supernet_epochs)  # fmt: skip
    history = run_epochs(
        supernet, len(X), objective, batch_size=config.batch_size, max_epochs=config.supernet_epochs,
        optimizer=shared_opt, generator=gen, device=device, clip_grad_norm=GRAD_BOUND,
    )  # fmt: skip
    return _finish(search, history, seed=seed, n_features=n_features, d_out=d_out)


def _check_inputs(X: RowSource, y: np.ndarray, X_valid: RowSource, y_valid: np.ndarray, task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    if len(X) != len(y) or len(X_valid) != len(y_valid):
        raise InputError(f"X/y ({len(X)}/{len(y)}) and X_valid/y_valid ({len(X_valid)}/{len(y_valid)}) must match")
    if len(X) < 2 or len(X_valid) < 1:
        raise InputError(f"the search needs >= 2 training and >= 1 validation rows; got {len(X)} and {len(X_valid)}")


def _make_sampler(config: NASConfig, device: torch.device) -> Controller | UniformSampler:
    """The config's sampler; a controller's weights are initialised from the global torch generator."""
    if config.sampler == "controller":
        return Controller(
            n_layers=config.n_layers, width_choices=config.width_choices, skip_mode=config.skip_mode,
            hidden=config.controller_hidden,
        ).to(device)  # fmt: skip
    return UniformSampler(n_layers=config.n_layers, width_choices=config.width_choices, skip_mode=config.skip_mode)


def _loss_fn(
    task: str, codes: np.ndarray, d_out: int, class_weight: str | None, device: torch.device
) -> Callable[[Tensor, Tensor], Tensor]:
    """The supernet's training loss: MSE, or cross-entropy (balanced class weights unless turned off)."""
    weight = None
    if task != "continuous" and class_weight not in (None, "none") and len(np.unique(codes)) == d_out:
        weight = torch.as_tensor(balanced_class_weights(codes, d_out), device=device)

    def loss_fn(out: Tensor, yb: Tensor) -> Tensor:
        if task == "continuous":
            return F.mse_loss(out[:, 0], yb)
        return F.cross_entropy(out, yb, weight=weight)

    return loss_fn


def _bn_batches(X: RowSource, config: NASConfig, gen: torch.Generator, device: torch.device) -> list[Tensor]:
    """Fixed training rows for BatchNorm recalibration (the same rows for every architecture)."""
    bn_rows = np.sort(torch.randperm(len(X), generator=gen)[: min(config.bn_samples, len(X))].numpy())
    return [
        load_batch(X, bn_rows[idx], device) for idx in iter_batches(len(bn_rows), 1024, merge_singleton=True)
    ]


def _finish(
    search: _Search, history: list[dict[str, float]], *, seed: int, n_features: int, d_out: int
) -> SearchResult:
    """Rescore every distinct architecture with the final shared weights; the top ``top_k`` win."""
    config = search.config
    # NOTE[DIFF]: ENAS derives the final cell by sampling anew; here every distinct architecture
    # sampled in the search is rescored with the final shared weights (scores taken earlier came
    # from less-trained weights), topped up with fresh draws if fewer than top_k were distinct.
    search.top_up()
    if len(search.seen) < config.top_k:
        raise ConfigError(
            f"the search found only {len(search.seen)} distinct architectures for nas.top_k={config.top_k}; "
            "raise nas.budget or widen the search space"
        )
    candidates = search.rescore(n_features, d_out)
    search.supernet.eval()
    seconds = time.perf_counter() - search.t0
    log.info(
        "search done in %.1f s: %d evaluations, %d distinct architectures; best %s=%.4f %s",
        seconds, search.n_evaluations, len(candidates), search.metric, candidates[0]["supernet_score"],
        candidates[0]["describe"],
    )  # fmt: skip
    return SearchResult(
        top=candidates[: config.top_k],
        candidates=candidates,
        curve=search.curve,
        supernet_history=history,
        metric=search.metric,
        n_evaluations=search.n_evaluations,
        seconds=seconds,
        config=config,
        task=search.task,
        seed=int(seed),
        n_features=n_features,
        d_out=d_out,
        supernet=search.supernet,
        sampler=search.sampler,
    )


def search_store(
    directory: str | Path,
    config: NASConfig,
    *,
    task: str,
    seed: int,
    class_weight: str | None,
    threads: int | None,
    device: str = "auto",
) -> SearchResult:
    """Run :func:`run_search` on a feature store's training rows, rewarded on its validation rows.

    Genotypes stream from the int8 store batch by batch (``store.view``); the test rows are never read.
    """
    from ...store import FeatureStore

    store = FeatureStore(directory)
    tr, va = store.index("train"), store.index("valid")
    n_classes = len(store.recipe.get("class_names") or []) or None
    previous = set_threads(threads)
    try:
        return run_search(
            store.view("train"), store.labels(tr), X_valid=store.view("valid"), y_valid=store.labels(va),
            task=task, config=config, seed=seed, device=resolve_device(device), class_weight=class_weight,
            n_classes=n_classes,
        )  # fmt: skip
    finally:
        set_threads(previous)
