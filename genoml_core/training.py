"""One training loop for every supervised network, parametrized by task, and one for the Res-VAE.

Tasks: ``"binary"`` (two-logit cross-entropy; validation ROC AUC), ``"multiclass"``
(cross-entropy; macro one-vs-rest ROC AUC) and ``"continuous"`` (MSE; R^2). Early stopping
watches the validation metric and the best weights are restored at the end.

Data never enter the device whole. ``X`` is anything with ``len(X)`` and fancy row indexing,
``X[idx] -> (len(idx), p)`` array-like (a NumPy array, a memory map, or a feature-store view
that scales int8 genotypes per batch); each batch is built by indexing ``X`` with that batch's
sorted row indices, converted to float32 and moved to the device.

Determinism: :func:`fit_supervised` and :func:`fit_vae` call
:func:`~genoml_core.runtime.seed_everything` with their ``seed`` and shuffle with a dedicated
``torch.Generator``, so a CPU run is bit-identical for the same seed, data, initial weights and
thread count. Mixed precision (``torch.autocast`` with bf16, or fp16 with a ``GradScaler`` on
GPUs without bf16) is used only on CUDA.

Checkpoints: given a :class:`CheckpointSpec`, both loops save everything the next epoch depends
on (weights, optimizer, loss scaler, the shuffling generator, the global torch/CUDA/NumPy/Python
RNG states, the early-stopping tracker with its copy of the best weights, the history) every
``every`` epochs, atomically, and a rerun resumes after the saved epoch, so an interrupted CPU
run ends bit-identical to an uninterrupted one. A checkpoint written for another configuration
(options, seed, task, data sizes and sample rows, targets, network, initial weights, device,
genoml_core and torch versions) is ignored with a warning; the file is deleted when training ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from torch import Tensor, nn

from . import __version__
from .errors import ConfigError, InputError, field_names, reject_unknown
from .registry import TASKS
from .io import atomic_path
from .nn.res_vae import ResVAE, kl_weight
from .runtime import seed_everything

__all__ = [
    "TASKS",
    "LOSSES",
    "OPTIMIZERS",
    "METRICS",
    "RowSource",
    "RowSubset",
    "TrainOptions",
    "VAEOptions",
    "CheckpointSpec",
    "FitResult",
    "iter_batches",
    "load_batch",
    "balanced_class_weights",
    "pairwise_auc_loss",
    "score_outputs",
    "predict_outputs",
    "fit_supervised",
    "fit_vae",
]

log = logging.getLogger(__name__)

LOSSES = ("auto", "cross_entropy", "mse", "pairwise_auc")
OPTIMIZERS = ("adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")
#: Validation metric per task (higher is better, 0-1 scale for the AUCs).
METRICS = {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "continuous": "r2"}
#: Early-stopping score used when the validation metric is undefined (e.g. one class in y_valid).
FALLBACK_METRIC = "neg_valid_loss"


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


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """Optimisation settings for :func:`fit_supervised` (defaults = ``net_spaces.SHARED_SPACE``).

    Attributes:
        lr: learning rate.
        batch_size: training batch size.
        weight_decay: decoupled weight decay (AdamW) or L2 (SGD), applied to weight matrices
            only, not to biases and normalisation parameters.
        optimizer: ``"adamw"`` or ``"sgd"`` (with ``momentum``).
        momentum: SGD momentum (ignored by AdamW).
        max_epochs: upper bound on epochs.
        patience: epochs without improvement of the validation score before stopping.
        min_delta: an improvement must exceed this to reset the patience counter.
        loss: ``"auto"`` (cross-entropy for classification, MSE for continuous),
            ``"cross_entropy"``, ``"mse"`` or ``"pairwise_auc"`` (binary only: squared hinge on
            positive-negative score pairs, for imbalanced tasks).
        amp: use mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling);
            never used on the CPU.
        eval_batch_size: batch size for validation and prediction.
        max_pairs: ``pairwise_auc`` samples at most this many pairs per batch (all pairs if fewer).
        auc_margin: margin of the ``pairwise_auc`` squared hinge.
        lr_schedule: ``"constant"``, or ``"cosine"``: the learning rate follows a half cosine
            from ``lr`` down to 0 over ``max_epochs``, step by step (:func:`scheduled_lr`; a
            function of the step alone, so a resumed fit follows the same schedule).
    """

    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.9
    max_epochs: int = 30
    patience: int = 5
    min_delta: float = 0.0
    loss: str = "auto"
    amp: bool = True
    eval_batch_size: int = 1024
    max_pairs: int = 4096
    auc_margin: float = 1.0
    lr_schedule: str = "constant"

    def __post_init__(self) -> None:
        _require(self.lr > 0, f"lr={self.lr!r} must be > 0")
        for name in ("batch_size", "max_epochs", "patience", "eval_batch_size", "max_pairs"):
            value = getattr(self, name)
            _require(
                isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0,
                f"{name}={value!r} must be an integer > 0",
            )
        _require(self.weight_decay >= 0, f"weight_decay={self.weight_decay!r} must be >= 0")
        _require(0 <= self.momentum < 1, f"momentum={self.momentum!r} must be in [0, 1)")
        _require(self.min_delta >= 0, f"min_delta={self.min_delta!r} must be >= 0")
        _require(self.auc_margin > 0, f"auc_margin={self.auc_margin!r} must be > 0")
        _require(self.optimizer in OPTIMIZERS, f"optimizer={self.optimizer!r} must be one of {OPTIMIZERS}")
        _require(self.loss in LOSSES, f"loss={self.loss!r} must be one of {LOSSES}")
        _require(self.lr_schedule in LR_SCHEDULES, f"lr_schedule={self.lr_schedule!r} must be one of {LR_SCHEDULES}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Build from a plain dict; unknown keys raise :class:`~genoml_core.errors.ConfigError`."""
        reject_unknown(d, field_names(cls), f"training option(s) for {cls.__name__}:")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class VAEOptions(TrainOptions):
    """:class:`TrainOptions` plus the KL settings of :func:`fit_vae`.

    Attributes:
        beta: final weight of the KL term.
        kl_warmup_epochs: epochs over which the KL weight ramps linearly up to ``beta``; early
            stopping does not count these epochs against ``patience``.
    """

    beta: float = 1.0
    kl_warmup_epochs: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.beta >= 0, f"beta={self.beta!r} must be >= 0")
        _require(
            isinstance(self.kl_warmup_epochs, (int, np.integer)) and self.kl_warmup_epochs >= 0,
            f"kl_warmup_epochs={self.kl_warmup_epochs!r} must be an integer >= 0",
        )
        _require(self.loss == "auto", f"loss={self.loss!r}: the Res-VAE loss is fixed (MSE + beta * KL)")


