"""Optimisation settings (:class:`TrainOptions`, :class:`VAEOptions`), the learning-rate schedule,
the optimizer, and what a training loop returns (:class:`FitResult`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError, field_names, reject_unknown
from ..loop import amp_dtype, cpu_has_native_bf16
from ...runtime import seed_everything

LOSSES = ("auto", "cross_entropy", "mse", "pairwise_auc")
OPTIMIZERS = ("adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")
#: Validation metric per task (higher is better, 0-1 scale for the AUCs).
METRICS = {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro", "continuous": "r2"}
#: Early-stopping score used when the validation metric is undefined (e.g. one class in y_valid).
FALLBACK_METRIC = "neg_valid_loss"



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
        amp: use mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling).
        cpu_bf16: on the CPU, train under bf16 autocast where the CPU has native bf16
            instructions (AVX512-BF16 or AMX; :func:`~genoml_core.models.loop.cpu_has_native_bf16`),
            float32 elsewhere. Weights, gradients, the loss, validation and predictions stay
            float32. TabM's default (its k-expanded first layer is most of its time).
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
    cpu_bf16: bool = False
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
        for name in ("amp", "cpu_bf16"):
            _require(isinstance(getattr(self, name), bool), f"{name}={getattr(self, name)!r} must be true or false")

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


@dataclass
class _Setup:
    """What both fits build before their first epoch, in this order (the RNG draws depend on it)."""

    module: nn.Module
    generator: torch.Generator
    optimizer: torch.optim.Optimizer
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler
    lr_at: Callable[[float], float] | None


def _prepare(module: nn.Module, options: TrainOptions, seed: int, device: torch.device) -> _Setup:
    """Seed every RNG, move ``module`` to ``device``, build its optimizer, autocast dtype and scaler."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(int(seed))
    module = module.to(device)
    optimizer = _make_optimizer(module, options)
    dtype = amp_dtype(device, options.amp)
    if dtype is None and device.type == "cpu" and options.cpu_bf16 and cpu_has_native_bf16():
        dtype = torch.bfloat16
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    lr_at = None if options.lr_schedule == "constant" else partial(scheduled_lr, options)
    return _Setup(module, generator, optimizer, dtype, scaler, lr_at)
