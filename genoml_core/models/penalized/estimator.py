"""The genome-wide penalized GLM estimator, :class:`GenomeWideGLM`: parameters, coefficients and
predictions; its fit is in :mod:`genoml_core.models.penalized.cv`.

Coefficients: ``coef_`` / ``covariate_coef_`` / ``intercept_std_`` are in the standardized scale;
``allele_weights_`` (per counted allele), ``covariate_weights_`` and ``intercept_`` give the same
linear predictor from raw int8 dosages (missing -> ``center_``) and raw covariates, which is what
a PGS Catalog score file needs. For ``multiclass`` there is one column per class (``classes_``);
adelie's multinomial is *grouped* (one group lasso penalty per SNP across the classes, glmnet's
``type.multinomial="grouped"``), so a SNP is in or out for all classes.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator

from ...errors import InputError
from ...evaluation.metrics import check_task
from .cv import _InnerCV
from .stats import BLOCK_BYTES, _as_covariates, _check_genotypes

#: int8 bytes of genotype rows converted at a time for prediction.
BATCH_BYTES = 64 << 20


class GenomeWideGLM(_InnerCV, BaseEstimator):
    """Genome-wide elastic-net GLM on int8 genotypes with inner-CV CMSA (see :mod:`genoml_core.models.penalized`).

    Args:
        task: ``binary`` (logistic), ``multiclass`` (grouped multinomial or ordinal, see
            ``multiclass_model``) or ``continuous``
            (gaussian).
        alphas: Elastic-net mixing values tried (1 = lasso; bigstatsr's grid).
        n_inner_folds: K of the inner CV; the final model averages the K fold models.
        n_lambdas: Length of each alpha's lambda path.
        lambda_min_ratio: Smallest lambda as a fraction of lambda_max (bigstatsr: 1e-3 when
            n < p).
        n_abort: A fold's path stops after this many lambdas without a better validation
            deviance ...
        min_lambdas: ... once at least this many lambdas were fitted. The defaults are
            bigstatsr's (``n.abort = 10``, ``nlam.min = 50`` of ``nlambda = 200``) at half the
            path length.
        lambda_choice: ``"fold"``: each fold model at its own best lambda (bigstatsr's CMSA);
            ``"common"``: all at the lambda index with the best mean validation deviance.
        multiclass_model: ``"auto"`` (the inner CV chooses), ``"multinomial"`` or ``"ordinal"``
            (see :mod:`genoml_core.models.penalized.cv`); ignored for the other tasks.
        tol: Coordinate-descent and IRLS tolerance.
        n_threads: Solver threads (the job's threads).
        random_state: Seed of the inner folds.
        block_bytes: int8 bytes of genotype columns converted at a time during ``fit``.
        batch_bytes: int8 bytes of genotype rows converted at a time for predictions.
        tmp_dir: Folder for the temporary ``.snpdat`` files (default: the system's).

    Attributes (after ``fit``):
        coef_: (p,) or (p, K) averaged SNP coefficients, standardized scale.
        covariate_coef_: (q,) or (q, K) covariate coefficients, standardized scale.
        intercept_std_: intercept of the standardized scale ((K,) for multiclass).
        allele_weights_: ``coef_ / scale_`` per counted allele.
        covariate_weights_: per raw covariate unit.
        intercept_: intercept for raw dosages (missing -> ``center_``) and raw covariates.
        center_, scale_, missing_rate_: SNP training statistics.
        covariate_center_, covariate_scale_: covariate training statistics.
        classes_: class labels (classification).
        alpha_: chosen alpha. lambdas_: its lambda path. fold_lambda_index_: (K,) lambda index
            of each fold model. lambda_: (K,) the corresponding lambdas.
        fold_coef_, fold_covariate_coef_, fold_intercept_: the K fold models (standardized).
        inner_folds_: (n,) inner fold of each training row.
        multiclass_model_: ``"multinomial"`` or ``"ordinal"`` (multiclass).
        cv_results_: dict of per-candidate arrays, one candidate per (model, alpha): ``models``
            (``glm`` for binary/continuous), ``alphas``, ``lambdas`` (n_alpha, n_lambdas),
            ``mean_deviance`` / ``sd_deviance`` over folds (NaN where some fold stopped earlier),
            ``n_folds_fitted``, ``mean_n_nonzero`` (SNPs), ``fold_deviance``
            (n_alpha, K, n_lambdas; the ordinal model's: squared error of the class index),
            ``fold_best_index`` (n_alpha, K), ``score`` (n_alpha,) the selection criterion,
            ``fit_seconds``.
        n_nonzero_: SNPs with a nonzero averaged coefficient.
        n_features_in_: p.
    """

    def __init__(
        self,
        task: str = "binary",
        *,
        alphas: Sequence[float] = (1.0, 0.5, 0.1, 0.01),
        n_inner_folds: int = 5,
        n_lambdas: int = 100,
        lambda_min_ratio: float = 1e-3,
        n_abort: int = 5,
        min_lambdas: int = 25,
        lambda_choice: Literal["fold", "common"] = "fold",
        multiclass_model: Literal["auto", "multinomial", "ordinal"] = "auto",
        tol: float = 1e-7,
        n_threads: int = 1,
        random_state: int | None = None,
        block_bytes: int = BLOCK_BYTES,
        batch_bytes: int = BATCH_BYTES,
        tmp_dir: str | None = None,
    ) -> None:
        self.task = task
        self.alphas = alphas
        self.n_inner_folds = n_inner_folds
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.n_abort = n_abort
        self.min_lambdas = min_lambdas
        self.lambda_choice = lambda_choice
        self.multiclass_model = multiclass_model
        self.tol = tol
        self.n_threads = n_threads
        self.random_state = random_state
        self.block_bytes = block_bytes
        self.batch_bytes = batch_bytes
        self.tmp_dir = tmp_dir

    # ---- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("this GenomeWideGLM is not fitted yet: call fit first")

    def decision_function(
        self, G: np.ndarray, covariates: Any = None, rows: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Linear predictor from raw int8 dosages (missing -> training mean) and raw covariates.

        Rows are converted ``batch_bytes`` of int8 at a time, and only the SNPs with a nonzero
        weight are turned into floats.

        Args:
            G: int8 (n, p) A1 counts in the training SNP order, -1 missing.
            covariates: (n_rows, q) raw covariates (NaN -> training mean); required if the model
                has covariates.
            rows: Rows of ``G`` to score (default all; ``covariates`` follows them).

        Returns:
            (n_rows,) or, for multiclass, (n_rows, K) linear predictors.
        """
        self._check_fitted()
        r = None if rows is None else np.asarray(rows, dtype=np.int64)
        n, p = _check_genotypes(G, r)
        if p != self.n_features_in_:
            raise InputError(f"genotypes have {p} SNPs, the model was fitted on {self.n_features_in_}")
        q = self.covariate_center_.size
        C = _as_covariates(covariates, n, r)
        if C.shape[1] != q:
            raise InputError(f"the model needs {q} covariate column(s), got {C.shape[1]}")
        C = np.where(np.isnan(C), self.covariate_center_, C)
        W = self.allele_weights_
        keep = np.flatnonzero(W != 0 if W.ndim == 1 else (W != 0).any(axis=1))
        Wk, fill = W[keep], self.center_[keep]
        out = np.empty((n,) + W.shape[1:])
        step = max(1, int(self.batch_bytes) // max(p, 1))
        for s in range(0, n, step):
            e = min(n, s + step)
            g = np.asarray(G[s:e] if r is None else G[r[s:e]])[:, keep]
            x = g.astype(np.float64)
            np.copyto(x, np.broadcast_to(fill, x.shape), where=g < 0)
            out[s:e] = x @ Wk
        return out + C @ self.covariate_weights_ + self.intercept_

    def predict_proba(
        self, G: np.ndarray, covariates: Any = None, rows: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities (n_rows, n_classes), columns in ``classes_`` order (classification)."""
        if check_task(self.task) == "continuous":
            raise AttributeError("predict_proba is for binary and multiclass tasks")
        eta = self.decision_function(G, covariates, rows)
        if self.task == "binary":
            p1 = expit(eta)
            return np.column_stack([1.0 - p1, p1])
        return softmax(eta, axis=1)

    def predict(
        self, G: np.ndarray, covariates: Any = None, rows: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Predicted values (continuous) or labels (classification, the most probable class)."""
        eta = self.decision_function(G, covariates, rows)
        if self.task == "continuous":
            return eta
        idx = (eta > 0).astype(np.int64) if self.task == "binary" else eta.argmax(axis=1)
        return self.classes_[idx]
