"""``truth.json``: how the cohorts were made, and the oracle's scores on them.

Naming an architecture (``additive`` included) adds an ``architecture`` section, per trait its
architecture (the interaction table and variance parts for ``epistatic``) and
``three_class.oracle_macro_auc`` (the one-vs-rest macro AUC of the class probabilities given the
noise-free liability, :func:`~genoml_core.simulate.three_class_probabilities`); with
``architecture`` unset the file is byte-identical to earlier releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .. import __version__
from .design import AGE_MEAN, CausalSnps, People
from .genotypes import BLOCK_SIZE, FREQ_BETA, FREQ_CLIP, GAP_BP, HWE_BAD_HET, POPULATIONS, RHO, SnpDefects, SnpModel
from .phenotypes import (
    CC_AGE_EFFECT,
    CC_SEX_EFFECT,
    Q_AGE_EFFECT,
    Q_GROUP_SHIFT,
    Q_OFFSET,
    Q_SCALE,
    Q_SEX_EFFECT,
    T_GROUP_SHIFT,
    THREE_CLASS_LABELS,
    THREE_CLASS_QUANTILES,
    Traits,
    three_class_probabilities,
)
from .spec import SimulationSpec

__all__ = ["Simulated", "build_truth"]

_TRAINING_FILES = ["cohort.bed", "cohort.bim", "cohort.fam", "phenotype.tsv", "covariates.tsv", "groups.tsv",
                   "oracle.tsv"]
_NEW_FILES = ["new_cohort.bed", "new_cohort.bim", "new_cohort.fam", "new_cohort_phenotype.tsv",
              "new_cohort_covariates.tsv", "new_cohort_groups.tsv", "new_cohort_oracle.tsv"]
_CODING = {
    "genotypes": "int8 count of the .bim A1 allele (column 5), -1 missing",
    "fam_sex": "1 male, 2 female",
    "covariate_sex": "fam SEX - 1: 0 male, 1 female",
    "case_control": "0 control, 1 case, NA missing",
    "age": "years, 1 decimal",
    "quantitative": f"{Q_OFFSET} + {Q_SCALE} * liability",
}
_ARCHITECTURE_NOTES = {
    "additive": "n_causal causal SNPs, standardized effects N(0, 1)",
    "sparse": "n_causal (default 10) causal SNPs, standardized effects +-1 (equal large effects)",
    "epistatic": (
        "additive + n_pairs pairwise interactions of causal SNPs carrying interaction_share of "
        "the genetic variance (training cohort); the oracle liabilities include them"
    ),
}


@dataclass(frozen=True)
class Simulated:
    """Everything drawn for one simulation; ``new_info`` is truth.json's ``new_cohort`` section."""

    spec: SimulationSpec
    snp: SnpModel
    causal: CausalSnps
    defects: SnpDefects
    people: People
    traits: Traits
    new_info: dict[str, Any] | None


