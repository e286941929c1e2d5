"""Munging: genotypes into a compact int8 feature store, covariates/omics beside them, and the
recipe (``recipe.json``) that records every feature with its training statistics.

The store keeps genotypes as int8 A1 counts (-1 missing) from the .bed to the batch: scaling and
imputation are applied per batch from the recipe (``FeatureStore.rows``), so memory holds one
int8 copy, never a float64 frame of all SNPs. Every statistic is computed on the fold's
training samples only.
"""

from __future__ import annotations

import logging
import mmap
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from . import __version__, io, layout
from .errors import InputError
from .progress import Progress

__all__ = ["build_feature_store", "FeatureStore", "StoreView", "RecipeScaling", "scale_features", "RECIPE_VERSION"]

log = logging.getLogger(__name__)

RECIPE_VERSION = 1
# the store's file names (its folder: layout.store_file)
GENO_FILE = layout.STORE_FILE_NAMES["genotypes"]
OTHER_FILE = layout.STORE_FILE_NAMES["other"]
SAMPLES_FILE = layout.STORE_FILE_NAMES["samples"]
RECIPE_FILE = layout.STORE_FILE_NAMES["recipe"]


def _roles(split: pd.DataFrame, fold: str, method: str) -> np.ndarray:
    from .split import fold_members

    members = fold_members(split, fold, method)
    role = np.full(len(split), "unused", dtype=object)
    key = split.FID + "\t" + split.IID
    for name, sub in members.items():
        role[key.isin(sub.FID + "\t" + sub.IID).to_numpy()] = name
    return role


