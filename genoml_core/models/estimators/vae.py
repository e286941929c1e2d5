"""The Res-VAE embedder: a scikit-learn transformer whose ``transform`` gives the posterior means."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from ..nn import ResVAE
from ...runtime import resolve_device, seed_everything
from ..training import RowSubset, VAEOptions, fit_vae
from .net import NetEstimator, _torch_threads
from .params import EMBED_ARCHS, _check_random_state, build_module, resolve_params
from .rows import _holdout_rows


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
        module_: the trained :class:`~genoml_core.models.nn.ResVAE`.
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

    __module__ = "genoml_core.models.estimators"  # NOTE: the public import path (see NetEstimator)
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
