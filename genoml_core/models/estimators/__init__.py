"""scikit-learn-style wrappers (skorch style) around the AutoGenome networks.

``NetClassifier`` / ``NetRegressor`` train :mod:`genoml_core.models.nn` networks with
:func:`genoml_core.models.training.fit_supervised`; ``ResVAEEmbedder`` trains a Res-VAE for embeddings.
``__init__`` only stores its arguments, so ``get_params``/``set_params``/``clone`` work; all
learned state ends in ``_``.

``params`` is one flat dict of architecture and optimisation keys, in the names of
:data:`genoml_core.tuning.net_spaces.NET_SPACES` (missing keys take the space's ``default``), plus the
extra :class:`~genoml_core.models.training.TrainOptions` keys (``loss``, ``min_delta``, ``amp``,
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

Modules: :mod:`.params` (``params`` -> module kwargs and training options, :func:`build_module`),
:mod:`.rows` (row sources, hold-out and bag rows), :mod:`.net` (:class:`NetEstimator`),
:mod:`.supervised` (:class:`NetClassifier`, :class:`NetRegressor`, :func:`make_net`), :mod:`.vae`
(:class:`ResVAEEmbedder`) and :mod:`.persist` (save and load). Import from the package.
"""

from __future__ import annotations

from .net import NetEstimator
from .params import AUTO_BAG_MAX_ROWS as AUTO_BAG_MAX_ROWS
from .params import AUTO_BAGS as AUTO_BAGS
from .params import EMBED_ARCHS, NET_ARCHS, SEARCHED_ARCHS, build_module, resolve_params
from .params import resolve_n_bags as resolve_n_bags
from .rows import VALIDATION_FRACTION, is_row_source
from .supervised import NetClassifier, NetRegressor, make_net
from .vae import ResVAEEmbedder

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

# The estimators' __module__ is this package (see NetEstimator), so doctest finds their methods' examples
# in none of the modules: name them here.
__test__ = {"NetEstimator.set_checkpoint": NetEstimator.set_checkpoint}
