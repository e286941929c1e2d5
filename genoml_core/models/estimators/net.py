"""The base of the torch estimators: parameters, validation, fitting with early stopping (one
network or bags), batched inference; saving and loading are in :mod:`.persist`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ...errors import ConfigError
from ...evaluation.metrics import encode_labels
from ..nn.bagged import BaggedNet
from ...runtime import resolve_device, seed_everything, set_threads
from ..training import TASKS, CheckpointSpec, FitResult, RowSubset, TrainOptions, fit_supervised, predict_outputs
from .params import EMBED_ARCHS, NET_ARCHS, SEARCHED_ARCHS, _check_random_state, _class_weight_vector, build_module
from .params import resolve_n_bags, resolve_params
from .persist import load_net, save_net
from .rows import _bag_seed, _fit_rows, _row_source_features, is_row_source


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    previous = set_threads(n)
    try:
        yield
    finally:
        set_threads(previous)




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
        train_options_: the :class:`~genoml_core.models.training.TrainOptions` used.
    """

    # NOTE: the public import path (the package), not the defining module; genoml_core.models.persist records it
    # in model files (learner_class)
    __module__ = "genoml_core.models.estimators"
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
        if not self._is_classification():
            return None
        return _class_weight_vector(self.class_weight, self.classes_, codes)

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
                their :class:`~genoml_core.models.nn.bagged.BaggedNet` (mean prediction). With an
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
        d_out = self._n_outputs()
        splits, validation = self._fit_splits(Xs, codes, X_valid, y_valid, module_params, seed)
        results = []
        with _torch_threads(self.n_threads):
            device = resolve_device(self.device)
            module_kwargs = {"d_in": self.n_features_in_, "d_out": d_out, **module_params}
            for bag, rows in enumerate(splits):
                results.append(
                    self._fit_bag(bag, len(splits), Xs, codes, rows, validation, module_kwargs, options, seed, device)
                )
        self._set_fitted(results, module_kwargs, options, device)
        return self

    def _n_outputs(self) -> int:
        """The network's outputs: two logits for binary, one per class for multiclass, else 1."""
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
            return 2 if self.task == "binary" else n_classes
        return 1

    def _fit_splits(
        self, Xs: Any, codes: np.ndarray, X_valid: Any, y_valid: Any, module_params: dict[str, Any], seed: int
    ) -> tuple[Sequence[tuple[np.ndarray | None, np.ndarray | None]], tuple[Any, Any]]:
        """The (train, stop) rows of each network to train (``None``: all of ``Xs``), and the
        caller's validation set (``(None, None)`` without one); pops ``n_bags`` off ``module_params``
        (each network is one bag)."""
        if (X_valid is None) != (y_valid is None):
            raise ValueError("pass both X_valid and y_valid, or neither (then 10% of X is held out)")
        stratify = codes if self._is_classification() else None
        n_bags = 1 if X_valid is not None else resolve_n_bags(module_params.pop("n_bags", 1), len(Xs))
        module_params["n_bags"] = 1
        if X_valid is not None:  # the caller's validation set: one network, stopped on it
            X_val = self._validate_X(X_valid, reset=False)
            y_val = self._encode_y(self._validate_y(y_valid, len(X_val)), fit=False)
            return [(None, None)], (X_val, y_val)
        return _fit_rows(len(Xs), n_bags, stratify=stratify, random_state=seed), (None, None)

    def _fit_bag(
        self,
        bag: int,
        n_bags: int,
        Xs: Any,
        codes: np.ndarray,
        rows: tuple[np.ndarray | None, np.ndarray | None],
        validation: tuple[Any, Any],
        module_kwargs: dict[str, Any],
        options: TrainOptions,
        seed: int,
        device: torch.device,
    ) -> FitResult:
        """Train network ``bag`` of ``n_bags``: on the ``rows`` = (train, stop) rows of ``Xs``, or,
        when they are ``None``, on all of ``Xs``, stopped on the caller's ``validation`` set."""
        train_rows, stop_rows = rows
        if train_rows is None:
            X_train, y_train = Xs, codes
            X_val, y_val = validation
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
        return fit_supervised(
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
            checkpoint=self._bag_checkpoint(bag, n_bags),
        )

    def _set_fitted(
        self, results: list[FitResult], module_kwargs: dict[str, Any], options: TrainOptions, device: torch.device
    ) -> None:
        """Set the learned state: one network, or the :class:`BaggedNet` of the bags."""
        members = [result.module for result in results]
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

    # -- persistence (genoml_core.models.estimators.persist)
    def save(self, directory: str | Path) -> Path:
        """Write ``state_dict.pt`` (weights only) and ``arch.json`` into ``directory``.

        Both files are written atomically. ``arch.json`` holds everything needed to rebuild
        the estimator (arch, params, task, classes, n_features, module kwargs, training options,
        history) and the library versions.

        Returns:
            The directory.
        """
        return save_net(self, directory)

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
        return load_net(cls, directory, device=device)


    def _after_load(self) -> None:
        """Hook for subclasses to restore derived state."""

