"""Genome-wide penalized GLM on int8 genotypes, tuned by inner CV and averaged over the fold
models (CMSA, as ``bigstatsr::big_spLogReg``).

One estimator, :class:`GenomeWideGLM`, for the three tasks: logistic (``binary``), multinomial
(``multiclass``) and gaussian (``continuous``) elastic net on every SNP it is given (no LD pruning,
no top-k), with the covariates unpenalized.

How a fit works (all of it on the rows given to ``fit``, i.e. a fold's training rows):
    1. **Training statistics from int8 counts.** Per SNP the mean and the standard deviation of
       the observed calls (-1 = missing), computed per column block from counts; a missing call
       takes the training mean (0 after scaling); a monomorphic SNP gets scale 1 (a zero column
       that never enters). These are the statistics ``genoml_core.store`` writes to the recipe.
       Covariates are standardized the same way (NaN -> training mean).
    2. **Genotypes stay compact.** The int8 matrix is copied, ``block_bytes`` of columns at a time,
       into adelie's ``.snpdat`` format (a sparse per-SNP index of the 1, 2 and missing calls:
       about 0.7 bytes per call at MAF ~ 0.3, less for rare SNPs) in a temporary folder, memory-
       mapped, and wrapped in ``adelie.matrix.standardize`` (centering and scaling done on the
       fly). No float copy of the SNP matrix exists at any time; covariates are a small dense
       block beside it (``adelie.matrix.concatenate``) with penalty factor 0.
    3. **Inner K-fold CV** (stratified for classification, seeded by ``random_state``) per alpha
       over one common lambda path (``lambda_max`` of all the given rows down to
       ``lambda_min_ratio * lambda_max``), solved with warm starts along the path. A fold's
       validation rows get weight 0 (adelie's recommended way to subset rows: no matrix copy).
       A fold's path stops once its validation deviance has not improved for ``n_abort``
       lambdas, after at least ``min_lambdas`` (bigstatsr's ``n.abort`` / ``nlam.min``).
    4. **Selection and CMSA.** Each fold model takes its own best lambda (lowest validation
       deviance), as bigstatsr does; the alpha with the lowest mean of those K best validation
       deviances wins; the final coefficients are the average of the K fold models at their
       lambdas (no refit). ``lambda_choice="common"`` instead takes the lambda index minimizing
       the mean validation deviance over the folds and averages the K models there.

One module per concern:

* :mod:`~genoml_core.models.penalized.stats`: input checks and training statistics from int8 counts
  (:class:`GenotypeStats`, :func:`genotype_stats`; step 1).
* :mod:`~genoml_core.models.penalized.design`: the solver's compact view of a training set (``.snpdat``
  files, standardized on the fly; step 2) and the memory a fit needs.
* :mod:`~genoml_core.models.penalized.solver`: the adelie solver (why adelie, how it is installed), the
  GLM families, deviance, lambda paths and the validation early stop.
* :mod:`~genoml_core.models.penalized.path`: one elastic-net path without CV (:func:`glm_path`).
* :mod:`~genoml_core.models.penalized.cv`: the fit: inner CV per (model, alpha), selection, CMSA, the
  ordinal multiclass model (steps 3 and 4).
* :mod:`~genoml_core.models.penalized.estimator`: :class:`GenomeWideGLM`, its parameters, coefficients
  and predictions.

Every public name is importable from :mod:`genoml_core.models.penalized` itself.
"""

from __future__ import annotations

from .estimator import BATCH_BYTES as BATCH_BYTES
from .estimator import GenomeWideGLM
from .path import GLMPath, glm_path
from .solver import ADELIE_INSTALL
from .stats import BLOCK_BYTES as BLOCK_BYTES
from .stats import GenotypeStats, genotype_stats

__all__ = ["GenomeWideGLM", "GLMPath", "GenotypeStats", "glm_path", "genotype_stats", "ADELIE_INSTALL"]
