"""The model zip: its layout and format version, the model kinds and their loaders,
:func:`save_model` and :func:`load_model`."""

from __future__ import annotations

import importlib
import json
import logging
import math
import platform
import shutil
import tempfile
import zipfile
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

import numpy as np

from ...errors import InputError
from ...io import atomic_path, json_default
from .trust import _SAVE_FIX, XGBOOST_CLASSES, UntrustedTypesError, _audit_skops, _load_skops, _load_xgboost

# the package's logger name, not __name__ (warnings.json records it)
log = logging.getLogger("genoml_core.models.persist")

FORMAT_VERSION = 1

_RESERVED_META = frozenset({"format_version", "kind", "learner_class", "versions"})
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "xgboost", "skops", "torch")

Loader = Callable[[Path], Any]




def _load_torch(directory: Path) -> Any:
    estimators = importlib.import_module("genoml_core.models.estimators")
    return estimators.NetEstimator.load(directory)


_LOADERS: dict[str, Loader] = {"torch": _load_torch}


def register_kind(kind: str, loader: Loader) -> None:
    """Register (or replace) the loader of a custom model kind.

    Args:
        kind: Value of the estimator's ``_genoml_kind`` attribute; not ``"sklearn"`` or
            ``"xgboost"``.
        loader: ``loader(directory) -> estimator``; ``directory`` holds the files the
            estimator's ``save(directory)`` wrote. It is deleted when the loader returns,
            so the loader must read everything it needs (no lazy memory maps).
    """
    if kind in ("sklearn", "xgboost") or not kind:
        raise ValueError(f"kind {kind!r} is built in or empty; choose another name")
    _LOADERS[kind] = loader


def registered_kinds() -> list[str]:
    """Custom kinds that :func:`load_model` can load."""
    return sorted(_LOADERS)


# ----------------------------------------------------------------------------- helpers
def _versions() -> dict[str, str | None]:
    from ... import __version__

    out: dict[str, str | None] = {"python": platform.python_version(), "genoml_core": __version__}
    for lib in _LIBRARIES:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            out[lib] = None
    return out


def _kind(est: Any) -> str:
    custom = getattr(est, "_genoml_kind", None)
    if custom is not None:
        return str(custom)
    from xgboost import XGBModel

    return "xgboost" if isinstance(est, XGBModel) else "sklearn"


def _xgb_params(est: Any) -> dict[str, Any]:
    """The wrapper's params that survive JSON (drops callables, NaN ``missing`` is the default)."""
    out: dict[str, Any] = {}
    for k, v in est.get_params(deep=False).items():
        if v is None or isinstance(v, (str, bool, int)):
            out[k] = v
        elif isinstance(v, (float, np.floating)) and math.isfinite(float(v)):
            out[k] = float(v)
        elif isinstance(v, np.integer):
            out[k] = int(v)
        else:
            log.debug("xgboost param %s=%r not stored (not JSON)", k, v)
    return out


def _write_payload(est: Any, kind: str, payload: Path) -> None:
    payload.mkdir()
    if kind == "sklearn":
        import skops.io as sio

        data = sio.dumps(est)
        refused, _ = _audit_skops(data)
        if refused:
            raise UntrustedTypesError(
                f"{type(est).__name__} was not saved: it contains {refused}, outside "
                "skops' defaults and SKOPS_TRUSTED_TYPES, " + _SAVE_FIX.format(allow_list="SKOPS_TRUSTED_TYPES")
            )
        (payload / "model.skops").write_bytes(data)
    elif kind == "xgboost":
        pair = (type(est).__module__, type(est).__name__)
        if pair not in XGBOOST_CLASSES:
            raise UntrustedTypesError(
                f"{pair[0]}.{pair[1]} was not saved: it is not one of the XGBoost wrappers in XGBOOST_CLASSES "
                f"({sorted('.'.join(c) for c in XGBOOST_CLASSES)}), " + _SAVE_FIX.format(allow_list="XGBOOST_CLASSES")
            )
        est.save_model(payload / "booster.json")
        classes = getattr(est, "genoml_classes_", None)
        wrapper = {
            "module": type(est).__module__,
            "class": type(est).__name__,
            "params": _xgb_params(est),
            "n_classes": int(getattr(est, "n_classes_", 0)) or None,
            "genoml_classes": None if classes is None else np.asarray(classes).tolist(),
        }
        (payload / "wrapper.json").write_text(json.dumps(wrapper, indent=2))
    else:
        save = getattr(est, "save", None)
        if not callable(save):
            raise TypeError(f"estimator of kind {kind!r} ({type(est).__name__}) needs a save(directory) method")
        save(payload)


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Add a member with a fixed time stamp, so that the same model gives the same file."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


