"""The SNP model and the genotypes, streamed to PLINK .bed files block by block.

Genetic model
    * SNPs on chromosomes ``1..n_chromosomes`` (more SNPs on the lower-numbered, longer ones),
      5-20 kb apart, ids ``rs100001``...; alleles from ACGT, ~15% strand-ambiguous (A/T, C/G).
    * Ancestral A1 frequencies ~ Beta(0.45, 0.45), clipped to [0.003, 0.997]: U-shaped; with the
      population drift below, about 20% of the SNPs have a training MAF below 1% (~8% monomorphic)
      and ~65% a MAF of 5% or more. A1 is the minor allele about half the time, as in plink2
      output.
    * Two populations, ``pop_a`` and ``pop_b`` (~75% / 25%), with Balding-Nichols allele
      frequencies (each population's F relative to the ancestral frequencies = ``fst``).
    * Linkage disequilibrium: each chromosome is cut into haplotype blocks of 5-50 SNPs. Within a
      block every haplotype carries a latent AR(1) Gaussian (lag-1 correlation ``rho`` ~ U(0.80,
      0.98) per block); the haplotype carries A1 where the latent value lies below the
      population's A1-frequency quantile. Blocks are independent, so LD decays between blocks.
      Two independent haplotypes make a genotype (Hardy-Weinberg within each population).
    * Missing calls: ``missing_rate`` (0.5%) at random; ``n_bad_samples`` training samples with
      10-30% missing calls; bad SNPs (never causal): ``n_bad_snps`` with 10-30% missing calls
      (common, so only ``--geno`` catches them), ``n_bad_snps`` monomorphic or carried by one
      training sample (``--maf 0.01``), and ``n_bad_snps`` with ~96% heterozygous calls
      (``--hwe 1e-6``). The new cohort has no bad samples; the bad SNPs are present in it too,
      with the same defects.

Memory: genotypes are generated block by block from per-block random streams (so the files do not
depend on ``chunk_snps``) and written in chunks of about ``chunk_snps`` SNPs through
:class:`genoml_core.io.BedWriter`; only the causal SNPs' genotypes are kept for all samples.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..io import BIM_COLUMNS, BedWriter
from . import _streams

__all__ = ["POPULATIONS", "SnpModel", "SnpDefects", "snp_model", "generate_genotypes"]

POPULATIONS = ("pop_a", "pop_b")

BLOCK_SIZE = (5, 50)
RHO = (0.80, 0.98)
FREQ_BETA = 0.45
FREQ_CLIP = 3e-3
GAP_BP = (5_000, 20_000)
_AMBIGUOUS = [("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")]
_UNAMBIGUOUS = [(a, b) for a in "ACGT" for b in "ACGT" if a != b and (a, b) not in _AMBIGUOUS]
HWE_BAD_HET = 0.96


@dataclass(frozen=True)
class SnpModel:
    """The SNPs: ``bim`` (training .bim), ancestral (m,) and per-population (m, 2) A1 frequencies,
    the LD blocks' first SNPs (plus ``m`` at the end) and their lag-1 correlations."""

    bim: pd.DataFrame
    p_anc: np.ndarray
    p_pop: np.ndarray
    block_starts: np.ndarray
    rho: np.ndarray


@dataclass(frozen=True)
class SnpDefects:
    """The bad SNPs' defects, applied to both cohorts.

    ``missing`` (m,) is each SNP's extra missing-call rate, ``hwe`` (m,) marks the ~96%
    heterozygous SNPs, ``rare_fill`` maps each low-MAF SNP to (fill count, heterozygous training
    carrier or -1); the ``*_idx`` arrays list each category's SNPs, sorted.
    """

    missing: np.ndarray
    hwe: np.ndarray
    rare_fill: dict[int, tuple[int, int]]
    missing_idx: np.ndarray
    rare_idx: np.ndarray
    hwe_idx: np.ndarray


