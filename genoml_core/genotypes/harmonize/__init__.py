"""Harmonize a new cohort's PLINK genotypes (and covariates/omics) to a training ``recipe.json``.

The recipe is the contract with new data (ARCHITECTURE rule 3): it lists every feature in order
with its SNP id, chromosome, position, counted allele and other allele (or its covariate / omics
column name), and the training mean, scale and imputation value. Harmonization turns a new
cohort into exactly the raw blocks the training feature store held, in recipe order:

* an int8 genotype matrix (people x recipe SNPs) of counts of the recipe's *counted* allele,
  -1 where the value is missing or must be imputed, and
* a float matrix of the recipe's covariate / omics columns (NaN where missing),

which :func:`genoml_core.store.scale_features` (the feature store's own scaling code) maps to
model input. The new cohort's own statistics are never used: every missing, absent or dropped
value takes the training imputation value.

SNP matching, per recipe SNP:

1. **By id**: the recipe's SNP id in the new ``.bim`` (an id that appears twice there and is a
   model feature is an error).
2. **By position** (``match_by_position``; only for SNPs whose id is not found): the same
   chromosome (``chr1``/``1``, ``X``/``23``, ``Y``/``24``, ``XY``/``25``, ``MT``/``M``/``26``
   are equal) and position with alleles that resolve as below. Two or more such rows:
   ``multiple_matches``, imputed.

Allele resolution (recipe counted allele ``c``, other ``o``; new ``.bim`` A1 ``a1``, A2 ``a2``):

============================  =========================  =======================================
new alleles                   status                     genotype used
============================  =========================  =======================================
``a1, a2 == c, o``            ``direct``                 stored count
``a1, a2 == o, c``            ``swapped``                ``2 - count`` (count of ``c``)
``complement(c, o)``          ``strand_flipped``         stored count
``complement(o, c)``          ``strand_flipped_swapped`` ``2 - count``
anything else                 ``allele_mismatch``        imputed (training value)
SNP absent                    ``absent``                 imputed (training value)
============================  =========================  =======================================

Strand-ambiguous SNPs (recipe alleles A/T or C/G) are the SNPs where a strand flip cannot be
told from a swap (the complement of A/T is T/A). Policy ``ambiguous="drop"`` (the default):
they are ``ambiguous_dropped`` and imputed, whatever the new cohort holds. ``"keep"``: trust
the new cohort's strand, i.e. match their alleles as given (``direct`` or ``swapped``, never
strand-flipped). A new allele coded ``0`` or ``.`` (PLINK's code for a monomorphic site) is
matched on the other allele alone, with no strand inference. Strand flips are only inferred for
single-base A/C/G/T alleles.

The coverage of a harmonization is the fraction of the model's importance carried by features
present in the new cohort (SNPs used, covariate/omics columns found): importance from
:func:`genoml_core.models.learners.model_weights` (absolute coefficients or impurity/gain importances),
from a table (e.g. mean absolute SHAP values), or uniform when the model offers neither (RBF
SVM, KNN, the neural nets) -- the report says which.

One module per concern:

* :mod:`~genoml_core.genotypes.harmonize.alleles`: chromosome codes, strand ambiguity, allele resolution
  (:func:`resolve_alleles`) and the statuses.
* :mod:`~genoml_core.genotypes.harmonize.variants`: the SNP plan (:class:`VariantPlan`, :func:`plan_variants`)
  and the genotypes read for several plans at once (:func:`read_harmonized_genotypes`).
* :mod:`~genoml_core.genotypes.harmonize.others`: covariate/omics columns (:func:`match_other_features`).
* :mod:`~genoml_core.genotypes.harmonize.coverage`: importance, coverage and :func:`check_overlap`.
* :mod:`~genoml_core.genotypes.harmonize.fileset`: one fileset to one recipe (:func:`harmonize`).

Every name below is importable from :mod:`genoml_core.genotypes.harmonize` itself.
"""

from __future__ import annotations

from .alleles import AMBIGUOUS_POLICIES, IMPUTED_STATUSES, USED_STATUSES, is_strand_ambiguous, normalize_chrom
from .alleles import resolve_alleles
from .coverage import LowOverlapError, check_overlap, coverage_fraction, importance_weights, read_importance_table
from .fileset import Harmonized, harmonize
from .others import OtherMatch, match_other_features
from .variants import VariantPlan, plan_variants, read_harmonized_genotypes

__all__ = [
    "AMBIGUOUS_POLICIES",
    "USED_STATUSES",
    "IMPUTED_STATUSES",
    "LowOverlapError",
    "VariantPlan",
    "OtherMatch",
    "Harmonized",
    "normalize_chrom",
    "is_strand_ambiguous",
    "resolve_alleles",
    "plan_variants",
    "read_harmonized_genotypes",
    "match_other_features",
    "read_importance_table",
    "importance_weights",
    "coverage_fraction",
    "check_overlap",
    "harmonize",
]