def _roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties counted half) of ``score`` for binary ``label``."""
    label = np.asarray(label, dtype=bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _macro_auc(prob: np.ndarray, label: np.ndarray) -> float:
    """One-vs-rest macro ROC AUC over the classes present in ``label`` (0..K-1)."""
    present = [k for k in range(prob.shape[1]) if 0 < int((label == k).sum()) < label.size]
    return float(np.mean([_roc_auc(prob[:, k], label == k) for k in present])) if present else float("nan")


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


def _per_cohort(s: Simulated, f: Callable[[np.ndarray], Any]) -> dict[str, float | None]:
    """``f(mask)`` rounded, for the training and (when it has people) the new cohort."""
    train = s.people.train
    res: dict[str, float | None] = {"training": round(float(f(train)), 6)}
    res["new"] = round(float(f(~train)), 6) if s.spec.n_new else None
    return res


def _ids(s: Simulated, idx: Any) -> list[str]:
    return s.snp.bim.SNP.iloc[np.asarray(idx, dtype=np.int64)].tolist()


def _populations(s: Simulated) -> dict[str, Any]:
    pop, train = s.people.pop, s.people.train
    return {
        "labels": list(POPULATIONS),
        "fst_balding_nichols": s.spec.fst,
        "fraction_pop_b": s.spec.frac_pop_b,
        "counts_training": {p: int((pop[train] == k).sum()) for k, p in enumerate(POPULATIONS)},
        "counts_new": {p: int((pop[~train] == k).sum()) for k, p in enumerate(POPULATIONS)},
    }


def _genetics(s: Simulated) -> dict[str, Any]:
    bim = s.snp.bim
    return {
        "freq_model": (
            f"ancestral A1 frequency ~ Beta({FREQ_BETA}, {FREQ_BETA}) clipped to [{FREQ_CLIP}, {1 - FREQ_CLIP}]"
        ),
        "ld_model": "haplotype blocks, latent AR(1) Gaussian thresholded at population A1-frequency quantiles",
        "block_size_range": list(BLOCK_SIZE),
        "block_rho_range": list(RHO),
        "n_blocks": int(len(s.snp.rho)),
        "bp_gap_range": list(GAP_BP),
        "n_ambiguous_snps": int(bim.apply(lambda r: {r.A1, r.A2} in ({"A", "T"}, {"C", "G"}), axis=1).sum()),
    }


def _case_control(s: Simulated) -> dict[str, Any]:
    t, spec, train = s.traits, s.spec, s.people.train
    ok = ~t.case_na
    return {
        "model": (
            "liability = genetic + group_shift*pop_b + sex_effect*sex + age_effect*(age - age_centre) + noise; "
            "case if liability > threshold"
        ),
        "h2_liability": spec.h2,
        "prevalence": spec.prevalence,
        "threshold": round(t.threshold, 6),
        "group_shift": {"pop_b": spec.group_shift},
        "covariate_effects": {"sex": CC_SEX_EFFECT, "age_per_year": CC_AGE_EFFECT, "age_centre": AGE_MEAN},
        "noise_sd": round(t.sd_cc, 6),
        "genetic_centre": round(t.cc.centre, 6),
        "causal": _causal_table(s.snp.bim, s.causal.cc, t.cc.effect, s.snp.p_anc[s.causal.cc]),
        "case_fraction": _per_cohort(s, lambda mk: t.case[mk & ok].mean()),
        "n_missing": {"training": int(t.case_na[train].sum()),
                      "new": int(t.case_na[~train].sum()) if spec.n_new else None},
        "oracle_auc": _per_cohort(s, lambda mk: _roc_auc(t.nf_cc[mk & ok], t.case[mk & ok])),
    }


def _quantitative(s: Simulated) -> dict[str, Any]:
    t = s.traits
    return {
        "model": (
            "value = offset + scale * "
            "(genetic + group_shift*pop_b + sex_effect*sex + age_effect*(age - age_centre) + noise)"
        ),
        "h2": s.spec.h2_quantitative,
        "offset": Q_OFFSET,
        "scale": Q_SCALE,
        "group_shift": {"pop_b": Q_GROUP_SHIFT},
        "covariate_effects": {"sex": Q_SEX_EFFECT, "age_per_year": Q_AGE_EFFECT, "age_centre": AGE_MEAN},
        "noise_sd": round(t.sd_q, 6),
        "genetic_centre": round(t.q.centre, 6),
        "n_shared_with_case_control": int(s.causal.shared_q.sum()),
        "causal": _causal_table(s.snp.bim, s.causal.q, t.q.effect, s.snp.p_anc[s.causal.q]),
        "oracle_r2": _per_cohort(s, lambda mk: float(np.corrcoef(t.nf_q[mk], t.quant[mk])[0, 1] ** 2)),
    }


def _three_class(s: Simulated) -> dict[str, Any]:
    t, train = s.traits, s.people.train
    return {
        "model": "liability = genetic + group_shift*pop_b + noise, cut at the training quantiles",
        "h2_liability": s.spec.h2_three_class,
        "labels": list(THREE_CLASS_LABELS),
        "quantiles": list(THREE_CLASS_QUANTILES),
        "thresholds": [round(float(c), 6) for c in t.cuts],
        "group_shift": {"pop_b": T_GROUP_SHIFT},
        "noise_sd": round(t.sd_t, 6),
        "genetic_centre": round(t.t.centre, 6),
        "causal": _causal_table(s.snp.bim, s.causal.t, t.t.effect, s.snp.p_anc[s.causal.t]),
        "class_counts": {
            "training": {c: int((t.three[train] == c).sum()) for c in THREE_CLASS_LABELS},
            "new": {c: int((t.three[~train] == c).sum()) for c in THREE_CLASS_LABELS},
        },
    }


def _bad(s: Simulated) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``bad_samples`` and ``bad_snps`` sections."""
    p, d = s.people, s.defects
    samples = [{"FID": p.fid[i], "IID": p.iid[i], "missing_rate": round(float(p.sample_missing[i]), 4)}
               for i in p.bad_samples]
    snps = {
        "high_missing": _ids(s, d.missing_idx),
        "low_maf": _ids(s, d.rare_idx),
        "hwe": _ids(s, d.hwe_idx),
        "notes": {
            "high_missing": "10-30% missing calls, common (ancestral MAF >= 0.1): removed by --geno 0.05",
            "low_maf": "monomorphic, or a single heterozygous training carrier: removed by --maf 0.01",
            "hwe": f"~{HWE_BAD_HET:.0%} heterozygous: removed by --hwe 1e-6",
        },
    }
    return samples, snps


