"""SHAP explanations of the final model, from training-fitted artefacts only.

One module per concern:

* :mod:`~genoml_core.explain.base`: :class:`ExplainOptions`, :class:`ExplainInputs` (what
  explaining a final model takes), the :class:`Explanation` record, the output files (:data:`EXPLAIN_FILES`), seeds and shap-output helpers.
* :mod:`~genoml_core.explain.families`: model families and which explainer each gets
  (:func:`resolve_method`, :func:`linear_parts`).
* :mod:`~genoml_core.explain.linear`, :mod:`~genoml_core.explain.tree`, :mod:`~genoml_core.explain.nets`
  (gradient / deep), :mod:`~genoml_core.explain.permutation` (model-agnostic): one explainer kind
  each; :mod:`~genoml_core.explain.link` carries score shifts through a sigmoid / softmax.
* :mod:`~genoml_core.explain.model`: :func:`explain_model`, one fitted model, native output or
  score space (what is explained).
* :mod:`~genoml_core.explain.stack`: a stacked final model's member-weighted explanation.
* :mod:`~genoml_core.explain.truth`: truth recovery against a simulation's causal SNPs.
* :mod:`~genoml_core.explain.tables`, :mod:`~genoml_core.explain.plots`,
  :mod:`~genoml_core.explain.write`: importance tables, plots, and writing one explanation's files.
* :mod:`~genoml_core.explain.final`: the workflow step for a single-learner final model (which rows
  are explained, against which background).

Every public name is importable from :mod:`genoml_core.explain` itself.
"""

from __future__ import annotations

from .base import EXPLAIN_FILES, METHODS, AdditivityError, ExplainInputs, ExplainOptions, Explanation
from .families import linear_parts, model_family, resolve_method
from .final import explain_final_model
from .model import explain_model
from .plots import plot_bar, plot_beeswarm, plot_dependence
from .stack import StackMember, combine_explanations, explain_final_stack
from .tables import importance_table, top_snps
from .truth import causal_snps_from_truth, truth_recovery

__all__ = [
    "METHODS",
    "EXPLAIN_FILES",
    "ExplainOptions",
    "ExplainInputs",
    "Explanation",
    "AdditivityError",
    "linear_parts",
    "model_family",
    "resolve_method",
    "explain_model",
    "importance_table",
    "top_snps",
    "causal_snps_from_truth",
    "truth_recovery",
    "plot_beeswarm",
    "plot_bar",
    "plot_dependence",
    "explain_final_model",
    "combine_explanations",
    "StackMember",
    "explain_final_stack",
]