#: The time stamp of every member of a model file (zip's earliest; the file's own mtime is the real one).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------- public API
def save_model(est: Any, path: str | Path, *, meta: Mapping[str, Any]) -> Path:
    """Write ``est`` and ``meta`` to one zip file at ``path``, atomically.

    Args:
        est: A fitted scikit-learn estimator, an XGBoost scikit-learn wrapper, or an
            object with ``_genoml_kind`` and ``save(directory)``.
        path: Destination (conventionally ``model.zip``); parents are created.
        meta: JSON-serializable provenance (config, seed, metrics...). Keys
            ``format_version``, ``kind``, ``learner_class`` and ``versions`` are added here
            and may not be given.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``meta`` uses a reserved key.
        TypeError: ``meta`` is not JSON-serializable, or a custom kind lacks ``save``.
    """
    path = Path(path)
    clash = sorted(set(meta) & _RESERVED_META)
    if clash:
        raise ValueError(f"meta keys {clash} are written by save_model; rename them")
    kind = _kind(est)
    full = dict(meta)
    full.update(
        format_version=FORMAT_VERSION,
        kind=kind,
        learner_class=f"{type(est).__module__}.{type(est).__qualname__}",
        versions=_versions(),
    )
    meta_text = json.dumps(full, indent=2, sort_keys=True, default=json_default, allow_nan=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the payload is staged beside the destination: model files can be large for /tmp
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
        payload = Path(tmp) / "payload"
        _write_payload(est, kind, payload)
        files = sorted(p for p in payload.rglob("*") if p.is_file())
        with atomic_path(path) as part:
            with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                _add(zf, "meta.json", meta_text.encode())
                for f in files:
                    _add(zf, (PurePosixPath("payload") / f.relative_to(payload).as_posix()).as_posix(), f.read_bytes())
    log.info("saved %s model (%s) to %s", kind, full["learner_class"], path)
    return path



def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Read a file written by :func:`save_model`.

    Args:
        path: The model zip.

    Returns:
        ``(estimator, meta)`` where ``meta`` is the stored ``meta.json`` (caller's keys plus
        ``format_version``, ``kind``, ``learner_class``, ``versions``).

    Raises:
        InputError: Missing file, not a model zip, unknown kind, or newer format.
        UntrustedTypesError: The skops payload holds a type or function outside
            skops' defaults and :data:`SKOPS_TRUSTED_TYPES`, or the XGBoost payload names a
            class outside :data:`XGBOOST_CLASSES` or non-scalar params; nothing from the
            file was imported or run.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found; check the rule's input path")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise InputError(f"{path}: not a model zip written by genoml_core.models.persist.save_model") from e
    with zf:
        names = zf.namelist()
        if "meta.json" not in names:
            raise InputError(f"{path}: no meta.json inside; not a model written by save_model")
        meta = json.loads(zf.read("meta.json"))
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InputError(
                f"{path}: model format_version {version!r} is not readable by this genoml_core "
                f"(reads <= {FORMAT_VERSION}); upgrade genoml_core or retrain"
            )
        kind = meta.get("kind")
        if kind == "sklearn":
            if "payload/model.skops" not in names:
                raise InputError(f"{path}: no payload/model.skops inside; not a model written by save_model")
            return _load_skops(zf.read("payload/model.skops"), path), meta
        if kind != "xgboost" and kind not in _LOADERS:
            raise InputError(
                f"{path}: model kind {kind!r} has no loader; import the module that calls "
                f"genoml_core.models.persist.register_kind({kind!r}, ...) first (known: {registered_kinds()})"
            )
        with tempfile.TemporaryDirectory(prefix=".genoml_load.") as tmp:
            root = Path(tmp).resolve()
            for name in names:
                if not name.startswith("payload/") or name.endswith("/"):
                    continue
                target = (root / name).resolve()
                if root not in target.parents:
                    raise InputError(f"{path}: member {name!r} escapes the payload directory; refusing the file")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            payload = root / "payload"
            payload.mkdir(exist_ok=True)
            est = _load_xgboost(payload, path) if kind == "xgboost" else _LOADERS[kind](payload)
    return est, meta
