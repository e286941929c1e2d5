"""A polygenic score file (PGS Catalog scoring-file format 2.0) from the final model's linear SNP part.

What is written
    When the final model (``results/final/final_model.json``) has members that are linear in their
    features (penalized_glm, the logistic and linear regressions, LDA, the binary Platt-scaled linear
    SVM: :func:`genoml_core.explain.linear_parts`) and some of their SNP weights are nonzero, one
    score file per output, ``<phenotype column>.pgs.txt`` (several classes: one per class,
    ``<phenotype column>.<class>.pgs.txt``), in the PGS Catalog scoring-file format
    (https://www.pgscatalog.org/downloads/#dl_scoring_files, format version 2.0): ``#`` header lines,
    then a tab-separated table ``rsID chr_name chr_position effect_allele other_allele
    effect_weight``, one row per SNP with a nonzero weight; beside them ``<phenotype column>.afreq``
    (below). Always, ``summary.json``: which files were written (none, and why, when the final model
    has no linear part over SNPs), the members, and how to score a cohort with plink2.

The weights
    A model sees ``x_j = (g_j - mean_j) / scale_j`` (``g_j``: copies of the counted allele, the
    training ``.bim`` A1; a missing call takes the training mean), so its linear predictor is
    ``sum_j coef_j / scale_j * g_j`` + a constant: ``effect_weight = coef_j / scale_j`` per copy of
    ``effect_allele`` (the recipe's ``counted`` allele), on the model's output scale: binary, the
    log-odds of the second class (``weight_type=log(OR)``); continuous, the phenotype's units (a
    standardized target's scale undone, ``beta``); several classes, each class's linear predictor
    (softmax logit, ``NR``). A member with several fold models (``final.refit_full: false``) gets
    the mean of its fold models' weights (a SNP a fold does not use counts 0 there). Several linear
    members are combined with their stack weights, renormalized to sum to 1 over the linear members;
    non-linear members (trees, nets, kernels) are not in the score. The header says which members
    were combined, with which weights, and which were left out.

What the score leaves out (said in the header)
    The intercept, the covariates and ancestry PCs, the calibrator, and the non-linear members. The
    stack and the fold bagging average *probabilities* for classification; this score averages the
    members' linear predictors with the same weights, so for classification it is the linear part
    that ranks people like the model, not the final probability. For a continuous trait with only
    linear members it is the model's prediction up to a constant and the covariate terms.

Several classes
    One file per class (``NR`` weight type): a softmax model's classes share one probability, so
    the K files are meant to be used together (``P(k) = softmax_k(score_k + c_k)``, ``c_k`` the
    class's intercept and covariate terms, not in the files); the difference of two classes' scores
    gives the SNPs' part of the log-odds between them. A class whose weights are all 0 gets no file
    (said in the summary).

Missing genotypes
    The model imputes a missing call with the training mean. So the directory also holds
    ``<phenotype column>.afreq`` (plink2's ``--freq`` format: ``ALT`` = the effect allele, its
    training frequency = mean / 2; with fold models, their means averaged with the same weights as
    their effects: exact with one training set, ``final.refit_full``, the default): ``plink2
    --read-freq`` with it imputes exactly as the model does (tested:
    the plink2 sum equals the model's SNP predictor on a new cohort with swapped alleles and missing
    calls). Without it, plink2 imputes ``2 x`` the scored cohort's own frequency (close, not equal);
    ``no-mean-imputation`` counts a missing call as 0 copies, which lowers the score of people with
    many missing calls (the worst of the three). :func:`plink2_command` gives the command: columns 1,
    4 and 6 (ID, effect allele, weight), ``header-read``, ``cols=+scoresums`` for the sum, after
    removing the ``#`` lines (plink2 2.00a3 reads the first line as the column names, the others as
    variants).

One module per concern: :mod:`~genoml_core.pgs.weights` (the allele weights of one model and of the final
model's linear members: :func:`model_allele_weights`, :class:`LinearScore`, :func:`final_linear_score`) and
:mod:`~genoml_core.pgs.files` (the scoring file, its header, the ``.afreq`` and :func:`write_score_files`).
Every public name is importable from :mod:`genoml_core.pgs` itself; the logger is
``genoml_core.pgs``.
"""

from __future__ import annotations

from .files import FORMAT_VERSION as FORMAT_VERSION
from .files import PLINK2_SCORE_COLUMNS as PLINK2_SCORE_COLUMNS
from .files import SCORE_COLUMNS, SUMMARY_FILE, plink2_command, read_scoring_file, scoring_file_text, write_score_files
from .weights import LinearScore, final_linear_score, model_allele_weights
from .weights import log as log

__all__ = [
    "SCORE_COLUMNS",
    "SUMMARY_FILE",
    "LinearScore",
    "final_linear_score",
    "model_allele_weights",
    "plink2_command",
    "read_scoring_file",
    "scoring_file_text",
    "write_score_files",
]
