"""The one training loop of every network: batches, the epoch loop, early stopping.

:func:`run_epochs` trains the supervised networks and TabM
(:func:`~genoml_core.models.training.fit_supervised`), the Res-VAE (:func:`~genoml_core.models.training.fit_vae`)
and the RRFCN supernet (:func:`~genoml_core.models.nas.search_architectures`). What differs between them
is an :class:`Objective`: the loss of one batch and what is measured at the end of an epoch. The
parts around it are separate and optional: :class:`EarlyStopping` (the best weights and the
patience count) and :class:`~genoml_core.models.checkpoint.Checkpointer` (save, resume, discard).

Data never enter the device whole. ``X`` is anything with ``len(X)`` and fancy row indexing,
``X[idx] -> (len(idx), p)`` array-like (a NumPy array, a memory map, or a feature-store view
that scales int8 genotypes per batch); each batch is built by indexing ``X`` with that batch's
sorted row indices, converted to float32 and moved to the device.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError

if TYPE_CHECKING:
    from .checkpoint import Checkpointer

__all__ = [
    "RowSource",
    "RowSubset",
    "iter_batches",
    "load_batch",
    "amp_dtype",
    "autocast",
    "EarlyStopping",
    "EpochEnd",
    "Objective",
    "run_epochs",
]

log = logging.getLogger("genoml_core.models.training")  # where these messages came from before the one loop: warnings.json records it


class RowSource(Protocol):
    """What the training loop needs from ``X``: a length and fancy row indexing."""

    def __len__(self) -> int: ...

    def __getitem__(self, idx: np.ndarray) -> Any: ...


class RowSubset:
    """A lazy view of some rows of a :class:`RowSource` (nothing is copied until indexed).

    Args:
        X: the source.
        rows: row indices into ``X``; keep them sorted so that sorted batch indices stay sorted
            (which is what memory-mapped sources read fastest).

    Example:
        >>> view = RowSubset(np.arange(12.0).reshape(6, 2), np.array([1, 3, 5]))
        >>> len(view), view[np.array([0, 2])].tolist()
        (3, [[2.0, 3.0], [10.0, 11.0]])
    """

    def __init__(self, X: RowSource, rows: np.ndarray) -> None:
        self.X = X
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: np.ndarray) -> Any:
        return self.X[self.rows[np.asarray(idx)]]

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *tuple(getattr(self.X, "shape", (0, -1)))[1:])



# ----------------------------------------------------------------------------- batches
def iter_batches(
    n: int, batch_size: int, *, generator: torch.Generator | None = None, merge_singleton: bool = False
) -> Iterator[np.ndarray]:
    """Row indices of each batch: shuffled by ``generator`` (sorted within a batch) or in order.

    Args:
        n: number of rows.
        batch_size: rows per batch (the last batch may be smaller).
        generator: shuffles the rows when given; ``None`` keeps the order.
        merge_singleton: fold a last batch of one row into the previous batch (batch
            normalisation cannot train on one row).

    Yields:
        int64 index arrays.

    Example:
        >>> [b.tolist() for b in iter_batches(5, 2, merge_singleton=True)]
        [[0, 1], [2, 3, 4]]
    """
    if n <= 0:
        return
    order = torch.randperm(n, generator=generator).numpy() if generator is not None else np.arange(n)
    starts = list(range(0, n, batch_size))
    if merge_singleton and len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    bounds = [*starts[1:], n]
    for start, stop in zip(starts, bounds):
        idx = order[start:stop]
        yield np.sort(idx) if generator is not None else idx.astype(np.int64, copy=False)


def load_batch(X: RowSource, idx: np.ndarray, device: torch.device) -> Tensor:
    """``X[idx]`` as a float32 tensor on ``device`` (rows in ``idx`` order).

    Raises:
        InputError: when ``X[idx]`` is not a ``(len(idx), p)`` matrix.
    """
    batch = np.asarray(X[idx], dtype=np.float32)
    if batch.ndim != 2 or batch.shape[0] != len(idx):
        raise InputError(
            f"X[idx] returned shape {batch.shape} for {len(idx)} rows; X must return a (rows, features) "
            "matrix when indexed with an array of row indices"
        )
    return torch.from_numpy(np.ascontiguousarray(batch)).to(device)



def amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """The autocast dtype: bf16 (or fp16 without bf16) on CUDA when ``amp``; ``None`` otherwise."""
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX tiles).

    Elsewhere oneDNN emulates bf16, which is slower than float32, so bf16 training on the CPU is
    used only where this is true.
    """
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private torch.cpu probes
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` for ``dtype``, or a no-op context for ``None``."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# ----------------------------------------------------------------------------- early stopping
class EarlyStopping:
    """Early-stopping bookkeeping: keep a copy of the best weights, count epochs without gain.

    Example:
        >>> net = nn.Linear(2, 1)
        >>> stop = EarlyStopping(net, patience=2, min_delta=0.0)
        >>> [stop.update(s, e, net) for e, s in enumerate([0.5, 0.7, 0.6, 0.6], start=1)]
        [False, False, False, True]
        >>> stop.best_epoch, stop.best_score
        (2, 0.7)
    """

    def __init__(self, module: nn.Module, *, patience: int, min_delta: float) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_score = -math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.state = self._copy(module)

    @staticmethod
    def _copy(module: nn.Module) -> dict[str, Tensor]:
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    def update(self, score: float, epoch: int, module: nn.Module, *, count: bool = True) -> bool:
        """Record ``score``; return True when training should stop."""
        if score > self.best_score + self.min_delta:
            self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
            self.state = self._copy(module)
            return False
        if count:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, module: nn.Module) -> None:
        module.load_state_dict(self.state)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "weights": {k: v.detach().cpu() for k, v in self.state.items()},
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.best_score = float(state["best_score"])
        self.best_epoch = int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])
        self.state = {k: v.to(device) for k, v in state["weights"].items()}



# ----------------------------------------------------------------------------- the loop
@dataclass
class EpochEnd:
    """What an :class:`Objective` reports at the end of an epoch.

    Attributes:
        row: the epoch's history row.
        score: the early-stopping score (higher is better).
        finite: False stops training (a non-finite loss or output).
        count: whether an epoch without gain counts against the patience (not in a warm-up).
    """

    row: dict[str, float]
    score: float
    finite: bool = True
    count: bool = True


class Objective(Protocol):
    """What one kind of network trains on: the loss of a batch and the end of an epoch."""

    def start_epoch(self, epoch: int) -> None:
        """Called before the epoch's first batch, with the module in training mode."""

    def batch_loss(self, idx: np.ndarray, epoch: int) -> Tensor:
        """Load the rows ``idx`` and return the loss to minimize (the loop steps the optimizer)."""
        ...

    def end_epoch(self, epoch: int, *, seen: int, seconds: float) -> EpochEnd:
        """Score the epoch (``seen`` rows trained on in ``seconds``) and log it."""
        ...


def _step(
    loss: Tensor,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    clip_grad_norm: float | None,
) -> None:
    """One optimizer step on ``loss``: zero_grad, backward (scaled), clip, step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if clip_grad_norm is not None:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(module.parameters(), clip_grad_norm)
    scaler.step(optimizer)
    scaler.update()


def run_epochs(
    module: nn.Module,
    n_rows: int,
    objective: Objective,
    *,
    batch_size: int,
    max_epochs: int,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    device: torch.device,
    scaler: torch.amp.GradScaler | None = None,
    stopping: EarlyStopping | None = None,
    checkpointer: Checkpointer | None = None,
    lr_at: Callable[[float], float] | None = None,
    clip_grad_norm: float | None = None,
) -> list[dict[str, float]]:
    """Train ``module`` for up to ``max_epochs`` epochs of shuffled batches of ``n_rows`` rows.

    Each step: the objective's batch loss, ``zero_grad``, backward (through ``scaler`` when
    given), the gradient norm clipped to ``clip_grad_norm`` when given, an optimizer step. After
    each epoch the objective's :class:`EpochEnd` is appended to the history; a non-finite epoch
    stops training, ``stopping`` may stop it, and ``checkpointer`` saves the state. At the end the
    checkpoint is deleted, the best weights restored (with ``stopping``) and the module put in
    eval mode.

    Args:
        module: the network (trained in place).
        n_rows: training rows; the batches are index arrays into them (see :func:`iter_batches`).
        objective: the loss and the end-of-epoch measurement.
        batch_size: rows per batch (a last batch of one row is merged into the previous one).
        max_epochs: the last epoch.
        optimizer: steps ``module``'s parameters.
        generator: shuffles the rows.
        device: for the CUDA synchronisation before the epoch is timed.
        scaler: the mixed-precision loss scaler, or ``None``.
        stopping: early stopping, or ``None`` to run every epoch.
        checkpointer: resumes before the first epoch and saves after each; ``None``: none.
        lr_at: the learning rate at a progress in [0, 1] (epochs done / ``max_epochs``, fractional
            within an epoch), set before each step; ``None`` leaves the optimizer's.
        clip_grad_norm: bound on the gradients' total norm, or ``None``.

    Returns:
        The history: one row per epoch, those of a resumed checkpoint first.
    """
    scaler = scaler if scaler is not None else torch.amp.GradScaler(device.type, enabled=False)
    done, history = checkpointer.resume() if checkpointer is not None else (0, [])
    n_steps = max(1, math.ceil(n_rows / batch_size))  # about the epoch's batches
    for epoch in range(done + 1, max_epochs + 1):
        module.train()
        objective.start_epoch(epoch)
        t0 = time.perf_counter()
        seen = 0
        for step, idx in enumerate(iter_batches(n_rows, batch_size, generator=generator, merge_singleton=True)):
            if lr_at is not None:
                for group in optimizer.param_groups:
                    group["lr"] = lr_at((epoch - 1 + step / n_steps) / max_epochs)
            _step(objective.batch_loss(idx, epoch), module, optimizer, scaler, clip_grad_norm)
            seen += len(idx)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        end = objective.end_epoch(epoch, seen=seen, seconds=time.perf_counter() - t0)
        history.append(end.row)
        if not end.finite:
            log.warning("the loss became non-finite at epoch %d; stopping (try a lower lr)", epoch)
            break
        if stopping is not None and stopping.update(end.score, epoch, module, count=end.count):
            log.info("early stopping at epoch %d: no gain for %d epochs", epoch, stopping.patience)
            break
        if checkpointer is not None:
            checkpointer.save(epoch, history)
    if checkpointer is not None:
        checkpointer.discard()
    if stopping is not None:
        stopping.restore(module)
    module.eval()
    return history