def _other_matrix(
    samples: pd.DataFrame, tables: Sequence[tuple[str, pd.DataFrame]]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    cols: list[np.ndarray] = []
    meta: list[dict[str, Any]] = []
    for source, table in tables:
        merged = samples[["FID", "IID"]].merge(table, on=["FID", "IID"], how="left")
        for c in table.columns:
            if c in ("FID", "IID"):
                continue
            cols.append(merged[c].to_numpy(dtype=np.float64))
            meta.append({"name": str(c), "source": source})
    if not cols:
        return np.zeros((len(samples), 0), np.float32), []
    return np.column_stack(cols).astype(np.float32), meta


def build_feature_store(
    bfile: str | None,
    snplist: str | Path | None,
    split: pd.DataFrame,
    out_dir: str | Path,
    *,
    fold: str,
    method: str,
    task: str,
    class_names: list[str] | None,
    covariates: pd.DataFrame | None = None,
    omics: pd.DataFrame | None = None,
    pcs: pd.DataFrame | None = None,
    pca_weights: str | Path | None = None,
    chunk_variants: int = 2048,
    engine: str = "lut",
    summary_path: str | Path | None = None,
) -> dict[str, Any]:
    """Write genotypes.npy (int8), other.npy (float32, raw), samples.tsv and recipe.json.

    Rows follow ``split`` (all QC-passed samples: train, valid and test of this fold). Returns a
    summary dict, also written to ``summary_path`` when given. All files appear together at the
    end (:class:`~genoml_core.io.StagedOutputs`): a kill mid-way leaves none of them.

    ``pcs`` (FID, IID, ancestry PCs; :mod:`genoml_core.pca`) join the covariates as source
    ``pca``; the recipe then names ``pca_weights`` (relative to the store) so that new cohorts
    are projected onto the same PCs.
    """
    if (pcs is None) != (pca_weights is None):
        raise ValueError("pcs and pca_weights go together")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if bfile is None:  # matrix-only run: no genotype columns
        fam = pd.DataFrame({"FID": split.FID, "IID": split.IID})
        bim = pd.DataFrame(columns=io.BIM_COLUMNS)
        wanted: list[str] = []
    else:
        fam = io.read_fam(bfile)
        bim = io.read_bim(bfile)
        assert snplist is not None  # a genotype run names its variants
        wanted = [s for s in Path(snplist).read_text().split() if s]
    pos = pd.Series(np.arange(len(bim)), index=bim.SNP)
    missing = [s for s in wanted if s not in pos.index]
    if missing:
        raise InputError(f"{snplist}: {len(missing)} variant(s) not in {bfile}.bim, e.g. {missing[:3]}")
    var_idx = pos.loc[wanted].to_numpy().astype(np.int64)
    fam_pos = pd.Series(np.arange(len(fam)), index=fam.FID + "\t" + fam.IID)
    samp_idx = fam_pos.loc[split.FID + "\t" + split.IID].to_numpy()
    # pandas-plink and the LUT reader both want increasing sample order; read sorted, then reorder
    order = np.argsort(samp_idx, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    role = _roles(split, fold, method)
    train = role == "train"
    if train.sum() < 2:
        raise InputError(f"fold {fold}: fewer than 2 training samples")

    # every output is written under a hidden temporary name and renamed at the very end (recipe
    # and summary last): a job killed mid-way leaves no file under a final name
    with io.StagedOutputs() as staged:
        staged_geno = staged.stage(out_dir / GENO_FILE)
        staged_other = staged.stage(out_dir / OTHER_FILE)
        staged_samples = staged.stage(out_dir / SAMPLES_FILE)
        staged_recipe = staged.stage(out_dir / RECIPE_FILE)
        staged_summary = staged.stage(summary_path) if summary_path is not None else None
        summary = _write_store(
            bfile, bim, fam, var_idx, samp_idx, order, inverse, role, split, staged_geno, staged_other,
            staged_samples, staged_recipe, task=task, class_names=class_names, fold=fold,
            covariates=covariates, omics=omics, pcs=pcs, chunk_variants=chunk_variants, engine=engine,
            pca=None if pca_weights is None else _pca_entry(pcs, pca_weights, out_dir),
        )
        if staged_summary is not None:
            io.write_json(summary, staged_summary)
    return summary


def _write_store(
    bfile: str | None,
    bim: pd.DataFrame,
    fam: pd.DataFrame,
    var_idx: np.ndarray,
    samp_idx: np.ndarray,
    order: np.ndarray,
    inverse: np.ndarray,
    role: np.ndarray,
    split: pd.DataFrame,
    geno_tmp: Path,
    other_tmp: Path,
    samples_tmp: Path,
    recipe_tmp: Path,
    *,
    task: str,
    class_names: list[str] | None,
    fold: str,
    covariates: pd.DataFrame | None,
    omics: pd.DataFrame | None,
    chunk_variants: int,
    engine: str,
    pcs: pd.DataFrame | None = None,
    pca: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the store's files to their staged paths (genotypes, other matrix, samples, recipe);
    return the munge summary."""
    train = role == "train"
    n, p = len(split), len(var_idx)
    mean, scale, miss_rate = _write_genotypes(
        bfile, fam, var_idx, samp_idx, order, inverse, train, geno_tmp, fold=fold, chunk_variants=chunk_variants,
        engine=engine,
    )  # fmt: skip
    other_meta, o_mean, o_scale = _write_other(split, train, other_tmp, covariates=covariates, pcs=pcs, omics=omics)
    features = _features(bim.iloc[var_idx], mean, scale, miss_rate) + _other_features(other_meta, o_mean, o_scale)
    recipe = {
        "recipe_version": RECIPE_VERSION,
        "genoml_core_version": __version__,
        "task": task,
        "class_names": class_names,
        "fold": fold,
        "n_train": int(train.sum()),
        "genotype_encoding": "count of the 'counted' allele (PLINK .bim A1); scaled (x - mean) / scale",
        "imputation": "missing values take 'impute' (the training mean), i.e. 0 after scaling",
        "n_snps": p,
        "n_other": len(other_meta),
        "features": features,
    }
    if pca is not None:
        recipe["pca"] = pca
    samples = split[["FID", "IID", "label"]].copy()
    samples["role"] = role
    io.write_tsv(samples, samples_tmp)
    io.write_json_records(recipe, recipe_tmp, key="features")  # one feature per line
    return {
        "fold": fold,
        "samples": n,
        "train": int(train.sum()),
        "valid": int((role == "valid").sum()),
        "test": int((role == "test").sum()),
        "snps": p,
        "other_features": len(other_meta),
        "genotype_missing_rate_train": float(miss_rate.mean()) if p else 0.0,
        "store_bytes": int(geno_tmp.stat().st_size),
        "ancestry_pcs": 0 if pca is None else pca["n_pcs"],
    }


def _write_genotypes(
    bfile: str | None,
    fam: pd.DataFrame,
    var_idx: np.ndarray,
    samp_idx: np.ndarray,
    order: np.ndarray,
    inverse: np.ndarray,
    train: np.ndarray,
    geno_tmp: Path,
    *,
    fold: str,
    chunk_variants: int,
    engine: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write the int8 genotype matrix (split order) chunk by chunk; return the training rows' mean,
    scale and missing rate per variant."""
    n, p = len(train), len(var_idx)
    mean = np.zeros(p)
    scale = np.ones(p)
    miss_rate = np.zeros(p)
    G = np.lib.format.open_memmap(geno_tmp, mode="w+", dtype=np.int8, shape=(n, p))
    chunks: Iterator[tuple[int, np.ndarray]]
    if p:
        assert bfile is not None  # genotype columns come from a .bed (none in a matrix-only run)
        chunks = io.iter_genotype_chunks(
            bfile, var_idx, samp_idx[order], n_samples=len(fam), chunk_variants=chunk_variants, engine=engine
        )
    else:
        chunks = iter(())
    progress = Progress(p, f"munge fold {fold}", unit="variants", logger=log)
    for start, block in chunks:
        block = block[inverse]  # back to split order
        k = block.shape[1]
        _write_slab(G, start, block)
        # training statistics from int8 counts: no float copy of the block
        tb = block[train]
        obs = tb >= 0
        cnt = obs.sum(axis=0)
        x = np.where(obs, tb, np.int8(0))
        s1 = x.sum(axis=0, dtype=np.int64)
        s2 = (x * x).sum(axis=0, dtype=np.int64)
        m = np.divide(s1, cnt, out=np.zeros(k), where=cnt > 0)
        var = np.divide(s2, cnt, out=np.zeros(k), where=cnt > 0) - m**2
        sd = np.sqrt(np.clip(var, 0.0, None))
        mean[start : start + k] = m
        scale[start : start + k] = np.where(sd > 1e-12, sd, 1.0)
        miss_rate[start : start + k] = 1 - cnt / max(int(train.sum()), 1)
        del block, tb, obs, x
        progress.advance(k)
    G.flush()
    del G
    return mean, scale, miss_rate


def _write_other(
    split: pd.DataFrame,
    train: np.ndarray,
    other_tmp: Path,
    *,
    covariates: pd.DataFrame | None,
    pcs: pd.DataFrame | None,
    omics: pd.DataFrame | None,
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Write the other (covariate, PC, omics) matrix; return its column entries and the training
    rows' mean and scale per column."""
    tables = []
    if covariates is not None:
        tables.append(("covariate", covariates))
    if pcs is not None:
        tables.append(("pca", pcs))
    if omics is not None:
        tables.append(("omics", omics))
    other, other_meta = _other_matrix(split, tables)
    ot = other[train].astype(np.float64)
    o_mean = np.nan_to_num(np.nanmean(ot, axis=0)) if ot.size else np.zeros(other.shape[1])
    o_sd = np.nan_to_num(np.nanstd(ot, axis=0)) if ot.size else np.ones(other.shape[1])
    o_scale = np.where(o_sd > 0, o_sd, 1.0)
    with open(other_tmp, "wb") as fh:
        np.save(fh, other)
    return other_meta, o_mean, o_scale


def _features(
    snp_rows: pd.DataFrame, mean: np.ndarray, scale: np.ndarray, miss_rate: np.ndarray
) -> list[dict[str, Any]]:
    """The recipe's entry of each variant (its .bim row and training statistics)."""
    features: list[dict[str, Any]] = []
    for j, r in enumerate(snp_rows.itertuples(index=False)):
        features.append(
            {
                "name": f"{r.SNP}_{r.A1}",
                "source": "snp",
                "id": r.SNP,
                "chrom": str(r.CHR),
                "pos": int(r.POS),
                "counted": r.A1,
                "other": r.A2,
                "mean": float(mean[j]),
                "scale": float(scale[j]),
                "impute": float(mean[j]),
                "missing_rate": float(miss_rate[j]),
            }
        )
    return features


def _other_features(other_meta: list[dict[str, Any]], o_mean: np.ndarray, o_scale: np.ndarray) -> list[dict[str, Any]]:
    """The recipe's entry of each other column: its entry plus its training mean and scale."""
    return [
        {**m, "mean": float(o_mean[j]), "scale": float(o_scale[j]), "impute": float(o_mean[j])}
        for j, m in enumerate(other_meta)
    ]


def _pca_entry(pcs: pd.DataFrame, weights: str | Path, out_dir: Path) -> dict[str, Any]:
    """The recipe's ``pca`` entry: the weights file (relative to the store) and the PC names."""
    names = [c for c in pcs.columns if c not in ("FID", "IID")]
    return {"weights": os.path.relpath(Path(weights).resolve(), out_dir.resolve()), "n_pcs": len(names),
            "names": names, "projection": "genoml_core.pca.project_counts on the harmonized A1 counts"}


def pca_weights_path(recipe: dict[str, Any], recipe_path: str | Path) -> Path | None:
    """The PCA weights a recipe needs (``None`` without ancestry PCs), resolved beside the recipe."""
    entry = recipe.get("pca")
    if not entry:
        return None
    return (Path(recipe_path).parent / entry["weights"]).resolve()


class RecipeScaling:
    """The recipe's per-feature scaling and imputation, as arrays: one code path for the feature
    store (training rows) and for harmonized new cohorts (:mod:`genoml_core.harmonize`).

    ``apply(g, other)`` maps raw int8 A1 counts (-1 missing) and raw other values (NaN missing)
    to float32 ``(x - mean) / scale``; a missing value takes the recipe's ``impute`` value, i.e.
    ``(impute - mean) / scale`` after scaling (exactly 0, since ``impute`` is the training mean).
    """

    def __init__(self, features: Sequence[dict[str, Any]], n_snps: int) -> None:
        def arr(key: str, part: Sequence[dict[str, Any]]) -> np.ndarray:
            return np.array([f[key] for f in part], dtype=np.float32)

        snps, others = features[:n_snps], features[n_snps:]
        self.g_mean, self.g_scale = arr("mean", snps), arr("scale", snps)
        self.o_mean, self.o_scale = arr("mean", others), arr("scale", others)
        self.g_fill = (arr("impute", snps) - self.g_mean) / self.g_scale
        self.o_fill = (arr("impute", others) - self.o_mean) / self.o_scale

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any]) -> "RecipeScaling":
        return cls(recipe["features"], int(recipe["n_snps"]))

    def apply(self, g: np.ndarray, other: np.ndarray) -> np.ndarray:
        """float32 (n, p_snps + p_other): scaled features, missing values imputed."""
        if g.shape[1] != self.g_mean.size or other.shape[1] != self.o_mean.size:
            raise ValueError(
                f"blocks of {g.shape[1]} genotype and {other.shape[1]} other columns do not match the recipe's "
                f"{self.g_mean.size} SNPs and {self.o_mean.size} other features"
            )
        x = np.empty((g.shape[0], g.shape[1] + other.shape[1]), dtype=np.float32)
        xg = x[:, : g.shape[1]]
        np.subtract(g, self.g_mean, out=xg, dtype=np.float32)
        xg /= self.g_scale
        np.copyto(xg, self.g_fill, where=g < 0)
        if other.shape[1]:
            xo = (other.astype(np.float32) - self.o_mean) / self.o_scale
            xo = np.where(np.isnan(xo), self.o_fill, xo)
            x[:, g.shape[1] :] = np.nan_to_num(xo, nan=0.0)
        return x


def scale_features(recipe: dict[str, Any], g: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Scale and impute raw features with ``recipe`` (see :class:`RecipeScaling`).

    Args:
        recipe: A parsed ``recipe.json``.
        g: int8 (n, n_snps) A1 counts in recipe order, -1 missing.
        other: (n, n_other) raw covariate/omics values in recipe order, NaN missing.

    Returns:
        float32 (n, n_features), the rows a model of this recipe takes.
    """
    return RecipeScaling.from_recipe(recipe).apply(g, other)


#: Bytes of the store mapped at once while a chunk is written (rows x row width).
_SLAB_WINDOW = 32 << 20


def _write_slab(G: np.memmap, start: int, block: np.ndarray) -> None:
    """``G[:, start:start + k] = block`` with at most ~32 MB of the store mapped at a time.

    The store is samples x variants (row-major) and a chunk is a column slab, so every chunk
    touches every row. Written through the memory map in one go, the kernel maps whole page-cache
    folios around each touched row and the process's RSS grows to the size of the store (measured:
    a 10,000 x 100,000 store put 0.9 GB in RSS on the first chunk). So rows go in blocks of
    ~32 MB, each block's pages dropped from the mapping right after (MADV_DONTNEED; on a shared
    file mapping dirty pages go to the page cache and are written back by the kernel).
    """
    n, k = block.shape
    p = G.shape[1]
    mm = getattr(G, "_mmap", None)
    if mm is None or not hasattr(mmap, "MADV_DONTNEED") or n == 0:
        G[:, start : start + k] = block
        return
    base = len(mm) - n * p  # where row 0 starts inside the mapping (after the .npy header)
    step = max(1, _SLAB_WINDOW // max(p, 1))
    page = mmap.PAGESIZE
    for i in range(0, n, step):
        j = min(i + step, n)
        G[i:j, start : start + k] = block[i:j]
        lo = (base + i * p) // page * page
        mm.madvise(mmap.MADV_DONTNEED, lo, base + j * p - lo)


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
