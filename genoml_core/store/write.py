"""Writing the feature store: int8 genotypes, the other features and the recipe with the training
statistics of the fold's training samples (:func:`build_feature_store`).
"""

from __future__ import annotations

import logging
import mmap
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from .. import __version__, io
from ..errors import InputError
from ..progress import Progress
from .recipe import GENO_FILE, OTHER_FILE, RECIPE_FILE, RECIPE_VERSION, SAMPLES_FILE


# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.store")


def _roles(split: pd.DataFrame, fold: str, method: str) -> np.ndarray:
    from ..genotypes.split import fold_members

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

    ``pcs`` (FID, IID, ancestry PCs; :mod:`genoml_core.genotypes.pca`) join the covariates as source
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
            "names": names, "projection": "genoml_core.genotypes.pca.project_counts on the harmonized A1 counts"}


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
