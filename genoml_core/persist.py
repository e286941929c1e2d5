"""Model files without pickle: one zip per model, with its metadata inside.

Layout of the zip written by :func:`save_model`::

    meta.json            caller's meta + format_version, kind, learner_class, versions
    payload/...          the model, by kind:
        sklearn          payload/model.skops       (skops.io, no pickle)
        xgboost          payload/booster.json      (XGBoost's own JSON model)
                         payload/wrapper.json      (wrapper class, params, original labels)
        <custom kind>    payload/<files written by est.save(dir)>

Custom kinds: an estimator with attribute ``_genoml_kind`` (e.g. ``"torch"``) is saved by
calling ``est.save(directory)``; loading calls the loader registered with
:func:`register_kind`. ``"torch"`` is pre-registered with a lazy loader that imports
``genoml_core.estimators`` and calls ``NetEstimator.load(directory)``.

Trust policy (a model file must never run code when it is loaded): a skops payload may
hold only skops' own default-trusted types plus the exact type names in
:data:`SKOPS_TRUSTED_TYPES`, the reviewed list of what this workflow's learners write (never
whole packages: NumPy alone has functions that ``exec`` a string, and skops calls a type it
trusts with arguments taken from the file). Nodes that reference or call a named function
(function, method, partial, operator and constructor-from-reduce nodes) are refused unless
their exact name is listed; the learners write none. An XGBoost payload names its wrapper
class: only the exact classes in :data:`XGBOOST_CLASSES` are accepted, checked before
anything is imported, and its params must be plain JSON scalars. Anything else raises
:class:`UntrustedTypesError`. :func:`save_model` applies the same checks, so a model that
could not be loaded again fails when it is trained, not when it is evaluated.
"""

from __future__ import annotations

import importlib
import io
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

from .errors import InputError
from .io import atomic_path, json_default

__all__ = [
    "FORMAT_VERSION",
    "SKOPS_TRUSTED_TYPES",
    "XGBOOST_CLASSES",
    "UntrustedTypesError",
    "register_kind",
    "registered_kinds",
    "save_model",
    "load_model",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1

#: Exact type names, beyond skops' default-trusted set (scikit-learn estimators, NumPy
#: dtypes and ufuncs, Python builtins), that a skops payload may contain. Loading imports
#: each of them and calls its constructor or ``__setstate__`` with data from the file, so
#: every entry is reviewed, and this is exactly what the learners of
#: :mod:`genoml_core.learners` / :mod:`genoml_core.outofcore` write for every task
#: (derived by fitting and dumping each one and collecting
#: :func:`skops.io.get_untrusted_types`; ``tests/unit/test_persist.py`` re-derives it and
#: fails when it is too narrow or has an unused entry). Never add a package prefix or a
#: function here.
SKOPS_TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # svm_linear, svm_rbf: CalibratedClassifierCV's fitted calibrators and its cv splitter
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.StratifiedKFold",
        # random_forest, extra_trees: the fitted trees' node arrays
        "sklearn.tree._tree.Tree",
        # knn with at most 15 features (scikit-learn then builds a KD-tree; above, brute force)
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
    }
)
# NOTE[DIFF]: skops leaves Tree (and KDTree) out of its defaults because their index arrays
# are not bounds-checked: a crafted file can crash prediction or read out-of-bounds memory
# (no code is imported or called beyond these exact types). Trusted here because the
# learners need them; the defence is to load only model files this workflow wrote.
#: skops node loaders that reference or call a function named in the file (with arguments
#: from the file, for constructor-from-reduce nodes). Refused unless the exact name is in
#: :data:`SKOPS_TRUSTED_TYPES`, whatever skops' own defaults say (it trusts every NumPy
#: ufunc as a function node); the learners write none of them.
_CALLABLE_LOADERS = frozenset(
    {"FunctionNode", "MethodNode", "PartialNode", "OperatorFuncNode", "ConstructorFromReduceNode"}
)
#: The XGBoost scikit-learn wrappers the workflow writes (``learners._xgboost``), as exact
#: ``(module, class)`` pairs; a payload naming anything else is refused before any import.
XGBOOST_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {("xgboost.sklearn", "XGBClassifier"), ("xgboost.sklearn", "XGBRegressor")}
)
_LOAD_FIX = (
    "Only load model files written by this workflow; if this file is yours and a new learner, learner "
    "parameter or library version writes these names, review what they do and add the exact names to "
    "genoml_core.persist.{allow_list}"
)
_SAVE_FIX = (
    "so load_model would refuse the file: keep the learner's params within its search space, or review "
    "what these names do and add the exact names to genoml_core.persist.{allow_list}"
)
_RESERVED_META = frozenset({"format_version", "kind", "learner_class", "versions"})
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "xgboost", "skops", "torch")

Loader = Callable[[Path], Any]


class UntrustedTypesError(InputError):
    """A model contains types or classes outside the allow-lists (:data:`SKOPS_TRUSTED_TYPES`,
    :data:`XGBOOST_CLASSES`); it is not loaded (or, from :func:`save_model`, not written)."""


