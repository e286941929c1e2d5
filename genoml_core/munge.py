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
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import __version__, io
from .errors import InputError

__all__ = ["build_feature_store", "FeatureStore", "StoreView", "RecipeScaling", "scale_features", "RECIPE_VERSION"]

log = logging.getLogger(__name__)

RECIPE_VERSION = 1
GENO_FILE = "genotypes.npy"
OTHER_FILE = "other.npy"
SAMPLES_FILE = "samples.tsv"
RECIPE_FILE = "recipe.json"


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
    chunk_variants: int = 2048,
    engine: str = "pandas-plink",
) -> dict[str, Any]:
    """Write genotypes.npy (int8), other.npy (float32, raw), samples.tsv and recipe.json.

    Rows follow ``split`` (all QC-passed samples: train, valid and test of this fold). Returns a
    summary dict.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if bfile is None:  # matrix-only run: no genotype columns
        fam = pd.DataFrame({"FID": split.FID, "IID": split.IID})
        bim = pd.DataFrame(columns=io.BIM_COLUMNS)
        wanted: list[str] = []
    else:
        fam = io.read_fam(bfile)
        bim = io.read_bim(bfile)
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
    n, p = len(split), len(var_idx)
    if train.sum() < 2:
        raise InputError(f"fold {fold}: fewer than 2 training samples")

    mean = np.zeros(p)
    scale = np.ones(p)
    miss_rate = np.zeros(p)
    geno_path = out_dir / GENO_FILE
    with io.atomic_path(geno_path) as tmp:
        G = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int8, shape=(n, p))
        chunks = (
            io.iter_genotype_chunks(
                bfile, var_idx, samp_idx[order], n_samples=len(fam), chunk_variants=chunk_variants, engine=engine
            )
            if p
            else iter(())
        )
        for start, block in chunks:
            block = block[inverse]  # back to split order
            k = block.shape[1]
            G[:, start : start + k] = block
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
            _release_pages(G)
        G.flush()
        del G

    tables = []
    if covariates is not None:
        tables.append(("covariate", covariates))
    if omics is not None:
        tables.append(("omics", omics))
    other, other_meta = _other_matrix(split, tables)
    ot = other[train].astype(np.float64)
    o_mean = np.nan_to_num(np.nanmean(ot, axis=0)) if ot.size else np.zeros(other.shape[1])
    o_sd = np.nan_to_num(np.nanstd(ot, axis=0)) if ot.size else np.ones(other.shape[1])
    o_scale = np.where(o_sd > 0, o_sd, 1.0)
    with io.atomic_path(out_dir / OTHER_FILE) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, other)

    snp_rows = bim.iloc[var_idx]
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
    for j, m in enumerate(other_meta):
        features.append(
            {**m, "mean": float(o_mean[j]), "scale": float(o_scale[j]), "impute": float(o_mean[j])}
        )
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
    samples = split[["FID", "IID", "label"]].copy()
    samples["role"] = role
    io.write_tsv(samples, out_dir / SAMPLES_FILE)
    io.write_json(recipe, out_dir / RECIPE_FILE)
    return {
        "fold": fold,
        "samples": n,
        "train": int(train.sum()),
        "valid": int((role == "valid").sum()),
        "test": int((role == "test").sum()),
        "snps": p,
        "other_features": len(other_meta),
        "genotype_missing_rate_train": float(miss_rate.mean()) if p else 0.0,
        "store_bytes": int(geno_path.stat().st_size),
    }


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


def _release_pages(arr: np.memmap) -> None:
    """Write a memory-mapped array's dirty pages to disk and drop them from this process's RSS
    (they stay in the page cache), so munging holds one chunk, not the whole int8 store."""
    arr.flush()
    mm = getattr(arr, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


class FeatureStore:
    """Read side of the store: int8 genotypes (memory-mapped) + raw other features + recipe.

    ``rows(idx)`` returns scaled, imputed float32 features for those rows; the int8 matrix is
    never expanded as a whole unless asked for.
    """

    def __init__(self, directory: str | Path, *, mmap: bool = True) -> None:
        self.directory = Path(directory)
        self.recipe: dict[str, Any] = io.read_json(self.directory / RECIPE_FILE)
        self.samples = pd.read_csv(self.directory / SAMPLES_FILE, sep="\t", dtype={"FID": str, "IID": str})
        self.genotypes = np.load(self.directory / GENO_FILE, mmap_mode="r" if mmap else None)
        self.other = np.load(self.directory / OTHER_FILE)
        self._scaling = RecipeScaling.from_recipe(self.recipe)

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
        idx = np.asarray(idx)
        return self.scale_block(np.asarray(self.genotypes[idx]), self.other[idx])

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
