"""Training the supervised networks (by task) and the Res-VAE on the one loop of :mod:`genoml_core.models.loop`.

Tasks: ``"binary"`` (two-logit cross-entropy; validation ROC AUC), ``"multiclass"``
(cross-entropy; macro one-vs-rest ROC AUC) and ``"continuous"`` (MSE; R^2). Early stopping
watches the validation metric and the best weights are restored at the end.

``X`` is a :class:`~genoml_core.models.loop.RowSource`: batches are read from it row by row
(:func:`~genoml_core.models.loop.load_batch`), never whole.

Determinism: :func:`fit_supervised` and :func:`fit_vae` call
:func:`~genoml_core.runtime.seed_everything` with their ``seed`` and shuffle with a dedicated
``torch.Generator``, so a CPU run is bit-identical for the same seed, data, initial weights and
thread count. Mixed precision (``torch.autocast`` with bf16, or fp16 with a ``GradScaler`` on
GPUs without bf16) is used only on CUDA.

Checkpoints: given a :class:`~genoml_core.models.checkpoint.CheckpointSpec`, both save their state
every ``every`` epochs and a rerun resumes bit-identical (:mod:`genoml_core.models.checkpoint`).

One module per concern: :mod:`~genoml_core.models.training.options` (:class:`TrainOptions`,
:class:`VAEOptions`, :class:`FitResult`, the schedule and the optimizer),
:mod:`~genoml_core.models.training.scoring` (losses, metrics, :func:`predict_outputs`),
:mod:`~genoml_core.models.training.supervised` (:func:`fit_supervised`) and
:mod:`~genoml_core.models.training.vae` (:func:`fit_vae`). Every public name is importable from
:mod:`genoml_core.models.training` itself.
"""

from __future__ import annotations

from ..checkpoint import CheckpointSpec
from ..loop import RowSource, RowSubset, iter_batches, load_batch
from ..registry import TASKS
from .options import FALLBACK_METRIC as FALLBACK_METRIC
from .options import LOSSES, METRICS, OPTIMIZERS, FitResult, TrainOptions, VAEOptions
from .options import LR_SCHEDULES as LR_SCHEDULES
from .options import scheduled_lr as scheduled_lr
from .scoring import balanced_class_weights, pairwise_auc_loss, predict_outputs, score_outputs
from .supervised import fit_supervised
from .vae import fit_vae

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
