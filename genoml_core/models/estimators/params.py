"""Network settings: the flat ``params`` dict resolved into module kwargs and training options,
the networks built from them, and the checks of ``n_bags``, ``input_clip`` and ``random_state``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from torch import nn

from .. import registry
from ...errors import ConfigError
from ...io import plain_scalar
from ...tuning.net_spaces import NET_SPACES, RECIPE_SPACE, SHARED_SPACE, parse_block_structure, space_defaults
from ..nn import MLP, ResVAE, RFCNDenseNet, RFCNResNet, TabMNet
from ..nn.bagged import BaggedNet, SmoothClipped
from ..nn.rrfcn import RRFCN, Architecture
from ..training import TrainOptions, VAEOptions, balanced_class_weights

#: Supervised networks :func:`make_net` can build (the registry's learners of kind ``net``).
NET_ARCHS = registry.names(kinds="net")
#: Networks whose wiring comes from an architecture search (genoml_core.models.nas), not a search space:
#: ``params["arch_json"]`` is the architecture (``Architecture.to_json()``); kind ``searched_net``.
SEARCHED_ARCHS = registry.names(kinds="searched_net")
#: Embedding networks (see :class:`ResVAEEmbedder`).
EMBED_ARCHS = ("res_vae",)
#: ``n_bags: auto`` trains :data:`AUTO_BAGS` bags when the estimator fits on at most this many
#: rows (its 10% early-stopping holdout would be under 100 rows), else one network.
AUTO_BAG_MAX_ROWS = 1000
#: Bags of ``n_bags: auto`` on small training sets (an inner 5-fold: each bag trains on 80% of the
#: rows and stops early on the other 20%).
AUTO_BAGS = 5

_MODULE_CLASSES: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "rfcn_resnet": RFCNResNet,
    "rfcn_densenet": RFCNDenseNet,
    "res_vae": ResVAE,
    "rrfcn": RRFCN,
    "tabm": TabMNet,
}
# architecture keys beyond the search space that params may set
_EXTRA_MODULE_KEYS: dict[str, dict[str, Any]] = {
    "mlp": {"activation": "relu"},
    "rfcn_resnet": {"activation": "relu"},
    "rfcn_densenet": {"activation": "relu", "compression": 0.5},
    "res_vae": {"activation": "relu"},
    "rrfcn": {"activation": "relu"},
    "tabm": {"activation": "relu"},
}
# defaults of the searched networks: the shared optimisation keys, input keep ratio, no architecture
_SEARCHED_DEFAULTS: dict[str, dict[str, Any]] = {
    "rrfcn": {
        "arch_json": None, "keep_ratio": 1.0,
        **{k: v["default"] for k, v in {**SHARED_SPACE, **RECIPE_SPACE}.items()},
    },
}


def _param_defaults(arch: str) -> dict[str, Any]:
    return dict(_SEARCHED_DEFAULTS[arch]) if arch in _SEARCHED_DEFAULTS else space_defaults(arch)


_INT_KEYS = {
    "n_layers", "d_layer", "n_blocks", "d_block", "growth_rate", "d_first", "d_latent", "batch_size",
    "max_epochs", "patience", "kl_warmup_epochs", "eval_batch_size", "max_pairs", "k",
}  # fmt: skip


# ----------------------------------------------------------------------------- params -> module
def resolve_params(arch: str, params: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a flat ``params`` dict into module kwargs and training options, filling defaults.

    Missing keys take ``NET_SPACES[arch]`` defaults. Integral floats for integer keys become
    ints (tuners and YAML may hand over ``64.0``) and NumPy scalars become Python scalars.

    Args:
        arch: a key of ``NET_SPACES``.
        params: the user's settings, or ``None`` for all defaults.

    Returns:
        ``(module_kwargs, train_options)``: module kwargs without ``d_in``/``d_out``, and a
        plain dict for :class:`~genoml_core.models.training.TrainOptions` (or ``VAEOptions``).

    Raises:
        ConfigError: for an unknown arch or key, naming what is allowed.

    Example:
        >>> module_kwargs, options = resolve_params("mlp", {"n_layers": 3, "d_layer": 64, "lr": 0.01})
        >>> module_kwargs["d_hidden"], options["lr"]
        ([64, 64, 64], 0.01)
    """
    if arch not in NET_SPACES and arch not in _SEARCHED_DEFAULTS:
        raise ConfigError(f"unknown network {arch=}; choose one of {NET_ARCHS + SEARCHED_ARCHS + EMBED_ARCHS}")
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"params must be a dict of hyperparameters (or None); got {type(params).__name__}")
    options_cls = VAEOptions if arch in EMBED_ARCHS else TrainOptions
    option_keys = set(options_cls.__dataclass_fields__)
    merged: dict[str, Any] = {**_param_defaults(arch), **_EXTRA_MODULE_KEYS[arch]}
    allowed = set(merged) | option_keys
    unknown = sorted(set(params or {}) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for arch={arch!r}; allowed keys are {sorted(allowed)} "
            "(see genoml_core.tuning.net_spaces.NET_SPACES)"
        )
    for key, value in (params or {}).items():
        value = plain_scalar(value)
        if key in _INT_KEYS and isinstance(value, float) and value.is_integer():
            value = int(value)
        merged[key] = value
    options = {k: merged.pop(k) for k in list(merged) if k in option_keys}
    n_bags = _check_n_bags(merged.pop("n_bags", 1))
    input_clip = _check_input_clip(merged.pop("input_clip", 0.0))
    common = {k: merged[k] for k in ("dropout", "keep_ratio", "activation")}
    if arch == "mlp":
        n_layers = merged["n_layers"]
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ConfigError(f"{n_layers=} must be an integer >= 1")
        module = {"d_hidden": [merged["d_layer"]] * n_layers, **common}
    elif arch == "rfcn_resnet":
        module = {"d_block": merged["d_block"], "n_blocks": merged["n_blocks"], **common}
    elif arch == "rfcn_densenet":
        module = {
            "block_structure": parse_block_structure(merged["block_structure"]),
            "growth_rate": merged["growth_rate"],
            "compression": merged["compression"],
            **common,
        }
    elif arch == "tabm":
        module = {k: merged[k] for k in ("k", "n_blocks", "d_block", "arch_type")} | common
    elif arch == "rrfcn":
        if merged["arch_json"] is None:
            raise ConfigError(
                "arch='rrfcn' needs params['arch_json'], an architecture from results/nas/architectures.json "
                '(e.g. \'{"widths": [64, 16], "skips": [[], [0]], "skip_mode": "sum"}\')'
            )
        try:
            wiring = Architecture.from_json(merged["arch_json"])
        except ValueError as err:
            raise ConfigError(f"arch='rrfcn': params['arch_json'] is not a valid architecture: {err}") from err
        module = {**wiring.module_kwargs(), **common}
    else:  # res_vae
        module = {k: merged[k] for k in ("n_layers", "d_first", "width_decay", "d_latent")} | common
    if arch not in EMBED_ARCHS:
        module["n_bags"] = n_bags
        if input_clip:
            module["input_clip"] = input_clip
    return module, options


