"""What to predict and how: :class:`PredictOptions` (harmonizing and scoring) and :class:`Cohort`
(one new cohort's files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..genotypes import harmonize
from ..errors import ConfigError, field_names, reject_unknown


@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """How to harmonize and score. Defaults equal genoml_core/config.schema.yaml's (a unit test checks).

    Attributes:
        min_overlap: minimum share (0-1) of the model's importance the present features must
            carry, in every fold (``predict.min_overlap``).
        ambiguous_snps: ``"drop"`` (impute A/T and C/G SNPs) or ``"keep"`` (trust the new
            cohort's alleles as given) (``predict.ambiguous_snps``).
        match_by_position: match SNPs whose id is absent by chromosome:position:alleles
            (``predict.match_by_position``).
        binary_coding: phenotype coding of a binary task, ``"01"`` or ``"12"`` (``data.binary_coding``).
        missing_values: strings read as missing in tables (``data.missing_values``).
        engine: ``.bed`` decoder, ``"pandas-plink"`` or ``"lut"`` (``munge.engine``).
        chunk_variants: variants decoded per chunk (``munge.chunk_variants``).
        n_bootstrap: bootstrap resamples for metric CIs, 0 = none (``evaluate.n_bootstrap``).
        seed: seed of the bootstrap (``seed``).
        importance: optional feature importance table (``feature``, ``importance`` [, ``fold``]),
            e.g. mean absolute SHAP values, used for the coverage instead of the model's weights.
        batch_rows: people scored per batch (bounds the float32 block in memory).
    """

    min_overlap: float = 0.5
    ambiguous_snps: str = "drop"
    match_by_position: bool = True
    binary_coding: str = "01"
    missing_values: tuple[str, ...] = ("NA", "NaN", "nan", "")
    engine: str = "lut"
    chunk_variants: int = 2048
    n_bootstrap: int = 1000
    seed: int = 42
    importance: str | None = None
    batch_rows: int = 8192

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.min_overlap) <= 1.0:
            raise ConfigError(f"min_overlap={self.min_overlap!r} must be between 0 and 1")
        if self.ambiguous_snps not in harmonize.AMBIGUOUS_POLICIES:
            raise ConfigError(f"ambiguous_snps={self.ambiguous_snps!r} must be one of {harmonize.AMBIGUOUS_POLICIES}")
        if self.binary_coding not in ("01", "12"):
            raise ConfigError(f"binary_coding={self.binary_coding!r} must be '01' or '12'")
        if self.engine not in ("pandas-plink", "lut"):
            raise ConfigError(f"engine={self.engine!r} must be 'pandas-plink' or 'lut'")
        for name in ("chunk_variants", "batch_rows"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be >= 1")
        if int(self.n_bootstrap) < 0:
            raise ConfigError(f"n_bootstrap={self.n_bootstrap!r} must be >= 0")
        object.__setattr__(self, "missing_values", tuple(self.missing_values))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PredictOptions":
        """Build from a plain dict (a rule's params); unknown keys raise :class:`ConfigError`."""
        reject_unknown(d, field_names(cls), "predict option(s)")
        return cls(**dict(d))


@dataclass(frozen=True, kw_only=True)
class Cohort:
    """A new cohort to predict: a PLINK 1 prefix and optional tables (one ``predict.cohorts`` entry)."""

    name: str
    genotypes: str
    covariates: str | None = None
    omics: str | None = None
    phenotype: str | None = None
    phenotype_column: str | None = None

    def __post_init__(self) -> None:
        if self.phenotype and not self.phenotype_column:
            raise ConfigError(f"cohort {self.name}: a phenotype file needs a phenotype column (phenotype_column)")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Cohort":
        reject_unknown(d, field_names(cls), "cohort key(s)")
        return cls(**dict(d))
