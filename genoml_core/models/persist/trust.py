"""The trust policy: the allow-lists, the audit of a skops payload and the checked loading of a
skops or XGBoost payload (nothing from a file is imported or run before it passes)."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError

#: Exact type names, beyond skops' default-trusted set (scikit-learn estimators, NumPy
#: dtypes and ufuncs, Python builtins), that a skops payload may contain. Loading imports
#: each of them and calls its constructor or ``__setstate__`` with data from the file, so
#: every entry is reviewed, and this is exactly what the learners of
#: :mod:`genoml_core.models.learners` / :mod:`genoml_core.models.outofcore` write for every task
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
    "genoml_core.models.persist.{allow_list}"
)
_SAVE_FIX = (
    "so load_model would refuse the file: keep the learner's params within its search space, or review "
    "what these names do and add the exact names to genoml_core.models.persist.{allow_list}"
)


class UntrustedTypesError(InputError):
    """A model contains types or classes outside the allow-lists (:data:`SKOPS_TRUSTED_TYPES`,
    :data:`XGBOOST_CLASSES`); it is not loaded (or, from :func:`save_model`, not written)."""



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
            "exact types this workflow's learners write (genoml_core.models.persist.SKOPS_TRUSTED_TYPES); "
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