def _split_counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``weights`` (largest remainder)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _positions_and_blocks(rng: np.random.Generator, per_chr: np.ndarray, n_snps: int) -> tuple[np.ndarray, list[int]]:
    """Base-pair positions (chromosome by chromosome) and the first SNP of every LD block."""
    pos = np.empty(n_snps, dtype=np.int64)
    block_starts: list[int] = []
    start = 0
    for k in per_chr:
        gaps = rng.integers(GAP_BP[0], GAP_BP[1] + 1, size=k)
        gaps[0] = rng.integers(10_000, 1_000_000)
        pos[start : start + k] = np.cumsum(gaps)
        j = 0
        while j < k:
            block_starts.append(start + j)
            j += int(rng.integers(BLOCK_SIZE[0], BLOCK_SIZE[1] + 1))
        start += k
    return pos, block_starts


def snp_model(seed: int, n_snps: int, n_chromosomes: int, fst: float, frac_ambiguous: float) -> SnpModel:
    """Draw the SNPs: positions, LD blocks, alleles and allele frequencies."""
    rng = np.random.default_rng([seed, _streams.SNPS])
    # chromosome sizes: decreasing like real autosomes (weights 1 .. 0.5)
    weights = np.linspace(1.0, 0.5, n_chromosomes) if n_chromosomes > 1 else np.ones(1)
    per_chr = _split_counts(n_snps, weights)
    chrom = np.repeat(np.arange(1, n_chromosomes + 1), per_chr)
    pos, block_starts = _positions_and_blocks(rng, per_chr, n_snps)
    block_starts_arr = np.asarray(block_starts + [n_snps], dtype=np.int64)
    rho = rng.uniform(RHO[0], RHO[1], size=len(block_starts))

    ambiguous = rng.random(n_snps) < frac_ambiguous
    pair_amb = rng.integers(len(_AMBIGUOUS), size=n_snps)
    pair_una = rng.integers(len(_UNAMBIGUOUS), size=n_snps)
    a1 = np.where(ambiguous, [_AMBIGUOUS[i][0] for i in pair_amb], [_UNAMBIGUOUS[i][0] for i in pair_una])
    a2 = np.where(ambiguous, [_AMBIGUOUS[i][1] for i in pair_amb], [_UNAMBIGUOUS[i][1] for i in pair_una])

    p_anc = np.clip(rng.beta(FREQ_BETA, FREQ_BETA, size=n_snps), FREQ_CLIP, 1 - FREQ_CLIP)
    # Balding-Nichols: p_k ~ Beta(p (1-F)/F, (1-p)(1-F)/F)
    c = (1 - fst) / fst
    p_pop = np.stack([rng.beta(p_anc * c, (1 - p_anc) * c) for _ in POPULATIONS], axis=1)  # (m, 2)

    bim = pd.DataFrame(
        {
            "CHR": chrom.astype(str),
            "SNP": [f"rs{100001 + j}" for j in range(n_snps)],
            "CM": 0,
            "POS": pos,
            "A1": a1,
            "A2": a2,
        }
    )[BIM_COLUMNS]
    return SnpModel(bim=bim, p_anc=p_anc, p_pop=p_pop, block_starts=block_starts_arr, rho=rho)


def _block_genotypes(rng: np.random.Generator, thr: np.ndarray, rho: float, hap_pop: np.ndarray) -> np.ndarray:
    """True genotypes (L, n_people) uint8 A1 counts for one LD block; ``thr`` is (L, 2) latent cut-offs."""
    n_hap = hap_pop.shape[0]
    L = thr.shape[0]
    z = rng.standard_normal((L, n_hap), dtype=np.float32)
    a = np.float32(rho)
    b = np.float32(np.sqrt(1.0 - rho * rho))
    for k in range(1, L):  # AR(1) along the block: corr(z_j, z_k) = rho^|j-k|
        z[k] *= b
        z[k] += a * z[k - 1]
    h = z < thr[:, hap_pop]  # (L, n_hap): carries A1
    hv = h.view(np.uint8)
    return hv[:, 0::2] + hv[:, 1::2]


