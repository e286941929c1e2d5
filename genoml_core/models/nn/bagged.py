"""Wrappers around a network: several trained copies scored as one (the mean prediction of the
bags), and smooth clipping of the inputs.

:class:`~genoml_core.models.estimators.NetEstimator` trains ``n_bags`` copies of a network, each on its
own part of the training rows and early-stopped on the rest (an inner K-fold, as AutoGluon bags
its models), and keeps them in a :class:`BaggedNet`. Everything downstream (prediction,
calibration, stacking, gradient SHAP, saving) then sees one ordinary module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["BaggedNet", "SmoothClipped", "smooth_clip"]


def smooth_clip(x: Tensor, clip: float) -> Tensor:
    """RealMLP's smooth clipping (Holzmüller et al. 2024): ``x / sqrt(1 + (x / clip)^2)``.

    Near the identity for ``|x|`` well below ``clip``, it tends to ``+-clip``: an outlying
    standardized value (a rare homozygote, an extreme expression level) cannot dominate a unit.

    Example:
        >>> [round(v, 3) for v in smooth_clip(torch.tensor([0.5, 3.0, 100.0]), 3.0).tolist()]
        [0.493, 2.121, 2.999]
    """
    return x / torch.sqrt(1 + (x / clip) ** 2)


class SmoothClipped(nn.Module):
    """``net`` applied to smoothly clipped inputs (:func:`smooth_clip`).

    Args:
        net: the network.
        clip: the clipping scale (> 0), in units of the standardized inputs.
    """

    def __init__(self, net: nn.Module, clip: float) -> None:
        super().__init__()
        if not clip > 0:
            raise ValueError(f"input_clip={clip!r} must be > 0 (0 turns clipping off)")
        self.net = net
        self.clip = float(clip)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(smooth_clip(x, self.clip))


class BaggedNet(nn.Module):
    """The mean of ``members``' predictions.

    A member's output has ``d_out`` columns: class logits (or log-probabilities) when
    ``d_out >= 2``, a regression output when ``d_out == 1``. The bag returns the log of the
    members' mean class probability (so a softmax of it is that mean), or their mean output.
    It is built already trained and is never trained as a whole.

    Args:
        members: two or more modules with the same input and output shapes.

    Example:
        >>> bag = BaggedNet([nn.Linear(4, 3), nn.Linear(4, 3)]).eval()
        >>> x = torch.randn(5, 4)
        >>> p = (bag[0](x).softmax(-1) + bag[1](x).softmax(-1)) / 2
        >>> torch.allclose(bag(x).softmax(-1), p, atol=1e-6)
        True
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"a BaggedNet needs at least 2 members; got {len(members)}")
        self.members = nn.ModuleList(members)

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, i: int) -> nn.Module:
        return self.members[i]

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            raise RuntimeError("a BaggedNet is assembled from trained members; train the members, not the bag")
        # (n_bags, batch, d_out), combined in float64: a row's result then does not depend on
        # where it sits in the batch (vectorised float32 exp/log round the tail differently)
        outs = torch.stack([m(x).double() for m in self.members], dim=0)
        if outs.shape[-1] == 1:
            return outs.mean(dim=0).float()
        # log of the mean probability, stably: logsumexp over bags of log-softmax - log n_bags
        return (torch.logsumexp(torch.log_softmax(outs, dim=-1), dim=0) - math.log(len(self.members))).float()
