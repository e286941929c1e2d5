"""Training the supervised networks (by task) and the Res-VAE on the one loop of :mod:`genoml_core.loop`.

Tasks: ``"binary"`` (two-logit cross-entropy; validation ROC AUC), ``"multiclass"``
(cross-entropy; macro one-vs-rest ROC AUC) and ``"continuous"`` (MSE; R^2). Early stopping
watches the validation metric and the best weights are restored at the end.

``X`` is a :class:`~genoml_core.loop.RowSource`: batches are read from it row by row
(:func:`~genoml_core.loop.load_batch`), never whole.

Determinism: :func:`fit_supervised` and :func:`fit_vae` call
:func:`~genoml_core.runtime.seed_everything` with their ``seed`` and shuffle with a dedicated
``torch.Generator``, so a CPU run is bit-identical for the same seed, data, initial weights and
thread count. Mixed precision (``torch.autocast`` with bf16, or fp16 with a ``GradScaler`` on
GPUs without bf16) is used only on CUDA.

Checkpoints: given a :class:`~genoml_core.checkpoint.CheckpointSpec`, both save their state
every ``every`` epochs and a rerun resumes bit-identical (:mod:`genoml_core.checkpoint`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from torch import Tensor, nn

from .checkpoint import Checkpointer, CheckpointSpec, fingerprint
from .errors import ConfigError, InputError, field_names, reject_unknown
from .loop import EarlyStopping, EpochEnd, RowSource, RowSubset, autocast, amp_dtype, iter_batches, load_batch, run_epochs
from .nn.res_vae import ResVAE, kl_weight
from .registry import TASKS
from .runtime import seed_everything

# the loop's parts under their earlier private names (tests patch _Checkpointer.save)
_Checkpointer = Checkpointer
_BestWeights = EarlyStopping
_amp_dtype = amp_dtype
_autocast = autocast

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



# ----------------------------------------------------------------------------- supervised
class _Supervised:
    """The :class:`~genoml_core.loop.Objective` of a supervised network (see :func:`fit_supervised`)."""

    def __init__(
        self,
        module: nn.Module,
        X: RowSource,
        y: np.ndarray,
        *,
        X_valid: RowSource,
        y_valid: np.ndarray,
        task: str,
        options: TrainOptions,
        device: torch.device,
        dtype: torch.dtype | None,
        generator: torch.Generator,
        class_weight: np.ndarray | None,
    ) -> None:
        self.module, self.X, self.X_valid, self.task, self.options = module, X, X_valid, task, options
        self.device, self.dtype, self.generator = device, dtype, generator
        self.loss_name = _resolve_loss(task, options.loss)
        self.y_all = torch.from_numpy(np.asarray(y, dtype=np.float32 if task == "continuous" else np.int64))
        self.y_valid = np.asarray(y_valid)
        self.weight = None
        if class_weight is not None and task != "continuous" and self.loss_name == "cross_entropy":
            self.weight = torch.as_tensor(np.asarray(class_weight, dtype=np.float32), device=device)
        self.n_out_expected = {"binary": 2, "continuous": 1}.get(task)
        self.metric = METRICS[task] if _metric_defined(task, self.y_valid) else FALLBACK_METRIC
        self.running = torch.zeros((), device=device)
        self.seen = 0

    def criterion(self, out: Tensor, yb: Tensor) -> Tensor:
        """The batch loss; an ensemble's ``(batch, members, outputs)`` gives the members' mean loss."""
        out = out.float()
        if out.ndim == 3:  # an ensemble's (batch, members, outputs) (TabM): the mean of the members' losses
            if self.loss_name == "pairwise_auc":  # pairs within a member
                return torch.stack([self.criterion(out[:, m], yb) for m in range(out.shape[1])]).mean()
            # cross-entropy (weighted too) and MSE: the mean over all (row, member) pairs is the same
            yb = yb.repeat_interleave(out.shape[1])
            out = out.flatten(0, 1)
        if self.loss_name == "mse":
            return F.mse_loss(out[:, 0], yb)
        if self.loss_name == "pairwise_auc":
            opts = self.options
            return pairwise_auc_loss(
                _binary_scores(out), yb, margin=opts.auc_margin, max_pairs=opts.max_pairs, generator=self.generator
            )
        return F.cross_entropy(out, yb, weight=self.weight)

    def start_epoch(self, epoch: int) -> None:
        self.running = torch.zeros((), device=self.device)
        self.seen = 0

    def batch_loss(self, idx: np.ndarray, epoch: int) -> Tensor:
        xb = load_batch(self.X, idx, self.device)
        yb = self.y_all[idx].to(self.device, non_blocking=True)
        with autocast(self.device, self.dtype):
            out = self.module(xb)
        if epoch == 1 and self.seen == 0:
            _check_outputs(out, self.task, self.n_out_expected, self.y_all)
        loss = self.criterion(out, yb)
        self.running += loss.detach() * len(idx)
        self.seen += len(idx)
        return loss

    def end_epoch(self, epoch: int, *, seen: int, seconds: float) -> EpochEnd:
        opts = self.options
        train_loss = float(self.running) / seen
        outputs = predict_outputs(
            self.module, self.X_valid, device=self.device, batch_size=opts.eval_batch_size, amp=opts.amp
        )
        finite = bool(np.all(np.isfinite(outputs)))
        valid_loss = _valid_loss(self.task, self.y_valid, outputs) if finite else math.inf
        value = score_outputs(self.task, self.y_valid, outputs) if self.metric != FALLBACK_METRIC else -valid_loss
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
            self.metric: value,
            "samples_per_s": seen / seconds if seconds > 0 else math.inf,
            "seconds": seconds,
        }
        log.info(
            "epoch %d/%d train_loss=%.4f valid_loss=%.4f valid_%s=%.4f %.0f samples/s, at most %.0f s left",
            epoch,
            opts.max_epochs,
            train_loss,
            valid_loss,
            self.metric,
            value,
            row["samples_per_s"],
            seconds * (opts.max_epochs - epoch),  # early stopping may end it sooner
        )
        score = value if math.isfinite(value) else -math.inf
        return EpochEnd(row=row, score=score, finite=math.isfinite(train_loss) and finite)


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
            a matching file (see :mod:`genoml_core.checkpoint`); ``None``: no checkpoints.

    Returns:
        :class:`FitResult`.

    Raises:
        ConfigError: for a task/loss mismatch or a network with the wrong number of outputs.
        InputError: when X and y lengths differ or X yields no proper batches.
    """
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    _resolve_loss(task, options.loss)
    _check_xy(X, y, "training set")
    _check_xy(X_valid, y_valid, "validation set")
    _check_sizes(X, X_valid)
    seed_everything(seed)
    generator = torch.Generator().manual_seed(int(seed))
    module = module.to(device)
    optimizer = _make_optimizer(module, options)
    dtype = amp_dtype(device, options.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    objective = _Supervised(
        module, X, y, X_valid=X_valid, y_valid=y_valid, task=task, options=options, device=device,
        dtype=dtype, generator=generator, class_weight=class_weight,
    )  # fmt: skip
    metric = objective.metric
    if metric == FALLBACK_METRIC:
        log.warning(
            "validation metric %s is undefined on this validation set (%d rows); early stopping uses "
            "the negative validation loss instead",
            METRICS[task],
            len(objective.y_valid),
        )
    stopping = EarlyStopping(module, patience=options.patience, min_delta=options.min_delta)
    checkpointer = Checkpointer(
        checkpoint,
        lambda: fingerprint(
            "supervised", module, X, X_valid, options=options, seed=seed, device=device, dtype=dtype, task=task,
            targets=[np.asarray(y), objective.y_valid],
            class_weight=None if objective.weight is None else objective.weight.cpu(),
        ),
        module=module, optimizer=optimizer, scaler=scaler, generator=generator, tracker=stopping, device=device,
        max_epochs=options.max_epochs,
    )  # fmt: skip
    log.info(
        "training %s (%d parameters) on %s: task=%s loss=%s n_train=%d n_valid=%d amp=%s",
        type(module).__name__, sum(p.numel() for p in module.parameters()), device, task, objective.loss_name,
        len(X), len(X_valid), dtype,
    )  # fmt: skip
    lr_at = None if options.lr_schedule == "constant" else (lambda progress: scheduled_lr(options, progress))
    history = run_epochs(
        module, len(X), objective, batch_size=options.batch_size, max_epochs=options.max_epochs,
        optimizer=optimizer, generator=generator, device=device, scaler=scaler, stopping=stopping,
        checkpointer=checkpointer, lr_at=lr_at,
    )  # fmt: skip
    log.info("restored epoch %d weights (valid_%s=%.4f)", stopping.best_epoch, metric, stopping.best_score)
    return _result(module, history, stopping, metric, device, dtype)


def _check_sizes(X: RowSource, X_valid: RowSource) -> None:
    if len(X) < 2:
        raise InputError(f"the training set has n_samples={len(X)}; at least 2 are needed (batch normalisation)")
    if len(X_valid) < 1:
        raise InputError("the validation set is empty")


def _result(
    module: nn.Module,
    history: list[dict[str, float]],
    stopping: EarlyStopping,
    metric: str,
    device: torch.device,
    dtype: torch.dtype | None,
) -> FitResult:
    return FitResult(
        module=module,
        history=history,
        best_epoch=stopping.best_epoch,
        best_score=stopping.best_score,
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


# ----------------------------------------------------------------------------- Res-VAE
def _vae_epoch_loss(
    module: ResVAE, X: RowSource, *, beta: float, device: torch.device, options: TrainOptions
) -> tuple[float, float, float]:
    """Mean (total, recon, kl) over ``X`` in eval mode (``z = mu``)."""
    module.eval()
    dtype = amp_dtype(device, options.amp)
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    with torch.no_grad():
        for idx in iter_batches(len(X), options.eval_batch_size):
            xb = load_batch(X, idx, device)
            with autocast(device, dtype):
                out = module(xb)
            parts = module.loss(xb, out, beta=beta)
            sums += torch.stack([parts.total, parts.recon, parts.kl]).double() * len(idx)
    total, recon, kl = (sums / len(X)).tolist()
    return total, recon, kl


class _VAE:
    """The :class:`~genoml_core.loop.Objective` of a Res-VAE (see :func:`fit_vae`)."""

    def __init__(
        self, module: ResVAE, X: RowSource, *, X_valid: RowSource, options: VAEOptions, device: torch.device,
        dtype: torch.dtype | None,
    ) -> None:  # fmt: skip
        self.module, self.X, self.X_valid, self.options = module, X, X_valid, options
        self.device, self.dtype = device, dtype
        self.beta = 0.0
        self.sums = torch.zeros(3, device=device)

    def start_epoch(self, epoch: int) -> None:
        opts = self.options
        self.beta = kl_weight(epoch - 1, beta=opts.beta, warmup_epochs=opts.kl_warmup_epochs)
        self.sums = torch.zeros(3, device=self.device)

    def batch_loss(self, idx: np.ndarray, epoch: int) -> Tensor:
        xb = load_batch(self.X, idx, self.device)
        with autocast(self.device, self.dtype):
            out = self.module(xb)
        parts = self.module.loss(xb, out, beta=self.beta)
        self.sums += torch.stack([parts.total, parts.recon, parts.kl]).detach() * len(idx)
        return parts.total

    def end_epoch(self, epoch: int, *, seen: int, seconds: float) -> EpochEnd:
        opts = self.options
        train_total, train_recon, train_kl = (self.sums / seen).tolist()
        valid_total, valid_recon, valid_kl = _vae_epoch_loss(
            self.module, self.X_valid, beta=opts.beta, device=self.device, options=opts
        )
        row = {
            "epoch": epoch,
            "beta": self.beta,
            "train_loss": train_total,
            "train_recon": train_recon,
            "train_kl": train_kl,
            "valid_loss": valid_total,
            "valid_recon": valid_recon,
            "valid_kl": valid_kl,
            FALLBACK_METRIC: -valid_total,
            "samples_per_s": seen / seconds if seconds > 0 else math.inf,
            "seconds": seconds,
        }
        log.info(
            "epoch %d/%d beta=%.3f train_loss=%.4f valid_loss=%.4f (recon %.4f, kl %.4f) %.0f samples/s",
            epoch, opts.max_epochs, self.beta, train_total, valid_total, valid_recon, valid_kl,
            row["samples_per_s"],
        )  # fmt: skip
        return EpochEnd(
            row=row,
            score=-valid_total,
            finite=math.isfinite(train_total) and math.isfinite(valid_total),
            count=epoch > opts.kl_warmup_epochs,  # warm-up epochs do not count against the patience
        )


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
    warm-up epochs do not count against ``patience``. ``options.lr_schedule`` applies as in
    :func:`fit_supervised`.

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
    _check_sizes(X, X_valid)
    seed_everything(seed)
    generator = torch.Generator().manual_seed(int(seed))
    module = module.to(device)
    optimizer = _make_optimizer(module, options)
    dtype = amp_dtype(device, options.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    stopping = EarlyStopping(module, patience=options.patience, min_delta=options.min_delta)
    checkpointer = Checkpointer(
        checkpoint,
        lambda: fingerprint("vae", module, X, X_valid, options=options, seed=seed, device=device, dtype=dtype),
        module=module, optimizer=optimizer, scaler=scaler, generator=generator, tracker=stopping, device=device,
        max_epochs=options.max_epochs,
    )  # fmt: skip
    objective = _VAE(module, X, X_valid=X_valid, options=options, device=device, dtype=dtype)
    lr_at = None if options.lr_schedule == "constant" else (lambda progress: scheduled_lr(options, progress))
    history = run_epochs(
        module, len(X), objective, batch_size=options.batch_size, max_epochs=options.max_epochs,
        optimizer=optimizer, generator=generator, device=device, scaler=scaler, stopping=stopping,
        checkpointer=checkpointer, lr_at=lr_at,
    )  # fmt: skip
    return _result(module, history, stopping, FALLBACK_METRIC, device, dtype)
