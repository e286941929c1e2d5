"""The supervised torch estimators (:class:`NetClassifier`, :class:`NetRegressor`) and
:func:`make_net`, which builds the right one for an arch and task with its params checked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from ...errors import ConfigError
from ..training import TASKS, TrainOptions
from ..training.scoring import _softmax
from .net import NetEstimator
from .params import EMBED_ARCHS, NET_ARCHS, SEARCHED_ARCHS, _check_random_state, build_module, resolve_params


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

    __module__ = "genoml_core.models.estimators"  # NOTE: the public import path (see NetEstimator)
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

    __module__ = "genoml_core.models.estimators"  # NOTE: the public import path (see NetEstimator)
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