def _add_architecture(truth: dict[str, Any], s: Simulated) -> None:
    """The fields an architecture named in the spec adds (left out by default, so that default
    cohorts stay byte-identical to earlier releases)."""
    spec, t = s.spec, s.traits
    arch = spec.effective_architecture
    truth["architecture"] = {
        "name": arch,
        "n_causal": spec.effective_n_causal,
        "interaction_share": spec.effective_interaction_share,
        "n_pairs": spec.effective_n_pairs,
        "notes": _ARCHITECTURE_NOTES[arch],
    }
    truth["case_control"]["architecture"] = t.cc.architecture
    truth["quantitative"]["architecture"] = t.q.architecture
    truth["three_class"]["architecture"] = t.t.architecture
    label_t = np.searchsorted(t.cuts, t.liab_t)
    prob_t = three_class_probabilities(t.nf_t, t.cuts, t.sd_t)
    truth["three_class"]["oracle_macro_auc"] = _per_cohort(s, lambda mk: _macro_auc(prob_t[mk], label_t[mk]))


def build_truth(s: Simulated) -> dict[str, Any]:
    """The truth dictionary (written to ``truth.json``; its key order is part of the file)."""
    spec = s.spec
    bad_samples, bad_snps = _bad(s)
    truth: dict[str, Any] = {
        "generator": "genoml_core.simulate",
        "genoml_core_version": __version__,
        "seed": int(spec.seed),
        "parameters": spec.truth_parameters(),
        "files": {"training": list(_TRAINING_FILES), "new": list(_NEW_FILES) if spec.n_new else []},
        "coding": dict(_CODING),
        "populations": _populations(s),
        "genetics": _genetics(s),
        "causal_snps": _ids(s, s.causal.union),
        "case_control": _case_control(s),
        "quantitative": _quantitative(s),
        "three_class": _three_class(s),
        "missing_rate": spec.missing_rate,
        "bad_samples": bad_samples,
        "bad_snps": bad_snps,
        "new_cohort": s.new_info,
    }
    if spec.extended:
        _add_architecture(truth, s)
    return truth
