"""The solver's view of one training set (step 2 of a fit, see :mod:`genoml_core.models.penalized`):
int8 genotypes in adelie's compact ``.snpdat`` format, standardized on the fly, beside the
standardized covariates.

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
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .solver import _adelie
from .stats import GenotypeStats, _block_cols, _block_stats, _check_genotypes, _column_block, _covariate_stats

log = logging.getLogger("genoml_core.models.penalized")  # the package's name, not __name__: warnings.json records it


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