def _load_torch(directory: Path) -> Any:
    estimators = importlib.import_module("genoml_core.estimators")
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
    from . import __version__

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


def _skops_nodes(data: bytes) -> list[dict[str, Any]]:
    """Every node (a dict with ``__loader__``) of a skops payload's ``schema.json``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        schema = json.loads(zf.read("schema.json"))
    nodes, stack = [], [schema]
    while stack:  # iterative: a crafted file may nest deeper than the recursion limit
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                nodes.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return nodes


def _audit_skops(data: bytes) -> tuple[list[str], list[str]]:
    """Check a skops payload against the allow-list, without importing anything from it.

    Two independent checks: skops' own audit (:func:`skops.io.get_untrusted_types`: every
    type it would import beyond its defaults) must report only names in
    :data:`SKOPS_TRUSTED_TYPES`; and no node may reference or call a named function
    (:data:`_CALLABLE_LOADERS`) unless its exact name is listed, read straight from
    ``schema.json`` so this holds whatever skops' defaults are.

    Returns:
        ``(refused, trusted)``: the names that may not be loaded (empty: the payload is
        allowed) and the allow-listed names to pass to :func:`skops.io.loads`.
    """
    import skops.io as sio

    untrusted = set(sio.get_untrusted_types(data=data))
    refused = untrusted - SKOPS_TRUSTED_TYPES
    for node in _skops_nodes(data):
        if node["__loader__"] in _CALLABLE_LOADERS:
            name = f"{node.get('__module__')}.{node.get('__class__')}"
            if name not in SKOPS_TRUSTED_TYPES:
                refused.add(name)
    return sorted(refused), sorted(untrusted & SKOPS_TRUSTED_TYPES)


def _load_skops(data: bytes, path: Path) -> Any:
    """Load a skops payload after :func:`_audit_skops` has allowed it."""
    import skops.io as sio

    try:
        refused, trusted = _audit_skops(data)
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: the skops payload is malformed ({e}); it was not loaded") from e
    if refused:
        raise UntrustedTypesError(
            f"{path}: refusing to load this model: it contains {refused}, which are not among the "
            "exact types this workflow's learners write (genoml_core.persist.SKOPS_TRUSTED_TYPES); "
            "loading would import them and call them with data from the file. "
            + _LOAD_FIX.format(allow_list="SKOPS_TRUSTED_TYPES")
        )
    return sio.loads(data, trusted=trusted)


def _is_json_scalar(v: Any) -> bool:
    """Whether ``v`` is what :func:`_xgb_params` writes: null, bool, int, finite float or str."""
    if v is None or isinstance(v, (str, bool, int)):
        return True
    return isinstance(v, float) and math.isfinite(v)


def _load_xgboost(directory: Path, path: Path) -> Any:
    """Rebuild an XGBoost wrapper from ``wrapper.json`` + ``booster.json``.

    The wrapper class must be one of :data:`XGBOOST_CLASSES` (checked before any import),
    its params plain JSON scalars and its label map a list of integers.
    """
    wrapper = json.loads((directory / "wrapper.json").read_text())
    if not isinstance(wrapper, dict):
        raise InputError(f"{path}: payload/wrapper.json is not a JSON object; not a model written by save_model")
    module, name = wrapper.get("module"), wrapper.get("class")
    if (module, name) not in XGBOOST_CLASSES:
        raise UntrustedTypesError(
            f"{path}: refusing to load this model: its xgboost payload names class {module!r}.{name!r}, "
            f"not one of the wrappers this workflow writes ({sorted('.'.join(c) for c in XGBOOST_CLASSES)}). "
            + _LOAD_FIX.format(allow_list="XGBOOST_CLASSES")
        )
    params = wrapper.get("params")
    bad = (
        ["<params is not an object>"]
        if not isinstance(params, dict)
        else sorted(str(k) for k, v in params.items() if not (isinstance(k, str) and _is_json_scalar(v)))
    )
    if bad:
        raise UntrustedTypesError(
            f"{path}: refusing to load this model: xgboost params {bad} are not plain JSON scalars "
            "(null, bool, int, finite float, string), which save_model always writes"
        )
    classes = wrapper.get("genoml_classes")
    if classes is not None and not (
        isinstance(classes, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
    ):
        raise InputError(f"{path}: xgboost genoml_classes must be a list of integer labels, got {classes!r}")
    import xgboost.sklearn

    assert isinstance(name, str) and isinstance(params, dict)  # checked above (XGBOOST_CLASSES, bad)
    cls = getattr(xgboost.sklearn, name)
    est = cls(**params)
    est.load_model(directory / "booster.json")
    if classes is not None:
        est.genoml_classes_ = np.asarray(classes, dtype=np.int64)
    return est


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
        raise InputError(f"{path}: not a model zip written by genoml_core.persist.save_model") from e
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
                f"genoml_core.persist.register_kind({kind!r}, ...) first (known: {registered_kinds()})"
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
