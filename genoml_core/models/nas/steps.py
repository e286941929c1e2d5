"""The parts of a search between its setup and its result: the supernet's epochs (an
:class:`~genoml_core.models.loop.Objective`), the sampler's steps after each epoch, and the final
rescoring of every distinct architecture drawn."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..loop import EpochEnd
from ..nn.rrfcn import Architecture, RRFCNSupernet
from ..training import RowSource, load_batch, predict_outputs, score_outputs
from .config import GRAD_BOUND, NASConfig, count_parameters
from .samplers import Controller, Sample, UniformSampler

log = logging.getLogger("genoml_core.models.nas")  # the package's name, not __name__: warnings.json records it


def _budget_per_epoch(budget: int, epochs: int) -> list[int]:
    """Spread ``budget`` steps over epochs, later epochs first (the shared weights are better)."""
    return [(e + 1) * budget // epochs - e * budget // epochs for e in range(epochs)]


class _SupernetEpochs:
    """The :class:`~genoml_core.models.loop.Objective` of the supernet: one drawn architecture per batch.

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


class _Search:
    """One search's sampler and what its steps found: the draws, their scores on the validation rows
    (:meth:`evaluate`), the controller's REINFORCE updates (:meth:`controller_steps`, run after each
    supernet epoch) and the final rescoring (:meth:`rescore`)."""

    def __init__(
        self,
        supernet: RRFCNSupernet,
        sampler: Controller | UniformSampler,
        *,
        config: NASConfig,
        task: str,
        X_valid: RowSource,
        y_val: np.ndarray,
        bn_batches: list[torch.Tensor],
        gen: torch.Generator,
        device: torch.device,
        metric: str,
        t0: float,
    ) -> None:
        self.supernet, self.sampler, self.config, self.task = supernet, sampler, config, task
        self.X_valid, self.y_val, self.bn_batches, self.gen, self.device = X_valid, y_val, bn_batches, gen, device
        self.metric, self.t0 = metric, t0
        self.controller = sampler if isinstance(sampler, Controller) else None
        self.ctrl_opt = (
            torch.optim.Adam(self.controller.parameters(), lr=config.controller_lr)
            if self.controller is not None
            else None
        )
        self.steps = _budget_per_epoch(config.budget, config.supernet_epochs)
        self.step = 0
        self.baseline: float | None = None
        self.n_evaluations = 0
        self.curve: list[dict[str, Any]] = []
        self.seen: dict[str, dict[str, Any]] = {}

    def draw(self, with_grad: bool = False) -> Sample:
        if self.controller is None:
            return self.sampler.sample(self.gen)
        if with_grad:
            self.controller.train()
            return self.controller.sample(self.gen, skip_target=self.config.skip_target)
        with torch.no_grad():
            return self.controller.sample(self.gen, skip_target=self.config.skip_target)

    def evaluate(self, arch: Architecture) -> float:
        self.n_evaluations += 1
        self.supernet.recalibrate(arch, self.bn_batches)
        outputs = predict_outputs(
            self.supernet, self.X_valid, device=self.device, amp=False, fn=lambda m, xb: m(xb, arch)
        )
        return _reward(self.task, self.y_val, outputs)

    def controller_steps(self, epoch: int) -> None:
        """The epoch's controller steps: draw, score with the shared weights, update the sampler."""
        for _ in range(self.steps[epoch - 1]):
            self.step += 1
            self._one_step(epoch)

    def _one_step(self, epoch: int) -> None:
        config, controller, step = self.config, self.controller, self.step
        sample = self.draw(with_grad=True)
        reward = self.evaluate(sample.arch)
        entropy = float(sample.entropy.detach()) if sample.entropy is not None else math.nan
        r = reward + (config.entropy_weight * entropy if controller is not None else 0.0)
        baseline = r if self.baseline is None else config.baseline_decay * self.baseline + (1 - config.baseline_decay) * r
        self.baseline = baseline
        advantage = r - baseline
        if controller is not None:
            assert sample.log_prob is not None and sample.skip_penalty is not None  # the controller sets them
            assert self.ctrl_opt is not None
            loss = -sample.log_prob * advantage + config.skip_weight * sample.skip_penalty
            self.ctrl_opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(controller.parameters(), GRAD_BOUND)
            self.ctrl_opt.step()
        key = sample.arch.to_json()
        if key not in self.seen:
            self.seen[key] = {"arch": sample.arch, "search_reward": reward, "first_step": step}
        self.curve.append({
            "step": step, "epoch": epoch, "reward": reward, "baseline": baseline, "advantage": advantage,
            "entropy": entropy, "skip_density": sample.arch.skip_density, "architecture": sample.arch.describe(),
        })  # fmt: skip
        spent = time.perf_counter() - self.t0
        log.info(
            "step %d/%d epoch %d: %s=%.4f baseline=%.4f %s; %.2f steps/s, about %.0f s left",
            step, config.budget, epoch, self.metric, reward, baseline, sample.arch.describe(),
            step / spent if spent > 0 else math.inf, spent / step * (config.budget - step) if step else 0.0,
        )  # fmt: skip

    def top_up(self) -> None:
        """Fresh draws until ``top_k`` architectures are distinct (or 100 * ``top_k`` tries)."""
        tries = 0
        while len(self.seen) < self.config.top_k and tries < 100 * self.config.top_k:
            tries += 1
            arch = self.draw().arch
            self.seen.setdefault(arch.to_json(), {"arch": arch, "search_reward": None, "first_step": None})

    def rescore(self, n_features: int, d_out: int) -> list[dict[str, Any]]:
        """Every distinct architecture scored with the final shared weights, ranked best first."""
        candidates = []
        for entry in self.seen.values():
            arch = entry["arch"]
            candidates.append({
                "architecture": arch.to_dict(), "describe": arch.describe(),
                "skip_edges": [list(e) for e in arch.skip_edges], "supernet_score": self.evaluate(arch),
                "search_reward": entry["search_reward"], "first_step": entry["first_step"],
                "n_params": count_parameters(arch, n_features, d_out),
            })  # fmt: skip
        order = sorted(
            range(len(candidates)),
            key=lambda i: (-candidates[i]["supernet_score"], candidates[i]["first_step"] or math.inf, i),
        )
        return [{"rank": r, **candidates[i]} for r, i in enumerate(order)]