@dataclass(frozen=True, kw_only=True)
class CheckpointSpec:
    """Where and how often a training loop saves its state so that a rerun can resume.

    Not a :class:`TrainOptions` field on purpose: it changes nothing about the result, so it
    is neither a hyperparameter nor part of the checkpoint's fingerprint.

    Attributes:
        path: the checkpoint file (parent directories are created); deleted when training ends.
        every: save after every ``every``-th epoch; ``0`` turns checkpointing off (nothing is
            saved, an existing file is neither read nor deleted).

    Example:
        >>> CheckpointSpec(path="ckpt/fold0.pt", every=5).enabled
        True
    """

    path: Path
    every: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        _require(
            isinstance(self.every, (int, np.integer)) and not isinstance(self.every, bool) and self.every >= 0,
            f"checkpoint every={self.every!r} must be an integer >= 0 (0 = off)",
        )

    @property
    def enabled(self) -> bool:
        return self.every > 0


@dataclass
class FitResult:
    """What a training loop returns.

    Attributes:
        module: the trained module, best weights restored, in eval mode, on ``device``.
        history: one dict per epoch (``epoch``, ``train_loss``, ``valid_loss``, the validation
            metric, ``samples_per_s``, ``seconds``, ...).
        best_epoch: the 1-based epoch whose weights were restored (0: the initial weights).
        best_score: the early-stopping score at ``best_epoch``.
        metric: the name of the early-stopping score (a key of each history row).
        device: the device trained on.
        amp_dtype: the autocast dtype name, or ``None`` without mixed precision.
    """

    module: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    best_score: float
    metric: str
    device: torch.device
    amp_dtype: str | None


def _require(ok: bool | np.bool_, message: str) -> None:
    if not ok:
        raise ConfigError(message)


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


def _amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def scheduled_lr(options: TrainOptions, progress: float) -> float:
    """The learning rate at ``progress`` (epochs done / ``max_epochs``, fractional within an epoch).

    Example:
        >>> opts = TrainOptions(lr=0.01, lr_schedule="cosine", max_epochs=10)
        >>> [round(scheduled_lr(opts, p), 4) for p in (0.0, 0.5, 1.0)]
        [0.01, 0.005, 0.0]
    """
    if options.lr_schedule == "cosine":
        return options.lr * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
    return options.lr


