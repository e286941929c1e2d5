"""The weights file (:func:`read_weights`, :func:`weights_recipe`) and the projection of people onto
the training PCs (:func:`project`, :func:`project_counts`), with the helpers the fit shares: the PC
names, the autosomes, the inverse standard deviations and the people's ``.fam`` rows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import io
from ...errors import InputError
from ...inputs import show_id, whitespace_hint
from ...progress import Progress

# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.genotypes.pca")


PC_PREFIX = "ancestry_PC"
WEIGHT_COLUMNS = ["SNP", "CHR", "POS", "A1", "A2", "FREQ"]


def pc_names(k: int) -> list[str]:
    return [f"{PC_PREFIX}{i + 1}" for i in range(k)]


def agreement(projected: pd.DataFrame, fitted: pd.DataFrame) -> list[float]:
    """Per PC, |correlation| between the projection of the training samples and plink2's fit."""
    m = fitted.merge(projected, on=["FID", "IID"], suffixes=("_fit", "_proj"))
    names = [c for c in fitted.columns if c.startswith(PC_PREFIX)]
    return [float(abs(np.corrcoef(m[f"{c}_fit"], m[f"{c}_proj"])[0, 1])) for c in names]


def _weights_table(bim_rows: pd.DataFrame, freq: np.ndarray, W: np.ndarray) -> pd.DataFrame:
    weights = pd.DataFrame({"SNP": bim_rows["SNP"].astype(str).to_numpy(), "CHR": bim_rows["CHR"].astype(str).to_numpy(),
                            "POS": bim_rows["POS"].to_numpy(), "A1": bim_rows["A1"].astype(str).to_numpy(),
                            "A2": bim_rows["A2"].astype(str).to_numpy(), "FREQ": freq})
    for i, name in enumerate(pc_names(W.shape[1])):
        weights[name] = W[:, i]
    return weights


def is_autosome(chrom: pd.Series) -> np.ndarray:
    """Human autosomes 1-22 (``chr`` prefix allowed), as ``plink2 --autosome`` keeps them."""
    c = chrom.astype(str).str.removeprefix("chr")
    num = pd.to_numeric(c.where(c.str.fullmatch(r"\d+"), None), errors="coerce")
    return ((num >= 1) & (num <= 22)).to_numpy()


def _inverse_sd(freq: np.ndarray) -> np.ndarray:
    """1 / sqrt(2 f (1 - f)) per SNP, 0 for a SNP monomorphic in training (it weighs nothing)."""
    sd = np.sqrt(2.0 * freq * (1.0 - freq))
    return np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 1e-12)


def fam_rows(bfile: str, fam: pd.DataFrame, samples: pd.DataFrame, *, source: str) -> np.ndarray:
    """The row of each of ``samples`` (FID, IID) in ``bfile``'s .fam, in the order given.

    The one sample lookup of the PCA: the training keep list of the fit and the people projected.

    Args:
        bfile: the PLINK prefix (for the message).
        fam: its .fam, from :func:`genoml_core.io.read_fam` (unique ids).
        samples: FID and IID columns.
        source: where ``samples`` came from (a file name), for the message.

    Raises:
        InputError: (a ``ValueError``) a sample is not in the .fam; names the file, the first
            such sample and the fix.
    """
    fam_pos = pd.Series(np.arange(len(fam)), index=fam.FID.astype(str) + "\t" + fam.IID.astype(str))
    key = samples.FID.astype(str) + "\t" + samples.IID.astype(str)
    lacking = ~key.isin(fam_pos.index).to_numpy()
    if lacking.any():
        first = samples.iloc[int(np.flatnonzero(lacking)[0])]
        raise InputError(
            f"{source}: {int(lacking.sum())} sample(s) not in {bfile}.fam, e.g. {show_id(first.FID, first.IID)}"
            f"{whitespace_hint(samples.loc[lacking, ['FID', 'IID']])}; the samples must be people of this "
            "fileset: check that FID and IID match the .fam exactly, or rerun the split and sample QC on it"
        )
    return fam_pos.loc[key].to_numpy()


def read_weights(path: str | Path) -> pd.DataFrame:
    w = pd.read_csv(path, sep="\t", dtype={"SNP": str, "CHR": str, "A1": str, "A2": str})
    missing = [c for c in WEIGHT_COLUMNS if c not in w.columns]
    if missing or not any(c.startswith(PC_PREFIX) for c in w.columns):
        raise InputError(f"{path}: not a PCA weights file (columns {WEIGHT_COLUMNS} + {PC_PREFIX}1.. expected)")
    return w


def _pc_columns(weights: pd.DataFrame) -> list[str]:
    return [c for c in weights.columns if c.startswith(PC_PREFIX)]


