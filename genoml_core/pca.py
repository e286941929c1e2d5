"""Ancestry principal components: fitted on a fold's training people, projected for everyone.

The PCs of the fold's training samples over its LD-pruned autosomal SNPs (:func:`fit_pca`): by
default our own decomposition of the standardized int8 genotypes, chunk by chunk (exact through
the n x n relationship matrix, as ``plink2 --pca``; a randomized SVD above :data:`APPROX_ABOVE`
training samples, as ``plink2 --pca approx``); ``engine="plink2"`` runs ``plink2 --pca K
allele-wts`` itself. Every person of the fold (train, valid, test) and every new cohort is then
projected the same way, with the training allele frequencies and allele weights::

    PC_k = sum_j w_jk * (g_j - 2 f_j) / sqrt(2 f_j (1 - f_j))

where ``g_j`` counts the ``.bim`` A1 allele, a SNP a person lacks adds nothing, and each person's
PC is scaled by ``sum(w^2) / sum(w[observed]^2)`` for what they lack (:func:`project_counts`).
Projecting the training samples reproduces their fitted PCs (exactly for the numpy engine, up to a
scale per PC for plink2's eigenvectors; the tests check both), so training, test and new people sit on the same axes. The PCs join
the feature stores as unpenalized covariates (source ``pca``); ``weights.tsv`` is what a new
cohort needs: the SNPs with their alleles, training A1 frequencies and per-PC weights.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from . import io
from .errors import InputError
from .inputs import show_id, whitespace_hint
from .progress import Progress

__all__ = ["PcaFit", "agreement", "fam_rows", "fit_pca", "project", "project_counts", "read_weights", "weights_recipe", "pc_names",
           "n_pcs_for", "read_pcs", "APPROX_ABOVE", "PC_PREFIX"]

log = logging.getLogger(__name__)

APPROX_ABOVE = 5000  # training samples above which the randomized SVD (or ``--pca approx``) is used (plink2's advice)
ENGINES = ("numpy", "plink2")
PC_PREFIX = "ancestry_PC"
WEIGHT_COLUMNS = ["SNP", "CHR", "POS", "A1", "A2", "FREQ"]


def pc_names(k: int) -> list[str]:
    return [f"{PC_PREFIX}{i + 1}" for i in range(k)]


def n_pcs_for(n_pcs: int, n_train: int, n_snps: int) -> int:
    """The number of PCs that can be fitted: at most ``n_train - 1`` and ``n_snps - 1``."""
    return max(0, min(int(n_pcs), int(n_train) - 1, int(n_snps) - 1))


def _use_approx(approx: str | bool, n_train: int) -> bool:
    if approx == "auto":
        return n_train > APPROX_ABOVE
    return bool(approx)


@dataclass
class PcaFit:
    """What :func:`fit_pca` returns."""

    weights: pd.DataFrame  # SNP CHR POS A1 A2 FREQ + one weight column per PC (the A1 allele's)
    fitted: pd.DataFrame  # plink2's eigenvectors of the training samples: FID IID + the PC columns
    summary: dict[str, Any]


def agreement(projected: pd.DataFrame, fitted: pd.DataFrame) -> list[float]:
    """Per PC, |correlation| between the projection of the training samples and plink2's fit."""
    m = fitted.merge(projected, on=["FID", "IID"], suffixes=("_fit", "_proj"))
    names = [c for c in fitted.columns if c.startswith(PC_PREFIX)]
    return [float(abs(np.corrcoef(m[f"{c}_fit"], m[f"{c}_proj"])[0, 1])) for c in names]


def fit_pca(
    bfile: str,
    train_keep: str | Path,
    snplist: str | Path,
    *,
    n_pcs: int,
    approx: str | bool = "auto",
    engine: str = "numpy",
    threads: int = 1,
    memory_mb: int | None = None,
    seed: int = 0,
    chunk_variants: int = 2048,
    decode_engine: str = "lut",
) -> PcaFit:
    """Ancestry PCs of the training samples over ``snplist``'s autosomal SNPs; the A1 allele weights.

    ``engine="numpy"`` (the default) standardizes the training genotypes with their own A1
    frequencies (missing calls mean-imputed) and decomposes them chunk by chunk (int8 chunks of
    ``chunk_variants`` SNPs, never the whole float matrix): exactly through the n x n relationship
    matrix, or, with ``approx``, by a randomized SVD with power iterations (:func:`_randomized`).
    ``engine="plink2"`` runs ``plink2 --pca K [approx] allele-wts`` instead (it needs the plink2
    binary; same outputs, same axes up to sign; 6.3 s against 0.8 s on 1,416 x 9,709, BENCHMARKS.md).

    Returns:
        ``weights``: one row per SNP (``SNP CHR POS A1 A2 FREQ`` + one column per PC), with FREQ
        the A1 frequency among the training samples; the fitted PCs of the training samples; a
        summary (eigenvalues, counts, mode, engine). Fewer PCs than asked are fitted when the fold
        has too few people or SNPs (logged).
    """
    from .plink import read_keep, read_snplist

    if engine not in ENGINES:
        raise ValueError(f"pca engine {engine!r}: must be one of {ENGINES}")
    n_train = len(read_keep(train_keep))
    snps = read_snplist(snplist)
    k = n_pcs_for(n_pcs, n_train, len(snps))
    if k < 1:
        raise InputError(f"{train_keep}: {n_train} training samples and {len(snps)} SNPs in {snplist}: too few to "
                         "fit ancestry PCs; set pca.n_pcs: 0")
    if k < n_pcs:
        log.warning("pca: %d PCs asked, %d fitted (%d training samples, %d SNPs)", n_pcs, k, n_train, len(snps))
    use_approx = _use_approx(approx, n_train)
    if engine == "plink2":
        weights, fitted, eigenval = _fit_plink2(bfile, train_keep, snplist, k, use_approx, threads, memory_mb)
    else:
        weights, fitted, eigenval = _fit_numpy(bfile, train_keep, snps, k, use_approx, seed=seed,
                                               chunk_variants=chunk_variants, decode_engine=decode_engine)
    k = len(_pc_columns(weights))  # the autosomal SNPs may allow fewer
    summary = {"n_pcs": k, "n_pcs_asked": int(n_pcs), "n_train": n_train, "n_snps": len(weights),
               "approx": use_approx, "engine": engine, "eigenvalues": [float(v) for v in eigenval[:k]]}
    return PcaFit(weights, fitted[["FID", "IID", *pc_names(k)]], summary)