def _make_optimizer(module: nn.Module, options: TrainOptions) -> torch.optim.Optimizer:
    # NOTE[DIFF]: weight decay on weight matrices only, not on biases and batch-norm parameters
    # (as rtdl and most transformer code do); decaying the norm scales only fights the norm.
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in module.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": options.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if options.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=options.lr, momentum=options.momentum)
    return torch.optim.AdamW(groups, lr=options.lr)


class _BestWeights:
    """Early-stopping bookkeeping: keep a copy of the best weights, count epochs without gain."""

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


# ----------------------------------------------------------------------------- checkpoints
_CHECKPOINT_FORMAT = "genoml_core.train_checkpoint/1"


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            part = part.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _probe_rows(X: RowSource) -> np.ndarray:
    """The first, middle and last rows of ``X``: a cheap check that the data are the same."""
    n = len(X)
    return load_batch(X, np.unique(np.array([0, n // 2, n - 1])), torch.device("cpu")).numpy()


def _fingerprint(
    loop: str,
    module: nn.Module,
    X: RowSource,
    X_valid: RowSource,
    *,
    options: TrainOptions,
    seed: int,
    device: torch.device,
    dtype: torch.dtype | None,
    **extra: Any,
) -> dict[str, Any]:
    """What a checkpoint must have been written for to be resumed (plain, comparable values).

    Call it before training: ``initial_weights`` hashes the module's starting weights. The
    data are compared by size and by three rows of each set (hashing all of a large
    memory-mapped store would cost a pass over it).
    """
    state = module.state_dict()
    probe = _probe_rows(X)
    return {
        "format": _CHECKPOINT_FORMAT,
        "versions": f"genoml_core {__version__}, torch {torch.__version__}",
        "loop": loop,
        "options": _digest(options.to_dict()),
        "seed": int(seed),
        "n_rows": len(X),
        "n_valid": len(X_valid),
        "n_features": int(probe.shape[1]),
        "data_rows": _digest(probe, _probe_rows(X_valid)),
        "module": f"{type(module).__module__}.{type(module).__qualname__}",
        "shapes": _digest([(k, list(v.shape), str(v.dtype)) for k, v in state.items()]),
        "initial_weights": _digest(*state.values()),
        "device": device.type,
        "amp_dtype": str(dtype),
        **{k: v if isinstance(v, (str, int, float, type(None))) else _digest(v) for k, v in extra.items()},
    }


def _numpy_rng_state() -> dict[str, Any]:
    state = np.random.get_state(legacy=False)
    # plain ints, so that torch.load(weights_only=True) accepts the file
    return {
        "key": state["state"]["key"].tolist(),
        "pos": int(state["state"]["pos"]),
        "has_gauss": int(state["has_gauss"]),
        "gauss": float(state["gauss"]),
    }


def _set_numpy_rng_state(state: dict[str, Any]) -> None:
    key = np.asarray(state["key"], dtype=np.uint32)
    np.random.set_state(("MT19937", key, state["pos"], state["has_gauss"], state["gauss"]))


class _Checkpointer:
    """Save, resume and discard the state of one training loop (a no-op without a spec).

    Everything saved is a tensor, a state dict or a plain Python value, so the file loads
    with ``torch.load(weights_only=True)`` and cannot run code.
    """

    def __init__(
        self,
        spec: CheckpointSpec | None,
        fingerprint: Callable[[], dict[str, Any]],
        *,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        generator: torch.Generator,
        tracker: _BestWeights,
        device: torch.device,
        max_epochs: int,
    ) -> None:
        self.spec = spec if spec is not None and spec.enabled else None
        # computed now, before any training step changes the weights it hashes
        self.fingerprint = fingerprint() if self.spec is not None else {}
        self.module = module
        self.optimizer = optimizer
        self.scaler = scaler
        self.generator = generator
        self.tracker = tracker
        self.device = device
        self.max_epochs = max_epochs

    def _read(self) -> dict[str, Any] | None:
        if self.spec is None or not self.spec.path.is_file():
            return None
        path = self.spec.path
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001  (truncated, foreign or unpicklable: start afresh)
            log.warning("ignoring checkpoint %s: cannot read it (%s); training from scratch", path, err)
            return None
        saved = ckpt.get("fingerprint") if isinstance(ckpt, dict) else None
        if saved != self.fingerprint:
            saved = saved if isinstance(saved, dict) else {}
            differ = sorted(k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k))
            log.warning(
                "ignoring checkpoint %s: it was written for another configuration (differs in %s); "
                "training from scratch",
                path,
                ", ".join(differ),
            )
            return None
        return ckpt

    def resume(self) -> tuple[int, list[dict[str, float]]]:
        """Restore a matching checkpoint; return (last epoch done, history), or (0, [])."""
        ckpt = self._read()
        if ckpt is None:
            return 0, []
        self.module.load_state_dict(ckpt["module"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.tracker.load_state_dict(ckpt["tracker"], self.device)
        self.generator.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        if self.device.type == "cuda" and len(ckpt["cuda_rng"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        _set_numpy_rng_state(ckpt["numpy_rng"])
        version, internal, gauss_next = ckpt["python_rng"]
        random.setstate((version, tuple(internal), gauss_next))
        epoch = int(ckpt["epoch"])
        assert self.spec is not None  # _read found a checkpoint, so there is a spec
        log.info("resuming from epoch %d of %d (checkpoint %s)", epoch, self.max_epochs, self.spec.path)
        return epoch, list(ckpt["history"])

    def save(self, epoch: int, history: list[dict[str, float]]) -> None:
        """Write the state after ``epoch`` when it is a multiple of ``every`` (not the last epoch)."""
        if self.spec is None or epoch % self.spec.every != 0 or epoch >= self.max_epochs:
            return
        state = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "module": {k: v.detach().cpu() for k, v in self.module.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "tracker": self.tracker.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "numpy_rng": _numpy_rng_state(),
            "python_rng": random.getstate(),
            "history": history,
        }
        with atomic_path(self.spec.path) as tmp:
            torch.save(state, tmp)
        log.info("checkpoint after epoch %d written to %s", epoch, self.spec.path)

    def discard(self) -> None:
        """Delete the checkpoint: training ended (completed, stopped early or diverged)."""
        if self.spec is not None:
            self.spec.path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- losses, metrics
def balanced_class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """``n / (n_classes * count_k)`` per class (scikit-learn's "balanced"), float32.

    Example:
        >>> balanced_class_weights(np.array([0, 0, 0, 1]), 2).tolist()
        [0.6666666865348816, 2.0]
    """
    return compute_class_weight("balanced", classes=np.arange(n_classes), y=np.asarray(y)).astype(np.float32)


def pairwise_auc_loss(
    scores: Tensor,
    y: Tensor,
    *,
    margin: float = 1.0,
    max_pairs: int = 4096,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Squared-hinge AUC surrogate: mean of ``max(0, margin - (s_pos - s_neg))**2`` over pairs.

    Uses every positive-negative pair when there are at most ``max_pairs``, otherwise
    ``max_pairs`` pairs drawn with ``generator``. A batch without both classes gives a zero loss
    (still connected to the graph).

    Args:
        scores: ``(batch,)`` scores, higher for the positive class.
        y: ``(batch,)`` 0/1 labels.
        margin: hinge margin.
        max_pairs: most pairs to use.
        generator: CPU generator for pair sampling.

    Example:
        >>> pairwise_auc_loss(torch.tensor([2.0, 0.0, 0.5]), torch.tensor([1, 0, 0])).item()
        0.0
    """
    pos, neg = scores[y == 1], scores[y == 0]
    if pos.numel() == 0 or neg.numel() == 0:
        return scores.sum() * 0.0
    if pos.numel() * neg.numel() <= max_pairs:
        diff = (pos[:, None] - neg[None, :]).reshape(-1)
    else:
        i = torch.randint(pos.numel(), (max_pairs,), generator=generator).to(scores.device)
        j = torch.randint(neg.numel(), (max_pairs,), generator=generator).to(scores.device)
        diff = pos[i] - neg[j]
    return torch.clamp(margin - diff, min=0.0).pow(2).mean()


def _resolve_loss(task: str, loss: str) -> str:
    if loss == "auto":
        return "mse" if task == "continuous" else "cross_entropy"
    if task == "continuous" and loss != "mse":
        raise ConfigError(f"loss={loss!r} does not fit task='continuous'; use loss='mse' (or 'auto')")
    if task != "continuous" and loss == "mse":
        raise ConfigError(f"loss='mse' does not fit task={task!r}; use 'cross_entropy' (or 'auto')")
    if task == "multiclass" and loss == "pairwise_auc":
        raise ConfigError("loss='pairwise_auc' is for binary tasks only; use 'cross_entropy' for multiclass")
    return loss


def _binary_scores(outputs: np.ndarray | Tensor) -> Any:
    """Positive-class score of a two-logit output: ``logit_1 - logit_0`` (monotone in p_1)."""
    return outputs[:, 1] - outputs[:, 0]


def _softmax(outputs: np.ndarray) -> np.ndarray:
    z = outputs.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _metric_defined(task: str, y_valid: np.ndarray) -> bool:
    if task == "continuous":
        return len(y_valid) >= 2
    return len(np.unique(y_valid)) >= 2


def score_outputs(task: str, y_true: np.ndarray, outputs: np.ndarray) -> float:
    """The validation metric of ``METRICS[task]`` for raw network outputs (higher is better).

    Binary: ROC AUC of ``logit_1 - logit_0``. Multiclass: macro one-vs-rest ROC AUC of the
    softmax probabilities, over the classes present in ``y_true`` (sklearn's ``ovr``/``macro``
    when all are present). Continuous: R^2. Non-finite outputs score ``-inf``.

    Args:
        task: one of :data:`TASKS`.
        y_true: class codes ``0..K-1`` (classification) or targets (continuous).
        outputs: ``(n, K)`` logits or ``(n, 1)`` predictions.

    Example:
        >>> score_outputs("binary", np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
        1.0
    """
    if not np.all(np.isfinite(outputs)):
        return -math.inf
    if task == "binary":
        return float(roc_auc_score(y_true, _binary_scores(outputs)))
    if task == "multiclass":
        proba = _softmax(outputs)
        aucs = [
            roc_auc_score(y_true == k, proba[:, k])
            for k in range(outputs.shape[1])
            if 0 < np.sum(y_true == k) < len(y_true)
        ]
        return float(np.mean(aucs)) if aucs else math.nan
    if task == "continuous":
        return float(r2_score(y_true, outputs[:, 0]))
    raise ConfigError(f"{task=} must be one of {TASKS}")


@torch.no_grad()
def predict_outputs(
    module: nn.Module,
    X: RowSource,
    *,
    device: torch.device,
    batch_size: int = 1024,
    amp: bool = True,
    fn: Callable[[nn.Module, Tensor], Tensor] | None = None,
) -> np.ndarray:
    """Run ``module`` over ``X`` in eval mode, batch by batch, without gradients.

    Args:
        module: the network (already on ``device``).
        X: a :class:`RowSource`.
        device: where to compute.
        batch_size: rows per batch.
        amp: autocast on CUDA (outputs are returned as float32 either way).
        fn: ``fn(module, batch) -> Tensor``; defaults to ``module(batch)``.

    Returns:
        float32 array with one row per row of ``X``.
    """
    module.eval()
    dtype = _amp_dtype(device, amp)
    parts = []
    for idx in iter_batches(len(X), batch_size):
        xb = load_batch(X, idx, device)
        with _autocast(device, dtype):
            out = module(xb) if fn is None else fn(module, xb)
        parts.append(out.float().cpu().numpy())
    if not parts:
        raise InputError("X has no rows to predict")
    return np.concatenate(parts, axis=0)


def _valid_loss(task: str, y_valid: np.ndarray, outputs: np.ndarray) -> float:
    out = torch.from_numpy(outputs)
    if task == "continuous":
        return float(F.mse_loss(out[:, 0], torch.from_numpy(np.asarray(y_valid, dtype=np.float32))))
    return float(F.cross_entropy(out, torch.from_numpy(np.asarray(y_valid, dtype=np.int64))))


def _check_xy(X: RowSource, y: np.ndarray, name: str) -> None:
    if len(X) != len(y):
        raise InputError(f"{name}: X has {len(X)} rows but y has {len(y)}; they must match")


# ----------------------------------------------------------------------------- supervised loop
def fit_supervised(
    module: nn.Module,
    X: RowSource,
    y: np.ndarray,
    *,
    X_valid: RowSource,
    y_valid: np.ndarray,
    task: str,
    options: TrainOptions,
    seed: int,
    device: torch.device,
    class_weight: np.ndarray | None = None,
    checkpoint: CheckpointSpec | None = None,
) -> FitResult:
    """Train ``module`` with early stopping on the validation metric; restore the best weights.

    Args:
        module: a network mapping ``(batch, p)`` to ``(batch, 2)`` (binary), ``(batch, K)``
            (multiclass) or ``(batch, 1)`` (continuous). An ensemble (TabM) may return
            ``(batch, members, outputs)`` in training mode: the loss is then the mean of the
            members' losses; in eval mode it must return the ensemble's ``(batch, outputs)``.
        X: training rows (a :class:`RowSource`).
        y: class codes ``0..K-1`` (int) for classification; float targets for continuous.
        X_valid: validation rows.
        y_valid: validation targets, coded like ``y``.
        task: one of :data:`TASKS`.
        options: optimisation settings.
        seed: seeds initialisation-independent randomness (shuffling, dropout, pair sampling).
        device: where to train (see :func:`~genoml_core.runtime.resolve_device`).
        class_weight: per-class cross-entropy weights (length K), e.g.
            :func:`balanced_class_weights`; ``None`` for unweighted. Ignored for continuous
            tasks and by ``pairwise_auc`` (which is balanced by construction).
        checkpoint: save the training state every ``checkpoint.every`` epochs and resume from
            a matching file (see the module docstring); ``None``: no checkpoints.

    Returns:
        :class:`FitResult`.

    Raises:
        ConfigError: for a task/loss mismatch or a network with the wrong number of outputs.
        InputError: when X and y lengths differ or X yields no proper batches.
    """
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    loss_name = _resolve_loss(task, options.loss)
    _check_xy(X, y, "training set")
    _check_xy(X_valid, y_valid, "validation set")
    if len(X) < 2:
        raise InputError(f"the training set has n_samples={len(X)}; at least 2 are needed (batch normalisation)")
    if len(X_valid) < 1:
        raise InputError("the validation set is empty")
    seed_everything(seed)
    generator = torch.Generator().manual_seed(int(seed))
    module = module.to(device)
    optimizer = _make_optimizer(module, options)
    dtype = _amp_dtype(device, options.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    y_all = torch.from_numpy(np.asarray(y, dtype=np.float32 if task == "continuous" else np.int64))
    y_valid = np.asarray(y_valid)
    weight = None
    if class_weight is not None and task != "continuous" and loss_name == "cross_entropy":
        weight = torch.as_tensor(np.asarray(class_weight, dtype=np.float32), device=device)
    n_out_expected = {"binary": 2, "continuous": 1}.get(task)

    def criterion(out: Tensor, yb: Tensor) -> Tensor:
        out = out.float()
        if out.ndim == 3:  # an ensemble's (batch, members, outputs) (TabM): the mean of the members' losses
            if loss_name == "pairwise_auc":  # pairs within a member
                return torch.stack([criterion(out[:, m], yb) for m in range(out.shape[1])]).mean()
            # cross-entropy (weighted too) and MSE: the mean over all (row, member) pairs is the same
            yb = yb.repeat_interleave(out.shape[1])
            out = out.flatten(0, 1)
        if loss_name == "mse":
            return F.mse_loss(out[:, 0], yb)
        if loss_name == "pairwise_auc":
            return pairwise_auc_loss(
                _binary_scores(out), yb, margin=options.auc_margin, max_pairs=options.max_pairs, generator=generator
            )
        return F.cross_entropy(out, yb, weight=weight)

    metric = METRICS[task] if _metric_defined(task, y_valid) else FALLBACK_METRIC
    if metric == FALLBACK_METRIC:
        log.warning(
            "validation metric %s is undefined on this validation set (%d rows); early stopping uses "
            "the negative validation loss instead",
            METRICS[task],
            len(y_valid),
        )
    tracker = _BestWeights(module, patience=options.patience, min_delta=options.min_delta)
    checkpointer = _Checkpointer(
        checkpoint,
        lambda: _fingerprint(
            "supervised",
            module,
            X,
            X_valid,
            options=options,
            seed=seed,
            device=device,
            dtype=dtype,
            task=task,
            targets=[np.asarray(y), y_valid],
            class_weight=None if weight is None else weight.cpu(),
        ),
        module=module,
        optimizer=optimizer,
        scaler=scaler,
        generator=generator,
        tracker=tracker,
        device=device,
        max_epochs=options.max_epochs,
    )
    log.info(
        "training %s (%d parameters) on %s: task=%s loss=%s n_train=%d n_valid=%d amp=%s",
        type(module).__name__,
        sum(p.numel() for p in module.parameters()),
        device,
        task,
        loss_name,
        len(X),
        len(X_valid),
        dtype,
    )
    done, history = checkpointer.resume()
    for epoch in range(done + 1, options.max_epochs + 1):
        module.train()
        t0 = time.perf_counter()
        running = torch.zeros((), device=device)
        seen = 0
        n_steps = max(1, math.ceil(len(X) / options.batch_size))  # about the epoch's batches
        for step, idx in enumerate(iter_batches(len(X), options.batch_size, generator=generator, merge_singleton=True)):
            if options.lr_schedule != "constant":
                for group in optimizer.param_groups:
                    group["lr"] = scheduled_lr(options, (epoch - 1 + step / n_steps) / options.max_epochs)
            xb = load_batch(X, idx, device)
            yb = y_all[idx].to(device, non_blocking=True)
            with _autocast(device, dtype):
                out = module(xb)
            if epoch == 1 and seen == 0:
                _check_outputs(out, task, n_out_expected, y_all)
            loss = criterion(out, yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            running += loss.detach() * len(idx)
            seen += len(idx)
        train_loss = float(running) / seen
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        outputs = predict_outputs(
            module, X_valid, device=device, batch_size=options.eval_batch_size, amp=options.amp
        )
        finite = bool(np.all(np.isfinite(outputs)))
        valid_loss = _valid_loss(task, y_valid, outputs) if finite else math.inf
        value = score_outputs(task, y_valid, outputs) if metric != FALLBACK_METRIC else -valid_loss
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
            metric: value,
            "samples_per_s": seen / seconds if seconds > 0 else math.inf,
            "seconds": seconds,
        }
        history.append(row)
        log.info(
            "epoch %d/%d train_loss=%.4f valid_loss=%.4f valid_%s=%.4f %.0f samples/s, at most %.0f s left",
            epoch,
            options.max_epochs,
            train_loss,
            valid_loss,
            metric,
            value,
            row["samples_per_s"],
            seconds * (options.max_epochs - epoch),  # early stopping may end it sooner
        )
        if not (math.isfinite(train_loss) and finite):
            log.warning("the loss became non-finite at epoch %d; stopping (try a lower lr)", epoch)
            break
        if tracker.update(value if math.isfinite(value) else -math.inf, epoch, module):
            log.info("early stopping at epoch %d: no gain for %d epochs", epoch, options.patience)
            break
        checkpointer.save(epoch, history)
    checkpointer.discard()
    tracker.restore(module)
    module.eval()
    log.info("restored epoch %d weights (valid_%s=%.4f)", tracker.best_epoch, metric, tracker.best_score)
    return FitResult(
        module=module,
        history=history,
        best_epoch=tracker.best_epoch,
        best_score=tracker.best_score,
        metric=metric,
        device=device,
        amp_dtype=None if dtype is None else str(dtype).removeprefix("torch."),
    )


def _check_outputs(out: Tensor, task: str, expected: int | None, y_all: Tensor) -> None:
    if out.ndim not in (2, 3):
        raise ConfigError(
            f"the network returned shape {tuple(out.shape)}; expected (batch, outputs), or (batch, members, "
            "outputs) for an ensemble in training mode"
        )
    n_out = out.shape[-1]
    if expected is not None and n_out != expected:
        raise ConfigError(f"task={task!r} needs a network with d_out={expected}; this one has {n_out} outputs")
    if task == "multiclass" and int(y_all.max()) >= n_out:
        raise ConfigError(f"y has class code {int(y_all.max())} but the network has only d_out={n_out} outputs")


# ----------------------------------------------------------------------------- Res-VAE loop
def _vae_epoch_loss(
    module: ResVAE, X: RowSource, *, beta: float, device: torch.device, options: TrainOptions
) -> tuple[float, float, float]:
    """Mean (total, recon, kl) over ``X`` in eval mode (``z = mu``)."""
    module.eval()
    dtype = _amp_dtype(device, options.amp)
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    with torch.no_grad():
        for idx in iter_batches(len(X), options.eval_batch_size):
            xb = load_batch(X, idx, device)
            with _autocast(device, dtype):
                out = module(xb)
            parts = module.loss(xb, out, beta=beta)
            sums += torch.stack([parts.total, parts.recon, parts.kl]).double() * len(idx)
    total, recon, kl = (sums / len(X)).tolist()
    return total, recon, kl


def fit_vae(
    module: ResVAE,
    X: RowSource,
    *,
    X_valid: RowSource,
    options: VAEOptions,
    seed: int,
    device: torch.device,
    checkpoint: CheckpointSpec | None = None,
) -> FitResult:
    """Train a :class:`~genoml_core.nn.ResVAE`: reconstruction + ``beta`` * KL with warm-up.

    The KL weight follows :func:`~genoml_core.nn.res_vae.kl_weight` during training; early
    stopping watches the validation loss at the full ``beta`` (computed with ``z = mu``), and
    warm-up epochs do not count against ``patience``.

    Args:
        module: the Res-VAE.
        X: training rows (a :class:`RowSource`).
        X_valid: validation rows.
        options: optimisation and KL settings.
        seed: seeds shuffling and the reparameterisation noise.
        device: where to train.
        checkpoint: save every ``checkpoint.every`` epochs and resume from a matching file, as
            in :func:`fit_supervised`; ``None``: no checkpoints.

    Returns:
        :class:`FitResult` whose metric is ``"neg_valid_loss"``.
    """
    if len(X) < 2:
        raise InputError(f"the training set has n_samples={len(X)}; at least 2 are needed (batch normalisation)")
    if len(X_valid) < 1:
        raise InputError("the validation set is empty")
    seed_everything(seed)
    generator = torch.Generator().manual_seed(int(seed))
    module = module.to(device)
    optimizer = _make_optimizer(module, options)
    dtype = _amp_dtype(device, options.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    tracker = _BestWeights(module, patience=options.patience, min_delta=options.min_delta)
    checkpointer = _Checkpointer(
        checkpoint,
        lambda: _fingerprint("vae", module, X, X_valid, options=options, seed=seed, device=device, dtype=dtype),
        module=module,
        optimizer=optimizer,
        scaler=scaler,
        generator=generator,
        tracker=tracker,
        device=device,
        max_epochs=options.max_epochs,
    )
    metric = FALLBACK_METRIC
    done, history = checkpointer.resume()
    for epoch in range(done + 1, options.max_epochs + 1):
        beta = kl_weight(epoch - 1, beta=options.beta, warmup_epochs=options.kl_warmup_epochs)
        module.train()
        t0 = time.perf_counter()
        sums = torch.zeros(3, device=device)
        seen = 0
        for idx in iter_batches(len(X), options.batch_size, generator=generator, merge_singleton=True):
            xb = load_batch(X, idx, device)
            with _autocast(device, dtype):
                out = module(xb)
            parts = module.loss(xb, out, beta=beta)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(parts.total).backward()
            scaler.step(optimizer)
            scaler.update()
            sums += torch.stack([parts.total, parts.recon, parts.kl]).detach() * len(idx)
            seen += len(idx)
        train_total, train_recon, train_kl = (sums / seen).tolist()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        valid_total, valid_recon, valid_kl = _vae_epoch_loss(
            module, X_valid, beta=options.beta, device=device, options=options
        )
        row = {
            "epoch": epoch,
            "beta": beta,
            "train_loss": train_total,
            "train_recon": train_recon,
            "train_kl": train_kl,
            "valid_loss": valid_total,
            "valid_recon": valid_recon,
            "valid_kl": valid_kl,
            metric: -valid_total,
            "samples_per_s": seen / seconds if seconds > 0 else math.inf,
            "seconds": seconds,
        }
        history.append(row)
        log.info(
            "epoch %d/%d beta=%.3f train_loss=%.4f valid_loss=%.4f (recon %.4f, kl %.4f) %.0f samples/s",
            epoch,
            options.max_epochs,
            beta,
            train_total,
            valid_total,
            valid_recon,
            valid_kl,
            row["samples_per_s"],
        )
        if not (math.isfinite(train_total) and math.isfinite(valid_total)):
            log.warning("the loss became non-finite at epoch %d; stopping (try a lower lr)", epoch)
            break
        in_warmup = epoch <= options.kl_warmup_epochs
        if tracker.update(-valid_total, epoch, module, count=not in_warmup):
            log.info("early stopping at epoch %d: no gain for %d epochs", epoch, options.patience)
            break
        checkpointer.save(epoch, history)
    checkpointer.discard()
    tracker.restore(module)
    module.eval()
    return FitResult(
        module=module,
        history=history,
        best_epoch=tracker.best_epoch,
        best_score=tracker.best_score,
        metric=metric,
        device=device,
        amp_dtype=None if dtype is None else str(dtype).removeprefix("torch."),
    )