def _partial(g: np.ndarray, weights: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: the weighted sum over observed SNPs, the observed share of each PC's squared
    weights (numerator and denominator), and the total squared weights."""
    f = weights["FREQ"].to_numpy(dtype=np.float64)
    inv = _inverse_sd(f)
    w = weights[_pc_columns(weights)].to_numpy(dtype=np.float64)
    obs = g >= 0
    x = np.where(obs, g.astype(np.float64) - 2.0 * f, 0.0)
    w2 = w**2
    return x @ (w * inv[:, None]), obs.astype(np.float64) @ w2, w2.sum(axis=0)


def _finish(num: np.ndarray, seen_w2: np.ndarray, total_w2: np.ndarray) -> np.ndarray:
    scale = np.divide(total_w2, seen_w2, out=np.zeros_like(seen_w2), where=seen_w2 > 0)
    return num * scale


def project_counts(g: np.ndarray, weights: pd.DataFrame) -> np.ndarray:
    """PCs of int8 A1 counts ``g`` (people x weights' SNPs, -1 missing or absent): (people, k).

    A SNP a person lacks (a missing call, or absent from the whole cohort) adds nothing, which
    would shrink that person's PCs towards 0 by the share of the squared weights lost; each
    person's PC is scaled back by ``sum(w^2) / sum(w[observed]^2)`` (the least-squares
    projection onto the weights of the SNPs they have). One rule for training, test and new
    people: a cohort missing 20% of the PCA SNPs stays on the training axes, and an absent SNP
    and a SNP whose calls are all missing give the same PCs. A person with no PCA SNP at all
    gets 0 (the training mean).
    """
    num, seen, total = _partial(g, weights)
    return _finish(num, seen, total)


def project(
    bfile: str,
    samples: pd.DataFrame,
    weights: pd.DataFrame,
    *,
    chunk_variants: int = 2048,
    engine: str = "lut",
    samples_from: str = "the samples to project",
) -> pd.DataFrame:
    """Project ``samples`` (FID, IID, in this order) of ``bfile`` onto the PCs of ``weights``.

    Reads the weights' SNPs by chunks (memory: one int8 chunk + the (people, k) result).
    ``samples_from`` names where ``samples`` came from (a file) in the error for a sample
    absent from the ``.fam`` (:func:`fam_rows`).
    """
    bim = io.read_bim(bfile)
    fam = io.read_fam(bfile)
    pos = pd.Series(np.arange(len(bim)), index=bim.SNP.astype(str))
    absent = [s for s in weights["SNP"] if s not in pos.index]
    if absent:
        raise InputError(f"{bfile}.bim lacks {len(absent)} SNP(s) of the PCA weights, e.g. {absent[:3]}")
    var_idx = pos.loc[weights["SNP"]].to_numpy()
    samp_idx = fam_rows(bfile, fam, samples, source=samples_from)
    order = np.argsort(samp_idx, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    cols = _pc_columns(weights)
    num = np.zeros((len(samples), len(cols)))
    seen = np.zeros((len(samples), len(cols)))
    progress = Progress(len(weights), f"projecting {len(samples):,} people onto {len(cols)} PCs", unit="SNPs",
                        logger=log)
    for start, block in io.iter_genotype_chunks(bfile, var_idx, samp_idx[order], n_samples=len(fam),
                                                chunk_variants=chunk_variants, engine=engine):
        k = block.shape[1]
        n_part, s_part, _ = _partial(block[inverse], weights.iloc[start:start + k])
        num += n_part
        seen += s_part
        progress.advance(k)
    scores = _finish(num, seen, (weights[cols].to_numpy(dtype=np.float64) ** 2).sum(axis=0))
    out = samples[["FID", "IID"]].reset_index(drop=True).copy()
    for i, c in enumerate(cols):
        out[c] = scores[:, i]
    return out


def weights_recipe(weights: pd.DataFrame) -> dict[str, Any]:
    """The weights' SNPs as a recipe (``n_snps`` + SNP features), for :func:`harmonize.plan_variants`."""
    feats = [{"name": f"{r.SNP}_{r.A1}", "source": "snp", "id": str(r.SNP), "chrom": str(r.CHR), "pos": int(r.POS),
              "counted": str(r.A1), "other": str(r.A2)} for r in weights.itertuples(index=False)]
    return {"n_snps": len(feats), "features": feats}


def read_pcs(path: str | Path) -> pd.DataFrame:
    """A fold's ``pcs.tsv`` as the stores and the association filter take it: FID, IID and the PCs."""
    pcs = pd.read_csv(path, sep="\t", dtype={"FID": str, "IID": str})
    return pcs[["FID", "IID", *[c for c in pcs.columns if c.startswith(PC_PREFIX)]]]
