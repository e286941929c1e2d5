"""Genome-wide penalized GLM on int8 genotypes, tuned by inner CV and averaged over the fold
models (CMSA, as ``bigstatsr::big_spLogReg``).

One estimator, :class:`GenomeWideGLM`, for the three tasks: logistic (``binary``), multinomial
(``multiclass``) and gaussian (``continuous``) elastic net on every SNP it is given (no LD pruning,
no top-k), with the covariates unpenalized.

How a fit works (all of it on the rows given to ``fit``, i.e. a fold's training rows):
    1. **Training statistics from int8 counts.** Per SNP the mean and the standard deviation of
       the observed calls (-1 = missing), computed per column block from counts; a missing call
       takes the training mean (0 after scaling); a monomorphic SNP gets scale 1 (a zero column
       that never enters). These are the statistics ``genoml_core.munge`` writes to the recipe.
       Covariates are standardized the same way (NaN -> training mean).
    2. **Genotypes stay compact.** The int8 matrix is copied, ``block_bytes`` of columns at a time,
       into adelie's ``.snpdat`` format (a sparse per-SNP index of the 1, 2 and missing calls:
       about 0.7 bytes per call at MAF ~ 0.3, less for rare SNPs) in a temporary folder, memory-
       mapped, and wrapped in ``adelie.matrix.standardize`` (centering and scaling done on the
       fly). No float copy of the SNP matrix exists at any time; covariates are a small dense
       block beside it (``adelie.matrix.concatenate``) with penalty factor 0.
    3. **Inner K-fold CV** (stratified for classification, seeded by ``random_state``) per alpha
       over one common lambda path (``lambda_max`` of all the given rows down to
       ``lambda_min_ratio * lambda_max``), solved with warm starts along the path. A fold's
       validation rows get weight 0 (adelie's recommended way to subset rows: no matrix copy).
       A fold's path stops once its validation deviance has not improved for ``n_abort``
       lambdas, after at least ``min_lambdas`` (bigstatsr's ``n.abort`` / ``nlam.min``).
    4. **Selection and CMSA.** Each fold model takes its own best lambda (lowest validation
       deviance), as bigstatsr does; the alpha with the lowest mean of those K best validation
       deviances wins; the final coefficients are the average of the K fold models at their
       lambdas (no refit). ``lambda_choice="common"`` instead takes the lambda index minimizing
       the mean validation deviance over the folds and averages the K models there.

Multiclass: two model families compete in the inner CV (``multiclass_model="auto"``), like the
alphas. ``multinomial``: adelie's grouped multinomial (below). ``ordinal``: a gaussian elastic net
on the class index (the classes in their given order), tuned like a quantitative trait, whose
inner out-of-fold score ``s`` gets a multinomial logistic link ``eta_k = a_k + b_k s`` fitted on
those honest scores (the stereotype, rank-1 multinomial model; with ordered classes the middle
class is most likely in the middle of ``s``). Both are scored by the multinomial deviance of
their inner out-of-fold predictions, and the lower wins; the ordinal model is an ordinary
per-class linear predictor (weights ``b_k * beta``), so everything downstream is unchanged. On the
quality benchmark's 3-class trait (a liability cut in three) the ordinal model won the inner CV
and scored new people at macro AUC 0.627 against 0.596-0.605 for the multinomial; classes driven
by different SNPs pick the multinomial (tested).

Selection metric: the mean inner-fold validation **deviance** (binomial / multinomial: twice the
negative log-likelihood; gaussian: mean squared error), not AUC. It is what bigstatsr and
glmnet use, it is one rule for the three tasks, it is a proper scoring rule (it rewards
calibrated probabilities, which the stacker and calibrator downstream consume), and it is smooth
along the path, so the early stop on the validation curve is stable; AUC is a rank statistic,
flat and noisy on a fold of a few hundred people, and undefined for continuous traits.

Coefficients: ``coef_`` / ``covariate_coef_`` / ``intercept_std_`` are in the standardized scale;
``allele_weights_`` (per counted allele), ``covariate_weights_`` and ``intercept_`` give the same
linear predictor from raw int8 dosages (missing -> ``center_``) and raw covariates, which is what
a PGS Catalog score file needs. For ``multiclass`` there is one column per class (``classes_``);
adelie's multinomial is *grouped* (one group lasso penalty per SNP across the classes, glmnet's
``type.multinomial="grouped"``), so a SNP is in or out for all classes.

Solver choice (measured by ``bench/bench_penalized.py``; BENCHMARKS.md, sections
``bench_penalized`` and ``bench_penalized_pilot``): **adelie** 1.1.52. On a simulated cohort of
2,000 training x 16,029 QC'd SNPs (600 independent test people; 2 threads on a shared 2-CPU
machine), binary trait, h2 0.5, 150 causal SNPs:

    ======================================================  ======  =========  ========  =====
    solver                                                   wall s  CPU s      peak MB   AUC
    ======================================================  ======  =========  ========  =====
    adelie, this estimator, alphas 1/0.5/0.1/0.01, CMSA      147     153        416       0.771
    adelie, this estimator, lasso only                       21      28         416       0.771
    scikit-learn LogisticRegressionCV (liblinear, L1)        211     219        3,710     0.756
    skglm (Anderson CD, L1, 5-fold CV + refit)               > 600 (stopped)
    glum GeneralizedLinearRegressorCV (L1)                   > 240 s on the pilot below
    oracle (noise-free liability)                                                         0.884
    ======================================================  ======  =========  ========  =====

(peak MB: the process and its workers, 270-320 MB of it the int8 data and imports.) On a
600 x 2,435 pilot (same simulation, 30 causal SNPs) adelie took 0.5 s for the lasso and 4.9 s
for the grid (AUC 0.805), skglm 107 s (0.809), scikit-learn 74 s (0.798, under load), and glum's
``GeneralizedLinearRegressorCV`` did not finish in 240 s, so it was not run at full size.
Why adelie: the best test AUC at full size (the pilot's 0.004 behind skglm is noise on 300 test
people); the lasso path with CMSA 10x faster than the scikit-learn baseline and the
whole four-alpha grid still faster than it; and it is the only candidate that reads the
genotypes without a float copy (skglm, glum and scikit-learn need the SNP matrix as float32 /
float64: 40 GB in float64 at 50,000 x 100,000, more with liblinear's internal copy and one per
joblib worker, as the 3.7 GB above shows at 2,000 x 16,029). It is multithreaded C++ (OpenMP),
supports penalty factors 0 (covariates), observation weights (inner folds without copies),
user lambda paths with warm starts and a per-lambda exit callback (the validation early stop).
Small alphas cost the most (seconds per alpha on an idle machine: 10, 13, 13, 50 for 1, 0.5,
0.1, 0.01), since a near-ridge path brings many SNPs in; alpha 1 won here.

Packaging caveat: every adelie release on the package index (1.1.31-1.1.52, the newest)
declares ``numpy<2`` in its metadata while this project needs ``numpy>=2`` (the SLURM executor
plugin ``numpy>=2.4.5``), so listing it in ``pyproject.toml`` makes ``pip install -e .`` fail
with ResolutionImpossible. Its compiled extension works with numpy 2.4 (the unit tests here run
on it), so it is installed on its own, without its metadata's pins:
``pip install --no-deps 'adelie>=1.1.52,<1.2' 'ipython>=8.17,<9'`` (adelie imports IPython),
and imported lazily: importing this module does not need adelie, fitting does.

Memory at fit: the int8 input (memory-mapped or not) + one int8 column block (``block_bytes``,
default 64 MB, plus ~3x that in temporaries) while the ``.snpdat`` files are written + the
``.snpdat`` files (memory-mapped, on disk under ``tmp_dir``; 22 MB for the 2,000 x 16,029 cohort
above, 0.7 bytes per call) + per fold the sparse coefficient path + O(n) vectors. Prediction
converts ``batch_bytes`` of rows at a time, only the SNPs with a nonzero weight.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from scipy.special import expit, logsumexp, softmax
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold, StratifiedKFold

from .errors import ConfigError, InputError
from .metrics import check_task, encode_labels

__all__ = ["GenomeWideGLM", "GLMPath", "GenotypeStats", "glm_path", "genotype_stats", "ADELIE_INSTALL"]

log = logging.getLogger(__name__)

#: How to install the solver (its metadata pins numpy<2; its binary works with numpy 2).
ADELIE_INSTALL = "pip install 'ipython>=8.17,<9' && pip install --no-deps 'adelie>=1.1.52,<1.2'"
#: int8 bytes of genotype columns copied at a time into the solver's format.
BLOCK_BYTES = 64 << 20
#: int8 bytes of genotype rows converted at a time for prediction.
BATCH_BYTES = 64 << 20


def _adelie() -> Any:
    """Import adelie; undo its import-time side effect (a coloured handler on the root logger)."""
    try:
        import adelie
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"the genome-wide penalized GLM needs the adelie solver: {ADELIE_INSTALL}") from e
    handler = getattr(getattr(adelie, "logger", None), "ch", None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
    return adelie


# ----------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class GenotypeStats:
    """Per-SNP training statistics from int8 counts.

    Attributes:
        center: (p,) mean of the observed calls (the imputation value).
        scale: (p,) standard deviation of the observed calls (ddof 0); 1 where it is ~0.
        missing_rate: (p,) fraction of missing calls.
    """

    center: np.ndarray
    scale: np.ndarray
    missing_rate: np.ndarray


def _block_stats(blk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, missing rate) of an int8 block (n, k) from counts: no float copy."""
    n = blk.shape[0]
    obs = blk >= 0
    cnt = np.count_nonzero(obs, axis=0)
    x = np.where(obs, blk, np.int8(0))
    s1 = x.sum(axis=0, dtype=np.int64)
    np.multiply(x, x, out=x)  # 0/1/4 fits int8
    s2 = x.sum(axis=0, dtype=np.int64)
    mean = np.divide(s1, cnt, out=np.zeros(blk.shape[1]), where=cnt > 0)
    var = np.divide(s2, cnt, out=np.zeros(blk.shape[1]), where=cnt > 0) - mean**2
    sd = np.sqrt(np.clip(var, 0.0, None))
    scale = np.where(sd > 1e-12, sd, 1.0)
    return mean, scale, 1.0 - cnt / max(n, 1)


