"""One PLINK fileset harmonized to one recipe at once (:func:`harmonize`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import io
from ...store import scale_features
from .others import OtherMatch, match_other_features
from .variants import VariantPlan, plan_variants, read_harmonized_genotypes


@dataclass
class Harmonized:
    """A new cohort harmonized to one recipe: raw blocks in recipe order, and the report."""

    recipe: dict[str, Any]
    samples: pd.DataFrame  # FID, IID in .fam order
    genotypes: np.ndarray  # int8 (people, recipe SNPs), -1 = imputed
    other: np.ndarray  # float32 (people, recipe other features), NaN = imputed
    plan: VariantPlan
    other_match: OtherMatch

    @property
    def present(self) -> np.ndarray:
        """Recipe features (SNPs, then other) present in the new cohort."""
        return np.concatenate([self.plan.present, self.other_match.present])

    def features(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Scaled float32 model input for ``rows`` (all people by default), from the recipe alone."""
        sel = slice(None) if rows is None else rows
        return scale_features(self.recipe, self.genotypes[sel], self.other[sel])


def harmonize(
    recipe: Mapping[str, Any],
    bfile: str | os.PathLike[str],
    *,
    covariates: pd.DataFrame | None = None,
    omics: pd.DataFrame | None = None,
    ambiguous: str = "drop",
    match_by_position: bool = True,
    swap_alleles: bool = True,
    chunk_variants: int = 2048,
    engine: str = "lut",
) -> Harmonized:
    """Harmonize the PLINK fileset ``bfile`` (and its covariate/omics tables) to ``recipe``.

    Checks the fileset first (duplicated sample ids, ``.bed`` magic and size). For several
    recipes at once (k folds) use :func:`plan_variants` per recipe and one
    :func:`read_harmonized_genotypes`, as :mod:`genoml_core.predict` does.
    """
    fam = io.read_fam(bfile)
    bim = io.read_bim(bfile)
    io.check_bed(bfile, len(fam), len(bim))
    plan = plan_variants(recipe, bim, ambiguous=ambiguous, match_by_position=match_by_position,
                         swap_alleles=swap_alleles)
    (g,) = read_harmonized_genotypes(bfile, [plan], n_samples=len(fam), chunk_variants=chunk_variants, engine=engine)
    samples = fam[["FID", "IID"]].reset_index(drop=True)
    other = match_other_features(recipe, samples, {"covariate": covariates, "omics": omics})
    return Harmonized(recipe=dict(recipe), samples=samples, genotypes=g, other=other.values, plan=plan,
                      other_match=other)
