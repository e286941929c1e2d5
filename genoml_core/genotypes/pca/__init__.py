"""Ancestry principal components: fitted on a fold's training people, projected for everyone.

The PCs of the fold's training samples over its LD-pruned autosomal SNPs (:func:`fit_pca`): by
default our own decomposition of the standardized int8 genotypes, chunk by chunk (exact through
the n x n relationship matrix, as ``plink2 --pca``; a randomized SVD above :data:`APPROX_ABOVE`
training samples, as ``plink2 --pca approx``); ``engine="plink2"`` runs ``plink2 --pca K
allele-wts`` itself. Every person of the fold (train, valid, test) and every new cohort is then
projected the same way, with the training allele frequencies and allele weights::

    PC_k = sum_j w_jk * (g_j - 2 f_j) / sqrt(2 f_j (1 - f_j))

where ``g_j`` counts the ``.bim`` A1 allele, a SNP a person lacks adds nothing, and each person's
PC is scaled by ``sum(w^2) / sum(w[observed]^2)`` for what they lack (:func:`project_counts`).
Projecting the training samples reproduces their fitted PCs (exactly for the numpy engine, up to a
scale per PC for plink2's eigenvectors; the tests check both), so training, test and new people sit on the same axes. The PCs join
the feature stores as unpenalized covariates (source ``pca``); ``weights.tsv`` is what a new
cohort needs: the SNPs with their alleles, training A1 frequencies and per-PC weights.

One module per concern: :mod:`~genoml_core.genotypes.pca.fit` (:func:`fit_pca`: the numpy engine with its randomized
SVD, and the plink2 engine) and :mod:`~genoml_core.genotypes.pca.projection` (the weights file, :func:`project`,
:func:`project_counts` and the helpers both share). Every public name is importable from
:mod:`genoml_core.genotypes.pca` itself; the logger is ``genoml_core.genotypes.pca``.
"""

from __future__ import annotations

from .fit import APPROX_ABOVE, PcaFit, fit_pca, n_pcs_for
from .fit import ENGINES as ENGINES
from .fit import RANDOMIZED_ITERATIONS as RANDOMIZED_ITERATIONS
from .fit import RANDOMIZED_OVERSAMPLE as RANDOMIZED_OVERSAMPLE
from .fit import log as log
from .projection import PC_PREFIX, agreement, fam_rows, pc_names, project, project_counts, read_pcs, read_weights
from .projection import WEIGHT_COLUMNS as WEIGHT_COLUMNS
from .projection import is_autosome as is_autosome
from .projection import weights_recipe

__all__ = [
    "PcaFit",
    "agreement",
    "fam_rows",
    "fit_pca",
    "project",
    "project_counts",
    "read_weights",
    "weights_recipe",
    "pc_names",
    "n_pcs_for",
    "read_pcs",
    "APPROX_ABOVE",
    "PC_PREFIX",
]