def _check_input_clip(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"input_clip={value!r} must be a number >= 0 (0: off)")
    return float(value)


def _check_n_bags(value: Any) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"n_bags={value!r} must be 'auto' or an integer >= 1")
    return value


def resolve_n_bags(value: int | str, n_rows: int) -> int:
    """The number of bags to train: ``value``, or for ``"auto"`` :data:`AUTO_BAGS` when the
    estimator fits on at most :data:`AUTO_BAG_MAX_ROWS` rows, else 1.

    Example:
        >>> resolve_n_bags("auto", 177), resolve_n_bags("auto", 1400), resolve_n_bags(3, 1400)
        (5, 1, 3)
    """
    value = _check_n_bags(value)
    if value == "auto":
        return AUTO_BAGS if n_rows <= AUTO_BAG_MAX_ROWS else 1
    return int(value)


def build_module(arch: str, module_kwargs: Mapping[str, Any]) -> nn.Module:
    """Instantiate the network for ``arch`` from its full kwargs (including ``d_in``/``d_out``).

    Raises:
        ConfigError: for an unknown arch or an impossible value (the module's own message).
    """
    if arch not in _MODULE_CLASSES:
        raise ConfigError(f"unknown network {arch=}; choose one of {tuple(_MODULE_CLASSES)}")
    kwargs = dict(module_kwargs)
    n_bags = _check_n_bags(kwargs.pop("n_bags", 1))
    n_bags = 1 if n_bags == "auto" else n_bags  # "auto" is resolved at fit time
    clip = _check_input_clip(kwargs.pop("input_clip", 0.0))

    def one() -> nn.Module:
        net = _MODULE_CLASSES[arch](**kwargs)
        return SmoothClipped(net, clip) if clip else net

    try:
        if n_bags > 1:
            return BaggedNet([one() for _ in range(n_bags)])
        return one()
    except (TypeError, ValueError) as err:
        raise ConfigError(f"cannot build {arch!r} from {dict(module_kwargs)}: {err}") from err



def _check_random_state(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ConfigError(
            f"{random_state=} must be an integer seed (nets are seeded explicitly for reproducibility)"
        )
    if not 0 <= int(random_state) < 2**32:
        raise ConfigError(f"{random_state=} must be in [0, 2**32)")
    return int(random_state)


_CLASS_WEIGHT_HELP = "class_weight={cw} must be 'balanced', 'none' (or None) or a {{class: weight}} dict"


def _class_weight_vector(cw: str | Mapping[Any, float] | None, classes: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """The per-class loss weights of a classifier for ``class_weight=cw`` (``None``: unweighted),
    given its ``classes`` and the class codes of its training rows."""
    # "none" is the config's spelling (train.class_weight: none) of None: unweighted
    if cw is None or (isinstance(cw, str) and cw == "none"):
        return None
    n_classes = len(classes)
    if isinstance(cw, str):
        if cw != "balanced":
            raise ConfigError(_CLASS_WEIGHT_HELP.format(cw=repr(cw)))
        return balanced_class_weights(codes, n_classes)
    if isinstance(cw, Mapping):
        unknown = [k for k in cw if k not in set(classes.tolist())]
        if unknown:
            raise ConfigError(f"class_weight names classes {unknown} absent from y ({classes.tolist()})")
        return np.array([float(cw.get(c, 1.0)) for c in classes.tolist()], dtype=np.float32)
    raise ConfigError(_CLASS_WEIGHT_HELP.format(cw=repr(cw)))
