"""The Res-VAE's training loop (:func:`fit_vae`)."""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import Checkpointer, CheckpointSpec, fingerprint
from ..loop import EarlyStopping, EpochEnd, RowSource, amp_dtype, autocast, iter_batches, load_batch, run_epochs
from ..nn.res_vae import ResVAE, kl_weight
from .options import FALLBACK_METRIC, FitResult, TrainOptions, VAEOptions, _prepare
from .supervised import _check_sizes, _result

log = logging.getLogger("genoml_core.models.training")  # the package's name, not __name__: warnings.json records it


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
    """The :class:`~genoml_core.models.loop.Objective` of a Res-VAE (see :func:`fit_vae`)."""

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
    """Train a :class:`~genoml_core.models.nn.ResVAE`: reconstruction + ``beta`` * KL with warm-up.

    The KL weight follows :func:`~genoml_core.models.nn.res_vae.kl_weight` during training; early
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
    setup = _prepare(module, options, seed, device)
    generator, optimizer, dtype, scaler = setup.generator, setup.optimizer, setup.dtype, setup.scaler  # module.to: in place
    stopping = EarlyStopping(module, patience=options.patience, min_delta=options.min_delta)
    checkpointer = Checkpointer(
        checkpoint,
        lambda: fingerprint("vae", module, X, X_valid, options=options, seed=seed, device=device, dtype=dtype),
        module=module, optimizer=optimizer, scaler=scaler, generator=generator, tracker=stopping, device=device,
        max_epochs=options.max_epochs,
    )  # fmt: skip
    objective = _VAE(module, X, X_valid=X_valid, options=options, device=device, dtype=dtype)
    history = run_epochs(
        module, len(X), objective, batch_size=options.batch_size, max_epochs=options.max_epochs,
        optimizer=optimizer, generator=generator, device=device, scaler=scaler, stopping=stopping,
        checkpointer=checkpointer, lr_at=setup.lr_at,
    )  # fmt: skip
    return _result(module, history, stopping, FALLBACK_METRIC, device, dtype)
