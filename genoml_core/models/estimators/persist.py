"""Saving and loading the torch estimators: ``state_dict.pt`` (the weights only) and ``arch.json``
(everything needed to rebuild the estimator); see :meth:`NetEstimator.save` and
:meth:`NetEstimator.load`."""

from __future__ import annotations

import io
import logging
import math
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sklearn
import torch
from sklearn.utils.validation import check_is_fitted

from ... import __version__
from ...errors import InputError
from ...io import atomic_path, plain_scalar, read_json, to_plain, write_json
from ...runtime import resolve_device
from ..training import TrainOptions, VAEOptions
from .params import _EXTRA_MODULE_KEYS, EMBED_ARCHS, _param_defaults, build_module

if TYPE_CHECKING:
    from .net import NetEstimator

# NOTE: the package's logger, not __name__ (log filters name it)
log = logging.getLogger("genoml_core.models.estimators")

_FORMAT = "genoml_core.net/1"


def _estimator_classes() -> dict[str, type[NetEstimator]]:
    """The classes :func:`load_net` rebuilds, by the name ``arch.json`` records."""
    from .net import NetEstimator
    from .supervised import NetClassifier, NetRegressor
    from .vae import ResVAEEmbedder

    return {
        "NetEstimator": NetEstimator,
        "NetClassifier": NetClassifier,
        "NetRegressor": NetRegressor,
        "ResVAEEmbedder": ResVAEEmbedder,
    }


def _init_params_json(est: NetEstimator) -> dict[str, Any]:
    params = est.get_params(deep=False)
    cw = params.get("class_weight")
    if isinstance(cw, Mapping):
        params["class_weight"] = {"__pairs__": [[plain_scalar(k), float(v)] for k, v in cw.items()]}
    return to_plain(params)


def _extra_state(est: NetEstimator) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if hasattr(est, "classes_"):
        state["classes"] = est.classes_.tolist()
        state["classes_dtype"] = est.classes_.dtype.str
    if hasattr(est, "y_mean_"):
        state["target_scaling"] = {"mean": est.y_mean_, "scale": est.y_scale_}
    return state


def save_net(est: NetEstimator, directory: str | Path) -> Path:
    """Write ``est`` into ``directory``, as :meth:`NetEstimator.save` documents; return the directory."""
    check_is_fitted(est, "module_")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in est.module_.state_dict().items()}
    buffer = io.BytesIO()  # torch.save names the archive after a file (a random temporary name)
    torch.save(state, buffer)
    with atomic_path(directory / "state_dict.pt") as tmp:
        Path(tmp).write_bytes(buffer.getvalue())
    meta = {
        "format": _FORMAT,
        "estimator": type(est).__name__,
        "arch": est.arch,
        "task": getattr(est, "task", None),
        "init_params": _init_params_json(est),
        "params": {**_param_defaults(est.arch), **_EXTRA_MODULE_KEYS[est.arch], **(est.params or {})},
        "module": {"class": type(est.module_).__name__, "kwargs": est.module_kwargs_},
        "train_options": est.train_options_.to_dict(),
        "n_features": est.n_features_in_,
        "feature_names": est.feature_names_in_.tolist() if hasattr(est, "feature_names_in_") else None,
        **_extra_state(est),
        "best_epoch": est.best_epoch_,
        "best_score": est.best_score_,
        "bags": getattr(est, "bags_", None),
        "metric": est.metric_,
        "history": est.history_,
        "device": str(est.device_),
        "versions": {
            "genoml_core": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
    }
    write_json(to_plain(meta), directory / "arch.json")
    log.info("saved %s (%s) to %s", type(est).__name__, est.arch, directory)
    return directory


def load_net(cls: type[NetEstimator], directory: str | Path, *, device: str | None = None) -> NetEstimator:
    """Rebuild the estimator saved in ``directory``, as :meth:`NetEstimator.load` documents."""
    directory = Path(directory)
    arch_file, weights_file = directory / "arch.json", directory / "state_dict.pt"
    for path in (arch_file, weights_file):
        if not path.is_file():
            raise InputError(f"{path} is missing; expected a directory written by NetEstimator.save")
    meta = read_json(arch_file)
    if meta.get("format") != _FORMAT:
        raise InputError(f"{arch_file} has format {meta.get('format')!r}; expected {_FORMAT!r}")
    est_cls = _estimator_classes().get(meta.get("estimator"))
    if est_cls is None or not issubclass(est_cls, cls):
        raise InputError(f"{arch_file} holds a {meta.get('estimator')!r}, not a {cls.__name__}")
    init = dict(meta["init_params"])
    cw = init.get("class_weight")
    if isinstance(cw, Mapping) and "__pairs__" in cw:
        init["class_weight"] = {k: v for k, v in cw["__pairs__"]}
    if device is not None:
        init["device"] = device
    est = est_cls(**init)
    module = build_module(meta["arch"], meta["module"]["kwargs"])
    state = torch.load(weights_file, map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    if meta["versions"].get("torch") != torch.__version__:
        log.info("model saved with torch %s, loaded with %s", meta["versions"].get("torch"), torch.__version__)
    est.device_ = resolve_device(est.device)
    est.module_ = module.to(est.device_).eval()
    est.module_kwargs_ = meta["module"]["kwargs"]
    options_cls = VAEOptions if meta["arch"] in EMBED_ARCHS else TrainOptions
    est.train_options_ = options_cls.from_dict(meta["train_options"])
    est.n_features_in_ = int(meta["n_features"])
    if meta.get("feature_names") is not None:
        est.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
    if "classes" in meta:
        est.classes_ = np.asarray(meta["classes"], dtype=np.dtype(meta["classes_dtype"]))
    if "target_scaling" in meta:
        est.y_mean_ = float(meta["target_scaling"]["mean"])
        est.y_scale_ = float(meta["target_scaling"]["scale"])
    est.history_ = meta["history"]
    est.best_epoch_ = meta["best_epoch"]
    if meta.get("bags") is not None:
        est.bags_ = meta["bags"]
    est.best_score_ = -math.inf if meta["best_score"] is None else meta["best_score"]
    est.metric_ = meta["metric"]
    est._after_load()
    return est
