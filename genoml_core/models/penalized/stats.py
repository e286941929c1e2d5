"""Input checks and per-SNP training statistics of the genome-wide penalized GLM, from int8 counts
(step 1 of a fit, see :mod:`genoml_core.models.penalized`): no float copy of the genotypes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ...errors import InputError
from ...evaluation.metrics import encode_labels

#: int8 bytes of genotype columns copied at a time into the solver's format.
BLOCK_BYTES = 64 << 20


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
        The statistics; the same conventions as ``genoml_core.store``'s recipe.

    Example:
        >>> G = np.array([[0, 2, 1], [2, 2, -1], [1, 2, 1], [-1, 2, 1]], dtype=np.int8)
        >>> s = genotype_stats(G)
        >>> s.center.tolist(), s.scale.tolist(), s.missing_rate.tolist()  # SNP 2 is monomorphic: scale 1
        ([1.0, 2.0, 1.0], [0.816496580927726, 1.0, 1.0], [0.25, 0.0, 0.25])
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


def _encode_y(y: Any, task: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(target for the solver, classes): float y, 0/1 for binary, one-hot (n, K) for multiclass.

    Classes are coded by :func:`~genoml_core.evaluation.metrics.encode_labels` (sorted, as every learner).
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


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"sample_weight must be {n} finite non-negative values with a positive sum")
    return w
