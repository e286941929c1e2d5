"""Fitting the PCs on a fold's training people (:func:`fit_pca`): the numpy engine (exact, or a
randomized SVD above :data:`APPROX_ABOVE` training samples) and the plink2 engine.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ... import io
from ...errors import InputError
from .projection import _inverse_sd, _pc_columns, _weights_table, fam_rows, is_autosome, pc_names


# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.genotypes.pca")

APPROX_ABOVE = 5000  # training samples above which the randomized SVD (or ``--pca approx``) is used (plink2's advice)
ENGINES = ("numpy", "plink2")


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
    from ..plink import read_keep, read_snplist

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
    from ..plink import run_plink

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


def _fit_numpy(bfile: str, train_keep: str | Path, snps: list[str], k: int, use_approx: bool, *, seed: int,
               chunk_variants: int, decode_engine: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The PCs of Z, the standardized training genotypes (n people x m SNPs, in .bim order).

    Exact: the eigenvectors U of the relationship matrix K = Z Z^T / m (as plink2's exact mode),
    then the SNP weights V = Z^T U / sqrt(m * eigenvalue), the orthonormal right singular vectors
    of Z. Approximate: U, V from :func:`_randomized`. A training person's PCs are Z V = U sqrt(m *
    eigenvalue), exactly what :func:`~genoml_core.genotypes.pca.project` gives them. Each PC's sign puts its largest weight
    positive, so a rerun gives the same axes.
    """
    from scipy.linalg import eigh

    from ..plink import read_keep

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
