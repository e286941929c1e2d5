"""scikit-learn-style wrappers (skorch style) around the AutoGenome networks.

``NetClassifier`` / ``NetRegressor`` train :mod:`genoml_core.nn` networks with
:func:`genoml_core.training.fit_supervised`; ``ResVAEEmbedder`` trains a Res-VAE for embeddings.
``__init__`` only stores its arguments, so ``get_params``/``set_params``/``clone`` work; all
learned state ends in ``_``.

``params`` is one flat dict of architecture and optimisation keys, in the names of
:data:`genoml_core.net_spaces.NET_SPACES` (missing keys take the space's ``default``), plus the
extra :class:`~genoml_core.training.TrainOptions` keys (``loss``, ``min_delta``, ``amp``,
``eval_batch_size``, ...) and ``activation``. Unknown keys raise
:class:`~genoml_core.errors.ConfigError` listing the allowed ones.

``X`` may be a NumPy array (any numeric dtype; int8 genotypes stay int8 and are cast per batch),
anything scikit-learn's ``check_array`` accepts, or a *row source*: an object with ``shape``,
``len()`` and fancy row indexing ``X[idx] -> float32 (len(idx), p)`` (a feature-store view that
scales genotypes per batch). A row source is never materialised: batches are read from it.

Typical use::

    est = make_net("rfcn_resnet", {"d_block": 256}, task="binary", random_state=0, n_threads=4)
    est.fit(X_train, y_train, X_valid, y_valid)
    proba = est.predict_proba(X_test)           # columns follow est.classes_
    est.save("results/train/rfcn_resnet/cohort/model")
    same = NetEstimator.load("results/train/rfcn_resnet/cohort/model")

Models are saved as ``state_dict.pt`` (``torch.save`` of the weights only) and ``arch.json``
(architecture, params, task, classes, feature count, versions); :meth:`NetEstimator.load`
rebuilds the module from ``arch.json`` and reads the weights with ``weights_only=True``, so a
model file cannot run code on load.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import platform
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from . import __version__, registry
from .errors import ConfigError, InputError
from .io import atomic_path, plain_scalar, read_json, to_plain, write_json
from .metrics import encode_labels
from .net_spaces import NET_SPACES, RECIPE_SPACE, SHARED_SPACE, parse_block_structure, space_defaults
from .nn import MLP, ResVAE, RFCNDenseNet, RFCNResNet, TabMNet
from .nn.bagged import BaggedNet, SmoothClipped
from .nn.rrfcn import RRFCN, Architecture
from .runtime import resolve_device, seed_everything, set_threads
from .training import (
    TASKS,
    CheckpointSpec,
    RowSubset,
    TrainOptions,
    VAEOptions,
    _softmax,
    balanced_class_weights,
    fit_supervised,
    fit_vae,
    predict_outputs,
)

__all__ = [
    "NET_ARCHS",
    "SEARCHED_ARCHS",
    "EMBED_ARCHS",
    "VALIDATION_FRACTION",
    "NetEstimator",
    "NetClassifier",
    "NetRegressor",
    "ResVAEEmbedder",
    "make_net",
    "resolve_params",
    "build_module",
    "is_row_source",
]

log = logging.getLogger(__name__)

#: Supervised networks :func:`make_net` can build (the registry's learners of kind ``net``).
NET_ARCHS = registry.names(kinds="net")
#: Networks whose wiring comes from an architecture search (genoml_core.nas), not a search space:
#: ``params["arch_json"]`` is the architecture (``Architecture.to_json()``); kind ``searched_net``.
SEARCHED_ARCHS = registry.names(kinds="searched_net")
#: Embedding networks (see :class:`ResVAEEmbedder`).
EMBED_ARCHS = ("res_vae",)
#: Share of the training rows held out for early stopping when no validation set is given.
VALIDATION_FRACTION = 0.1
#: ``n_bags: auto`` trains :data:`AUTO_BAGS` bags when the estimator fits on at most this many
#: rows (its 10% early-stopping holdout would be under 100 rows), else one network.
AUTO_BAG_MAX_ROWS = 1000
#: Bags of ``n_bags: auto`` on small training sets (an inner 5-fold: each bag trains on 80% of the
#: rows and stops early on the other 20%).
AUTO_BAGS = 5

_FORMAT = "genoml_core.net/1"
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
        plain dict for :class:`~genoml_core.training.TrainOptions` (or ``VAEOptions``).

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
            "(see genoml_core.net_spaces.NET_SPACES)"
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


def _bag_rows(
    n: int, n_bags: int, *, stratify: np.ndarray | None, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """An inner K-fold of ``range(n)``: ``n_bags`` pairs of sorted (train, early-stopping) rows.

    Rows are dealt to the parts at random, class by class when ``stratify`` is given, so every
    part has its share of each class; every row stops early for exactly one bag.
    """
    rng = np.random.default_rng([random_state, 0xBA6])
    part = np.empty(n, dtype=np.int64)
    strata = np.zeros(n, dtype=np.int64) if stratify is None else np.asarray(stratify)
    offset = 0
    for k in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == k))
        part[members] = (np.arange(len(members)) + offset) % n_bags
        offset += len(members)
    out = []
    for b in range(n_bags):
        stop = np.flatnonzero(part == b)
        train = np.flatnonzero(part != b)
        if len(stop) == 0 or len(train) < 2:
            raise ValueError(f"cannot cut n_samples={n} rows into n_bags={n_bags} bags; lower n_bags")
        out.append((train, stop))
    return out


def _bag_seed(seed: int, bag: int) -> int:
    """The seed of bag ``bag`` >= 1 (bag 0 uses ``seed`` itself, as one network would)."""
    return int(np.random.SeedSequence([seed, bag]).generate_state(1)[0] % (2**31 - 1))


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


# ----------------------------------------------------------------------------- input handling
def is_row_source(X: Any) -> bool:
    """True for objects read batch by batch (``shape``, ``len``, fancy row indexing) rather than
    validated whole with ``check_array`` (arrays, lists, data frames, tensors, sparse)."""
    if isinstance(X, (np.ndarray, list, tuple, torch.Tensor)) or sp.issparse(X) or hasattr(X, "iloc"):
        return False
    return hasattr(X, "__len__") and hasattr(X, "__getitem__") and hasattr(X, "shape")


def _row_source_features(X: Any) -> int:
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise InputError(f"X has shape {shape}; expected (n_samples, n_features)")
    return int(shape[1])


def _holdout_rows(
    n: int, *, stratify: np.ndarray | None, random_state: int, fraction: float = VALIDATION_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (stratified) split of ``range(n)`` into sorted train and validation rows.

    Each class with at least two members gives ``round(fraction * count)`` rows (at least one,
    never all) to validation, so every class stays in training.
    """
    rng = np.random.default_rng(random_state)
    if stratify is None:
        n_valid = min(n - 1, max(1, int(round(fraction * n))))
        valid = rng.permutation(n)[:n_valid] if n > 1 else np.empty(0, dtype=np.int64)
    else:
        parts = []
        for k in np.unique(stratify):
            members = np.flatnonzero(stratify == k)
            if len(members) >= 2:
                n_k = min(len(members) - 1, max(1, int(round(fraction * len(members)))))
                parts.append(rng.permutation(members)[:n_k])
        valid = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    valid = np.sort(valid).astype(np.int64)
    train = np.setdiff1d(np.arange(n), valid).astype(np.int64)
    if len(valid) == 0 or len(train) < 2:
        raise ValueError(
            f"cannot hold out a validation set from n_samples={n} rows; pass more rows, or X_valid and y_valid"
        )
    return train, valid


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    previous = set_threads(n)
    try:
        yield
    finally:
        set_threads(previous)


