"""AutoGenome's Res-VAE: a variational autoencoder built from residual FC units."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import FCUnit, ResidualFCUnit, _check_dropout, _check_positive_int, input_dropout

__all__ = ["VAEOutput", "VAELoss", "ResVAE", "vae_widths", "kl_weight"]

# NOTE[DIFF]: log-variance is clamped to this range before use, so exp() cannot overflow early in
# training (scvi-tools and most VAE code bound the variance in some way; AutoGenome does not say).
_LOGVAR_RANGE = (-10.0, 10.0)


@dataclass
class VAEOutput:
    """What :meth:`ResVAE.forward` returns.

    Attributes:
        recon: reconstruction of the input, ``(batch, d_in)``.
        mu: posterior mean, ``(batch, d_latent)``.
        logvar: posterior log-variance (clamped), ``(batch, d_latent)``.
        z: the latent sample (``mu`` itself in eval mode), ``(batch, d_latent)``.
    """

    recon: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor


@dataclass
class VAELoss:
    """What :meth:`ResVAE.loss` returns; every field is a scalar tensor (mean over the batch).

    Attributes:
        total: ``recon + beta * kl``, the quantity to minimise.
        recon: squared error summed over features.
        kl: KL divergence from the standard normal prior, summed over latent dimensions.
    """

    total: Tensor
    recon: Tensor
    kl: Tensor


def vae_widths(*, n_layers: int, d_first: int, width_decay: float) -> list[int]:
    """Encoder widths ``round(d_first * width_decay**i)`` for ``i < n_layers`` (at least 1 each).

    Example:
        >>> vae_widths(n_layers=3, d_first=512, width_decay=0.5)
        [512, 256, 128]
    """
    _check_positive_int(n_layers=n_layers, d_first=d_first)
    if isinstance(width_decay, bool) or not isinstance(width_decay, (int, float)) or not 0 < width_decay <= 1:
        raise ValueError(f"{width_decay=} must be in (0, 1]")
    return [max(1, int(round(d_first * width_decay**i))) for i in range(n_layers)]


def kl_weight(epoch: int, *, beta: float = 1.0, warmup_epochs: int = 0) -> float:
    """KL warm-up: the KL weight for a 0-based ``epoch``, ramping linearly up to ``beta``.

    The weight is ``beta * min(1, (epoch + 1) / warmup_epochs)``, and ``beta`` when
    ``warmup_epochs`` is 0.

    Example:
        >>> [kl_weight(e, beta=1.0, warmup_epochs=4) for e in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if epoch < 0:
        raise ValueError(f"{epoch=} must be >= 0")
    if warmup_epochs < 0:
        raise ValueError(f"{warmup_epochs=} must be >= 0")
    if beta < 0:
        raise ValueError(f"{beta=} must be >= 0")
    if warmup_epochs == 0:
        return float(beta)
    return float(beta) * min(1.0, (epoch + 1) / warmup_epochs)


class ResVAE(nn.Module):
    """Residual variational autoencoder (AutoGenome's Res-VAE) for continuous inputs.

    Encoder: input dropout (``p = 1 - keep_ratio``), a stem FC unit to ``d_first`` features, then
    residual FC units shrinking to ``d_first * width_decay**i`` (projected shortcuts, since widths
    differ); linear heads for the posterior mean and log-variance. Decoder: an FC unit from the
    latent space to the narrowest width, residual FC units growing back to ``d_first``, and a
    linear output layer (no activation: reconstruction targets are continuous, e.g. scaled
    dosages or expression). ``forward`` samples ``z`` by reparameterisation in training mode and
    uses ``z = mu`` in eval mode, so embeddings are deterministic.

    Args:
        d_in: number of input features.
        n_layers: FC units in the encoder (and in the decoder).
        d_first: width of the first encoder unit.
        width_decay: ratio between successive encoder widths, in (0, 1].
        d_latent: latent dimensions.
        dropout: dropout probability after each activation.
        keep_ratio: fraction of input features kept by the input dropout, in (0, 1].
        activation: activation of the FC units (see ``blocks.ACTIVATIONS``).

    Shape:
        - Input: ``(batch, d_in)``
        - Output: :class:`VAEOutput` with ``recon (batch, d_in)`` and
          ``mu, logvar, z (batch, d_latent)``

    Example:
        >>> import torch
        >>> vae = ResVAE(d_in=30, n_layers=3, d_first=64, width_decay=0.5, d_latent=4,
        ...              dropout=0.0, keep_ratio=1.0)
        >>> x = torch.randn(8, 30)
        >>> out = vae(x)
        >>> tuple(out.recon.shape), tuple(out.z.shape)
        ((8, 30), (8, 4))
        >>> loss = vae.loss(x, out, beta=0.5)
        >>> bool(torch.isclose(loss.total, loss.recon + 0.5 * loss.kl))
        True
    """

    def __init__(
        self,
        *,
        d_in: int,
        n_layers: int,
        d_first: int,
        width_decay: float,
        d_latent: int,
        dropout: float = 0.0,
        keep_ratio: float = 1.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_positive_int(d_in=d_in, d_latent=d_latent)
        _check_dropout(dropout)
        widths = vae_widths(n_layers=n_layers, d_first=d_first, width_decay=width_decay)
        self.widths = widths
        self.input_dropout = input_dropout(keep_ratio)
        enc: list[nn.Module] = [FCUnit(d_in, widths[0], activation=activation, dropout=dropout)]
        enc += [
            ResidualFCUnit(a, b, activation=activation, dropout=dropout) for a, b in zip(widths[:-1], widths[1:])
        ]
        self.encoder = nn.Sequential(*enc)
        self.mu_head = nn.Linear(widths[-1], d_latent)
        self.logvar_head = nn.Linear(widths[-1], d_latent)
        rev = widths[::-1]
        dec: list[nn.Module] = [FCUnit(d_latent, rev[0], activation=activation, dropout=dropout)]
        dec += [ResidualFCUnit(a, b, activation=activation, dropout=dropout) for a, b in zip(rev[:-1], rev[1:])]
        self.decoder = nn.Sequential(*dec)
        self.output = nn.Linear(rev[-1], d_in)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and (clamped) log-variance, each ``(batch, d_latent)``."""
        h = self.encoder(self.input_dropout(x))
        return self.mu_head(h), self.logvar_head(h).clamp(*_LOGVAR_RANGE)

    def decode(self, z: Tensor) -> Tensor:
        """Reconstruction ``(batch, d_in)`` from latent codes ``(batch, d_latent)``."""
        return self.output(self.decoder(z))

    def forward(self, x: Tensor) -> VAEOutput:
        mu, logvar = self.encode(x)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return VAEOutput(recon=self.decode(z), mu=mu, logvar=logvar, z=z)

    @staticmethod
    def loss(x: Tensor, out: VAEOutput, beta: float = 1.0) -> VAELoss:
        """Reconstruction (squared error summed over features) plus ``beta`` times the KL term.

        Both terms are summed over their dimensions and averaged over the batch (the scale of a
        unit-variance Gaussian log-likelihood, up to constants), so ``beta = 1`` is the ELBO.

        Args:
            x: the input batch ``(batch, d_in)``.
            out: :meth:`forward`'s output for ``x``.
            beta: weight of the KL term (see :func:`kl_weight` for warm-up).

        Returns:
            :class:`VAELoss` of scalar tensors.
        """
        recon = F.mse_loss(out.recon.float(), x.float(), reduction="none").sum(dim=1).mean()
        mu, logvar = out.mu.float(), out.logvar.float()
        kl = (-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()
        return VAELoss(total=recon + beta * kl, recon=recon, kl=kl)