def _fit_plink2(bfile: str, train_keep: str | Path, snplist: str | Path, k: int, use_approx: bool, threads: int,
                memory_mb: int | None) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    from .plink import run_plink

    with tempfile.TemporaryDirectory(prefix="genoml_pca_") as tmp:
        out = Path(tmp) / "pca"
        mode = [str(k), "approx", "allele-wts"] if use_approx else [str(k), "allele-wts"]
        # autosomes only: X/Y/MT dosages differ by sex and would put sex on the ancestry axes
        args = ["--bfile", bfile, "--keep", train_keep, "--extract", snplist, "--autosome", "--freq", "--pca", *mode]
        run_plink(args, out, threads=threads, memory_mb=memory_mb)
        alle = pd.read_csv(f"{out}.eigenvec.allele", sep="\t", dtype={"ID": str, "A1": str, "REF": str, "ALT": str})
        freq = pd.read_csv(f"{out}.afreq", sep="\t", dtype={"ID": str, "REF": str, "ALT": str})
        eigenval = np.loadtxt(f"{out}.eigenval", ndmin=1)
        fitted = pd.read_csv(f"{out}.eigenvec", sep="\t", dtype={"#FID": str, "FID": str, "IID": str})
    fitted = fitted.rename(columns={"#FID": "FID", **{f"PC{i + 1}": n for i, n in enumerate(pc_names(k))}})
    bim = io.read_bim(bfile).set_index("SNP", drop=False)
    ids = freq["ID"].to_numpy()
    b = bim.loc[ids]
    a1 = b["A1"].astype(str).to_numpy()
    alt = freq["ALT"].astype(str).to_numpy()
    f_alt = freq["ALT_FREQS"].to_numpy(dtype=np.float64)
    f_a1 = np.where(a1 == alt, f_alt, 1.0 - f_alt)
    pcs = [f"PC{i + 1}" for i in range(k)]
    w = alle.set_index(["ID", "A1"])[pcs]
    W = w.loc[list(zip(ids, a1))].to_numpy(dtype=np.float64)  # the weight of the counted (A1) allele
    weights = _weights_table(b, f_a1, W)
    return weights, fitted, eigenval


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


class _Standardized:
    """The training samples' genotypes at the PCA SNPs, standardized with training frequencies,
    read as float32 (n, chunk) blocks: ``(g - 2f) / sqrt(2f(1 - f))``, a missing call 0 (the
    training mean), a SNP monomorphic in training 0. Each pass decodes the int8 chunks again."""

    def __init__(self, bfile: str, var_idx: np.ndarray, samp_idx: np.ndarray, n_fam: int, chunk: int,
                 engine: str) -> None:
        self.args = (bfile, var_idx, samp_idx)
        self.n_fam, self.chunk, self.engine = n_fam, chunk, engine
        self.n, self.m = len(samp_idx), len(var_idx)
        alt_sum = np.zeros(self.m)
        called = np.zeros(self.m)
        for start, g in self._raw():
            obs = g >= 0
            alt_sum[start:start + g.shape[1]] = np.where(obs, g, 0).sum(axis=0, dtype=np.int64)
            called[start:start + g.shape[1]] = obs.sum(axis=0)
        self.freq = np.divide(alt_sum, 2.0 * called, out=np.full(self.m, 0.5), where=called > 0)
        self.inv = _inverse_sd(self.freq)

    def _raw(self) -> Iterator[tuple[int, np.ndarray]]:
        bfile, var_idx, samp_idx = self.args
        yield from io.iter_genotype_chunks(bfile, var_idx, samp_idx, n_samples=self.n_fam, chunk_variants=self.chunk,
                                           engine=self.engine)

    def blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """float32 (n, chunk) blocks of Z (float32 halves the memory traffic; products are summed in
        float64 by the callers)."""
        for start, g in self._raw():
            sl = slice(start, start + g.shape[1])
            z = g.astype(np.float32)
            z -= (2.0 * self.freq[sl]).astype(np.float32)
            z *= self.inv[sl].astype(np.float32)
            z[g < 0] = 0.0
            yield sl, z

    def times(self, right: np.ndarray) -> np.ndarray:
        """Z @ right, (n, l) for ``right`` (m, l)."""
        out = np.zeros((self.n, right.shape[1]))
        r32 = right.astype(np.float32)
        for sl, z in self.blocks():
            out += z @ r32[sl]
        return out

    def t_times(self, left: np.ndarray) -> np.ndarray:
        """Z.T @ left, (m, l) for ``left`` (n, l)."""
        out = np.empty((self.m, left.shape[1]))
        l32 = left.astype(np.float32)
        for sl, z in self.blocks():
            out[sl] = z.T @ l32
        return out

    def gram(self) -> np.ndarray:
        """Z @ Z.T (n, n), accumulated over chunks."""
        out = np.zeros((self.n, self.n))
        for _, z in self.blocks():
            out += z @ z.T
        return out