def _check_random_state(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ConfigError(
            f"{random_state=} must be an integer seed (nets are seeded explicitly for reproducibility)"
        )
    if not 0 <= int(random_state) < 2**32:
        raise ConfigError(f"{random_state=} must be in [0, 2**32)")
    return int(random_state)


_CLASS_WEIGHT_HELP = "class_weight={cw} must be 'balanced', 'none' (or None) or a {{class: weight}} dict"


# ----------------------------------------------------------------------------- estimators
class NetEstimator(BaseEstimator):
    """Base of the torch estimators: parameter handling, validation, batched inference, save/load.

    Fitting dispatches on ``task``: ``"binary"``/``"multiclass"`` train a classifier (two
    logits for binary, class-weighted cross-entropy), ``"continuous"`` a regressor (MSE on the
    standardised target). Use :class:`NetClassifier`, :class:`NetRegressor` or :func:`make_net`.

    Args:
        arch: one of :data:`NET_ARCHS`.
        params: flat dict of architecture and training settings (see the module docstring).
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        random_state: integer seed for initialisation, shuffling, dropout and the hold-out.
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
        n_threads: CPU threads torch may use during fit and predict (``None``: leave as is).
        class_weight: ``"balanced"``, ``"none"`` (the config's value; same as ``None``:
            unweighted), ``None`` or a ``{class: weight}`` dict (classification).

    Checkpoints: :meth:`set_checkpoint` (not a constructor argument, so ``get_params``,
    ``clone`` and :meth:`save` ignore it) makes :meth:`fit` save its training state every few
    epochs and resume from it when rerun after a kill.

    Attributes:
        module_: the trained network (eval mode, on ``device_``).
        classes_: class labels (classification), sorted; output columns follow them.
        n_features_in_: number of input features.
        history_: one dict per epoch (losses, validation metric, samples per second).
        best_epoch_: the epoch whose weights were kept.
        device_: the ``torch.device`` used.
        module_kwargs_: the arguments the network was built with.
        train_options_: the :class:`~genoml_core.training.TrainOptions` used.
    """

    _genoml_kind: ClassVar[str] = "torch"
    _archs: ClassVar[tuple[str, ...]] = NET_ARCHS + SEARCHED_ARCHS
    _tasks: ClassVar[tuple[str, ...]] = TASKS
    _supervised: ClassVar[bool] = True

    def __init__(
        self,
        arch: str = "mlp",
        params: dict[str, Any] | None = None,
        *,
        task: str = "binary",
        random_state: int = 0,
        device: str = "auto",
        n_threads: int | None = 1,
        class_weight: str | dict[Any, float] | None = "balanced",
    ) -> None:
        self.arch = arch
        self.params = params
        self.task = task
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.class_weight = class_weight

    # -- checkpoints
    def set_checkpoint(self, path: str | Path | None, every: int = 1) -> NetEstimator:
        """Save the training state to ``path`` every ``every`` epochs during :meth:`fit`.

        A later :meth:`fit` of the same configuration on the same data resumes after the saved
        epoch (CPU: bit-identical to an uninterrupted fit); the file is deleted when training
        ends. ``path=None`` or ``every=0`` turns checkpointing off. The setting is not a
        parameter: ``clone`` and :meth:`save` do not carry it.

        Returns:
            ``self``.

        Example:
            >>> est = NetClassifier("mlp").set_checkpoint("ckpt/mlp_fold0.pt", every=5)
            >>> "checkpoint" in est.get_params()
            False
        """
        self._checkpoint = None if path is None or every == 0 else CheckpointSpec(path=Path(path), every=every)
        return self

    def _checkpoint_spec(self) -> CheckpointSpec | None:
        return getattr(self, "_checkpoint", None)

    # -- validation helpers
    def _check_config(self) -> None:
        if self.arch not in self._archs:
            hint = " (res_vae learns embeddings: use ResVAEEmbedder)" if self.arch in EMBED_ARCHS else ""
            raise ConfigError(f"arch={self.arch!r} must be one of {self._archs}{hint}")
        if self.task not in self._tasks:
            raise ConfigError(f"task={self.task!r} must be one of {self._tasks} for {type(self).__name__}")

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        """Validate ``X`` (arrays via sklearn, row sources by shape); return a row source."""
        if is_row_source(X):
            n_features = _row_source_features(X)
            if reset:
                self.n_features_in_ = n_features
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input"
                )
            if len(X) == 0:
                raise ValueError("X has 0 samples; at least 1 is required")
            return X
        return validate_data(self, X, reset=reset, dtype="numeric", ensure_min_samples=1)

    def _validate_y(self, y: Any, n: int) -> np.ndarray:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=self.task == "continuous")
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ValueError(f"X has {n} samples but y has {len(y)}; they must match")
        return y

    def _is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")

    def _encode_y(self, y: np.ndarray, *, fit: bool) -> np.ndarray:
        if self._is_classification():
            if fit:
                check_classification_targets(y)
                self.classes_, codes = encode_labels(y)
                return codes
            return encode_labels(y, self.classes_, what="y_valid")[1]
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity")
        if fit:
            # NOTE[DIFF]: the network fits the standardised target (predict undoes it), so one
            # learning rate suits phenotypes on any scale.
            self.y_mean_ = float(np.mean(y))
            std = float(np.std(y))
            self.y_scale_ = std if std > 0 else 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _class_weights(self, codes: np.ndarray) -> np.ndarray | None:
        cw = self.class_weight
        # "none" is the config's spelling (train.class_weight: none) of None: unweighted
        if not self._is_classification() or cw is None or (isinstance(cw, str) and cw == "none"):
            return None
        n_classes = len(self.classes_)
        if isinstance(cw, str):
            if cw != "balanced":
                raise ConfigError(_CLASS_WEIGHT_HELP.format(cw=repr(cw)))
            return balanced_class_weights(codes, n_classes)
        if isinstance(cw, Mapping):
            unknown = [k for k in cw if k not in set(self.classes_.tolist())]
            if unknown:
                raise ConfigError(f"class_weight names classes {unknown} absent from y ({self.classes_.tolist()})")
            return np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()], dtype=np.float32)
        raise ConfigError(_CLASS_WEIGHT_HELP.format(cw=repr(cw)))

    # -- fit
    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None) -> NetEstimator:
        """Train the network, with early stopping on a validation set.

        Args:
            X: training features ``(n_samples, n_features)`` (array or row source).
            y: training targets.
            X_valid: validation features; when both validation arguments are ``None``, a
                deterministic (stratified for classification) 10% of the training rows is
                held out instead, or, with ``n_bags`` > 1 (``params["n_bags"]``; ``"auto"``: see
                :func:`resolve_n_bags`), the rows are cut into ``n_bags`` parts and one network
                is trained per part, on the other parts, and early-stopped on it; the model is
                their :class:`~genoml_core.nn.bagged.BaggedNet` (mean prediction). With an
                explicit validation set one network is trained.
            y_valid: validation targets.

        Returns:
            ``self``.

        Raises:
            ConfigError: for an unknown arch, task or parameter, or an impossible value.
            ValueError: for malformed inputs (shapes, NaN, one class, unseen validation labels).
        """
        self._check_config()
        seed = _check_random_state(self.random_state)
        module_params, option_dict = resolve_params(self.arch, self.params)
        options = TrainOptions.from_dict(option_dict)
        Xs = self._validate_X(X, reset=True)
        y_arr = self._validate_y(y, len(Xs))
        codes = self._encode_y(y_arr, fit=True)
        if self._is_classification():
            n_classes = len(self.classes_)
            if n_classes < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y; got {n_classes} class "
                    f"({self.classes_.tolist()})"
                )
            if self.task == "binary" and n_classes > 2:
                raise ConfigError(f"task='binary' but y has {n_classes} classes; use task='multiclass'")
            # binary: two logits and cross-entropy, the same code path as multiclass
            d_out = 2 if self.task == "binary" else n_classes
        else:
            d_out = 1
        if (X_valid is None) != (y_valid is None):
            raise ValueError("pass both X_valid and y_valid, or neither (then 10% of X is held out)")
        stratify = codes if self._is_classification() else None
        n_bags = 1 if X_valid is not None else resolve_n_bags(module_params.pop("n_bags", 1), len(Xs))
        module_params["n_bags"] = 1
        splits: Sequence[tuple[np.ndarray | None, np.ndarray | None]]  # (train, stop) rows; None: all of X
        if X_valid is not None:  # the caller's validation set: one network, stopped on it
            splits = [(None, None)]
            X_val = self._validate_X(X_valid, reset=False)
            y_val = self._encode_y(self._validate_y(y_valid, len(X_val)), fit=False)
        elif n_bags == 1:
            splits = [_holdout_rows(len(Xs), stratify=stratify, random_state=seed)]
        else:
            splits = _bag_rows(len(Xs), n_bags, stratify=stratify, random_state=seed)
        members, results = [], []
        with _torch_threads(self.n_threads):
            device = resolve_device(self.device)
            module_kwargs = {"d_in": self.n_features_in_, "d_out": d_out, **module_params}
            for bag, (train_rows, stop_rows) in enumerate(splits):
                if train_rows is None:
                    X_train, y_train = Xs, codes
                else:
                    assert stop_rows is not None  # a holdout or bag split has both parts
                    X_train, y_train = RowSubset(Xs, train_rows), codes[train_rows]
                    X_val, y_val = RowSubset(Xs, stop_rows), codes[stop_rows]
                if len(X_train) < 2:
                    raise ValueError(
                        f"{type(self).__name__} needs at least 2 training rows; got n_samples={len(X_train)}"
                    )
                bag_seed = seed if bag == 0 else _bag_seed(seed, bag)
                seed_everything(bag_seed)
                result = fit_supervised(
                    build_module(self.arch, module_kwargs),
                    X_train,
                    y_train,
                    X_valid=X_val,
                    y_valid=y_val,
                    task=self.task,
                    options=options,
                    seed=bag_seed,
                    device=device,
                    class_weight=self._class_weights(y_train),
                    checkpoint=self._bag_checkpoint(bag, len(splits)),
                )
                members.append(result.module)
                results.append(result)
        if len(members) == 1:
            self.module_ = members[0]
        else:
            self.module_ = BaggedNet(members).to(device).eval()
            module_kwargs["n_bags"] = len(members)
        self.module_kwargs_ = module_kwargs
        self.train_options_ = options
        # one network: its history, best epoch and score; bags: the first bag's history, the median
        # best epoch and mean best score, and every bag's in bags_
        self.history_ = results[0].history
        if len(results) == 1:
            self.best_epoch_, self.best_score_ = results[0].best_epoch, results[0].best_score
        else:
            self.best_epoch_ = int(np.median([r.best_epoch for r in results]))
            self.best_score_ = float(np.mean([r.best_score for r in results]))
        self.bags_ = [{"best_epoch": r.best_epoch, "best_score": r.best_score} for r in results]
        self.metric_ = results[0].metric
        self.device_ = device
        return self

    def _bag_checkpoint(self, bag: int, n_bags: int) -> CheckpointSpec | None:
        """The checkpoint of one bag: the estimator's file, with ``.bag{i}`` before the suffix
        when there are several bags (a resumed fit retrains the finished bags, then resumes)."""
        spec = self._checkpoint_spec()
        if spec is None or n_bags == 1:
            return spec
        path = spec.path.with_name(f"{spec.path.stem}.bag{bag}{spec.path.suffix}")
        return CheckpointSpec(path=path, every=spec.every)

    # -- inference
    def _outputs(self, X: Any, fn: Any = None) -> np.ndarray:
        check_is_fitted(self, "module_")
        Xs = self._validate_X(X, reset=False)
        with _torch_threads(self.n_threads):
            return predict_outputs(
                self.module_,
                Xs,
                device=self.device_,
                batch_size=self.train_options_.eval_batch_size,
                amp=self.train_options_.amp,
                fn=fn,
            )

    @available_if(lambda self: self._supervised)
    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or predictions on the original scale (continuous)."""
        outputs = self._outputs(X)
        if self._is_classification():
            return self.classes_[np.argmax(outputs, axis=1)]
        return outputs[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_

    # -- persistence
    def _init_params_json(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        cw = params.get("class_weight")
        if isinstance(cw, Mapping):
            params["class_weight"] = {"__pairs__": [[plain_scalar(k), float(v)] for k, v in cw.items()]}
        return to_plain(params)

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if hasattr(self, "classes_"):
            state["classes"] = self.classes_.tolist()
            state["classes_dtype"] = self.classes_.dtype.str
        if hasattr(self, "y_mean_"):
            state["target_scaling"] = {"mean": self.y_mean_, "scale": self.y_scale_}
        return state

    def save(self, directory: str | Path) -> Path:
        """Write ``state_dict.pt`` (weights only) and ``arch.json`` into ``directory``.

        Both files are written atomically. ``arch.json`` holds everything needed to rebuild
        the estimator (arch, params, task, classes, n_features, module kwargs, training options,
        history) and the library versions.

        Returns:
            The directory.
        """
        check_is_fitted(self, "module_")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}
        buffer = io.BytesIO()  # torch.save names the archive after a file (a random temporary name)
        torch.save(state, buffer)
        with atomic_path(directory / "state_dict.pt") as tmp:
            Path(tmp).write_bytes(buffer.getvalue())
        meta = {
            "format": _FORMAT,
            "estimator": type(self).__name__,
            "arch": self.arch,
            "task": getattr(self, "task", None),
            "init_params": self._init_params_json(),
            "params": {**_param_defaults(self.arch), **_EXTRA_MODULE_KEYS[self.arch], **(self.params or {})},
            "module": {"class": type(self.module_).__name__, "kwargs": self.module_kwargs_},
            "train_options": self.train_options_.to_dict(),
            "n_features": self.n_features_in_,
            "feature_names": self.feature_names_in_.tolist() if hasattr(self, "feature_names_in_") else None,
            **self._extra_state(),
            "best_epoch": self.best_epoch_,
            "best_score": self.best_score_,
            "bags": getattr(self, "bags_", None),
            "metric": self.metric_,
            "history": self.history_,
            "device": str(self.device_),
            "versions": {
                "genoml_core": __version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "scikit-learn": sklearn.__version__,
                "python": platform.python_version(),
            },
        }
        write_json(to_plain(meta), directory / "arch.json")
        log.info("saved %s (%s) to %s", type(self).__name__, self.arch, directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None) -> NetEstimator:
        """Rebuild a saved estimator: module from ``arch.json``, weights with ``weights_only=True``.

        Args:
            directory: what :meth:`save` wrote.
            device: overrides the saved ``device`` parameter (e.g. ``"cpu"``).

        Returns:
            An estimator of the saved class that predicts like the saved one.

        Raises:
            InputError: when the files are missing, of another format, or of another class.
        """
        directory = Path(directory)
        arch_file, weights_file = directory / "arch.json", directory / "state_dict.pt"
        for path in (arch_file, weights_file):
            if not path.is_file():
                raise InputError(f"{path} is missing; expected a directory written by NetEstimator.save")
        meta = read_json(arch_file)
        if meta.get("format") != _FORMAT:
            raise InputError(f"{arch_file} has format {meta.get('format')!r}; expected {_FORMAT!r}")
        est_cls = _ESTIMATORS.get(meta.get("estimator"))
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

    def _after_load(self) -> None:
        """Hook for subclasses to restore derived state."""


class NetClassifier(ClassifierMixin, NetEstimator):
    """Classifier over an AutoGenome network (``task`` ``"binary"`` or ``"multiclass"``).

    Same arguments and attributes as :class:`NetEstimator`. ``predict_proba`` columns follow
    ``classes_``; ``decision_function`` gives ``logit_1 - logit_0`` (binary) or the logits.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(80, 5)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        >>> clf = NetClassifier("mlp", {"max_epochs": 3, "d_layer": 16}).fit(X, y)
        >>> clf.predict_proba(X).shape
        (80, 2)
    """

    _tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        return _softmax(self._outputs(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """``logit_1 - logit_0`` ``(n_samples,)`` for two classes, else logits ``(n, n_classes)``."""
        outputs = self._outputs(X).astype(np.float64)
        if outputs.shape[1] == 2:
            return outputs[:, 1] - outputs[:, 0]
        return outputs


class NetRegressor(RegressorMixin, NetEstimator):
    """Regressor over an AutoGenome network (``task="continuous"``).

    Trains with MSE on the standardised target (``y_mean_``, ``y_scale_``); ``predict``
    returns the original scale. Arguments and attributes as in :class:`NetEstimator`
    (``class_weight`` is ignored).
    """

    _tasks: ClassVar[tuple[str, ...]] = ("continuous",)

    def __init__(
        self,
        arch: str = "mlp",
        params: dict[str, Any] | None = None,
        *,
        task: str = "continuous",
        random_state: int = 0,
        device: str = "auto",
        n_threads: int | None = 1,
        class_weight: str | dict[Any, float] | None = "balanced",
    ) -> None:
        super().__init__(
            arch,
            params,
            task=task,
            random_state=random_state,
            device=device,
            n_threads=n_threads,
            class_weight=class_weight,
        )


class ResVAEEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimator):
    """Res-VAE embedding as a scikit-learn transformer: ``transform`` gives the posterior means.

    Inputs should be continuous and scaled (e.g. the feature store's standardised dosages or
    omics values): the reconstruction loss is a squared error on them.

    Args:
        params: Res-VAE and training settings in ``NET_SPACES["res_vae"]`` names (plus
            ``VAEOptions`` keys); missing keys take the space defaults.
        random_state: integer seed.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        n_threads: CPU threads for torch (``None``: leave as is).

    Attributes:
        module_: the trained :class:`~genoml_core.nn.ResVAE`.
        n_features_in_: input features.
        history_: per-epoch losses (train/valid total, recon, KL, beta, samples per second).
        device_: the device used.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(60, 12))
        >>> emb = ResVAEEmbedder({"max_epochs": 2, "d_first": 32, "d_latent": 3}).fit(X)
        >>> emb.transform(X).shape, emb.reconstruct(X).shape
        ((60, 3), (60, 12))
    """

    arch: ClassVar[str] = "res_vae"  # type: ignore[misc]
    task: ClassVar[None] = None  # type: ignore[misc, assignment]  # unsupervised: no task
    _archs: ClassVar[tuple[str, ...]] = EMBED_ARCHS
    _supervised: ClassVar[bool] = False

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        *,
        random_state: int = 0,
        device: str = "auto",
        n_threads: int | None = 1,
    ) -> None:
        self.params = params
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads

    def _check_config(self) -> None:
        pass

    def _is_classification(self) -> bool:
        return False

    def fit(self, X: Any, y: Any = None, X_valid: Any = None) -> ResVAEEmbedder:  # type: ignore[override]
        """Train the Res-VAE; ``y`` is ignored. Without ``X_valid``, 10% of ``X`` is held out.

        Returns:
            ``self``.
        """
        seed = _check_random_state(self.random_state)
        module_params, option_dict = resolve_params(self.arch, self.params)
        options = VAEOptions.from_dict(option_dict)
        Xs = self._validate_X(X, reset=True)
        if X_valid is None:
            train_rows, valid_rows = _holdout_rows(len(Xs), stratify=None, random_state=seed)
            X_train, X_val = RowSubset(Xs, train_rows), RowSubset(Xs, valid_rows)
        else:
            X_train, X_val = Xs, self._validate_X(X_valid, reset=False)
        if len(X_train) < 2:
            raise ValueError(f"ResVAEEmbedder needs at least 2 training rows; got n_samples={len(X_train)}")
        with _torch_threads(self.n_threads):
            device = resolve_device(self.device)
            seed_everything(seed)
            module_kwargs = {"d_in": self.n_features_in_, **module_params}
            module = build_module(self.arch, module_kwargs)
            assert isinstance(module, ResVAE)  # an embedder is never bagged or clipped
            result = fit_vae(
                module,
                X_train,
                X_valid=X_val,
                options=options,
                seed=seed,
                device=device,
                checkpoint=self._checkpoint_spec(),
            )
        self.module_ = result.module
        self.module_kwargs_ = module_kwargs
        self.train_options_ = options
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.best_score_ = result.best_score
        self.metric_ = result.metric
        self.device_ = device
        self._after_load()
        return self

    def _after_load(self) -> None:
        self._n_features_out = int(self.module_kwargs_["d_latent"])

    def transform(self, X: Any) -> np.ndarray:
        """Posterior means ``(n_samples, d_latent)`` (deterministic), float64."""
        return self._outputs(X, fn=lambda m, xb: m.encode(xb)[0]).astype(np.float64)

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstructions ``(n_samples, n_features)`` decoded from the posterior means, float64."""
        return self._outputs(X, fn=lambda m, xb: m(xb).recon).astype(np.float64)


