"""Every setting of the simulator in one frozen dataclass, :class:`SimulationSpec`, checked when made.

:func:`genoml_core.simulate.simulate_cohort` takes one; ``genoml-simulate``'s options fill one.
The defaults make the bundled example cohort (``genoml-simulate --out resources/example``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError, field_names, reject_unknown

__all__ = ["SimulationSpec", "ARCHITECTURES"]

#: Genetic architectures (:attr:`SimulationSpec.architecture`); see :mod:`genoml_core.simulate.phenotypes`.
ARCHITECTURES = ("additive", "sparse", "epistatic")
#: ``n_causal`` when left unset, per architecture
N_CAUSAL_DEFAULT = {"additive": 40, "sparse": 10, "epistatic": 40}
SPARSE_MAX_CAUSAL = 50
INTERACTION_SHARE_DEFAULT = 0.4
#: ``n_pairs`` when left unset: ``min(N_PAIRS_DEFAULT, n_causal // 2)``
N_PAIRS_DEFAULT = 10

# the settings truth.json's "parameters" always lists, and those it lists only when an
# architecture is named (so that default cohorts stay byte-identical to earlier releases)
_ARCHITECTURE_FIELDS = ("architecture", "interaction_share", "n_pairs")
_NOT_RECORDED = ("chunk_snps",)  # the files do not depend on it


def _require(cond: bool, field: str, value: Any, rule: str) -> None:
    """Raise :class:`ConfigError` ``{field}={value!r} must be {rule}`` unless ``cond``."""
    if not cond:
        raise ConfigError(f"{field}={value!r} must be {rule}")


@dataclass(frozen=True, kw_only=True)
class SimulationSpec:
    """The settings of one simulated training cohort and its new cohort (see :mod:`genoml_core.simulate`).

    Values are checked when the spec is made; an impossible one raises :class:`ConfigError`
    naming the field. Whether the number of SNPs leaves room for the causal and bad SNPs depends
    on the drawn allele frequencies, so :func:`~genoml_core.simulate.simulate_cohort` checks that.

    Attributes:
        n_samples: training cohort size (>= 100).
        n_snps: number of SNPs (>= 500).
        n_chromosomes: chromosomes 1..n_chromosomes (1-22, >= 100 SNPs each).
        n_new: new-cohort size (0 for none).
        n_causal: causal SNPs of case_control (>= 2); quantitative and three_class each share
            half and have as many of their own. None: 40, or 10 for ``sparse`` (at most 50 there).
        architecture: ``"additive"``, ``"sparse"`` or ``"epistatic"``, for all three traits.
            None: additive, with every file byte-identical to earlier releases; naming one adds
            the architecture fields to ``truth.json`` and the ``three_class_liability`` oracle column.
        interaction_share: ``epistatic`` only: share of each trait's genetic variance (on the
            training cohort) carried by the pairwise interactions, in (0, 1). None: 0.4.
        n_pairs: ``epistatic`` only: interacting SNP pairs per trait (distinct causal SNPs,
            ``1 <= n_pairs <= n_causal // 2``). None: ``min(10, n_causal // 2)``.
        seed: non-negative integer seed; the same spec gives byte-identical files.
        fst: Balding-Nichols F of each population relative to the ancestral frequencies, in (0, 1).
        frac_pop_b: expected fraction of pop_b, in (0, 1) (0.5 for an even two-ancestry mix).
        missing_rate: fraction of genotype calls missing at random, in [0, 0.05).
        n_bad_samples: training samples with 10-30% missing calls (<= n_samples / 10).
        n_bad_snps: SNPs in each bad-SNP category (high missingness, low MAF, Hardy-Weinberg),
            <= n_snps / 30.
        prevalence: case fraction of case_control on the training cohort, in (0, 1).
        h2: variance of the genetic liability of case_control (total liability variance 1),
            interactions included, in (0, 0.9).
        h2_quantitative: the same for the quantitative trait.
        h2_three_class: the same for the three-class trait.
        group_shift: case_control liability shift of pop_b.
        case_missing_rate: fraction of case_control values written as NA, in [0, 0.5).
        frac_ambiguous: fraction of strand-ambiguous (A/T, C/G) SNPs, in [0, 0.5).
        frac_swapped: fraction of SNPs with A1/A2 swapped in the new cohort, in [0, 0.5).
        frac_absent: fraction of SNPs absent from the new cohort, in [0, 0.5).
        chunk_snps: SNPs per written chunk (>= 1; memory ~ chunk_snps x samples bytes; the
            files do not depend on it).

    Example:
        >>> spec = SimulationSpec(n_samples=300, n_snps=2000, architecture="epistatic")
        >>> spec.effective_n_causal, spec.effective_n_pairs, spec.effective_interaction_share
        (40, 10, 0.4)
        >>> SimulationSpec(n_samples=50)
        Traceback (most recent call last):
        ...
        genoml_core.errors.ConfigError: n_samples=50 must be >= 100
    """

    n_samples: int = 2000
    n_snps: int = 20000
    n_chromosomes: int = 4
    n_new: int = 500
    n_causal: int | None = None
    architecture: str | None = None
    interaction_share: float | None = None
    n_pairs: int | None = None
    seed: int = 42
    fst: float = 0.05
    frac_pop_b: float = 0.25
    missing_rate: float = 0.005
    n_bad_samples: int = 10
    n_bad_snps: int = 20
    prevalence: float = 0.35
    h2: float = 0.40
    h2_quantitative: float = 0.40
    h2_three_class: float = 0.40
    group_shift: float = 0.5
    case_missing_rate: float = 0.01
    frac_ambiguous: float = 0.15
    frac_swapped: float = 0.10
    frac_absent: float = 0.02
    chunk_snps: int = 4096

    def __post_init__(self) -> None:
        self._check_architecture()
        self._check_sizes()
        self._check_rates()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SimulationSpec:
        """A spec from a plain dict of settings (missing ones take the defaults).

        Raises:
            ConfigError: an unknown setting, or an impossible value.
        """
        reject_unknown(d, field_names(cls), "simulation setting(s)")
        return cls(**d)

    # ------------------------------------------------------------------ resolved settings
    @property
    def extended(self) -> bool:
        """Whether an architecture is named (truth.json and oracle.tsv then carry its fields)."""
        return self.architecture is not None

    @property
    def effective_architecture(self) -> str:
        """The architecture simulated: :attr:`architecture`, or ``"additive"`` when unset."""
        return self.architecture or "additive"

    @property
    def epistatic(self) -> bool:
        return self.effective_architecture == "epistatic"

    @property
    def effective_n_causal(self) -> int:
        """:attr:`n_causal`, or the architecture's default when unset."""
        if self.n_causal is None:
            return N_CAUSAL_DEFAULT[self.effective_architecture]
        return int(self.n_causal)

    @property
    def effective_interaction_share(self) -> float | None:
        """The interactions' share of the genetic variance (``epistatic``; None otherwise)."""
        if not self.epistatic:
            return None
        return INTERACTION_SHARE_DEFAULT if self.interaction_share is None else float(self.interaction_share)

    @property
    def effective_n_pairs(self) -> int | None:
        """Interacting pairs per trait (``epistatic``; None otherwise)."""
        if not self.epistatic:
            return None
        return min(N_PAIRS_DEFAULT, self.effective_n_causal // 2) if self.n_pairs is None else int(self.n_pairs)

    def truth_parameters(self) -> dict[str, Any]:
        """The ``parameters`` section of ``truth.json``: every setting but ``chunk_snps``, defaults
        resolved; the architecture settings only when an architecture is named."""
        params = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_RECORDED}
        params["n_causal"] = self.effective_n_causal
        if self.epistatic:
            params.update(interaction_share=self.effective_interaction_share, n_pairs=self.effective_n_pairs)
        if not self.extended:  # the parameters of earlier releases, so that truth.json stays byte-identical
            for name in _ARCHITECTURE_FIELDS:
                params.pop(name)
        return params

    # ------------------------------------------------------------------ checks
    def _check_architecture(self) -> None:
        arch = self.effective_architecture
        _require(self.architecture is None or self.architecture in ARCHITECTURES, "architecture",
                 self.architecture, f"one of {ARCHITECTURES}")
        for name in ("interaction_share", "n_pairs"):
            v = getattr(self, name)
            if v is not None and not self.epistatic:
                raise ConfigError(f"{name}={v!r} applies to architecture='epistatic' only (got {arch!r})")
        n_causal = self.effective_n_causal
        if self.epistatic:
            share, n_pairs = self.effective_interaction_share, self.effective_n_pairs
            assert share is not None and n_pairs is not None
            _require(0 < share < 1, "interaction_share", share, "in (0, 1)")
            _require(1 <= n_pairs <= n_causal // 2, "n_pairs", n_pairs, f"in [1, n_causal // 2 = {n_causal // 2}]")
        if arch == "sparse":
            _require(n_causal <= SPARSE_MAX_CAUSAL, "n_causal", n_causal,
                     f"<= {SPARSE_MAX_CAUSAL} for a sparse architecture")

    def _check_sizes(self) -> None:
        seed = self.seed
        _require(isinstance(seed, (int, np.integer)) and seed >= 0, "seed", seed, "a non-negative integer")
        _require(self.n_samples >= 100, "n_samples", self.n_samples, ">= 100")
        _require(self.n_snps >= 500, "n_snps", self.n_snps, ">= 500")
        _require(1 <= self.n_chromosomes <= 22 and self.n_snps // self.n_chromosomes >= 100, "n_chromosomes",
                 self.n_chromosomes, "1-22 with >= 100 SNPs each")
        _require(self.n_new >= 0, "n_new", self.n_new, ">= 0")
        _require(self.effective_n_causal >= 2, "n_causal", self.effective_n_causal, ">= 2")
        _require(0 <= self.n_bad_samples <= self.n_samples // 10, "n_bad_samples", self.n_bad_samples,
                 "in [0, n_samples/10]")
        _require(self.n_bad_snps >= 0 and 3 * self.n_bad_snps <= self.n_snps // 10, "n_bad_snps", self.n_bad_snps,
                 "<= n_snps/30 (per category)")
        _require(self.chunk_snps >= 1, "chunk_snps", self.chunk_snps, ">= 1")

    def _check_rates(self) -> None:
        _require(0 < self.fst < 1, "fst", self.fst, "in (0, 1)")
        _require(0 < self.frac_pop_b < 1, "frac_pop_b", self.frac_pop_b, "in (0, 1)")
        _require(0 <= self.missing_rate < 0.05, "missing_rate", self.missing_rate, "in [0, 0.05)")
        _require(0 < self.prevalence < 1, "prevalence", self.prevalence, "in (0, 1)")
        for name in ("h2", "h2_quantitative", "h2_three_class"):
            _require(0 < getattr(self, name) < 0.9, name, getattr(self, name), "in (0, 0.9)")
        _require(0 <= self.case_missing_rate < 0.5, "case_missing_rate", self.case_missing_rate, "in [0, 0.5)")
        for name in ("frac_ambiguous", "frac_swapped", "frac_absent"):
            _require(0 <= getattr(self, name) < 0.5, name, getattr(self, name), "in [0, 0.5)")
