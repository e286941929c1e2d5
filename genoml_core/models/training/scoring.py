"""Losses, validation metrics and batched prediction of the networks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from torch import Tensor, nn

from ...errors import ConfigError, InputError
from ..loop import RowSource, iter_batches, load_batch
from ..loop import amp_dtype as _amp_dtype
from ..loop import autocast as _autocast
from ..registry import TASKS


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