RANDOMIZED_OVERSAMPLE = 10  # extra random directions beyond the k PCs (Halko et al. 2011)
RANDOMIZED_ITERATIONS = 10  # power iterations: each is two passes over the genotypes


def _randomized(z: _Standardized, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k SVD of Z by a randomized range finder with power iterations (Halko, Martinsson & Tropp
    2011, algorithm 4.4; as FastPCA / plink2 --pca approx and bigstatsr's big_randomSVD): U, s, V."""
    from scipy.linalg import qr, svd

    rng = np.random.default_rng(seed)
    l = min(k + RANDOMIZED_OVERSAMPLE, z.n, z.m)  # noqa: E741
    q = qr(z.times(rng.standard_normal((z.m, l))), mode="economic")[0]
    for _ in range(RANDOMIZED_ITERATIONS):
        p = qr(z.t_times(q), mode="economic")[0]
        q = qr(z.times(p), mode="economic")[0]
    bt = z.t_times(q)  # (m, l) = (Q^T Z)^T
    v, s, ut = svd(bt, full_matrices=False)
    return q @ ut.T[:, :k], s[:k], v[:, :k]


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


def _fit_numpy(bfile: str, train_keep: str | Path, snps: list[str], k: int, use_approx: bool, *, seed: int,
               chunk_variants: int, decode_engine: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The PCs of Z, the standardized training genotypes (n people x m SNPs, in .bim order).

    Exact: the eigenvectors U of the relationship matrix K = Z Z^T / m (as plink2's exact mode),
    then the SNP weights V = Z^T U / sqrt(m * eigenvalue), the orthonormal right singular vectors
    of Z. Approximate: U, V from :func:`_randomized`. A training person's PCs are Z V = U sqrt(m *
    eigenvalue), exactly what :func:`project` gives them. Each PC's sign puts its largest weight
    positive, so a rerun gives the same axes.
    """
    from scipy.linalg import eigh

    from .plink import read_keep

    bim = io.read_bim(bfile)
    fam = io.read_fam(bfile)
    wanted = set(snps)
    rows = np.flatnonzero(bim.SNP.astype(str).isin(wanted).to_numpy() & is_autosome(bim.CHR))
    if len(rows) < 2:
        raise InputError(f"{bfile}.bim: {len(rows)} autosomal SNP(s) of the PCA SNP list; set pca.n_pcs: 0")
    samp_idx = np.sort(fam_rows(bfile, fam, read_keep(train_keep), source=str(train_keep)))
    z = _Standardized(bfile, rows, samp_idx, len(fam), chunk_variants, decode_engine)
    k = min(k, z.n - 1, z.m - 1)
    log.info("pca: %d PCs of %d training samples (%s) x %d autosomal SNPs, %s", k, z.n, train_keep, z.m,
             "randomized SVD" if use_approx else "exact")
    if use_approx:
        u, s, v = _randomized(z, k, seed)
        eigenval = s**2 / z.m
    else:
        evals, evecs = eigh(z.gram() / z.m, subset_by_index=[z.n - k, z.n - 1])
        order = np.argsort(evals)[::-1]
        eigenval, u = np.maximum(evals[order], 0.0), evecs[:, order]
        v = z.t_times(u) / np.sqrt(np.maximum(z.m * eigenval, 1e-300))
    top = np.abs(v).argmax(axis=0)
    sign = np.sign(v[top, np.arange(v.shape[1])])
    sign[sign == 0] = 1.0
    v, u = v * sign, u * sign
    fitted = fam.iloc[samp_idx][["FID", "IID"]].reset_index(drop=True).astype(str)
    scores = u * np.sqrt(z.m * eigenval)
    for i, name in enumerate(pc_names(k)):
        fitted[name] = scores[:, i]
    return _weights_table(bim.iloc[rows], z.freq, v), fitted, eigenval


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
