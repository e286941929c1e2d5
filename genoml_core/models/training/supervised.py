"""The supervised networks' training loop (:func:`fit_supervised`)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checkpoint import Checkpointer, CheckpointSpec, fingerprint
from ...errors import ConfigError, InputError
from ..loop import EarlyStopping, EpochEnd, RowSource, autocast, load_batch, run_epochs
from ..registry import TASKS
from .options import FALLBACK_METRIC, METRICS, FitResult, TrainOptions, _prepare, _Setup
from .scoring import (
    _binary_scores,
    _check_xy,
    _metric_defined,
    _resolve_loss,
    _valid_loss,
    pairwise_auc_loss,
    predict_outputs,
    score_outputs,
)

log = logging.getLogger("genoml_core.models.training")  # the package's name, not __name__: warnings.json records it


@dataclass(frozen=True)
class _Inputs:
    """What the objective of :func:`fit_supervised` reads of its arguments (the module, the
    seed and the checkpoint spec go to :func:`~genoml_core.models.training.options._prepare`
    and the :class:`~genoml_core.models.checkpoint.Checkpointer`)."""

    X: RowSource
    y: np.ndarray
    X_valid: RowSource
    y_valid: np.ndarray
    task: str
    options: TrainOptions
    device: torch.device
    class_weight: np.ndarray | None


class _Supervised:
    """The :class:`~genoml_core.models.loop.Objective` of a supervised network (see :func:`fit_supervised`):
    ``setup.module`` trained on ``inputs``, in ``setup.dtype``, shuffling and sampling pairs with
    ``setup.generator``."""

    def __init__(self, inputs: _Inputs, setup: _Setup) -> None:
        task, options, device = inputs.task, inputs.options, inputs.device
        self.module, self.task, self.options = setup.module, task, options
        self.X, self.X_valid = inputs.X, inputs.X_valid
        self.device, self.dtype, self.generator = device, setup.dtype, setup.generator
        self.loss_name = _resolve_loss(task, options.loss)
        self.y_all = torch.from_numpy(np.asarray(inputs.y, dtype=np.float32 if task == "continuous" else np.int64))
        self.y_valid = np.asarray(inputs.y_valid)
        self.weight = None
        if inputs.class_weight is not None and task != "continuous" and self.loss_name == "cross_entropy":
            self.weight = torch.as_tensor(np.asarray(inputs.class_weight, dtype=np.float32), device=device)
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
            a matching file (see :mod:`genoml_core.models.checkpoint`); ``None``: no checkpoints.

    Returns:
        :class:`FitResult`.

    Raises:
        ConfigError: for a task/loss mismatch or a network with the wrong number of outputs.
        InputError: when X and y lengths differ or X yields no proper batches.
    """
    _check_inputs(X, y, X_valid, y_valid, task, options)
    setup = _prepare(module, options, seed, device)
    module, generator, optimizer, dtype, scaler = (
        setup.module, setup.generator, setup.optimizer, setup.dtype, setup.scaler
    )
    inputs = _Inputs(X, y, X_valid, y_valid, task, options, device, class_weight)
    objective = _Supervised(inputs, setup)
    metric = objective.metric
    _warn_if_fallback(metric, task, len(objective.y_valid))
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
    history = run_epochs(
        module, len(X), objective, batch_size=options.batch_size, max_epochs=options.max_epochs,
        optimizer=optimizer, generator=generator, device=device, scaler=scaler, stopping=stopping,
        checkpointer=checkpointer, lr_at=setup.lr_at,
    )  # fmt: skip
    log.info("restored epoch %d weights (valid_%s=%.4f)", stopping.best_epoch, metric, stopping.best_score)
    return _result(module, history, stopping, metric, device, dtype)


def _check_inputs(
    X: RowSource, y: np.ndarray, X_valid: RowSource, y_valid: np.ndarray, task: str, options: TrainOptions
) -> None:
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    _resolve_loss(task, options.loss)
    _check_xy(X, y, "training set")
    _check_xy(X_valid, y_valid, "validation set")
    _check_sizes(X, X_valid)


def _warn_if_fallback(metric: str, task: str, n_valid: int) -> None:
    if metric == FALLBACK_METRIC:
        log.warning(
            "validation metric %s is undefined on this validation set (%d rows); early stopping uses "
            "the negative validation loss instead",
            METRICS[task],
            n_valid,
        )


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
