"""Reading the feature store: :class:`FeatureStore` (scaled, imputed rows by index) and
:class:`StoreView` (the rows of one role, indexable like an array).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from .. import io
from ..errors import InputError
from .recipe import GENO_FILE, OTHER_FILE, RECIPE_FILE, RecipeScaling, SAMPLES_FILE


class _RowReader:
    """Rows of a C-ordered int8 ``.npy`` matrix read with ``os.preadv`` into a fresh array.

    Reading rows through a memory map leaves every page read in the process's resident set
    (file-backed, but counted in RSS and in a SLURM job's cgroup until reclaimed); ``pread``
    copies into the result only, so a pass over a store larger than RAM holds one batch.
    Consecutive row indices are read in one call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = -1
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(fh)
            self.offset = fh.tell()
        if dtype != np.int8 or fortran or len(shape) != 2:
            raise InputError(f"{path}: expected a C-ordered 2-D int8 matrix, got {dtype} {shape} fortran={fortran}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))

    def _fileno(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
            self._fd = os.open(self.path, os.O_RDONLY)
            self._pid = os.getpid()
        return self._fd

    def rows(self, idx: np.ndarray) -> np.ndarray:
        n, p = self.shape
        out = np.empty((len(idx), p), dtype=np.int8)
        if len(idx) == 0 or p == 0:
            return out
        if idx.min() < -n or idx.max() >= n:
            raise IndexError(f"row index out of range for {n} rows of {self.path}")
        io.pread_records(self._fileno(), out, np.where(idx < 0, idx + n, idx), self.offset, what=str(self.path))
        return out

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


class FeatureStore:
    """Read side of the store: int8 genotypes (memory-mapped) + raw other features + recipe.

    ``rows(idx)`` returns scaled, imputed float32 features for those rows; the int8 matrix is
    never expanded as a whole unless asked for.
    """

    def __init__(self, directory: str | Path, *, mmap: bool = True) -> None:
        self.directory = Path(directory)
        self.recipe: dict[str, Any] = io.read_json(self.directory / RECIPE_FILE)
        self.samples = pd.read_csv(self.directory / SAMPLES_FILE, sep="\t", dtype={"FID": str, "IID": str})
        self._mmap = mmap
        self._genotypes: np.ndarray | None = None if mmap else np.load(self.directory / GENO_FILE)
        self._reader = _RowReader(self.directory / GENO_FILE) if mmap else None
        self.other = np.load(self.directory / OTHER_FILE)
        self._scaling = RecipeScaling.from_recipe(self.recipe)

    @property
    def genotypes(self) -> np.ndarray:
        """The int8 genotype matrix (n, n_snps): memory-mapped unless ``mmap=False``.

        Row reads for models go through :meth:`genotype_rows`, which does not grow the
        process's resident memory with the pages it has read.
        """
        if self._genotypes is None:
            self._genotypes = np.load(self.directory / GENO_FILE, mmap_mode="r")
        return self._genotypes

    def genotype_rows(self, idx: np.ndarray | Sequence[int]) -> np.ndarray:
        """int8 genotypes of rows ``idx`` (any order), read with ``pread`` when memory-mapped."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._reader is None:
            return np.asarray(self.genotypes[idx])
        return self._reader.rows(idx)

    @property
    def task(self) -> str:
        return str(self.recipe["task"])

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.recipe["features"]]

    @property
    def n_features(self) -> int:
        return len(self.recipe["features"])

    def index(self, role: str) -> np.ndarray:
        """Row indices of a role: train, valid or test."""
        return np.flatnonzero(self.samples.role.to_numpy() == role)

    def labels(self, idx: np.ndarray) -> np.ndarray:
        y = self.samples.label.to_numpy()[idx]
        return y.astype(np.float64) if self.task == "continuous" else y.astype(np.int64)

    def scale_block(self, g: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Scale raw int8 genotypes and raw other values with the recipe (missing -> 0)."""
        return self._scaling.apply(g, other)

    def rows(self, idx: np.ndarray | Sequence[int]) -> np.ndarray:
        """Scaled, imputed float32 features of rows ``idx`` (n_rows x n_features)."""
        idx = np.asarray(idx, dtype=np.int64)
        return self.scale_block(self.genotype_rows(idx), self.other[idx])

    def iter_rows(self, idx: np.ndarray | Sequence[int], batch_rows: int = 2048) -> Iterator[tuple[slice, np.ndarray]]:
        """``(slice into idx, scaled rows)`` for consecutive batches of ``idx``: bounded memory."""
        idx = np.asarray(idx, dtype=np.int64)
        for start in range(0, len(idx), batch_rows):
            sl = slice(start, min(start + batch_rows, len(idx)))
            yield sl, self.rows(idx[sl])

    def view(self, role: str) -> "StoreView":
        return StoreView(self, self.index(role))


class StoreView:
    """Rows of one role, indexable like an array: ``view[i]`` -> scaled float32 rows."""

    def __init__(self, store: FeatureStore, idx: np.ndarray) -> None:
        self.store = store
        self.idx = np.asarray(idx)

    def __len__(self) -> int:
        return len(self.idx)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.idx), self.store.n_features)

    def __getitem__(self, key: Any) -> np.ndarray:
        sel = self.idx[key]
        if np.ndim(sel) == 0:
            return self.store.rows(np.array([sel]))[0]
        order = np.argsort(sel, kind="stable")
        out = np.empty((len(sel), self.store.n_features), dtype=np.float32)
        out[order] = self.store.rows(sel[order])  # sorted reads are kinder to the page cache
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.store.rows(self.idx)
        return arr if dtype is None else arr.astype(dtype)
