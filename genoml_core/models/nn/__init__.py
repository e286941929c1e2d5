"""PyTorch networks from AutoGenome (Liu et al. 2021), written from the paper's description, and TabM.

Every class here is a plain ``nn.Module`` with keyword-only, validated arguments: no I/O, no
device choice, no seeding. Training lives in :mod:`genoml_core.models.training`, sklearn-style wrappers
in :mod:`genoml_core.models.estimators`.
"""

from .blocks import ACTIVATIONS, FCUnit, ResidualFCUnit, input_dropout, make_activation
from .mlp import MLP
from .res_vae import ResVAE, VAELoss, VAEOutput, kl_weight, vae_widths
from .rfcn_densenet import DenseFCBlock, RFCNDenseNet
from .rfcn_resnet import RFCNResNet
from .tabm import TABM_ARCH_TYPES, TabMNet

__all__ = [
    "ACTIVATIONS",
    "FCUnit",
    "ResidualFCUnit",
    "input_dropout",
    "make_activation",
    "MLP",
    "RFCNResNet",
    "DenseFCBlock",
    "RFCNDenseNet",
    "ResVAE",
    "VAEOutput",
    "VAELoss",
    "kl_weight",
    "vae_widths",
    "TabMNet",
    "TABM_ARCH_TYPES",
]
