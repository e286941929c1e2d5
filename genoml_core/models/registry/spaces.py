"""The search-space builders and the memory terms the declarations in :mod:`~genoml_core.models.registry.table` use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...tuning import net_spaces
from ...errors import ConfigError
from .learner import Space, SpaceHook

_MB = 2**20


# ----------------------------------------------------------------------------- search spaces
def _f(low: float, high: float, *, log: bool = False, default: float | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "float", "low": low, "high": high, "log": log}
    if default is not None:
        spec["default"] = default
    return spec


def _i(low: int, high: int, *, log: bool = False, default: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "int", "low": low, "high": high, "log": log}
    if default is not None:
        spec["default"] = default
    return spec


def _c(values: list[Any], *, default: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "categorical", "values": values}
    if default is not None:
        spec["default"] = default
    return spec


def _forest() -> Space:
    return {
        "n_estimators": _i(200, 600, default=300),
        "max_features": _c(["sqrt", 0.05, 0.2], default="sqrt"),
        "min_samples_leaf": _i(1, 10, default=1),
    }


def _sgd_space(*, l1_ratio: bool = False) -> Space:
    # SGD over batches of the int8 store; eta0 is per 1,000 features
    space = {"alpha": _f(1e-5, 1e-1, log=True, default=1e-3)}
    if l1_ratio:
        space["l1_ratio"] = _f(0.0, 1.0, default=0.5)
    space["eta0"] = _f(1e-5, 1e-3, log=True, default=1e-4)
    return space


def _net_space(arch: str) -> SpaceHook:
    """The network's space from :data:`genoml_core.tuning.net_spaces.NET_SPACES`."""

    def space(cfg: Mapping[str, Any] | None) -> Space:
        return net_spaces.space_for(arch)

    space.__qualname__ = f"net_space[{arch}]"
    return space


def _retrain_space(cfg: Mapping[str, Any] | None) -> Space:
    """rrfcn: the architecture comes from results/nas/architectures.json; the space fixes the retrain
    settings (``nas.retrain``)."""
    if cfg is None:
        raise ConfigError("learner 'rrfcn': its search space is the config's nas.retrain; pass the config")
    retrain = cfg["nas"]["retrain"]
    return {k: {"type": "categorical", "values": [v], "default": v} for k, v in sorted(retrain.items())}


def _nas_top_k(cfg: Mapping[str, Any]) -> int:
    """rrfcn: trial t retrains architecture t of the search."""
    return int(cfg["nas"]["top_k"])


# ----------------------------------------------------------------------------- memory terms
def _covariance_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    return 3 * 8 * n_features * n_features  # covariance, its shrunk copy, the solve


def _kernel_cache_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    return 500 * _MB  # the builders' cache_size


def _tree_node_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    trees = int(params.get("n_estimators", 300))
    return trees * n_rows * 2 * 80  # at most ~2 nodes per row per tree, ~80 bytes a node
