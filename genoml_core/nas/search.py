"""The search loop: supernet epochs on the shared loop, sampler steps after each, final rescoring."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, InputError
from ..loop import EpochEnd, run_epochs
from ..metrics import encode_labels
from ..nn.rrfcn import Architecture, RRFCNSupernet
from ..runtime import resolve_device, seed_everything, set_threads
from ..training import (
    METRICS,
    TASKS,
    RowSource,
    balanced_class_weights,
    iter_batches,
    load_batch,
    predict_outputs,
    score_outputs,
)
from .config import GRAD_BOUND, NASConfig, count_parameters
from .result import SearchResult
from .samplers import Controller, Sample, UniformSampler

log = logging.getLogger(__name__)


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


def _budget_per_epoch(budget: int, epochs: int) -> list[int]:
    """Spread ``budget`` steps over epochs, later epochs first (the shared weights are better)."""
    return [(e + 1) * budget // epochs - e * budget // epochs for e in range(epochs)]


class _SupernetEpochs:
    """The :class:`~genoml_core.loop.Objective` of the supernet: one drawn architecture per batch.

    After each epoch, ``after_epoch`` runs the controller's steps of that epoch (the scores of
    drawn architectures under the shared weights); the supernet has no early stopping.
    """

    def __init__(
        self,
        supernet: RRFCNSupernet,
        X: RowSource,
        y_all: torch.Tensor,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        draw: Callable[[], Sample],
        device: torch.device,
        after_epoch: Callable[[int], None],
        epochs: int,
    ) -> None:
        self.supernet, self.X, self.y_all, self.loss_fn, self.draw = supernet, X, y_all, loss_fn, draw
        self.device, self.after_epoch, self.epochs = device, after_epoch, epochs
        self.running, self.count = 0.0, 0

    def start_epoch(self, epoch: int) -> None:
        self.running, self.count = 0.0, 0

    def batch_loss(self, idx: np.ndarray, epoch: int) -> torch.Tensor:
        arch = self.draw().arch
        xb = load_batch(self.X, idx, self.device)
        loss = self.loss_fn(self.supernet(xb, arch), self.y_all[idx].to(self.device))
        self.running += float(loss.detach()) * len(idx)
        self.count += len(idx)
        return loss

    def end_epoch(self, epoch: int, *, seen: int, seconds: float) -> EpochEnd:
        row = {"epoch": epoch, "train_loss": self.running / max(self.count, 1), "seconds": seconds}
        self.after_epoch(epoch)
        log.info("supernet epoch %d/%d: train_loss=%.4f (%.1f s)", epoch, self.epochs, row["train_loss"], seconds)
        return EpochEnd(row=row, score=-row["train_loss"])


def _reward(task: str, y_valid: np.ndarray, outputs: np.ndarray) -> float:
    """The validation metric; non-finite or undefined values become -1 (worse than any real score
    of a classifier; an R^2 below -1 is clipped to -1 too, so one bad draw cannot dominate)."""
    try:
        value = score_outputs(task, y_valid, outputs)
    except ValueError:  # e.g. one class in y_valid
        value = math.nan
    if not math.isfinite(value):
        return -1.0
    return max(value, -1.0)


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
        X: training rows (a :class:`~genoml_core.training.RowSource`, e.g. ``store.view("train")``).
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
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    if len(X) != len(y) or len(X_valid) != len(y_valid):
        raise InputError(f"X/y ({len(X)}/{len(y)}) and X_valid/y_valid ({len(X_valid)}/{len(y_valid)}) must match")
    if len(X) < 2 or len(X_valid) < 1:
        raise InputError(f"the search needs >= 2 training and >= 1 validation rows; got {len(X)} and {len(X_valid)}")
    t0 = time.perf_counter()
    codes, y_val, d_out = _encode_targets(task, y, y_valid, n_classes)
    n_features = int(X.shape[1]) if hasattr(X, "shape") else int(np.asarray(X[np.array([0])]).shape[1])
    seed_everything(seed)
    gen = torch.Generator().manual_seed(int(seed))
    choices = config.width_choices
    supernet = RRFCNSupernet(
        d_in=n_features, d_out=d_out, n_layers=config.n_layers, widths=choices, skip_mode=config.skip_mode
    ).to(device)
    controller: Controller | None = None
    sampler: Any
    if config.sampler == "controller":
        controller = Controller(
            n_layers=config.n_layers, width_choices=choices, skip_mode=config.skip_mode,
            hidden=config.controller_hidden,
        ).to(device)  # fmt: skip
        sampler = controller
        ctrl_opt = torch.optim.Adam(controller.parameters(), lr=config.controller_lr)
    else:
        sampler = UniformSampler(n_layers=config.n_layers, width_choices=choices, skip_mode=config.skip_mode)

    def draw(with_grad: bool = False) -> Sample:
        if controller is None:
            return sampler.sample(gen)
        if with_grad:
            controller.train()
            return controller.sample(gen, skip_target=config.skip_target)
        with torch.no_grad():
            return controller.sample(gen, skip_target=config.skip_target)

    # NOTE[DIFF]: ENAS trains shared weights with SGD; momentum touches only the slices used.
    shared_opt = torch.optim.SGD(supernet.parameters(), lr=config.supernet_lr, momentum=0.9, nesterov=True)
    y_all = torch.from_numpy(codes)
    weight = None
    if task != "continuous" and class_weight not in (None, "none") and len(np.unique(codes)) == d_out:
        weight = torch.as_tensor(balanced_class_weights(codes, d_out), device=device)

    def loss_fn(out: Tensor, yb: Tensor) -> Tensor:
        if task == "continuous":
            return F.mse_loss(out[:, 0], yb)
        return F.cross_entropy(out, yb, weight=weight)

    # fixed training rows for BatchNorm recalibration (same rows for every architecture)
    bn_rows = np.sort(torch.randperm(len(X), generator=gen)[: min(config.bn_samples, len(X))].numpy())
    bn_batches = [
        load_batch(X, bn_rows[idx], device) for idx in iter_batches(len(bn_rows), 1024, merge_singleton=True)
    ]
    metric = METRICS[task]
    n_evaluations = 0

    def evaluate(arch: Architecture) -> float:
        nonlocal n_evaluations
        n_evaluations += 1
        supernet.recalibrate(arch, bn_batches)
        outputs = predict_outputs(supernet, X_valid, device=device, amp=False, fn=lambda m, xb: m(xb, arch))
        return _reward(task, y_val, outputs)

    curve: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    baseline: float | None = None
    step = 0
    steps = _budget_per_epoch(config.budget, config.supernet_epochs)
    log.info(
        "RRFCN search: sampler=%s budget=%d supernet_epochs=%d n_layers=%d widths=%s skip_mode=%s "
        "n_train=%d n_valid=%d n_features=%d device=%s",
        config.sampler, config.budget, config.supernet_epochs, config.n_layers, list(choices), config.skip_mode,
        len(X), len(X_valid), n_features, device,
    )  # fmt: skip

    def controller_steps(epoch: int) -> None:
        """The epoch's controller steps: draw, score with the shared weights, update the sampler."""
        nonlocal step, baseline
        for _ in range(steps[epoch - 1]):
            step += 1
            sample = draw(with_grad=True)
            reward = evaluate(sample.arch)
            entropy = float(sample.entropy.detach()) if sample.entropy is not None else math.nan
            r = reward + (config.entropy_weight * entropy if controller is not None else 0.0)
            baseline = r if baseline is None else config.baseline_decay * baseline + (1 - config.baseline_decay) * r
            advantage = r - baseline
            if controller is not None:
                assert sample.log_prob is not None and sample.skip_penalty is not None  # the controller sets them
                loss = -sample.log_prob * advantage + config.skip_weight * sample.skip_penalty
                ctrl_opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(controller.parameters(), GRAD_BOUND)
                ctrl_opt.step()
            key = sample.arch.to_json()
            if key not in seen:
                seen[key] = {"arch": sample.arch, "search_reward": reward, "first_step": step}
            curve.append({
                "step": step, "epoch": epoch, "reward": reward, "baseline": baseline, "advantage": advantage,
                "entropy": entropy, "skip_density": sample.arch.skip_density, "architecture": sample.arch.describe(),
            })  # fmt: skip
            spent = time.perf_counter() - t0
            log.info(
                "step %d/%d epoch %d: %s=%.4f baseline=%.4f %s; %.2f steps/s, about %.0f s left",
                step, config.budget, epoch, metric, reward, baseline, sample.arch.describe(),
                step / spent if spent > 0 else math.inf, spent / step * (config.budget - step) if step else 0.0,
            )  # fmt: skip

    objective = _SupernetEpochs(supernet, X, y_all, loss_fn=loss_fn, draw=draw, device=device,
                                after_epoch=controller_steps, epochs=config.supernet_epochs)  # fmt: skip
    history = run_epochs(
        supernet, len(X), objective, batch_size=config.batch_size, max_epochs=config.supernet_epochs,
        optimizer=shared_opt, generator=gen, device=device, clip_grad_norm=GRAD_BOUND,
    )  # fmt: skip

    # NOTE[DIFF]: ENAS derives the final cell by sampling anew; here every distinct architecture
    # sampled in the search is rescored with the final shared weights (scores taken earlier came
    # from less-trained weights), topped up with fresh draws if fewer than top_k were distinct.
    tries = 0
    while len(seen) < config.top_k and tries < 100 * config.top_k:
        tries += 1
        arch = draw().arch
        seen.setdefault(arch.to_json(), {"arch": arch, "search_reward": None, "first_step": None})
    if len(seen) < config.top_k:
        raise ConfigError(
            f"the search found only {len(seen)} distinct architectures for nas.top_k={config.top_k}; "
            "raise nas.budget or widen the search space"
        )
    candidates = []
    for entry in seen.values():
        arch = entry["arch"]
        candidates.append({
            "architecture": arch.to_dict(), "describe": arch.describe(),
            "skip_edges": [list(e) for e in arch.skip_edges], "supernet_score": evaluate(arch),
            "search_reward": entry["search_reward"], "first_step": entry["first_step"],
            "n_params": count_parameters(arch, n_features, d_out),
        })  # fmt: skip
    order = sorted(
        range(len(candidates)),
        key=lambda i: (-candidates[i]["supernet_score"], candidates[i]["first_step"] or math.inf, i),
    )
    candidates = [{"rank": r, **candidates[i]} for r, i in enumerate(order)]
    supernet.eval()
    seconds = time.perf_counter() - t0
    log.info(
        "search done in %.1f s: %d evaluations, %d distinct architectures; best %s=%.4f %s",
        seconds, n_evaluations, len(candidates), metric, candidates[0]["supernet_score"], candidates[0]["describe"],
    )  # fmt: skip
    return SearchResult(
        top=candidates[: config.top_k],
        candidates=candidates,
        curve=curve,
        supernet_history=history,
        metric=metric,
        n_evaluations=n_evaluations,
        seconds=seconds,
        config=config,
        task=task,
        seed=int(seed),
        n_features=n_features,
        d_out=d_out,
        supernet=supernet,
        sampler=sampler,
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
    from ..munge import FeatureStore

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
