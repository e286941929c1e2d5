"""The three traits, simulated on both cohorts from the true genotypes (before missingness).

Traits
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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from . import _streams
from .design import AGE_MEAN, CausalSnps, People
from .genotypes import SnpModel
from .spec import SimulationSpec

__all__ = ["THREE_CLASS_LABELS", "GeneticValue", "Traits", "simulate_traits", "three_class_probabilities"]

THREE_CLASS_LABELS = ("subtype_a", "subtype_b", "subtype_c")
CC_SEX_EFFECT = 0.20  # liability per unit of covariate sex (1 = female)
CC_AGE_EFFECT = 0.025  # liability per year of age
Q_SEX_EFFECT, Q_AGE_EFFECT, Q_GROUP_SHIFT = 0.30, 0.015, 0.30
T_GROUP_SHIFT = 0.30
THREE_CLASS_QUANTILES = (0.45, 0.80)
Q_OFFSET, Q_SCALE = 100.0, 15.0


@dataclass(frozen=True)
class GeneticValue:
    """One trait's genetic value for all people (variance h2 on the training cohort), its
    per-A1-copy additive effects, their centre, and its architecture record for truth.json."""

    value: np.ndarray
    effect: np.ndarray
    centre: float
    architecture: dict[str, Any]


@dataclass(frozen=True)
class Traits:
    """The three traits: genetic values, noise-free liabilities (the oracle scores), noise SDs
    and the observed values."""

    cc: GeneticValue
    q: GeneticValue
    t: GeneticValue
    nf_cc: np.ndarray
    nf_q: np.ndarray
    nf_t: np.ndarray
    sd_cc: float
    sd_q: float
    sd_t: float
    threshold: float  # case_control: case above it
    case: np.ndarray  # 0/1
    case_na: np.ndarray  # bool: written as NA
    quant: np.ndarray  # the written quantitative values
    liab_t: np.ndarray  # three_class's noisy liability
    cuts: np.ndarray  # three_class's two thresholds
    three: np.ndarray  # three_class labels


# ----------------------------------------------------------------------------- genetic values
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


class _Architecture:
    """Genetic values of the traits under ``spec``'s architecture, from the causal genotypes.

    ``causal_g`` (n_people, n_union) holds the true genotypes of ``union`` (the causal SNPs of all
    traits). ``epistatic`` draws its pairs and interaction effects from its own stream, trait after
    trait, so the order of :meth:`value` calls matters.
    """

    def __init__(self, spec: SimulationSpec, snp: SnpModel, causal_g: np.ndarray, union: np.ndarray,
                 train: np.ndarray) -> None:
        self.spec, self.snp, self.train = spec, snp, train
        self.xg = causal_g.astype(np.float64)
        self.col = {int(j): k for k, j in enumerate(union)}
        self.rng = np.random.default_rng([int(spec.seed), _streams.ARCH])

    def _g(self, idx: Any) -> np.ndarray:
        return self.xg[:, [self.col[int(j)] for j in idx]]

    def value(self, idx: np.ndarray, beta: np.ndarray, h: float) -> GeneticValue:
        """Genetic value of one trait (causal SNPs ``idx``, standardized effects ``beta``, variance ``h``)."""
        arch = self.spec.effective_architecture
        p_anc = self.snp.p_anc
        info: dict[str, Any] = {"name": arch, "n_causal": int(len(idx))}
        if not self.spec.epistatic:
            return GeneticValue(*_genetic_value(self._g(idx), p_anc[idx], beta, h, self.train), info)
        share, n_pairs = self.spec.effective_interaction_share, self.spec.effective_n_pairs
        assert share is not None and n_pairs is not None
        g_add, eff, centre = _genetic_value(self._g(idx), p_anc[idx], beta, (1 - share) * h, self.train)
        pairs = np.sort(self.rng.choice(idx, size=(n_pairs, 2), replace=False), axis=1)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        gamma = self.rng.standard_normal(n_pairs)
        g_int, parts = _interaction_value(self._g(pairs[:, 0]), self._g(pairs[:, 1]), gamma, share * h, self.train)
        v_add, v_int = float(g_add[self.train].var()), float(g_int[self.train].var())
        info.update(
            {
                "model": "genetic = additive (causal table) + sum over pairs of effect * z_a * z_b",
                "n_pairs": int(n_pairs),
                "interaction_share_requested": share,
                "variance_additive_training": round(v_add, 6),
                "variance_interaction_training": round(v_int, 6),
                "interaction_share_training": round(v_int / (v_add + v_int), 6),
                "interactions": _interaction_table(self.snp.bim, pairs, parts),
            }
        )
        return GeneticValue(g_add + g_int, eff, centre, info)


# ----------------------------------------------------------------------------- traits
def _add_noise(noise_free: np.ndarray, z: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, float]:
    """Add noise ``sd * z`` so that the training rows have total variance ~1."""
    v = float(noise_free[train].var())
    sd = float(np.sqrt(max(1.0 - v, 0.05)))
    return noise_free + sd * z, sd


def simulate_traits(
    spec: SimulationSpec, snp: SnpModel, causal: CausalSnps, causal_g: np.ndarray, people: People
) -> Traits:
    """The three traits of everyone, from the true genotypes ``causal_g`` of ``causal.union``."""
    train, pop, female, age = people.train, people.pop, people.female, people.age
    model = _Architecture(spec, snp, causal_g, causal.union, train)
    trng = np.random.default_rng([int(spec.seed), _streams.PHENO])
    noise = trng.standard_normal((3, people.n_total))

    cc = model.value(causal.cc, causal.beta_cc, spec.h2)
    fixed_cc = spec.group_shift * pop + CC_SEX_EFFECT * female + CC_AGE_EFFECT * (age - AGE_MEAN)
    nf_cc = cc.value + fixed_cc
    liab_cc, sd_cc = _add_noise(nf_cc, noise[0], train)
    threshold = float(np.quantile(liab_cc[train], 1 - spec.prevalence))
    case = (liab_cc > threshold).astype(np.int64)
    case_na = trng.random(people.n_total) < spec.case_missing_rate

    q = model.value(causal.q, causal.beta_q, spec.h2_quantitative)
    nf_q = q.value + Q_GROUP_SHIFT * pop + Q_SEX_EFFECT * female + Q_AGE_EFFECT * (age - AGE_MEAN)
    liab_q, sd_q = _add_noise(nf_q, noise[1], train)
    quant = np.round(Q_OFFSET + Q_SCALE * liab_q, 4)

    t = model.value(causal.t, causal.beta_t, spec.h2_three_class)
    nf_t = t.value + T_GROUP_SHIFT * pop
    liab_t, sd_t = _add_noise(nf_t, noise[2], train)
    cuts = np.quantile(liab_t[train], THREE_CLASS_QUANTILES)
    three = np.asarray(THREE_CLASS_LABELS)[np.searchsorted(cuts, liab_t)]
    return Traits(cc=cc, q=q, t=t, nf_cc=nf_cc, nf_q=nf_q, nf_t=nf_t, sd_cc=sd_cc, sd_q=sd_q, sd_t=sd_t,
                  threshold=threshold, case=case, case_na=case_na, quant=quant, liab_t=liab_t, cuts=cuts,
                  three=three)


# ----------------------------------------------------------------------------- oracle
def three_class_probabilities(
    liability: Any, thresholds: Sequence[float] | np.ndarray, noise_sd: float
) -> np.ndarray:
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