def _apply_defects(g: np.ndarray, start: int, rng: np.random.Generator, defects: SnpDefects) -> None:
    """Give the bad SNPs of the block ``g`` (its first SNP ``start``) their HWE and low-MAF defects, in place."""
    n_total = g.shape[1]
    for j in range(start, start + g.shape[0]):
        if defects.hwe[j]:
            u = rng.random(n_total)
            row = np.ones(n_total, np.uint8)
            row[u < (1 - HWE_BAD_HET) / 2] = 0
            row[u > (1 + HWE_BAD_HET) / 2] = 2
            g[j - start] = row
        elif j in defects.rare_fill:
            fill, carrier = defects.rare_fill[j]
            g[j - start] = fill
            if carrier >= 0:
                g[j - start, carrier] = 1


class _ChunkedWriters:
    """Collect blocks of (k, n_total) int8 genotypes; write the training and new people's columns
    to their .bed files once about ``chunk_snps`` SNPs are pending (and at :meth:`flush`)."""

    def __init__(self, w_train: BedWriter, w_new: BedWriter | None, n_train: int, chunk_snps: int) -> None:
        self.w_train, self.w_new, self.n_train, self.chunk_snps = w_train, w_new, n_train, chunk_snps
        self.pending: list[np.ndarray] = []
        self.n_pending = 0

    def add(self, block: np.ndarray) -> None:
        self.pending.append(block)
        self.n_pending += block.shape[0]
        if self.n_pending >= self.chunk_snps:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        chunk = np.concatenate(self.pending, axis=0)  # (k, n_total) int8
        self.w_train.write_block(chunk[:, : self.n_train].T)
        if self.w_new is not None:
            self.w_new.write_block(chunk[:, self.n_train :].T)
        self.pending, self.n_pending = [], 0


def generate_genotypes(
    *,
    seed: int,
    snp: SnpModel,
    pop: np.ndarray,
    n_train: int,
    sample_missing: np.ndarray,
    defects: SnpDefects,
    causal: np.ndarray,
    train_prefix: Path,
    new_prefix: Path | None,
    chunk_snps: int,
) -> np.ndarray:
    """Stream genotypes to ``train_prefix.bed`` (and ``new_prefix.bed``, unshuffled) by chunks.

    ``pop`` (n_people,) is each person's population (training people first), ``sample_missing``
    their missing-call rates. Returns the true (pre-missingness) genotypes of the ``causal`` SNPs
    for all people, int8 (n_people, n_causal).
    """
    n_total = pop.shape[0]
    thr_all = ndtri(snp.p_pop).astype(np.float32)  # (m, 2)
    hap_pop = np.repeat(pop, 2)
    causal_pos = {int(j): k for k, j in enumerate(causal)}
    causal_g = np.zeros((n_total, len(causal)), dtype=np.int8)
    keep_frac = (1.0 - sample_missing).astype(np.float32)  # (n_total,)
    starts = snp.block_starts
    with ExitStack() as stack:
        w_train = stack.enter_context(BedWriter(train_prefix, n_train))
        w_new = stack.enter_context(BedWriter(new_prefix, n_total - n_train)) if new_prefix is not None else None
        writers = _ChunkedWriters(w_train, w_new, n_train, chunk_snps)
        for b in range(len(starts) - 1):
            s, e = int(starts[b]), int(starts[b + 1])
            rng = np.random.default_rng([seed, _streams.BLOCK, b])
            g = _block_genotypes(rng, thr_all[s:e], float(snp.rho[b]), hap_pop)
            _apply_defects(g, s, rng, defects)
            for j in range(s, e):  # bad SNPs are never causal: these rows are the true genotypes
                if j in causal_pos:
                    causal_g[:, causal_pos[j]] = g[j - s]
            # missing calls: P(missing) = 1 - (1 - r_sample)(1 - r_snp)
            keep = keep_frac[None, :] * (1.0 - defects.missing[s:e, None]).astype(np.float32)
            miss = rng.random((e - s, n_total), dtype=np.float32) >= keep
            gi = g.view(np.int8)
            gi[miss] = -1
            writers.add(gi)
        writers.flush()
    return causal_g
