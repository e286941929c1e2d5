"""The solver of the genome-wide penalized GLM: adelie, its GLM families, the deviance, lambda
paths, one path with warm starts, and the validation early stop of an inner fold's path.

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
and imported lazily: importing :mod:`genoml_core.models.penalized` does not need adelie, fitting does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import logsumexp

if TYPE_CHECKING:
    from .design import _Design

#: How to install the solver (its metadata pins numpy<2; its binary works with numpy 2).
ADELIE_INSTALL = "pip install 'ipython>=8.17,<9' && pip install --no-deps 'adelie>=1.1.52,<1.2'"


#: The OpenMP variables adelie's ``__init__`` sets with ``os.environ.setdefault`` before it loads
#: its own libgomp.
_ADELIE_OMP_ENV = ("KMP_BLOCKTIME", "GOMP_SPINCOUNT", "KMP_DUPLICATE_LIB_OK", "OMP_PROC_BIND")


def _adelie() -> Any:
    """Import adelie, undoing its import-time side effects on the rest of the process.

    * ``OMP_PROC_BIND=TRUE``: with it, adelie's libgomp pins the importing thread to the first CPU
      of its affinity mask as it loads, and every thread and child process started afterwards
      inherits that one CPU: a pytest worker that had fitted one GLM ran every later workflow it
      started on one core of two, and a job's other threads shared the GLM job's first core. Unless
      the user set ``OMP_PROC_BIND`` themselves, adelie is loaded with ``false``.
    * The four variables it sets in ``os.environ`` (``GOMP_SPINCOUNT=1000000`` among them: OpenMP
      threads that spin rather than sleep) are put back as they were once its libgomp has read
      them, so child processes (Snakemake jobs, torch's and XGBoost's OpenMP) do not inherit them.
    * A coloured handler on the root logger: removed.
    """
    import os

    before = {k: os.environ.get(k) for k in _ADELIE_OMP_ENV}
    if before["OMP_PROC_BIND"] is None:
        os.environ["OMP_PROC_BIND"] = "false"
    try:
        import adelie
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"the genome-wide penalized GLM needs the adelie solver: {ADELIE_INSTALL}") from e
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    handler = getattr(getattr(adelie, "logger", None), "ch", None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
    return adelie
def _glm(task: str, y_enc: np.ndarray, weights: np.ndarray) -> Any:
    ad = _adelie()
    w = weights / weights.sum()
    if task == "binary":
        return ad.glm.binomial(y_enc, weights=w)
    if task == "continuous":
        return ad.glm.gaussian(y_enc, weights=w)
    return ad.glm.multinomial(y_enc, weights=w)


def _deviance(task: str, eta: np.ndarray, y_enc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mean deviance per path point: eta (L, n) or (L, n, K) -> (L,).

    >>> y, w = np.array([0.0, 1.0]), np.ones(2)
    >>> _deviance("binary", np.zeros((1, 2)), y, w).round(6).tolist()  # 2 log 2 at probability 1/2
    [1.386294]
    >>> _deviance("continuous", np.array([[0.0, 0.0], [0.0, 1.0]]), y, w).tolist()
    [0.5, 0.0]
    """
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
    """``n_lambdas`` values from ``lmax`` down to ``lambda_min_ratio * lmax``, evenly spaced in log.

    >>> _lambda_path(2.0, 4, 1e-3).round(6).tolist()
    [2.0, 0.2, 0.02, 0.002]
    """
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
