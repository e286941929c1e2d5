"""One penalized GLM path on all the given rows, without inner CV or averaging (small problems,
tests and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ...evaluation.metrics import check_task
from .design import _Design
from .solver import _glm, _lambda_max, _lambda_path, _solve, _split_betas
from .stats import BLOCK_BYTES, _as_covariates, _check_genotypes, _encode_y, _weights


@dataclass(frozen=True)
class GLMPath:
    """A penalized GLM path on all the rows given, standardized scale.

    The linear predictor at path point ``l`` is ``intercept[l] + Z @ coef[l] + Cz @ covariate_coef[l]``
    with ``Z = (G_imputed - center) / scale`` and ``Cz = (C - covariate_center) / covariate_scale``.

    Attributes:
        lambdas: (L,) the path, decreasing.
        coef: (L, p) SNP coefficients ((L, p, K) for multiclass).
        covariate_coef: (L, q) covariate coefficients ((L, q, K)).
        intercept: (L,) intercepts ((L, K)).
        center: (p,) SNP training means (imputation values).
        scale: (p,) SNP training standard deviations.
        covariate_center: (q,) covariate training means.
        covariate_scale: (q,) covariate training standard deviations.
        deviance_ratio: (L,) training deviance explained.
        classes: class labels (binary: the second is the positive class), None for continuous.
    """

    lambdas: np.ndarray
    coef: np.ndarray
    covariate_coef: np.ndarray
    intercept: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    covariate_center: np.ndarray
    covariate_scale: np.ndarray
    deviance_ratio: np.ndarray
    classes: np.ndarray | None


def glm_path(
    G: np.ndarray,
    y: Any,
    *,
    task: str,
    covariates: Any = None,
    sample_weight: Any = None,
    rows: Sequence[int] | np.ndarray | None = None,
    alpha: float = 1.0,
    lambdas: Sequence[float] | np.ndarray | None = None,
    n_lambdas: int = 100,
    lambda_min_ratio: float = 1e-3,
    tol: float = 1e-7,
    early_exit: bool = False,
    n_threads: int = 1,
    block_bytes: int = BLOCK_BYTES,
    tmp_dir: str | None = None,
) -> GLMPath:
    """Fit one elastic-net path (no CV, no averaging) on all the given rows.

    The objective is adelie's (glmnet's): ``loss(eta) + lambda * sum_j (alpha |b_j| +
    (1 - alpha) / 2 b_j^2)`` over the standardized SNPs (covariates and intercept unpenalized),
    with ``loss`` the weighted *mean* (weights normalized to sum to 1) of the unit losses:
    ``(y - eta)^2 / 2`` (gaussian: scikit-learn's ``Lasso(alpha=lambda)``), the binomial negative
    log-likelihood (scikit-learn's ``LogisticRegression`` L1 with ``C = 1 / (n * lambda)``), or the
    multinomial one divided by K (adelie's convention).

    Args:
        G: int8 (n, p) A1 counts, -1 missing (ndarray or memory map).
        y: (n_rows,) target: labels for binary/multiclass, floats for continuous.
        task: ``binary``, ``multiclass`` or ``continuous``.
        covariates: (n_rows, q) unpenalized covariates, NaN -> training mean.
        sample_weight: (n_rows,) non-negative observation weights.
        rows: Rows of ``G`` to use (``y``, ``covariates`` and ``sample_weight`` follow them).
        alpha: Elastic-net mixing (1 = lasso).
        lambdas: The path; default ``n_lambdas`` values from lambda_max down to
            ``lambda_min_ratio * lambda_max``.
        n_lambdas: Path length when ``lambdas`` is None.
        lambda_min_ratio: Smallest lambda as a fraction of lambda_max.
        tol: Coordinate-descent and IRLS tolerance.
        early_exit: Let adelie stop once the training deviance explained saturates.
        n_threads: Solver threads.
        block_bytes: int8 bytes of genotype columns converted at a time.
        tmp_dir: Folder for the temporary ``.snpdat`` files (default: the system's).

    Returns:
        The path; coefficients are dense (L x p floats: meant for small problems and tests).
    """
    task = check_task(task)
    r = None if rows is None else np.asarray(rows, dtype=np.int64)
    n, p = _check_genotypes(G, r)
    y_enc, classes = _encode_y(y, task, n)
    C = _as_covariates(covariates, n, r)
    w = _weights(sample_weight, n)
    K = None if task != "multiclass" else y_enc.shape[1]
    with _Design(G, r, C, n_threads=n_threads, block_bytes=block_bytes, tmp_dir=tmp_dir) as d:
        glm = _glm(task, y_enc, w)
        lam = (
            _lambda_path(_lambda_max(d, glm, alpha, n_threads), n_lambdas, lambda_min_ratio)
            if lambdas is None
            else np.sort(np.asarray(lambdas, dtype=np.float64))[::-1]
        )
        st = _solve(d, glm, alpha=alpha, lambdas=lam, n_threads=n_threads, tol=tol, early_exit=early_exit)
        cov, snp = _split_betas(st.betas, d.q, d.p, K)
        return GLMPath(
            lambdas=np.asarray(st.lmdas, dtype=np.float64),
            coef=snp,
            covariate_coef=cov,
            intercept=np.asarray(st.intercepts, dtype=np.float64),
            center=d.stats.center,
            scale=d.stats.scale,
            covariate_center=d.c_center,
            covariate_scale=d.c_scale,
            deviance_ratio=np.asarray(st.devs, dtype=np.float64),
            classes=classes,
        )