def _check_genotypes(G: Any, rows: np.ndarray | None) -> tuple[int, int]:
    if getattr(G, "ndim", None) != 2:
        raise InputError(f"genotypes must be a 2-D int8 array (samples x SNPs), got {type(G).__name__}")
    if G.dtype != np.int8:
        raise InputError(f"genotypes must be int8 A1 counts (0/1/2, -1 missing), got dtype {G.dtype}")
    n = G.shape[0] if rows is None else len(rows)
    if rows is not None and len(rows) and (rows.min() < 0 or rows.max() >= G.shape[0]):
        raise InputError(f"rows must index the {G.shape[0]} genotype rows")
    return n, G.shape[1]


def _column_block(G: Any, rows: np.ndarray | None, j0: int, j1: int) -> np.ndarray:
    blk = np.asfortranarray(G[:, j0:j1] if rows is None else G[rows, j0:j1])
    if blk.size and (blk.max() > 2 or blk.min() < -1):
        raise InputError(f"genotypes in columns {j0}-{j1 - 1} are outside 0/1/2 (-1 missing)")
    return blk


def _block_cols(n: int, p: int, block_bytes: int) -> int:
    return max(1, min(p, block_bytes // max(n, 1)))


def genotype_stats(
    G: np.ndarray, rows: Sequence[int] | np.ndarray | None = None, *, block_bytes: int = BLOCK_BYTES
) -> GenotypeStats:
    """Training mean, scale and missing rate of every SNP, from int8 counts by column blocks.

    Args:
        G: int8 (n, p) A1 counts, -1 missing (an ndarray or a memory map).
        rows: Training rows of ``G`` (default: all).
        block_bytes: int8 bytes of columns read at a time.

    Returns:
        The statistics; the same conventions as ``genoml_core.munge``'s recipe.
    """
    r = None if rows is None else np.asarray(rows, dtype=np.int64)
    n, p = _check_genotypes(G, r)
    k = _block_cols(n, p, block_bytes)
    parts = [_block_stats(_column_block(G, r, j, min(p, j + k))) for j in range(0, p, k)]
    if not parts:
        return GenotypeStats(np.zeros(0), np.ones(0), np.zeros(0))
    return GenotypeStats(*(np.concatenate([q[i] for q in parts]) for i in range(3)))


def _covariate_stats(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if C.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    with warnings.catch_warnings():  # an all-NaN column: mean 0, scale 1
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nan_to_num(np.nanmean(C, axis=0)) if C.shape[0] else np.zeros(C.shape[1])
        sd = np.nan_to_num(np.nanstd(C, axis=0)) if C.shape[0] else np.ones(C.shape[1])
    return m, np.where(sd > 1e-12, sd, 1.0)


def _as_covariates(covariates: Any, n: int, rows: np.ndarray | None, name: str = "covariates") -> np.ndarray:
    if covariates is None:
        return np.zeros((n, 0))
    C = np.asarray(covariates, dtype=np.float64)
    if C.ndim == 1:
        C = C[:, None]
    if C.ndim != 2 or C.shape[0] != n:
        raise InputError(f"{name} must have one row per genotype row used ({n}), got shape {C.shape}")
    if np.isinf(C).any():
        raise InputError(f"{name} contain infinite values")
    return C


# ----------------------------------------------------------------------------- design
class _Design:
    """The solver's view of one training set: [standardized covariates | standardized SNPs].

    SNPs are written to ``.snpdat`` files (one per column block) in a temporary folder and
    memory-mapped; ``close()`` (or the context manager) removes them.
    """

    def __init__(
        self,
        G: Any,
        rows: np.ndarray | None,
        C: np.ndarray,
        *,
        n_threads: int,
        block_bytes: int,
        tmp_dir: str | None,
    ) -> None:
        ad = _adelie()
        self.n, self.p = _check_genotypes(G, rows)
        self.q = C.shape[1]
        self._tmp = tempfile.TemporaryDirectory(prefix="genoml_penalized_", dir=tmp_dir)
        t0 = time.perf_counter()
        k = _block_cols(self.n, self.p, block_bytes)
        centers, scales, miss, mats = [], [], [], []
        nbytes = 0
        for b, j in enumerate(range(0, self.p, k)):
            blk = _column_block(G, rows, j, min(self.p, j + k))
            m, s, mr = _block_stats(blk)
            handle = ad.io.snp_unphased(str(Path(self._tmp.name) / f"block{b}.snpdat"), read_mode="mmap")
            nbytes += handle.write(blk, impute_method=np.array(m, dtype=np.float64), n_threads=n_threads)[0]
            del blk
            mats.append(ad.matrix.snp_unphased(handle, n_threads=n_threads))
            centers.append(m)
            scales.append(s)
            miss.append(mr)
        self.stats = GenotypeStats(
            *(np.concatenate(v) if v else np.zeros(0) for v in (centers, scales, miss))
        )
        self.c_center, self.c_scale = _covariate_stats(C)
        parts = []
        if self.q:
            Cz = (C - self.c_center) / self.c_scale
            Cz = np.asfortranarray(np.where(np.isnan(Cz), 0.0, Cz))
            self._Cz = Cz  # adelie keeps a reference, not a copy
            parts.append(ad.matrix.dense(Cz, method="naive", n_threads=n_threads))
        if self.p:
            snp = mats[0] if len(mats) == 1 else ad.matrix.concatenate(mats, axis=1, n_threads=n_threads)
            parts.append(
                ad.matrix.standardize(snp, centers=self.stats.center, scales=self.stats.scale, n_threads=n_threads)
            )
        if not parts:
            raise InputError("no SNPs and no covariates to fit")
        self.X = parts[0] if len(parts) == 1 else ad.matrix.concatenate(parts, axis=1, n_threads=n_threads)
        self.penalty = np.concatenate([np.zeros(self.q), np.ones(self.p)])
        self.snpdat_bytes = int(nbytes)
        log.info(
            "design: %d rows x %d SNPs (%d block(s), %.1f MB .snpdat) + %d covariates in %.1f s",
            self.n, self.p, len(mats), nbytes / 2**20, self.q, time.perf_counter() - t0,
        )

    def rows_matrix(self, idx: np.ndarray, n_threads: int) -> Any:
        return _adelie().matrix.subset(self.X, np.asarray(idx, dtype=np.int64), axis=0, n_threads=n_threads)

    def close(self) -> None:
        self.X = None
        self._tmp.cleanup()

    def __enter__(self) -> "_Design":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ----------------------------------------------------------------------------- GLM helpers
def _encode_y(y: Any, task: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(target for the solver, classes): float y, 0/1 for binary, one-hot (n, K) for multiclass.

    Classes are coded by :func:`~genoml_core.metrics.encode_labels` (sorted, as every learner).
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise InputError(f"y must be 1-D with one value per genotype row used ({n}), got shape {y.shape}")
    if task == "continuous":
        yf = y.astype(np.float64)
        if not np.isfinite(yf).all():
            raise InputError("y has missing or infinite values")
        return yf, None
    classes, code = encode_labels(y)
    if task == "binary" and len(classes) != 2:
        raise InputError(f"task 'binary' needs exactly 2 classes in y, got {len(classes)}: {classes[:5]}")
    if task == "multiclass" and len(classes) < 2:
        raise InputError(f"task 'multiclass' needs at least 2 classes in y, got {len(classes)}")
    if task == "binary":
        return (code == 1).astype(np.float64), classes
    return np.eye(len(classes))[code], classes


def _glm(task: str, y_enc: np.ndarray, weights: np.ndarray) -> Any:
    ad = _adelie()
    w = weights / weights.sum()
    if task == "binary":
        return ad.glm.binomial(y_enc, weights=w)
    if task == "continuous":
        return ad.glm.gaussian(y_enc, weights=w)
    return ad.glm.multinomial(y_enc, weights=w)


def _deviance(task: str, eta: np.ndarray, y_enc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mean deviance per path point: eta (L, n) or (L, n, K) -> (L,)."""
    if task == "binary":
        d = 2.0 * (np.logaddexp(0.0, eta) - y_enc[None] * eta)
    elif task == "continuous":
        d = (y_enc[None] - eta) ** 2
    else:
        d = 2.0 * (logsumexp(eta, axis=-1) - np.sum(y_enc[None] * eta, axis=-1))
    return d @ (w / w.sum())


def _lambda_max(design: _Design, glm: Any, alpha: float, n_threads: int) -> float:
    st = _adelie().grpnet(
        design.X, glm, alpha=alpha, penalty=design.penalty, lmda_path_size=0, n_threads=n_threads, progress_bar=False
    )
    return float(st.lmda_max)


def _lambda_path(lmax: float, n_lambdas: int, lambda_min_ratio: float) -> np.ndarray:
    return lmax * np.logspace(0.0, np.log10(lambda_min_ratio), n_lambdas)


def _solve(
    design: _Design,
    glm: Any,
    *,
    alpha: float,
    lambdas: np.ndarray,
    n_threads: int,
    tol: float,
    early_exit: bool,
    exit_cond: Any = None,
) -> Any:
    """One path with warm starts (adelie solves the lambdas in decreasing order)."""
    return _adelie().grpnet(
        design.X,
        glm,
        alpha=alpha,
        penalty=design.penalty,
        lmda_path=np.asarray(lambdas, dtype=np.float64),
        tol=tol,
        irls_tol=tol,
        early_exit=early_exit,
        n_threads=n_threads,
        progress_bar=False,
        exit_cond=exit_cond,
    )


def _split_betas(betas: Any, q: int, p: int, K: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Dense (covariate, SNP) coefficients of solver rows: (L, q), (L, p) or (L, q, K), (L, p, K)."""
    B = np.asarray(betas.toarray() if hasattr(betas, "toarray") else betas, dtype=np.float64)
    if K is None:
        return B[:, :q], B[:, q:]
    B = B.reshape(B.shape[0], q + p, K)
    return B[:, :q], B[:, q:]


def _snp_nonzero(betas: Any, q: int, K: int | None) -> np.ndarray:
    """Number of SNPs with a nonzero coefficient at each path point (from the sparse path)."""
    csr = betas.tocsr()
    out = np.zeros(csr.shape[0], dtype=np.int64)
    for i in range(csr.shape[0]):
        cols = csr.indices[csr.indptr[i] : csr.indptr[i + 1]][csr.data[csr.indptr[i] : csr.indptr[i + 1]] != 0]
        feat = cols if K is None else cols // K
        out[i] = np.unique(feat[feat >= q]).size
    return out


def _ordinal_link(score: np.ndarray, y: np.ndarray, w: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """The ordinal model's link: a weighted multinomial logistic regression of the class (0..K-1)
    on one score; returns ``(a, b)``, (K,) each, with ``eta_k = a_k + b_k score``."""
    from sklearn.linear_model import LogisticRegression

    sd = float(np.std(score))
    if not np.isfinite(sd) or sd < 1e-12:  # a constant score: the class frequencies only
        p = np.bincount(y, weights=w, minlength=K) / w.sum()
        return np.log(np.clip(p, 1e-12, None)), np.zeros(K)
    lr = LogisticRegression(C=1e4, max_iter=1000).fit((score / sd)[:, None], y, sample_weight=w)
    a, b = np.full(K, -30.0), np.zeros(K)  # a class absent from y: never predicted
    a[lr.classes_], b[lr.classes_] = lr.intercept_, lr.coef_[:, 0] / sd
    return a, b


class _ValidationStop:
    """``exit_cond`` for adelie: stop a fold's path once the validation deviance has not improved
    for ``n_abort`` lambdas, after at least ``min_lambdas`` (bigstatsr's n.abort / nlam.min)."""

    def __init__(self, X_val: Any, task: str, y_val: np.ndarray, w_val: np.ndarray, n_abort: int, min_lambdas: int,
                 n_threads: int) -> None:
        self.X_val, self.task, self.y_val, self.w_val = X_val, task, y_val, w_val
        self.n_abort, self.min_lambdas, self.n_threads = n_abort, min_lambdas, n_threads
        self.losses: list[float] = []

    def __call__(self, state: Any) -> bool:
        betas, intercepts = state.betas[-1:], np.asarray(state.intercepts)[-1:]
        eta = _adelie().diagnostic.predict(self.X_val, betas, intercepts, n_threads=self.n_threads)
        self.losses.append(float(_deviance(self.task, eta, self.y_val, self.w_val)[0]))
        n = len(self.losses)
        return n >= self.min_lambdas and n - 1 - int(np.argmin(self.losses)) >= self.n_abort


# ----------------------------------------------------------------------------- path
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


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"sample_weight must be {n} finite non-negative values with a positive sum")
    return w


# ----------------------------------------------------------------------------- estimator
class GenomeWideGLM(BaseEstimator):
    """Genome-wide elastic-net GLM on int8 genotypes with inner-CV CMSA (see the module docstring).

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
            (see the module docstring); ignored for the other tasks.
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

    # ---- validation
    def _check_params(self) -> tuple[float, ...]:
        check_task(self.task)
        alphas = tuple(float(a) for a in np.atleast_1d(self.alphas))
        if not alphas or any(not 0 < a <= 1 for a in alphas):
            raise ConfigError(f"alphas={self.alphas} must be non-empty values in (0, 1]")
        if int(self.n_inner_folds) < 2:
            raise ConfigError(f"n_inner_folds={self.n_inner_folds} must be >= 2")
        if int(self.n_lambdas) < 2:
            raise ConfigError(f"n_lambdas={self.n_lambdas} must be >= 2")
        if not 0 < self.lambda_min_ratio < 1:
            raise ConfigError(f"lambda_min_ratio={self.lambda_min_ratio} must be in (0, 1)")
        if self.n_abort < 1 or self.min_lambdas < 1:
            raise ConfigError(f"n_abort={self.n_abort} and min_lambdas={self.min_lambdas} must be >= 1")
        if self.multiclass_model not in ("auto", "multinomial", "ordinal"):
            raise ConfigError(f"multiclass_model={self.multiclass_model!r} must be 'auto', 'multinomial' or 'ordinal'")
        if self.lambda_choice not in ("fold", "common"):
            raise ConfigError(f"lambda_choice={self.lambda_choice!r} must be 'fold' or 'common'")
        if int(self.n_threads) < 1:
            raise ConfigError(f"n_threads={self.n_threads} must be >= 1")
        return alphas

    def _folds(self, y_enc: np.ndarray, n: int) -> np.ndarray:
        K = int(self.n_inner_folds)
        if n < 2 * K:
            raise InputError(f"{n} training rows are too few for {K} inner folds")
        fold = np.empty(n, dtype=np.int64)
        if self.task == "continuous":
            splits = KFold(K, shuffle=True, random_state=self.random_state).split(np.zeros(n))
        else:
            strata = y_enc if y_enc.ndim == 1 else y_enc.argmax(axis=1)
            counts = np.bincount(strata.astype(np.int64))
            if counts.min() < K:
                raise InputError(f"the smallest class has {counts.min()} rows: too few for {K} stratified inner folds")
            splits = StratifiedKFold(K, shuffle=True, random_state=self.random_state).split(np.zeros(n), strata)
        for k, (_, val) in enumerate(splits):
            fold[val] = k
        return fold

    # ---- fit
    def fit(
        self,
        G: np.ndarray,
        y: Any,
        covariates: Any = None,
        sample_weight: Any = None,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> "GenomeWideGLM":
        """Fit on the given (training) rows: statistics, inner CV per alpha, CMSA.

        Args:
            G: int8 (n, p) A1 counts, -1 missing (ndarray or memory map; never copied whole).
            y: (n_rows,) labels (binary/multiclass) or values (continuous).
            covariates: (n_rows, q) unpenalized covariates (NaN -> training mean).
            sample_weight: (n_rows,) non-negative observation weights.
            rows: Training rows of ``G`` (``y``, ``covariates``, ``sample_weight`` follow them);
                default all rows.

        Returns:
            self.
        """
        t_start = time.perf_counter()
        alphas = self._check_params()
        task = self.task
        r = None if rows is None else np.asarray(rows, dtype=np.int64)
        n, p = _check_genotypes(G, r)
        y_enc, classes = _encode_y(y, task, n)
        C = _as_covariates(covariates, n, r)
        w = _weights(sample_weight, n)
        K = None if task != "multiclass" else y_enc.shape[1]
        folds = self._folds(y_enc, n)
        nf, nt = int(self.n_inner_folds), int(self.n_threads)

        models = self._models()
        best: dict[str, Any] | None = None
        res: dict[str, list[Any]] = {k: [] for k in (
            "models", "alphas", "lambdas", "fold_deviance", "fold_n_nonzero", "fold_best_index", "score",
            "fit_seconds")}
        with _Design(G, r, C, n_threads=nt, block_bytes=int(self.block_bytes), tmp_dir=self.tmp_dir) as d:
            X_val = [d.rows_matrix(np.flatnonzero(folds == k), nt) for k in range(nf)]
            t_fit = time.perf_counter()
            n_fits = nf * len(alphas) * len(models)
            for im, model in enumerate(models):
                for ia, alpha in enumerate(alphas):
                    t0 = time.perf_counter()
                    cand = self._cv_candidate(d, model, alpha, y_enc, w, folds, X_val, K, nt,
                                              done=(im * len(alphas) + ia) * nf, n_fits=n_fits, t_fit=t_fit)
                    secs = time.perf_counter() - t0
                    log.info(
                        "%s alpha %g: fold lambda indices %s of %d, validation deviance %.5f, %.1f s",
                        model, alpha, cand["index"].tolist(), cand["lambdas"].size, cand["score"], secs,
                    )
                    for key, v in (("models", model), ("alphas", alpha), ("lambdas", cand["lambdas"]),
                                   ("fold_deviance", cand["dev"]), ("fold_n_nonzero", cand["nnz"]),
                                   ("fold_best_index", cand["index"]), ("score", cand["score"]),
                                   ("fit_seconds", secs)):
                        res[key].append(v)
                    if best is None or cand["score"] < best["score"]:
                        best = {**cand, "alpha": alpha, "model": model}
            stats, c_center, c_scale = d.stats, d.c_center, d.c_scale
            del X_val
        assert best is not None
        self._set_model(best, stats, c_center, c_scale, classes, p, folds)
        fd = np.stack(res["fold_deviance"])
        with warnings.catch_warnings():  # all-NaN columns (lambdas no fold reached) give NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            complete = ~np.isnan(fd).any(axis=1)
            self.cv_results_ = {
                "models": np.asarray(res["models"]),
                "alphas": np.asarray(res["alphas"]),
                "lambdas": np.stack(res["lambdas"]),
                "mean_deviance": np.where(complete, np.nanmean(fd, axis=1), np.nan),
                "sd_deviance": np.where(complete, np.nanstd(fd, axis=1), np.nan),
                "n_folds_fitted": (~np.isnan(fd)).sum(axis=1),
                "mean_n_nonzero": np.nanmean(np.stack(res["fold_n_nonzero"]), axis=1),
                "fold_deviance": fd,
                "fold_best_index": np.stack(res["fold_best_index"]),
                "score": np.asarray(res["score"]),
                "fit_seconds": np.asarray(res["fit_seconds"]),
            }
        log.info(
            "fit: %salpha %g, %d of %d SNPs nonzero, %.1f s",
            f"{self.multiclass_model_} model, " if task == "multiclass" else "", self.alpha_, self.n_nonzero_, p,
            time.perf_counter() - t_start,
        )
        return self

    def _models(self) -> list[str]:
        """The model families compared by inner CV: multiclass ``auto`` tries both."""
        if self.task != "multiclass":
            return ["glm"]
        return ["multinomial", "ordinal"] if self.multiclass_model == "auto" else [str(self.multiclass_model)]

    def _cv_candidate(
        self, d: "_Design", model: str, alpha: float, y_enc: np.ndarray, w: np.ndarray, folds: np.ndarray,
        X_val: list[Any], K: int | None, nt: int, *, done: int, n_fits: int, t_fit: float,
    ) -> dict[str, Any]:
        """One (model, alpha): a lambda path per inner fold, the validation deviance along it, each
        fold's chosen lambda and its coefficients (standardized scale; (p, K) for multiclass).

        ``ordinal`` (multiclass): a gaussian elastic net on the class index (the classes in their
        given order), tuned like a quantitative trait (validation squared error), gives one score
        ``s``. A multinomial logistic regression of the class on the inner folds' out-of-fold
        scores (honest: each row scored by the fold model that did not train on it) gives the link
        ``eta_k = a_k + b_k s`` (the stereotype, or rank-1 multinomial, model: it can make a middle
        class most likely in the middle of ``s``). The candidate's score is the multinomial
        deviance of those out-of-fold predictions, on the scale of the ``multinomial`` model's, so
        the two compete like alphas.
        """
        task, nf = self.task, int(self.n_inner_folds)
        ordinal = model == "ordinal"
        fit_task = "continuous" if ordinal else task
        y_fit = y_enc.argmax(axis=1).astype(np.float64) if ordinal else y_enc
        lam = _lambda_path(_lambda_max(d, _glm(fit_task, y_fit, w), alpha, nt), int(self.n_lambdas),
                           self.lambda_min_ratio)
        dev = np.full((nf, lam.size), np.nan)
        nnz = np.full((nf, lam.size), np.nan)
        paths = []
        Kfit = None if ordinal else K
        for k in range(nf):
            val = folds == k
            stop = _ValidationStop(X_val[k], fit_task, y_fit[val], w[val], int(self.n_abort), int(self.min_lambdas), nt)
            st = _solve(d, _glm(fit_task, y_fit, np.where(val, 0.0, w)), alpha=alpha, lambdas=lam, n_threads=nt,
                        tol=self.tol, early_exit=True, exit_cond=stop)
            L = len(st.lmdas)
            betas, intercepts = st.betas, np.asarray(st.intercepts, dtype=np.float64)
            eta = _adelie().diagnostic.predict(X_val[k], betas, intercepts, n_threads=nt)
            dev[k, :L] = _deviance(fit_task, eta, y_fit[val], w[val])
            nnz[k, :L] = _snp_nonzero(betas, d.q, Kfit)
            paths.append((betas, intercepts, eta))
            # progress of a long fit: inner folds done, their rate and the time left
            n_done = done + k + 1
            spent = time.perf_counter() - t_fit
            log.info("inner fold %d/%d of %s alpha %g: %d lambdas, %d SNPs in at the last; %d of %d fits done, "
                     "%.1f s per fit, about %.0f s left", k + 1, nf, model, alpha, L, int(nnz[k, L - 1]) if L else 0,
                     n_done, n_fits, spent / n_done, spent / n_done * (n_fits - n_done))
        sel = self._select(dev)
        cov_k, snp_k, int_k = [], [], []
        oof = np.zeros(len(folds))
        for k, (betas, intercepts, eta) in enumerate(paths):
            i = sel["index"][k]
            c, s_ = _split_betas(betas[i : i + 1], d.q, d.p, Kfit)
            cov_k.append(c[0])
            snp_k.append(s_[0])
            int_k.append(intercepts[i])
            if ordinal:
                oof[folds == k] = eta[i]
        out = {"lambdas": lam, "dev": dev, "nnz": nnz, "score": sel["score"], "index": sel["index"],
               "cov": np.stack(cov_k), "snp": np.stack(snp_k), "int": np.stack(int_k)}
        if ordinal:
            assert K is not None
            a, b = _ordinal_link(oof, y_enc.argmax(axis=1), w, K)
            eta_oof = a + np.multiply.outer(oof, b)
            out["score"] = float(_deviance(task, eta_oof[None], y_enc, w)[0])
            # eta_k = a_k + b_k (intercept + x.beta): per-class coefficients b_k beta
            out["cov"] = np.multiply.outer(out["cov"], b)
            out["snp"] = np.multiply.outer(out["snp"], b)
            out["int"] = a + np.multiply.outer(out["int"], b)
            out["link"] = {"a": a, "b": b}
        return out

    def _select(self, dev: np.ndarray) -> dict[str, Any]:
        """Lambda index per fold and the alpha's score from the (folds, lambdas) validation deviance."""
        if self.lambda_choice == "fold":
            filled = np.where(np.isnan(dev), np.inf, dev)
            idx = filled.argmin(axis=1)
            return {"index": idx, "score": float(filled[np.arange(len(idx)), idx].mean())}
        complete = ~np.isnan(dev).any(axis=0)
        mean = np.where(complete, np.nan_to_num(dev).mean(axis=0), np.inf)
        i = int(mean.argmin())
        return {"index": np.full(dev.shape[0], i), "score": float(mean[i])}

    def _set_model(self, best: dict[str, Any], stats: GenotypeStats, c_center: np.ndarray, c_scale: np.ndarray,
                   classes: np.ndarray | None, p: int, folds: np.ndarray) -> None:
        self.alpha_ = best["alpha"]
        if self.task == "multiclass":
            self.multiclass_model_ = best["model"]
        self.lambdas_ = best["lambdas"]
        self.fold_lambda_index_ = np.asarray(best["index"])
        self.lambda_ = self.lambdas_[self.fold_lambda_index_]
        self.fold_coef_ = best["snp"]
        self.fold_covariate_coef_ = best["cov"]
        self.fold_intercept_ = best["int"]
        # CMSA: the average of the K fold models (one standardization, so the average is the same
        # in the standardized and the raw scale)
        self.coef_ = self.fold_coef_.mean(axis=0)
        self.covariate_coef_ = self.fold_covariate_coef_.mean(axis=0)
        self.intercept_std_ = self.fold_intercept_.mean(axis=0)
        self.center_, self.scale_, self.missing_rate_ = stats.center, stats.scale, stats.missing_rate
        self.covariate_center_, self.covariate_scale_ = c_center, c_scale
        self.allele_weights_ = self.coef_ / (self.scale_ if self.coef_.ndim == 1 else self.scale_[:, None])
        self.covariate_weights_ = self.covariate_coef_ / (
            self.covariate_scale_ if self.covariate_coef_.ndim == 1 else self.covariate_scale_[:, None]
        )
        self.intercept_ = self.intercept_std_ - self.center_ @ self.allele_weights_ - c_center @ self.covariate_weights_
        nz = self.coef_ != 0
        self.n_nonzero_ = int((nz if nz.ndim == 1 else nz.any(axis=1)).sum())
        self.n_features_in_ = p
        self.inner_folds_ = folds
        if classes is not None:
            self.classes_ = classes

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
