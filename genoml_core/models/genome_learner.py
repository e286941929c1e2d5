"""The genome-wide penalized GLM as a learner of the workflow (``penalized_glm``).

It trains on the **genome-wide** feature store (``results/munge_genome/{fold}``: every SNP that
passed the fold's variant QC, no LD pruning, no association filter, plus the covariates), from the
store's int8 genotypes (:class:`genoml_core.models.penalized.GenomeWideGLM`: inner K-fold CV over an
alpha grid and a lambda path, the K fold models averaged, CMSA). Its own inner CV tunes it, so it
runs one trial.

The fitted model is then written as what it is, a linear model, in the feature space of the fold's
recipe (features scaled ``(x - mean) / scale``, missing -> 0): a scikit-learn
``LogisticRegression`` (binary, multinomial) or ``LinearRegression`` whose ``coef_`` and
``intercept_`` reproduce the GLM's linear predictor exactly (the recipe and the GLM standardize
with the same training rows' mean; see :func:`to_linear_model`). Everything downstream then works
unchanged and safely: persistence (skops' safe types), prediction in batches of scaled rows,
harmonized new cohorts, SHAP's exact ``LinearExplainer``, and per-allele weights for a score file.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils.class_weight import compute_sample_weight

from . import registry

__all__ = ["GENOME_LEARNERS", "fit_genome_glm", "to_linear_model"]

log = logging.getLogger(__name__)

#: Learners that train on the genome-wide store (``munge_genome``) instead of the compact one (those
#: declaring ``feature_set="genome"`` in :data:`genoml_core.models.registry.REGISTRY`).
GENOME_LEARNERS = tuple(name for name, spec in registry.REGISTRY.items() if spec.feature_set == "genome")


def parse_alphas(value: Any) -> tuple[float, ...]:
    """Elastic-net mixing values from a search-space value: ``"1,0.5"``, ``1`` or ``[1, 0.5]``.

    Raises:
        ConfigError: an empty grid, or a value outside (0, 1].

    >>> parse_alphas("1, 0.5"), parse_alphas(1), parse_alphas([1, "0.1"])
    ((1.0, 0.5), (1.0,), (1.0, 0.1))
    """
    from ..errors import ConfigError

    items = value.split(",") if isinstance(value, str) else (value if isinstance(value, (list, tuple)) else [value])
    try:
        alphas = tuple(float(a) for a in items if str(a).strip() != "")
    except (TypeError, ValueError) as err:
        raise ConfigError(f"penalized_glm alphas {value!r}: not numbers ({err}); use e.g. \"1,0.5\"") from err
    if not alphas or any(not 0.0 < a <= 1.0 for a in alphas):
        raise ConfigError(f"penalized_glm alphas {value!r}: give one or more values in (0, 1], e.g. \"1,0.5\"")
    return alphas


def fit_genome_glm(
    store: Any,
    *,
    task: str,
    params: Mapping[str, Any],
    random_state: int,
    threads: int,
    class_weight: str,
) -> BaseEstimator:
    """Fit the genome-wide GLM on a store's training rows; return it as a recipe-space linear model.

    Args:
        store: A :class:`genoml_core.store.FeatureStore` (int8 genotypes + raw covariates).
        task: ``binary``, ``multiclass`` or ``continuous``.
        params: :class:`~genoml_core.models.penalized.GenomeWideGLM` parameters (e.g. ``alphas``,
            ``n_inner_folds``, ``n_lambdas``, ``lambda_min_ratio``).
        random_state: Seeds the inner folds.
        threads: Solver threads.
        class_weight: ``balanced`` weighs classes equally (classification; the final model's
            calibrator restores the risk scale), else unweighted.
    """
    from .penalized import GenomeWideGLM

    tr = store.index("train")
    y = store.labels(tr)
    other = store.other[tr] if store.other.shape[1] else None
    sw = compute_sample_weight("balanced", y) if (class_weight == "balanced" and task != "continuous") else None
    params = dict(params)
    if "alphas" in params:
        params["alphas"] = parse_alphas(params["alphas"])
    glm = GenomeWideGLM(task, n_threads=threads, random_state=random_state, **params)
    glm.fit(store.genotypes, y, covariates=other, sample_weight=sw, rows=tr)
    log.info("penalized_glm: %salpha %.3g, lambda %s, %d of %d SNPs nonzero",
             f"{glm.multiclass_model_} model, " if task == "multiclass" else "", glm.alpha_,
             np.round(np.atleast_1d(glm.lambda_), 6).tolist(), glm.n_nonzero_, glm.n_features_in_)
    return to_linear_model(glm, store.recipe, task)


def to_linear_model(glm: Any, recipe: Mapping[str, Any], task: str) -> BaseEstimator:
    """The fitted GLM as a scikit-learn linear model on the recipe's scaled features.

    The GLM predicts ``eta = b + sum_j w_j g_j`` from raw dosages ``g`` (missing -> the training
    mean) and raw covariates; the recipe's features are ``x_j = (g_j - mean_j) / scale_j``
    (missing -> 0, i.e. the training mean). So ``eta = (b + sum_j w_j mean_j) + sum_j (w_j
    scale_j) x_j``: coefficients ``w * scale`` and that intercept give the same predictor.
    """
    n_snps = int(recipe["n_snps"])
    feats = recipe["features"]
    mean = np.array([f["mean"] for f in feats], dtype=np.float64)
    scale = np.array([f["scale"] for f in feats], dtype=np.float64)
    w_snp = np.asarray(glm.allele_weights_, dtype=np.float64)
    w_other = np.asarray(glm.covariate_weights_, dtype=np.float64)
    if w_snp.shape[0] != n_snps or w_other.shape[0] != len(feats) - n_snps:
        raise ValueError(
            f"the GLM has {w_snp.shape[0]} SNP and {w_other.shape[0]} covariate weights; the recipe lists "
            f"{n_snps} SNPs and {len(feats) - n_snps} other features"
        )
    w = np.concatenate([w_snp, w_other], axis=0)  # (p,) or (p, K)
    coef = w * (scale if w.ndim == 1 else scale[:, None])
    intercept = np.asarray(glm.intercept_, dtype=np.float64) + mean @ w
    info = {
        "alpha": float(glm.alpha_),
        "lambda": np.atleast_1d(np.asarray(glm.lambda_, dtype=np.float64)).tolist(),
        "n_nonzero_snps": int(glm.n_nonzero_),
        "n_snps": n_snps,
        "n_inner_folds": int(glm.n_inner_folds),
    }
    if task == "multiclass":
        info["multiclass_model"] = str(glm.multiclass_model_)
    if task == "continuous":
        est: BaseEstimator = LinearRegression()
        est.coef_ = coef
        est.intercept_ = float(intercept)
    else:
        est = LogisticRegression()
        if task == "binary":
            est.coef_ = coef.reshape(1, -1)
            est.intercept_ = np.atleast_1d(intercept).reshape(1)
        else:
            est.coef_ = np.ascontiguousarray(coef.T)
            est.intercept_ = np.asarray(intercept).reshape(-1)
        est.classes_ = np.asarray(glm.classes_)
    est.n_features_in_ = len(feats)
    est.genoml_glm_ = info  # plain values: saved with the model, shown in logs
    return est
