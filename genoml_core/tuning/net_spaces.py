"""Default hyperparameter search spaces for the AutoGenome networks.

Each space is a plain dict of parameter name -> spec, in the format the tuner reads:

- ``{"type": "float" | "int", "low": ..., "high": ..., "log": bool, "default": ...}``
- ``{"type": "categorical", "values": [...], "default": ...}``

Specs hold scalars only, so RFCN-DenseNet's block structure is a categorical string such as
``"2-3-4"`` that :func:`parse_block_structure` turns into ``[2, 3, 4]``. The architecture
choices follow AutoGenome (Liu et al. 2021); the shared optimisation keys are ours. The
``default`` values give a small model that trains in seconds on a laptop and is a sound first
trial; ``max_epochs`` is deliberately small (early stopping usually ends a run sooner).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError

__all__ = [
    "NET_SPACES",
    "SHARED_SPACE",
    "RECIPE_SPACE",
    "BLOCK_STRUCTURES",
    "space_for",
    "space_defaults",
    "parse_block_structure",
]

_WIDTHS_1024 = [8, 16, 32, 64, 128, 256, 512, 1024]
_WIDTHS_512 = [8, 16, 32, 64, 128, 256, 512]
_KEEP_RATIO = {"type": "categorical", "values": [0.6, 0.8, 1.0], "default": 1.0}
#: Bags per fitted network (genoml_core.models.estimators): each bag trains on its own 80% of the rows and
#: stops early on the rest, and the bags' mean prediction is the model's. "auto": 5 bags when the
#: network fits on at most 1,000 rows (where a 10% early-stopping holdout is too few rows to stop on
#: and one network's variance dominates), else 1.
_N_BAGS = {"type": "categorical", "values": ["auto", 1, 3, 5], "default": "auto"}
#: RealMLP's smooth clipping of the standardized inputs, x / sqrt(1 + (x / c)^2) (0: off), and the
#: learning-rate schedule: searched, off / constant by default, as neither changed the OOF metric
#: on GSE7390 or the simulated expression set (BENCHMARKS.md).
_INPUT_CLIP = {"type": "categorical", "values": [0.0, 3.0], "default": 0.0}
_LR_SCHEDULE = {"type": "categorical", "values": ["constant", "cosine"], "default": "constant"}
#: The recipe keys every supervised network has (the rrfcn retrain takes their defaults too).
RECIPE_SPACE: dict[str, dict[str, Any]] = {"n_bags": _N_BAGS, "input_clip": _INPUT_CLIP, "lr_schedule": _LR_SCHEDULE}

#: RFCN-DenseNet block structures: runs of consecutive unit counts drawn from AutoGenome's
#: {2, 3, 4} and {3, 4, 5} (one, two or three dense blocks).
BLOCK_STRUCTURES = ["2", "3", "4", "2-3", "3-4", "4-5", "2-3-4", "3-4-5"]

#: Optimisation keys shared by every network.
SHARED_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True, "default": 1e-3},
    "batch_size": {"type": "categorical", "values": [32, 64, 128, 256], "default": 64},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True, "default": 1e-4},
    "optimizer": {"type": "categorical", "values": ["adamw", "sgd"], "default": "adamw"},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99, "log": False, "default": 0.9},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": False, "default": 0.1},
    "max_epochs": {"type": "int", "low": 5, "high": 100, "log": False, "default": 30},
    "patience": {"type": "int", "low": 2, "high": 20, "log": False, "default": 5},
}

_ARCH_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "mlp": {
        "n_layers": {"type": "int", "low": 1, "high": 4, "log": False, "default": 2},
        "d_layer": {"type": "categorical", "values": _WIDTHS_1024, "default": 128},
        "keep_ratio": _KEEP_RATIO,
        **RECIPE_SPACE,
    },
    "rfcn_resnet": {
        "n_blocks": {"type": "categorical", "values": [1, 2, 3, 5, 6], "default": 2},
        "d_block": {"type": "categorical", "values": _WIDTHS_512, "default": 128},
        "keep_ratio": _KEEP_RATIO,
        **RECIPE_SPACE,
    },
    "rfcn_densenet": {
        "block_structure": {"type": "categorical", "values": BLOCK_STRUCTURES, "default": "2-3"},
        "growth_rate": {"type": "categorical", "values": _WIDTHS_512, "default": 32},
        "keep_ratio": _KEEP_RATIO,
        **RECIPE_SPACE,
    },
    # TabM (Gorishniy et al. 2025; the tabm package): the paper's defaults (k = 32 members, 3
    # blocks without numeric embeddings, dropout 0.1; AdamW, lr 2e-3, weight decay 3e-4, batch 256)
    # but a width of 128, not 512, and patience 8, not 16. On 2 CPU cores a 512-wide TabM took
    # 4.8 s per epoch on 1,300 x 1,012 standardized genotypes against 0.44 s at 128 (raise d_block
    # on a GPU). Patience 8 halved a trial on the example (65 -> 37 s, the same OOF AUC 0.657) and
    # cost 0.005 accuracy on the simulated expression set (0.569 -> 0.564, inside its CI); k = 16
    # would cost 0.020 there. On CPUs with native bf16 TabM trains under bf16 autocast
    # (cpu_bf16), with a byte-mask dropout and per-member scaled first-layer weights (models/nn/tabm.py): one
    # trial on the example 47-51 -> 27 s in the same run (BENCHMARKS.md). The keys here override
    # SHARED_SPACE's.
    "tabm": {
        "k": {"type": "categorical", "values": [8, 16, 32], "default": 32},
        "n_blocks": {"type": "int", "low": 1, "high": 4, "log": False, "default": 3},
        "d_block": {"type": "categorical", "values": [64, 128, 256, 512, 1024], "default": 128},
        "arch_type": {"type": "categorical", "values": ["tabm", "tabm-mini"], "default": "tabm"},
        "keep_ratio": _KEEP_RATIO,
        **RECIPE_SPACE,
        "lr": {"type": "float", "low": 1e-4, "high": 5e-3, "log": True, "default": 2e-3},
        "weight_decay": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True, "default": 3e-4},
        "batch_size": {"type": "categorical", "values": [64, 128, 256, 512], "default": 256},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": False, "default": 0.1},
        "max_epochs": {"type": "int", "low": 10, "high": 200, "log": False, "default": 100},
        "patience": {"type": "int", "low": 4, "high": 32, "log": False, "default": 8},
        # bf16 autocast for training on CPUs with native bf16 (float32 on others and for scoring); not
        # searched: set values: [false] in the config's search_spaces to train in float32
        "cpu_bf16": {"type": "categorical", "values": [True], "default": True},
    },
    "res_vae": {
        "n_layers": {"type": "categorical", "values": [3, 4, 5], "default": 3},
        "d_first": {"type": "categorical", "values": [4096, 2048, 1024, 512, 256, 128], "default": 512},
        "width_decay": {"type": "categorical", "values": [0.8, 0.6, 0.5], "default": 0.5},
        "d_latent": {"type": "categorical", "values": [2, 4, 8, 16, 32, 64], "default": 16},
        "keep_ratio": _KEEP_RATIO,
        "beta": {"type": "float", "low": 0.1, "high": 4.0, "log": True, "default": 1.0},
        "kl_warmup_epochs": {"type": "int", "low": 0, "high": 20, "log": False, "default": 5},
    },
}

#: The default search space of each network: architecture keys plus :data:`SHARED_SPACE` (a key the
#: architecture defines itself, e.g. TabM's ``lr``, keeps the architecture's spec).
NET_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    arch: {**space, **{k: v for k, v in SHARED_SPACE.items() if k not in space}} for arch, space in _ARCH_SPACES.items()
}


def space_for(arch: str) -> dict[str, dict[str, Any]]:
    """A deep copy of ``NET_SPACES[arch]`` that the caller may edit.

    Raises:
        ConfigError: for an unknown ``arch``.
    """
    if arch not in NET_SPACES:
        raise ConfigError(f"unknown network {arch=}; choose one of {sorted(NET_SPACES)}")
    return copy.deepcopy(NET_SPACES[arch])


def space_defaults(arch: str) -> dict[str, Any]:
    """The ``default`` of every key in ``NET_SPACES[arch]``: a fast, reasonable first trial.

    Example:
        >>> space_defaults("rfcn_resnet")["n_blocks"]
        2
    """
    return {name: spec["default"] for name, spec in space_for(arch).items()}


def parse_block_structure(value: str | int | Sequence[int]) -> list[int]:
    """Turn a block structure such as ``"2-3-4"`` (or ``[2, 3, 4]``, or ``3``) into a list.

    Raises:
        ConfigError: when the value is not dash-separated positive integers.

    Example:
        >>> parse_block_structure("2-3-4")
        [2, 3, 4]
    """
    if isinstance(value, bool):
        raise ConfigError(f"block_structure={value!r} must look like '2-3-4'")
    if isinstance(value, int):
        parts: list[Any] = [value]
    elif isinstance(value, str):
        parts = value.strip().split("-")
    elif isinstance(value, Sequence):
        parts = list(value)
    else:
        raise ConfigError(f"block_structure={value!r} must look like '2-3-4'")
    try:
        counts = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise ConfigError(f"block_structure={value!r} must look like '2-3-4'") from None
    if not counts or any(c <= 0 for c in counts) or any(str(c) != str(p).strip() for c, p in zip(counts, parts)):
        raise ConfigError(f"block_structure={value!r} must be dash-separated positive integers, like '2-3-4'")
    return counts