_ESTIMATORS: dict[str, type[NetEstimator]] = {
    "NetEstimator": NetEstimator,
    "NetClassifier": NetClassifier,
    "NetRegressor": NetRegressor,
    "ResVAEEmbedder": ResVAEEmbedder,
}


def make_net(
    arch: str,
    params: Mapping[str, Any] | None,
    *,
    task: str,
    random_state: int,
    n_threads: int | None,
    device: str = "auto",
    class_weight: str | dict[Any, float] | None = "balanced",
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 0,
) -> NetClassifier | NetRegressor:
    """The unfitted estimator for a supervised ``arch`` and ``task``, with ``params`` checked now.

    Args:
        arch: one of :data:`NET_ARCHS`.
        params: flat settings dict (``None``: the search space defaults).
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        random_state: integer seed.
        n_threads: CPU threads for torch.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        class_weight: ``"balanced"``, ``"none"``/``None`` (unweighted) or a dict (classification
            only).
        checkpoint_path: file for :meth:`NetEstimator.set_checkpoint` (``None``: none).
        checkpoint_every: save the training state every this many epochs (``0``: off).

    Returns:
        :class:`NetClassifier` for classification tasks, :class:`NetRegressor` for continuous.

    Raises:
        ConfigError: for an unknown arch, task or key, or an impossible value; the message says
            what is allowed.

    Example:
        >>> type(make_net("mlp", {"n_layers": 1}, task="continuous", random_state=0, n_threads=1)).__name__
        'NetRegressor'
    """
    if arch in EMBED_ARCHS:
        raise ConfigError(f"arch={arch!r} learns embeddings, not predictions; use ResVAEEmbedder")
    if arch not in NET_ARCHS + SEARCHED_ARCHS:
        raise ConfigError(f"unknown network arch={arch!r}; choose one of {NET_ARCHS + SEARCHED_ARCHS}")
    if task not in TASKS:
        raise ConfigError(f"unknown {task=}; choose one of {TASKS}")
    _check_random_state(random_state)
    module_params, option_dict = resolve_params(arch, params)
    TrainOptions.from_dict(option_dict)
    build_module(arch, {"d_in": 1, "d_out": 2, **module_params})  # raises ConfigError on bad values
    est_cls = NetRegressor if task == "continuous" else NetClassifier
    est = est_cls(
        arch,
        None if params is None else dict(params),
        task=task,
        random_state=random_state,
        device=device,
        n_threads=n_threads,
        class_weight=class_weight,
    )
    est.set_checkpoint(checkpoint_path, checkpoint_every)
    return est
