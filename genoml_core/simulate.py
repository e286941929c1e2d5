"""A deterministic, realistic example cohort: PLINK genotypes, phenotypes, covariates, a new cohort.

:func:`simulate_cohort` writes a training cohort and an independent "new" cohort drawn from the
same populations and genetic model, plus ``truth.json`` saying exactly how they were made, so the
pipeline's quality control, LD pruning, modelling and new-cohort alignment can be checked against
known answers. Nothing is downloaded; the same arguments give byte-identical files (on the same
numpy/scipy versions: numpy does not promise identical random streams across releases).

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

Traits (all three on both cohorts, from true genotypes before missingness)
    * ``case_control``: liability threshold. Liability = genetic value (``n_causal`` causal SNPs,
      ancestral MAF >= 5%, standardized N(0, 1) effects scaled so its variance is ``h2`` on the
      training cohort) + ``group_shift`` for pop_b + sex and age effects + Gaussian noise making the
      total variance 1 on the training cohort. Cases: liability above the training quantile
      ``1 - prevalence`` (the same threshold in the new cohort); ``case_missing_rate`` set to NA.
    * ``quantitative``: a second liability (half of the case/control causal SNPs, with correlated
      effects, plus as many of its own), small sex/age/pop_b effects, total variance 1, written as
      ``100 + 15 * value``.
    * ``three_class``: a third liability (half of the case/control causal SNPs plus its own) plus a
      pop_b shift and noise, cut at the training 45% and 80% quantiles into ``subtype_a``,
      ``subtype_b``, ``subtype_c``.

Genetic architecture (``architecture``; the same for all three traits)
    * ``additive`` (the default): ``n_causal`` (40) causal SNPs, standardized effects N(0, 1).
    * ``sparse``: a few large effects: ``n_causal`` defaults to 10, standardized effects +-1 (random
      signs), so each causal SNP carries about ``h2 / n_causal`` of the liability variance.
    * ``epistatic``: the additive model plus ``n_pairs`` (default ``min(10, n_causal // 2)``)
      pairwise interactions between distinct causal SNPs of the trait. An interaction is
      ``effect * z_a * z_b`` with ``z`` a genotype standardized by its training mean and SD (so it
      has no marginal additive effect); the interactions carry ``interaction_share`` (0.4) of the
      genetic variance on the training cohort and the additive part the rest
      (var(interactions) / (var(additive) + var(interactions)) = ``interaction_share``).
      The noise-free liabilities (the oracle scores) include the interactions.

    With ``architecture`` left unset (``None``) the model is ``additive`` and every file is
    byte-identical to earlier releases. Naming an architecture (``additive`` included) adds an
    ``architecture`` section to ``truth.json``, per trait its architecture (the interaction table
    and variance parts for ``epistatic``), ``three_class.oracle_macro_auc`` (the one-vs-rest macro
    AUC of the class probabilities given the noise-free liability, :func:`three_class_probabilities`)
    and a ``three_class_liability`` column to ``oracle.tsv`` / ``new_cohort_oracle.tsv``.

New cohort
    ``n_new`` other people (``NFAM0001``/``NEW0001``) from the same model. Its ``.bim`` lists the
    SNPs in a random order (the ``.bed`` follows it): the chromosomes in a random order, and the
    SNPs of each chromosome in a random order (kept together, since PLINK rejects a .bim with a
    "split chromosome"; unsorted positions within a chromosome it accepts).
    ``frac_swapped`` of the SNPs have A1/A2
    exchanged with the stored count flipped to ``2 - g`` (the biological genotype is unchanged),
    and ``frac_absent`` of the SNPs (never causal ones) are left out. It is first written unshuffled
    to a temporary ``.bed`` while the training cohort streams out, then copied in the shuffled
    order by chunks, so memory stays bounded by a chunk for both cohorts.

Memory: genotypes are generated block by block from per-block random streams (so the files do not
depend on ``chunk_snps``) and written in chunks of about ``chunk_snps`` SNPs through
:class:`genoml_core.io.BedWriter`; only the causal SNPs' genotypes are kept for all samples.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from . import __version__
from .errors import ConfigError
from .io import BIM_COLUMNS, FAM_COLUMNS, BedWriter, iter_genotype_chunks, write_json, write_tsv

__all__ = [
    "simulate_cohort",
    "three_class_probabilities",
    "main",
    "ARCHITECTURES",
    "POPULATIONS",
    "THREE_CLASS_LABELS",
]

log = logging.getLogger(__name__)

POPULATIONS = ("pop_a", "pop_b")
THREE_CLASS_LABELS = ("subtype_a", "subtype_b", "subtype_c")
#: Genetic architectures of :func:`simulate_cohort` (its ``architecture`` argument).
ARCHITECTURES = ("additive", "sparse", "epistatic")

# independent random sub-streams: np.random.default_rng([seed, STREAM, ...])
_S_SNPS, _S_PEOPLE, _S_EFFECTS, _S_PHENO, _S_NEW, _S_BLOCK = 1, 2, 3, 4, 5, 6
# the architecture's own draws (interaction pairs and effects): a separate stream, so the additive
# model's draws (and files) do not depend on it
_S_ARCH = 7

_BLOCK_SIZE = (5, 50)
_RHO = (0.80, 0.98)
_FREQ_BETA = 0.45
_FREQ_CLIP = 3e-3
_GAP_BP = (5_000, 20_000)
_AMBIGUOUS = [("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")]
_UNAMBIGUOUS = [(a, b) for a in "ACGT" for b in "ACGT" if a != b and (a, b) not in _AMBIGUOUS]
_BAD_SAMPLE_MISSING = (0.10, 0.30)
_BAD_SNP_MISSING = (0.10, 0.30)
_HWE_BAD_HET = 0.96
_AGE_MEAN, _AGE_SD, _AGE_RANGE = 55.0, 10.0, (18.0, 90.0)
_CC_SEX_EFFECT = 0.20  # liability per unit of covariate sex (1 = female)
_CC_AGE_EFFECT = 0.025  # liability per year of age
_Q_SEX_EFFECT, _Q_AGE_EFFECT, _Q_GROUP_SHIFT = 0.30, 0.015, 0.30
_T_GROUP_SHIFT = 0.30
_THREE_CLASS_QUANTILES = (0.45, 0.80)
_Q_OFFSET, _Q_SCALE = 100.0, 15.0
_N_CAUSAL_DEFAULT = {"additive": 40, "sparse": 10, "epistatic": 40}
_SPARSE_MAX_CAUSAL = 50
_INTERACTION_SHARE_DEFAULT = 0.4
_N_PAIRS_DEFAULT = 10


# ----------------------------------------------------------------------------- helpers
def _roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties counted half) of ``score`` for binary ``label``."""
    label = np.asarray(label, dtype=bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _ids(prefix: str, n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _split_counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``weights`` (largest remainder)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


# ----------------------------------------------------------------------------- SNP model
def _snp_model(seed: int, n_snps: int, n_chromosomes: int, fst: float, frac_ambiguous: float) -> dict[str, Any]:
    rng = np.random.default_rng([seed, _S_SNPS])
    # chromosome sizes: decreasing like real autosomes (weights 1 .. 0.5)
    weights = np.linspace(1.0, 0.5, n_chromosomes) if n_chromosomes > 1 else np.ones(1)
    per_chr = _split_counts(n_snps, weights)
    chrom = np.repeat(np.arange(1, n_chromosomes + 1), per_chr)
    pos = np.empty(n_snps, dtype=np.int64)
    block_starts: list[int] = []
    start = 0
    for k in per_chr:
        gaps = rng.integers(_GAP_BP[0], _GAP_BP[1] + 1, size=k)
        gaps[0] = rng.integers(10_000, 1_000_000)
        pos[start : start + k] = np.cumsum(gaps)
        j = 0
        while j < k:
            block_starts.append(start + j)
            j += int(rng.integers(_BLOCK_SIZE[0], _BLOCK_SIZE[1] + 1))
        start += k
    block_starts_arr = np.asarray(block_starts + [n_snps], dtype=np.int64)
    rho = rng.uniform(_RHO[0], _RHO[1], size=len(block_starts))

    ambiguous = rng.random(n_snps) < frac_ambiguous
    pair_amb = rng.integers(len(_AMBIGUOUS), size=n_snps)
    pair_una = rng.integers(len(_UNAMBIGUOUS), size=n_snps)
    a1 = np.where(ambiguous, [_AMBIGUOUS[i][0] for i in pair_amb], [_UNAMBIGUOUS[i][0] for i in pair_una])
    a2 = np.where(ambiguous, [_AMBIGUOUS[i][1] for i in pair_amb], [_UNAMBIGUOUS[i][1] for i in pair_una])

    p_anc = np.clip(rng.beta(_FREQ_BETA, _FREQ_BETA, size=n_snps), _FREQ_CLIP, 1 - _FREQ_CLIP)
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
    return {"bim": bim, "p_anc": p_anc, "p_pop": p_pop, "block_starts": block_starts_arr, "rho": rho}


# ----------------------------------------------------------------------------- genotype blocks
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


def _generate_genotypes(
    *,
    seed: int,
    snp: dict[str, Any],
    pop: np.ndarray,
    n_train: int,
    sample_missing: np.ndarray,
    snp_missing: np.ndarray,
    bad_hwe: np.ndarray,
    bad_rare_fill: dict[int, tuple[int, int]],
    causal: np.ndarray,
    train_prefix: Path,
    new_prefix: Path | None,
    chunk_snps: int,
) -> np.ndarray:
    """Stream genotypes to ``train_prefix.bed`` (and ``new_prefix.bed``, unshuffled) by chunks.

    Returns the true (pre-missingness) genotypes of the ``causal`` SNPs for all people, int8
    (n_people, n_causal).
    """
    n_total = pop.shape[0]
    n_new = n_total - n_train
    thr_all = ndtri(snp["p_pop"]).astype(np.float32)  # (m, 2)
    hap_pop = np.repeat(pop, 2)
    causal_pos = {int(j): k for k, j in enumerate(causal)}
    causal_g = np.zeros((n_total, len(causal)), dtype=np.int8)
    keep_frac = (1.0 - sample_missing).astype(np.float32)  # (n_total,)
    starts = snp["block_starts"]

    pending: list[np.ndarray] = []
    n_pending = 0
    with ExitStack() as stack:
        w_train = stack.enter_context(BedWriter(train_prefix, n_train))
        w_new = stack.enter_context(BedWriter(new_prefix, n_new)) if new_prefix is not None else None

        def flush() -> None:
            nonlocal pending, n_pending
            if not pending:
                return
            chunk = np.concatenate(pending, axis=0)  # (k, n_total) int8
            w_train.write_block(chunk[:, :n_train].T)
            if w_new is not None:
                w_new.write_block(chunk[:, n_train:].T)
            pending, n_pending = [], 0

        for b in range(len(starts) - 1):
            s, e = int(starts[b]), int(starts[b + 1])
            rng = np.random.default_rng([seed, _S_BLOCK, b])
            g = _block_genotypes(rng, thr_all[s:e], float(snp["rho"][b]), hap_pop)
            for j in range(s, e):
                if bad_hwe[j]:
                    u = rng.random(n_total)
                    row = np.ones(n_total, np.uint8)
                    row[u < (1 - _HWE_BAD_HET) / 2] = 0
                    row[u > (1 + _HWE_BAD_HET) / 2] = 2
                    g[j - s] = row
                elif j in bad_rare_fill:
                    fill, carrier = bad_rare_fill[j]
                    g[j - s] = fill
                    if carrier >= 0:
                        g[j - s, carrier] = 1
                if j in causal_pos:
                    causal_g[:, causal_pos[j]] = g[j - s]
            # missing calls: P(missing) = 1 - (1 - r_sample)(1 - r_snp)
            keep = keep_frac[None, :] * (1.0 - snp_missing[s:e, None]).astype(np.float32)
            miss = rng.random((e - s, n_total), dtype=np.float32) >= keep
            gi = g.view(np.int8)
            gi[miss] = -1
            pending.append(gi)
            n_pending += e - s
            if n_pending >= chunk_snps:
                flush()
        flush()
    return causal_g


# ----------------------------------------------------------------------------- traits
def _genetic_value(
    g: np.ndarray, p: np.ndarray, beta_std: np.ndarray, h2: float, train: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Genetic value with variance ``h2`` on the training rows.

    Returns (values for all people, per-A1-copy effects, centre) with value = g @ effect - centre.
    """
    per_allele = beta_std / np.sqrt(2 * p * (1 - p))
    raw = (g - 2 * p) @ per_allele
    scale = np.sqrt(h2 / raw[train].var()) if raw[train].var() > 0 else 0.0
    effect = per_allele * scale
    centre = float((2 * p * effect).sum())
    return g @ effect - centre, effect, centre


def _interaction_value(
    ga: np.ndarray, gb: np.ndarray, gamma: np.ndarray, variance: float, train: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Pairwise interactions ``sum_k effect_k * z_a,k * z_b,k`` with variance ``variance`` on the training rows.

    ``ga`` and ``gb`` are the true genotypes (n_people, n_pairs) of the pairs' first and second
    SNPs; ``z`` standardizes each by its training mean and SD. Returns (values for all people,
    {"effect", "centre_a", "scale_a", "centre_b", "scale_b"} per pair).
    """

    def standardize(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        centre = g[train].mean(axis=0)
        scale = g[train].std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return (g - centre) / scale, centre, scale

    za, ca, sa = standardize(ga)
    zb, cb, sb = standardize(gb)
    prod = za * zb
    raw = prod @ gamma
    v = float(raw[train].var())
    effect = gamma * (np.sqrt(variance / v) if v > 0 else 0.0)
    return prod @ effect, {"effect": effect, "centre_a": ca, "scale_a": sa, "centre_b": cb, "scale_b": sb}


def _interaction_table(bim: pd.DataFrame, pairs: np.ndarray, parts: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """truth.json rows of the interactions: value = effect * (g_a - centre_a) / scale_a * (g_b - centre_b) / scale_b,
    g the count of each SNP's training .bim A1 allele."""
    rows = []
    for k, (a, b) in enumerate(pairs):
        ra, rb = bim.iloc[int(a)], bim.iloc[int(b)]
        rows.append(
            {
                "snp_a": str(ra.SNP),
                "snp_b": str(rb.SNP),
                "effect_allele_a": str(ra.A1),
                "effect_allele_b": str(rb.A1),
                "centre_a": round(float(parts["centre_a"][k]), 6),
                "scale_a": round(float(parts["scale_a"][k]), 6),
                "centre_b": round(float(parts["centre_b"][k]), 6),
                "scale_b": round(float(parts["scale_b"][k]), 6),
                "effect": round(float(parts["effect"][k]), 6),
            }
        )
    return rows


def three_class_probabilities(liability: Any, thresholds: Sequence[float], noise_sd: float) -> np.ndarray:
    """Class probabilities of ``three_class`` given its noise-free liability (the oracle's scores).

    The observed liability is ``liability + noise_sd * N(0, 1)``, cut at ``thresholds`` (the two
    training quantiles in ``truth.json``'s ``three_class.thresholds``), so
    P(class 0) = Phi((t0 - l) / sd), P(class 1) = Phi((t1 - l) / sd) - P(class 0), P(class 2) = the rest.

    Args:
        liability: noise-free liabilities (n,), e.g. ``oracle.tsv``'s ``three_class_liability``.
        thresholds: the two cut points, increasing.
        noise_sd: SD of the noise (``three_class.noise_sd``), > 0.

    Returns:
        (n, 3) probabilities in the order of :data:`THREE_CLASS_LABELS`; rows sum to 1.

    Example:
        >>> p = three_class_probabilities([-3.0, 0.0, 3.0], [-0.5, 0.5], 1.0)
        >>> p.shape, bool(p[0, 0] > 0.9), bool(p[2, 2] > 0.9)
        ((3, 3), True, True)
    """
    lo, hi = (float(t) for t in thresholds)
    if not lo <= hi or not noise_sd > 0:
        raise ValueError(f"{thresholds=} must be increasing and {noise_sd=} > 0")
    x = np.asarray(liability, dtype=np.float64)
    c0 = ndtr((lo - x) / noise_sd)
    c1 = ndtr((hi - x) / noise_sd)
    return np.stack([c0, np.clip(c1 - c0, 0.0, 1.0), 1.0 - c1], axis=1)


def _macro_auc(prob: np.ndarray, label: np.ndarray) -> float:
    """One-vs-rest macro ROC AUC over the classes present in ``label`` (0..K-1)."""
    present = [k for k in range(prob.shape[1]) if 0 < int((label == k).sum()) < label.size]
    return float(np.mean([_roc_auc(prob[:, k], label == k) for k in present])) if present else float("nan")


def _add_noise(noise_free: np.ndarray, z: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, float]:
    """Add noise ``sd * z`` so that the training rows have total variance ~1."""
    v = float(noise_free[train].var())
    sd = float(np.sqrt(max(1.0 - v, 0.05)))
    return noise_free + sd * z, sd


def _causal_table(bim: pd.DataFrame, idx: np.ndarray, effect: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for j, eff, pj in zip(idx, effect, p):
        r = bim.iloc[int(j)]
        rows.append(
            {
                "snp": str(r.SNP),
                "chr": str(r.CHR),
                "pos": int(r.POS),
                "effect_allele": str(r.A1),
                "other_allele": str(r.A2),
                "effect": round(float(eff), 6),
                "effect_std": round(float(eff * np.sqrt(2 * pj * (1 - pj))), 6),
                "freq_ancestral": round(float(pj), 6),
            }
        )
    return rows


# ----------------------------------------------------------------------------- main entry
def simulate_cohort(
    out_dir: str | os.PathLike[str],
    *,
    n_samples: int = 2000,
    n_snps: int = 20000,
    n_chromosomes: int = 4,
    n_new: int = 500,
    n_causal: int | None = None,
    architecture: str | None = None,
    interaction_share: float | None = None,
    n_pairs: int | None = None,
    seed: int = 42,
    fst: float = 0.05,
    frac_pop_b: float = 0.25,
    missing_rate: float = 0.005,
    n_bad_samples: int = 10,
    n_bad_snps: int = 20,
    prevalence: float = 0.35,
    h2: float = 0.40,
    h2_quantitative: float = 0.40,
    h2_three_class: float = 0.40,
    group_shift: float = 0.5,
    case_missing_rate: float = 0.01,
    frac_ambiguous: float = 0.15,
    frac_swapped: float = 0.10,
    frac_absent: float = 0.02,
    chunk_snps: int = 4096,
) -> dict[str, Any]:
    """Simulate a training cohort and a new cohort into ``out_dir``; return the truth.

    Files written (tables tab-separated with a header, ids as strings): ``cohort.bed/.bim/.fam``,
    ``phenotype.tsv`` (FID IID case_control quantitative three_class), ``covariates.tsv`` (FID IID
    sex age; sex = fam SEX - 1, i.e. 0 male, 1 female), ``groups.tsv`` (FID IID ancestry sex), the
    same for ``new_cohort*`` (when ``n_new > 0``), and ``truth.json`` (the returned dict). See the
    module docstring for the model.

    Args:
        out_dir: output folder (created).
        n_samples: training cohort size (>= 100).
        n_snps: number of SNPs (>= 500).
        n_chromosomes: chromosomes 1..n_chromosomes (1-22).
        n_new: new-cohort size (0 for none).
        n_causal: causal SNPs of case_control; quantitative and three_class each share half
            and have as many of their own. None: 40, or 10 for ``sparse`` (at most 50 there).
        architecture: ``"additive"``, ``"sparse"`` or ``"epistatic"`` (see the module
            docstring), for all three traits. None: additive, with every file byte-identical to
            earlier releases; naming one adds the architecture fields to ``truth.json`` and the
            ``three_class_liability`` oracle column.
        interaction_share: ``epistatic`` only: share of each trait's genetic variance (on the
            training cohort) carried by the pairwise interactions, in (0, 1). None: 0.4.
        n_pairs: ``epistatic`` only: interacting SNP pairs per trait (distinct causal SNPs,
            ``1 <= n_pairs <= n_causal // 2``). None: ``min(10, n_causal // 2)``.
        seed: non-negative integer seed; the same arguments give byte-identical files.
        fst: Balding-Nichols F of each population relative to the ancestral frequencies.
        frac_pop_b: expected fraction of pop_b (0.5 for an even two-ancestry mix).
        missing_rate: fraction of genotype calls missing at random.
        n_bad_samples: training samples with 10-30% missing calls.
        n_bad_snps: SNPs in each bad-SNP category (high missingness, low MAF, Hardy-Weinberg).
        prevalence: case fraction of case_control on the training cohort.
        h2: variance of the genetic liability of case_control (total liability variance 1),
            interactions included.
        h2_quantitative: same for the quantitative trait.
        h2_three_class: same for the three-class trait.
        group_shift: case_control liability shift of pop_b.
        case_missing_rate: fraction of case_control values written as NA.
        frac_ambiguous: fraction of strand-ambiguous (A/T, C/G) SNPs.
        frac_swapped: fraction of SNPs with A1/A2 swapped in the new cohort.
        frac_absent: fraction of SNPs absent from the new cohort.
        chunk_snps: SNPs per written chunk (memory ~ chunk_snps x samples bytes; output does not
            depend on it).

    Returns:
        The truth dictionary also written to ``truth.json``.

    Raises:
        ConfigError: impossible parameters.
    """
    t0 = time.perf_counter()
    # chunk_snps is left out: the files do not depend on it
    params = {k: v for k, v in locals().items() if k not in {"out_dir", "t0", "chunk_snps"}}
    extended = architecture is not None
    _check(
        architecture is None or architecture in ARCHITECTURES, f"{architecture=} must be one of {ARCHITECTURES}"
    )
    arch = architecture or "additive"
    epistatic = arch == "epistatic"
    for name, v in [("interaction_share", interaction_share), ("n_pairs", n_pairs)]:
        _check(v is None or epistatic, f"{name}={v} applies to architecture='epistatic' only (got {arch!r})")
    n_causal = _N_CAUSAL_DEFAULT[arch] if n_causal is None else int(n_causal)
    params["n_causal"] = n_causal
    if epistatic:
        interaction_share = _INTERACTION_SHARE_DEFAULT if interaction_share is None else float(interaction_share)
        n_pairs = min(_N_PAIRS_DEFAULT, n_causal // 2) if n_pairs is None else int(n_pairs)
        _check(0 < interaction_share < 1, f"{interaction_share=} must be in (0, 1)")
        _check(1 <= n_pairs <= n_causal // 2, f"{n_pairs=} must be in [1, n_causal // 2 = {n_causal // 2}]")
        params.update(interaction_share=interaction_share, n_pairs=n_pairs)
    if arch == "sparse":
        _check(n_causal <= _SPARSE_MAX_CAUSAL, f"{n_causal=} must be <= {_SPARSE_MAX_CAUSAL} for a sparse architecture")
    if extended:
        params["architecture"] = arch
    else:  # the parameters of earlier releases, so that truth.json stays byte-identical
        for name in ("architecture", "interaction_share", "n_pairs"):
            params.pop(name)
    _check(isinstance(seed, (int, np.integer)) and seed >= 0, f"{seed=} must be a non-negative integer")
    _check(n_samples >= 100, f"{n_samples=} must be >= 100")
    _check(n_snps >= 500, f"{n_snps=} must be >= 500")
    _check(
        1 <= n_chromosomes <= 22 and n_snps // n_chromosomes >= 100,
        f"{n_chromosomes=} must be 1-22 with >= 100 SNPs each",
    )
    _check(n_new >= 0, f"{n_new=} must be >= 0")
    _check(n_causal >= 2, f"{n_causal=} must be >= 2")
    _check(0 < fst < 1, f"{fst=} must be in (0, 1)")
    _check(0 < frac_pop_b < 1, f"{frac_pop_b=} must be in (0, 1)")
    _check(0 <= missing_rate < 0.05, f"{missing_rate=} must be in [0, 0.05)")
    _check(0 <= n_bad_samples <= n_samples // 10, f"{n_bad_samples=} must be in [0, n_samples/10]")
    _check(n_bad_snps >= 0 and 3 * n_bad_snps <= n_snps // 10, f"{n_bad_snps=} per category must be <= n_snps/30")
    _check(0 < prevalence < 1, f"{prevalence=} must be in (0, 1)")
    for name, v in [("h2", h2), ("h2_quantitative", h2_quantitative), ("h2_three_class", h2_three_class)]:
        _check(0 < v < 0.9, f"{name}={v} must be in (0, 0.9)")
    _check(0 <= case_missing_rate < 0.5, f"{case_missing_rate=} must be in [0, 0.5)")
    for name, v in [("frac_ambiguous", frac_ambiguous), ("frac_swapped", frac_swapped), ("frac_absent", frac_absent)]:
        _check(0 <= v < 0.5, f"{name}={v} must be in [0, 0.5)")
    _check(chunk_snps >= 1, f"{chunk_snps=} must be >= 1")
    seed = int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_total = n_samples + n_new
    train = np.zeros(n_total, dtype=bool)
    train[:n_samples] = True

    # ---- SNPs, causal and bad SNPs
    snp = _snp_model(seed, n_snps, n_chromosomes, fst, frac_ambiguous)
    bim: pd.DataFrame = snp["bim"]
    p_anc, p_pop = snp["p_anc"], snp["p_pop"]
    maf_anc = np.minimum(p_anc, 1 - p_anc)
    rng = np.random.default_rng([seed, _S_EFFECTS])
    eligible = np.flatnonzero((maf_anc >= 0.05) & (np.minimum(p_pop, 1 - p_pop).min(axis=1) >= 0.01))
    n_half = n_causal // 2
    n_own = n_causal - n_half
    n_union = n_causal + 2 * n_own
    _check(len(eligible) >= n_union + 3 * n_bad_snps, f"{n_snps=} is too small for {n_causal=} causal SNPs")
    pick = rng.permutation(eligible)
    causal_cc = np.sort(pick[:n_causal])
    causal_q = np.sort(
        np.concatenate([rng.choice(causal_cc, n_half, replace=False), pick[n_causal : n_causal + n_own]])
    )
    causal_t = np.sort(np.concatenate([rng.choice(causal_cc, n_half, replace=False), pick[n_causal + n_own : n_union]]))
    causal_union = np.unique(np.concatenate([causal_cc, causal_q, causal_t]))
    is_causal = np.zeros(n_snps, dtype=bool)
    is_causal[causal_union] = True
    beta_cc = rng.standard_normal(n_causal)
    beta_q_raw = rng.standard_normal(len(causal_q))
    shared_q = np.isin(causal_q, causal_cc)
    beta_q = beta_q_raw.copy()
    beta_q[shared_q] = 0.6 * beta_cc[np.searchsorted(causal_cc, causal_q[shared_q])] + 0.8 * beta_q_raw[shared_q]
    beta_t = rng.standard_normal(len(causal_t))
    if arch == "sparse":  # a few large effects of equal size: +-1 standardized, the signs of the draws
        beta_cc, beta_q, beta_t = np.sign(beta_cc), np.sign(beta_q), np.sign(beta_t)

    # bad SNPs: never causal; high-missing ones common so that only --geno catches them
    free = np.flatnonzero(~is_causal)
    common_free = free[maf_anc[free] >= 0.1]
    bad_missing_idx = np.sort(rng.choice(common_free, n_bad_snps, replace=False))
    rest = np.setdiff1d(free, bad_missing_idx)
    bad_other = rng.choice(rest, 2 * n_bad_snps, replace=False)
    bad_rare_idx = np.sort(bad_other[:n_bad_snps])
    bad_hwe_idx = np.sort(bad_other[n_bad_snps:])
    snp_missing = np.zeros(n_snps)
    snp_missing[bad_missing_idx] = rng.uniform(*_BAD_SNP_MISSING, size=n_bad_snps)
    bad_hwe = np.zeros(n_snps, dtype=bool)
    bad_hwe[bad_hwe_idx] = True
    # low-MAF SNPs: monomorphic (all 0 or all 2 A1 copies) or a single heterozygous training carrier
    bad_rare_fill: dict[int, tuple[int, int]] = {}
    for j in bad_rare_idx:
        fill = int(rng.choice([0, 2]))
        carrier = int(rng.integers(n_samples)) if rng.random() < 0.5 else -1
        bad_rare_fill[int(j)] = (fill, carrier)

    # ---- people
    prng = np.random.default_rng([seed, _S_PEOPLE])
    pop = (prng.random(n_total) < frac_pop_b).astype(np.int64)
    female = (prng.random(n_total) < 0.5).astype(np.int64)
    age = np.round(np.clip(prng.normal(_AGE_MEAN, _AGE_SD, n_total), *_AGE_RANGE), 1)
    sample_missing = np.full(n_total, missing_rate)
    bad_samples = np.sort(prng.choice(n_samples, n_bad_samples, replace=False))
    sample_missing[bad_samples] = prng.uniform(*_BAD_SAMPLE_MISSING, size=n_bad_samples)
    fid = _ids("FAM", n_samples) + _ids("NFAM", n_new)
    iid = _ids("IND", n_samples) + _ids("NEW", n_new)

    # ---- genotypes
    log.info("simulating %d + %d samples x %d SNPs into %s", n_samples, n_new, n_snps, out)
    with tempfile.TemporaryDirectory(prefix=".simulate-", dir=out) as tmpdir:
        tmp_new = Path(tmpdir) / "new_unshuffled" if n_new else None
        causal_g = _generate_genotypes(
            seed=seed,
            snp=snp,
            pop=pop,
            n_train=n_samples,
            sample_missing=sample_missing,
            snp_missing=snp_missing,
            bad_hwe=bad_hwe,
            bad_rare_fill=bad_rare_fill,
            causal=causal_union,
            train_prefix=out / "cohort",
            new_prefix=tmp_new,
            chunk_snps=chunk_snps,
        )
        log.info("genotypes written (%.1f s)", time.perf_counter() - t0)
        write_tsv(bim, out / "cohort.bim", header=False)
        fam = pd.DataFrame(
            {
                "FID": fid[:n_samples],
                "IID": iid[:n_samples],
                "PAT": 0,
                "MAT": 0,
                "SEX": female[:n_samples] + 1,
                "PHENO": -9,
            }
        )[FAM_COLUMNS]
        write_tsv(fam, out / "cohort.fam", header=False)

        # ---- new cohort: shuffle, swap, drop
        nrng = np.random.default_rng([seed, _S_NEW])
        new_info: dict[str, Any] | None = None
        if n_new:
            droppable = np.flatnonzero(~is_causal)
            absent = np.sort(nrng.choice(droppable, int(round(frac_absent * n_snps)), replace=False))
            present = np.setdiff1d(np.arange(n_snps), absent)
            swapped = np.sort(nrng.choice(present, int(round(frac_swapped * n_snps)), replace=False))
            chrom_present = bim.CHR.to_numpy()[present]
            chrom_order = nrng.permutation(np.unique(chrom_present))
            order = np.concatenate([nrng.permutation(present[chrom_present == c]) for c in chrom_order])
            is_swapped = np.zeros(n_snps, dtype=bool)
            is_swapped[swapped] = True
            assert tmp_new is not None  # set above when there is a new cohort
            with BedWriter(out / "new_cohort", n_new) as w:
                for start, block in iter_genotype_chunks(
                    tmp_new, order, n_samples=n_new, chunk_variants=chunk_snps, engine="lut"
                ):
                    flip = is_swapped[order[start : start + block.shape[1]]]
                    sub = block[:, flip]
                    block[:, flip] = np.where(sub >= 0, 2 - sub, -1)
                    w.write_block(block)
            new_bim = bim.iloc[order].reset_index(drop=True)
            sw = is_swapped[order]
            new_bim.loc[sw, ["A1", "A2"]] = new_bim.loc[sw, ["A2", "A1"]].to_numpy()
            write_tsv(new_bim, out / "new_cohort.bim", header=False)
            new_fam = pd.DataFrame(
                {
                    "FID": fid[n_samples:],
                    "IID": iid[n_samples:],
                    "PAT": 0,
                    "MAT": 0,
                    "SEX": female[n_samples:] + 1,
                    "PHENO": -9,
                }
            )[FAM_COLUMNS]
            write_tsv(new_fam, out / "new_cohort.fam", header=False)
            new_info = {
                "n_samples": n_new,
                "n_snps": int(len(present)),
                "bad_samples": [],
                "bad_snps_present": True,
                "snp_order": "chromosomes in a random order, SNPs in a random order within each chromosome",
                "chromosome_order": [str(c) for c in chrom_order],
                "swapped_snps": bim.SNP.iloc[swapped].tolist(),
                "absent_snps": bim.SNP.iloc[absent].tolist(),
            }

    # ---- traits
    xg = causal_g.astype(np.float64)
    col = {int(j): k for k, j in enumerate(causal_union)}
    trng = np.random.default_rng([seed, _S_PHENO])
    noise = trng.standard_normal((3, n_total))

    arng = np.random.default_rng([seed, _S_ARCH])

    def gv(idx: np.ndarray, beta: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
        """Genetic value of one trait (variance ``h`` on training), its additive effects, centre and
        architecture record for truth.json."""
        cols = [col[int(j)] for j in idx]
        info: dict[str, Any] = {"name": arch, "n_causal": int(len(idx))}
        if not epistatic:
            return *_genetic_value(xg[:, cols], p_anc[idx], beta, h, train), info
        assert interaction_share is not None and n_pairs is not None
        g_add, eff, centre = _genetic_value(xg[:, cols], p_anc[idx], beta, (1 - interaction_share) * h, train)
        pairs = np.sort(arng.choice(idx, size=(n_pairs, 2), replace=False), axis=1)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        gamma = arng.standard_normal(n_pairs)
        ga = xg[:, [col[int(j)] for j in pairs[:, 0]]]
        gb = xg[:, [col[int(j)] for j in pairs[:, 1]]]
        g_int, parts = _interaction_value(ga, gb, gamma, interaction_share * h, train)
        v_add, v_int = float(g_add[train].var()), float(g_int[train].var())
        info.update(
            {
                "model": "genetic = additive (causal table) + sum over pairs of effect * z_a * z_b",
                "n_pairs": int(n_pairs),
                "interaction_share_requested": interaction_share,
                "variance_additive_training": round(v_add, 6),
                "variance_interaction_training": round(v_int, 6),
                "interaction_share_training": round(v_int / (v_add + v_int), 6),
                "interactions": _interaction_table(bim, pairs, parts),
            }
        )
        return g_add + g_int, eff, centre, info

    g_cc, eff_cc, centre_cc, arch_cc = gv(causal_cc, beta_cc, h2)
    fixed_cc = group_shift * pop + _CC_SEX_EFFECT * female + _CC_AGE_EFFECT * (age - _AGE_MEAN)
    nf_cc = g_cc + fixed_cc
    liab_cc, sd_cc = _add_noise(nf_cc, noise[0], train)
    threshold = float(np.quantile(liab_cc[train], 1 - prevalence))
    case = (liab_cc > threshold).astype(np.int64)
    case_na = trng.random(n_total) < case_missing_rate

    g_q, eff_q, centre_q, arch_q = gv(causal_q, beta_q, h2_quantitative)
    nf_q = g_q + _Q_GROUP_SHIFT * pop + _Q_SEX_EFFECT * female + _Q_AGE_EFFECT * (age - _AGE_MEAN)
    liab_q, sd_q = _add_noise(nf_q, noise[1], train)
    quant = np.round(_Q_OFFSET + _Q_SCALE * liab_q, 4)

    g_t, eff_t, centre_t, arch_t = gv(causal_t, beta_t, h2_three_class)
    nf_t = g_t + _T_GROUP_SHIFT * pop
    liab_t, sd_t = _add_noise(nf_t, noise[2], train)
    cuts = np.quantile(liab_t[train], _THREE_CLASS_QUANTILES)
    three = np.asarray(THREE_CLASS_LABELS)[np.searchsorted(cuts, liab_t)]

    # ---- tables
    pheno = pd.DataFrame(
        {
            "FID": fid,
            "IID": iid,
            "case_control": pd.array(np.where(case_na, pd.NA, case), dtype="Int64"),
            "quantitative": quant,
            "three_class": three,
        }
    )
    covar = pd.DataFrame({"FID": fid, "IID": iid, "sex": female, "age": age})
    groups = pd.DataFrame(
        {
            "FID": fid,
            "IID": iid,
            "ancestry": np.asarray(POPULATIONS)[pop],
            "sex": np.where(female == 1, "female", "male"),
        }
    )
    for name, sl in [("", slice(0, n_samples)), ("new_cohort_", slice(n_samples, n_total))]:
        if sl.start == sl.stop:
            continue
        write_tsv(pheno.iloc[sl], out / f"{name or ''}phenotype.tsv", na_rep="NA")
        write_tsv(covar.iloc[sl], out / f"{name}covariates.tsv")
        write_tsv(groups.iloc[sl], out / f"{name}groups.tsv")
        # per-person noise-free liabilities: the oracle scores, for benchmarks on any subset
        oracle = pheno.iloc[sl][["FID", "IID"]].assign(
            case_control_liability=np.round(nf_cc[sl], 6), quantitative_noise_free=np.round(nf_q[sl], 6)
        )
        if extended:
            oracle["three_class_liability"] = np.round(nf_t[sl], 6)
        write_tsv(oracle, out / f"{name}oracle.tsv")

    # ---- truth
    newm = ~train
    ok_cc = ~case_na

    def per_cohort(f: Any) -> dict[str, float | None]:
        res: dict[str, float | None] = {"training": round(float(f(train)), 6)}
        res["new"] = round(float(f(newm)), 6) if n_new else None
        return res

    def r2(mask: np.ndarray) -> float:
        return float(np.corrcoef(nf_q[mask], quant[mask])[0, 1] ** 2)

    ids = lambda idx: bim.SNP.iloc[np.asarray(idx, dtype=np.int64)].tolist()  # noqa: E731
    truth: dict[str, Any] = {
        "generator": "genoml_core.simulate",
        "genoml_core_version": __version__,
        "seed": seed,
        "parameters": params,
        "files": {
            "training": [
                "cohort.bed", "cohort.bim", "cohort.fam", "phenotype.tsv", "covariates.tsv", "groups.tsv", "oracle.tsv"
            ],
            "new": (
                [
                    "new_cohort.bed",
                    "new_cohort.bim",
                    "new_cohort.fam",
                    "new_cohort_phenotype.tsv",
                    "new_cohort_covariates.tsv",
                    "new_cohort_groups.tsv",
                    "new_cohort_oracle.tsv",
                ]
                if n_new
                else []
            ),
        },
        "coding": {
            "genotypes": "int8 count of the .bim A1 allele (column 5), -1 missing",
            "fam_sex": "1 male, 2 female",
            "covariate_sex": "fam SEX - 1: 0 male, 1 female",
            "case_control": "0 control, 1 case, NA missing",
            "age": "years, 1 decimal",
            "quantitative": f"{_Q_OFFSET} + {_Q_SCALE} * liability",
        },
        "populations": {
            "labels": list(POPULATIONS),
            "fst_balding_nichols": fst,
            "fraction_pop_b": frac_pop_b,
            "counts_training": {p: int((pop[train] == k).sum()) for k, p in enumerate(POPULATIONS)},
            "counts_new": {p: int((pop[newm] == k).sum()) for k, p in enumerate(POPULATIONS)},
        },
        "genetics": {
            "freq_model": (
                f"ancestral A1 frequency ~ Beta({_FREQ_BETA}, {_FREQ_BETA}) clipped to [{_FREQ_CLIP}, {1 - _FREQ_CLIP}]"
            ),
            "ld_model": "haplotype blocks, latent AR(1) Gaussian thresholded at population A1-frequency quantiles",
            "block_size_range": list(_BLOCK_SIZE),
            "block_rho_range": list(_RHO),
            "n_blocks": int(len(snp["rho"])),
            "bp_gap_range": list(_GAP_BP),
            "n_ambiguous_snps": int(bim.apply(lambda r: {r.A1, r.A2} in ({"A", "T"}, {"C", "G"}), axis=1).sum()),
        },
        "causal_snps": ids(causal_union),
        "case_control": {
            "model": (
                "liability = genetic + group_shift*pop_b + sex_effect*sex + age_effect*(age - age_centre) + noise; "
                "case if liability > threshold"
            ),
            "h2_liability": h2,
            "prevalence": prevalence,
            "threshold": round(threshold, 6),
            "group_shift": {"pop_b": group_shift},
            "covariate_effects": {"sex": _CC_SEX_EFFECT, "age_per_year": _CC_AGE_EFFECT, "age_centre": _AGE_MEAN},
            "noise_sd": round(sd_cc, 6),
            "genetic_centre": round(centre_cc, 6),
            "causal": _causal_table(bim, causal_cc, eff_cc, p_anc[causal_cc]),
            "case_fraction": per_cohort(lambda mk: case[mk & ok_cc].mean()),
            "n_missing": {"training": int(case_na[train].sum()), "new": int(case_na[newm].sum()) if n_new else None},
            "oracle_auc": per_cohort(lambda mk: _roc_auc(nf_cc[mk & ok_cc], case[mk & ok_cc])),
        },
        "quantitative": {
            "model": (
                "value = offset + scale * "
                "(genetic + group_shift*pop_b + sex_effect*sex + age_effect*(age - age_centre) + noise)"
            ),
            "h2": h2_quantitative,
            "offset": _Q_OFFSET,
            "scale": _Q_SCALE,
            "group_shift": {"pop_b": _Q_GROUP_SHIFT},
            "covariate_effects": {"sex": _Q_SEX_EFFECT, "age_per_year": _Q_AGE_EFFECT, "age_centre": _AGE_MEAN},
            "noise_sd": round(sd_q, 6),
            "genetic_centre": round(centre_q, 6),
            "n_shared_with_case_control": int(shared_q.sum()),
            "causal": _causal_table(bim, causal_q, eff_q, p_anc[causal_q]),
            "oracle_r2": per_cohort(r2),
        },
        "three_class": {
            "model": "liability = genetic + group_shift*pop_b + noise, cut at the training quantiles",
            "h2_liability": h2_three_class,
            "labels": list(THREE_CLASS_LABELS),
            "quantiles": list(_THREE_CLASS_QUANTILES),
            "thresholds": [round(float(c), 6) for c in cuts],
            "group_shift": {"pop_b": _T_GROUP_SHIFT},
            "noise_sd": round(sd_t, 6),
            "genetic_centre": round(centre_t, 6),
            "causal": _causal_table(bim, causal_t, eff_t, p_anc[causal_t]),
            "class_counts": {
                "training": {c: int((three[train] == c).sum()) for c in THREE_CLASS_LABELS},
                "new": {c: int((three[newm] == c).sum()) for c in THREE_CLASS_LABELS},
            },
        },
        "missing_rate": missing_rate,
        "bad_samples": [
            {"FID": fid[i], "IID": iid[i], "missing_rate": round(float(sample_missing[i]), 4)} for i in bad_samples
        ],
        "bad_snps": {
            "high_missing": ids(bad_missing_idx),
            "low_maf": ids(bad_rare_idx),
            "hwe": ids(bad_hwe_idx),
            "notes": {
                "high_missing": "10-30% missing calls, common (ancestral MAF >= 0.1): removed by --geno 0.05",
                "low_maf": "monomorphic, or a single heterozygous training carrier: removed by --maf 0.01",
                "hwe": f"~{_HWE_BAD_HET:.0%} heterozygous: removed by --hwe 1e-6",
            },
        },
        "new_cohort": new_info,
    }
    if extended:  # (left out by default, so that default cohorts stay byte-identical to earlier releases)
        truth["architecture"] = {
            "name": arch,
            "n_causal": n_causal,
            "interaction_share": interaction_share,
            "n_pairs": n_pairs,
            "notes": {
                "additive": "n_causal causal SNPs, standardized effects N(0, 1)",
                "sparse": "n_causal (default 10) causal SNPs, standardized effects +-1 (equal large effects)",
                "epistatic": (
                    "additive + n_pairs pairwise interactions of causal SNPs carrying interaction_share of "
                    "the genetic variance (training cohort); the oracle liabilities include them"
                ),
            }[arch],
        }
        truth["case_control"]["architecture"] = arch_cc
        truth["quantitative"]["architecture"] = arch_q
        truth["three_class"]["architecture"] = arch_t
        label_t = np.searchsorted(cuts, liab_t)
        prob_t = three_class_probabilities(nf_t, cuts, sd_t)
        truth["three_class"]["oracle_macro_auc"] = per_cohort(lambda mk: _macro_auc(prob_t[mk], label_t[mk]))
    write_json(truth, out / "truth.json")
    auc = truth["case_control"]["oracle_auc"]
    log.info(
        "done in %.1f s: oracle AUC training %.3f, new %s; case fraction %.3f",
        time.perf_counter() - t0,
        auc["training"],
        "-" if auc["new"] is None else f"{auc['new']:.3f}",
        truth["case_control"]["case_fraction"]["training"],
    )
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``genoml-simulate --out DIR [--n-samples N] [--n-snps M] [--architecture A] [...]``.

    Options left out take :func:`simulate_cohort`'s defaults, so ``genoml-simulate --out DIR``
    writes the same files as ``simulate_cohort(DIR)``.
    """
    default = {k: v.default for k, v in inspect.signature(simulate_cohort).parameters.items()}

    def d(name: str) -> str:
        return f"(default: {default[name]})"

    ap = argparse.ArgumentParser(prog="genoml-simulate", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument(
        "--n-samples", type=int, default=default["n_samples"], help=f"training cohort size {d('n_samples')}"
    )
    ap.add_argument("--n-snps", type=int, default=default["n_snps"], help=f"number of SNPs {d('n_snps')}")
    ap.add_argument("--n-chromosomes", type=int, default=default["n_chromosomes"],
                    help=f"SNPs spread over chromosomes 1..N {d('n_chromosomes')}")
    ap.add_argument("--n-new", type=int, default=default["n_new"],
                    help=f"size of the independent new cohort; 0 for none {d('n_new')}")
    ap.add_argument("--seed", type=int, default=default["seed"], help=f"random seed {d('seed')}")
    arch = ap.add_argument_group("genetic architecture (the same for case_control, quantitative and three_class)")
    arch.add_argument("--architecture", choices=ARCHITECTURES, default=None,
                      help="additive: n-causal SNPs with N(0,1) standardized effects; sparse: a few large equal "
                           "effects (n-causal defaults to 10); epistatic: additive plus pairwise interactions "
                           "carrying --interaction-share of the genetic variance. Unset: additive, with files "
                           "byte-identical to earlier releases (naming it adds the architecture to truth.json "
                           "and the three_class_liability oracle column)")
    arch.add_argument("--n-causal", type=int, default=None,
                      help="causal SNPs of case_control (quantitative and three_class share half and have as many "
                           "of their own) (default: 40; 10 for sparse)")
    arch.add_argument("--interaction-share", type=float, default=None,
                      help="epistatic only: share of the genetic variance from pairwise interactions, in (0, 1) "
                           f"(default: {_INTERACTION_SHARE_DEFAULT})")
    arch.add_argument("--n-pairs", type=int, default=None,
                      help=f"epistatic only: interacting pairs of causal SNPs per trait (default: "
                           f"min({_N_PAIRS_DEFAULT}, n-causal // 2))")
    arch.add_argument("--h2", type=float, default=None,
                      help=f"variance of the case_control genetic liability; total liability variance 1 {d('h2')}")
    arch.add_argument("--h2-quantitative", type=float, default=None,
                      help=f"the same for the quantitative trait {d('h2_quantitative')}")
    arch.add_argument("--h2-three-class", type=float, default=None,
                      help=f"the same for the three-class trait {d('h2_three_class')}")
    arch.add_argument("--prevalence", type=float, default=None,
                      help=f"case fraction of case_control on the training cohort {d('prevalence')}")
    pops = ap.add_argument_group("ancestry (two populations, pop_a and pop_b)")
    pops.add_argument("--frac-pop-b", type=float, default=None,
                      help=f"expected fraction of pop_b; 0.5 for an even two-ancestry mix {d('frac_pop_b')}")
    pops.add_argument("--fst", type=float, default=None,
                      help="Balding-Nichols F of each population relative to the ancestral allele frequencies; "
                           f"larger = more different populations {d('fst')}")
    pops.add_argument("--group-shift", type=float, default=None,
                      help=f"case_control liability shift of pop_b {d('group_shift')}")
    new = ap.add_argument_group("new cohort")
    new.add_argument("--frac-swapped", type=float, default=None,
                     help=f"fraction of SNPs with A1/A2 swapped in the new cohort {d('frac_swapped')}")
    new.add_argument("--frac-absent", type=float, default=None,
                     help=f"fraction of (non-causal) SNPs absent from the new cohort {d('frac_absent')}")
    ap.add_argument("--chunk-snps", type=int, default=default["chunk_snps"],
                    help=f"SNPs per written chunk (bounds memory; the files do not depend on it) {d('chunk_snps')}")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__} (genoml_core)")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    optional = ("n_causal", "architecture", "interaction_share", "n_pairs", "h2", "h2_quantitative",
                "h2_three_class", "prevalence", "frac_pop_b", "fst", "group_shift", "frac_swapped", "frac_absent")
    given = {k: getattr(args, k) for k in optional if getattr(args, k) is not None}
    try:
        truth = simulate_cohort(
            args.out,
            n_samples=args.n_samples,
            n_snps=args.n_snps,
            n_chromosomes=args.n_chromosomes,
            n_new=args.n_new,
            seed=args.seed,
            chunk_snps=args.chunk_snps,
            **given,
        )
    except ConfigError as err:
        ap.error(str(err))
    print(f"wrote {args.out} (oracle AUC training {truth['case_control']['oracle_auc']['training']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
