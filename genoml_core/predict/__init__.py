"""Predict on a new cohort: harmonize its data to each fold's recipe and apply the final model.

The final model is ``results/final/final_model.json`` (written once by ``select_final`` from
out-of-fold predictions): one or more members, each with one model per fold, stack weights and a
calibrator. Each fold model sees the new cohort harmonized to its own ``recipe.json``
(:mod:`genoml_core.genotypes.harmonize`); a member's score is the mean of its fold scores, the members are
combined and calibrated exactly as for the test set. Nothing about the new cohort's own data is used for scaling or imputation.

Order of work, so that mistakes stop before anything expensive:

1. :func:`check_cohort`: the ``.fam`` (duplicated sample ids), ``.bim``, the ``.bed`` magic
   number and size, the covariate/omics tables (duplicates, non-numeric values in the columns
   the model uses) and the phenotype (coding, known classes).
2. :func:`plan_cohort`: load the models and recipes, match every feature, compute the share of
   the model's importance that the present features carry (``harmonize_report.json``).
3. Below ``min_overlap`` in any fold: :class:`~genoml_core.genotypes.harmonize.LowOverlapError`.
4. Read the needed genotypes once (int8), score in batches of people, average the folds; write
   ``predictions.tsv`` and ``metrics.json`` (metrics, bootstrap CIs and the evaluation plots
   when a phenotype is given).

Command line (outside Snakemake, on a finished results folder)::

    genoml-predict --results results --bfile /data/new/chip --covariates /data/new/covar.tsv \\
        --phenotype /data/new/pheno.tsv --phenotype-column T2D --out predictions/new

One module per concern:

* :mod:`~genoml_core.predict.options`: :class:`PredictOptions` and :class:`Cohort`.
* :mod:`~genoml_core.predict.model`: the final model of a rule's inputs or a results folder
  (:func:`final_model_from_inputs`, :func:`final_model_from_results`), its files checked.
* :mod:`~genoml_core.predict.checks`: :func:`check_cohort` and :func:`read_cohort_phenotype`.
* :mod:`~genoml_core.predict.plan`: :func:`plan_cohort` (models, recipes, harmonization, coverage).
* :mod:`~genoml_core.predict.score`: :func:`score_cohort`, :func:`prediction_table` and the
  evaluation against a phenotype.
* :mod:`~genoml_core.predict.run`: :func:`run_prediction`, one cohort end to end.
* :mod:`~genoml_core.predict.cli`: ``genoml-predict`` (:func:`main`; also ``python -m
  genoml_core.predict``) and the names of its output files.

Every public name is importable from :mod:`genoml_core.predict` itself.
"""

from __future__ import annotations

from ..evaluation.ensemble import FinalModel
from .checks import CheckedCohort, check_cohort, read_cohort_phenotype
from .cli import METRICS_FILE as METRICS_FILE
from .cli import PLOTS_DIR as PLOTS_DIR
from .cli import PREDICTIONS_FILE as PREDICTIONS_FILE
from .cli import REPORT_FILE as REPORT_FILE
from .cli import main
from .model import final_model_from_inputs, final_model_from_results
from .options import Cohort, PredictOptions
from .plan import CohortPlan, plan_cohort
from .run import run_prediction
from .score import prediction_table, score_cohort

__all__ = [
    "PredictOptions",
    "Cohort",
    "FinalModel",
    "CheckedCohort",
    "CohortPlan",
    "final_model_from_results",
    "final_model_from_inputs",
    "read_cohort_phenotype",
    "check_cohort",
    "plan_cohort",
    "score_cohort",
    "prediction_table",
    "run_prediction",
    "main",
]
