"""Who and what is simulated: the causal SNPs and their effects, the bad SNPs, and the people.

Causal SNPs (ancestral MAF >= 5%, MAF >= 1% in both populations): ``n_causal`` for
case_control; quantitative and three_class each take half of them plus as many of their own.
Effects are standardized N(0, 1) draws (quantitative's correlated with case_control's on the
shared SNPs); ``sparse`` keeps only their signs. Bad SNPs are never causal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from . import _streams
from .genotypes import SnpDefects, SnpModel
from .spec import SimulationSpec

__all__ = ["CausalSnps", "People", "pick_causal", "pick_defects", "draw_people"]

BAD_SAMPLE_MISSING = (0.10, 0.30)
BAD_SNP_MISSING = (0.10, 0.30)
AGE_MEAN, AGE_SD, AGE_RANGE = 55.0, 10.0, (18.0, 90.0)


@dataclass(frozen=True)
class CausalSnps:
    """Per trait (``cc`` case_control, ``q`` quantitative, ``t`` three_class) the sorted causal SNP
    indexes and their standardized effects; ``union`` all causal SNPs, sorted; ``shared_q`` marks
    quantitative's SNPs that are case_control's too."""

    cc: np.ndarray
    q: np.ndarray
    t: np.ndarray
    beta_cc: np.ndarray
    beta_q: np.ndarray
    beta_t: np.ndarray
    union: np.ndarray
    shared_q: np.ndarray

    def mask(self, n_snps: int) -> np.ndarray:
        """(n_snps,) bool: causal for any trait."""
        is_causal = np.zeros(n_snps, dtype=bool)
        is_causal[self.union] = True
        return is_causal


@dataclass(frozen=True)
class People:
    """Everyone simulated, the ``n_train`` training people first, then the new cohort."""

    n_train: int
    pop: np.ndarray  # 0 pop_a, 1 pop_b
    female: np.ndarray  # 0 / 1
    age: np.ndarray
    sample_missing: np.ndarray  # missing-call rate
    bad_samples: np.ndarray  # training indexes with 10-30% missing calls
    fid: list[str]
    iid: list[str]

    @property
    def n_total(self) -> int:
        return int(self.pop.shape[0])

    @property
    def train(self) -> np.ndarray:
        """(n_total,) bool: a training person."""
        train = np.zeros(self.n_total, dtype=bool)
        train[: self.n_train] = True
        return train


def _ids(prefix: str, n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def effects_rng(seed: int) -> np.random.Generator:
    """The stream of :func:`pick_causal` and then :func:`pick_defects` (in that order)."""
    return np.random.default_rng([seed, _streams.EFFECTS])


def pick_causal(rng: np.random.Generator, snp: SnpModel, spec: SimulationSpec) -> CausalSnps:
    """Draw the causal SNPs of the three traits and their standardized effects.

    Raises:
        ConfigError: too few eligible SNPs for the causal and bad SNPs.
    """
    n_causal, n_bad_snps = spec.effective_n_causal, spec.n_bad_snps
    maf_anc = np.minimum(snp.p_anc, 1 - snp.p_anc)
    eligible = np.flatnonzero((maf_anc >= 0.05) & (np.minimum(snp.p_pop, 1 - snp.p_pop).min(axis=1) >= 0.01))
    n_half = n_causal // 2
    n_own = n_causal - n_half
    n_union = n_causal + 2 * n_own
    if len(eligible) < n_union + 3 * n_bad_snps:
        raise ConfigError(f"n_snps={spec.n_snps!r} is too small for n_causal={n_causal!r} causal SNPs")
    pick = rng.permutation(eligible)
    causal_cc = np.sort(pick[:n_causal])
    causal_q = np.sort(
        np.concatenate([rng.choice(causal_cc, n_half, replace=False), pick[n_causal : n_causal + n_own]])
    )
    causal_t = np.sort(np.concatenate([rng.choice(causal_cc, n_half, replace=False), pick[n_causal + n_own : n_union]]))
    causal_union = np.unique(np.concatenate([causal_cc, causal_q, causal_t]))
    beta_cc = rng.standard_normal(n_causal)
    beta_q_raw = rng.standard_normal(len(causal_q))
    shared_q = np.isin(causal_q, causal_cc)
    beta_q = beta_q_raw.copy()
    beta_q[shared_q] = 0.6 * beta_cc[np.searchsorted(causal_cc, causal_q[shared_q])] + 0.8 * beta_q_raw[shared_q]
    beta_t = rng.standard_normal(len(causal_t))
    if spec.effective_architecture == "sparse":  # a few large effects of equal size: +-1 standardized
        beta_cc, beta_q, beta_t = np.sign(beta_cc), np.sign(beta_q), np.sign(beta_t)
    return CausalSnps(cc=causal_cc, q=causal_q, t=causal_t, beta_cc=beta_cc, beta_q=beta_q, beta_t=beta_t,
                      union=causal_union, shared_q=shared_q)


def pick_defects(rng: np.random.Generator, snp: SnpModel, is_causal: np.ndarray, spec: SimulationSpec) -> SnpDefects:
    """Draw the bad SNPs (never causal; the high-missing ones common, so that only --geno catches them)."""
    n_snps, n_bad_snps = spec.n_snps, spec.n_bad_snps
    maf_anc = np.minimum(snp.p_anc, 1 - snp.p_anc)
    free = np.flatnonzero(~is_causal)
    common_free = free[maf_anc[free] >= 0.1]
    bad_missing_idx = np.sort(rng.choice(common_free, n_bad_snps, replace=False))
    rest = np.setdiff1d(free, bad_missing_idx)
    bad_other = rng.choice(rest, 2 * n_bad_snps, replace=False)
    bad_rare_idx = np.sort(bad_other[:n_bad_snps])
    bad_hwe_idx = np.sort(bad_other[n_bad_snps:])
    snp_missing = np.zeros(n_snps)
    snp_missing[bad_missing_idx] = rng.uniform(*BAD_SNP_MISSING, size=n_bad_snps)
    bad_hwe = np.zeros(n_snps, dtype=bool)
    bad_hwe[bad_hwe_idx] = True
    # low-MAF SNPs: monomorphic (all 0 or all 2 A1 copies) or a single heterozygous training carrier
    bad_rare_fill: dict[int, tuple[int, int]] = {}
    for j in bad_rare_idx:
        fill = int(rng.choice([0, 2]))
        carrier = int(rng.integers(spec.n_samples)) if rng.random() < 0.5 else -1
        bad_rare_fill[int(j)] = (fill, carrier)
    return SnpDefects(missing=snp_missing, hwe=bad_hwe, rare_fill=bad_rare_fill, missing_idx=bad_missing_idx,
                      rare_idx=bad_rare_idx, hwe_idx=bad_hwe_idx)


def draw_people(spec: SimulationSpec) -> People:
    """Populations, sex, age and missing-call rates of the training people and then the new cohort."""
    n_samples, n_new = spec.n_samples, spec.n_new
    n_total = n_samples + n_new
    prng = np.random.default_rng([int(spec.seed), _streams.PEOPLE])
    pop = (prng.random(n_total) < spec.frac_pop_b).astype(np.int64)
    female = (prng.random(n_total) < 0.5).astype(np.int64)
    age = np.round(np.clip(prng.normal(AGE_MEAN, AGE_SD, n_total), *AGE_RANGE), 1)
    sample_missing = np.full(n_total, spec.missing_rate)
    bad_samples = np.sort(prng.choice(n_samples, spec.n_bad_samples, replace=False))
    sample_missing[bad_samples] = prng.uniform(*BAD_SAMPLE_MISSING, size=spec.n_bad_samples)
    return People(
        n_train=n_samples,
        pop=pop,
        female=female,
        age=age,
        sample_missing=sample_missing,
        bad_samples=bad_samples,
        fid=_ids("FAM", n_samples) + _ids("NFAM", n_new),
        iid=_ids("IND", n_samples) + _ids("NEW", n_new),
    )
