"""SHAP values of one fitted model: :func:`explain_model` picks the explainer
(:mod:`genoml_core.explain.families`) and runs it, in the model's native output or in score space.

What is explained (the "output space", recorded in the summary)
    Binary: the log-odds of the second class for linear models, XGBoost and nets (``logit_1 -
    logit_0``); the probability for random forests / extra trees and the permutation explainer.
    Multiclass: one output per class (logits, margins or probabilities as above). Continuous:
    the prediction in phenotype units. SHAP values + base value = that output (exactly for all
    but the gradient explainer, whose error is reported).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .base import ExplainOptions, Explanation
from .families import model_family, resolve_method
from .linear import _explain_linear, _explain_linear_probability
from .nets import _explain_torch
from .permutation import _explain_permutation
from .tree import _explain_tree, _explain_xgb_multiclass_probability, _explain_xgb_probability

log = logging.getLogger("genoml_core.explain")  # the package's name, not __name__: warnings.json records it


def explain_model(
    est: Any,
    background: np.ndarray,
    X: np.ndarray,
    *,
    task: str,
    class_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    options: ExplainOptions | None = None,
    seed: int = 0,
    threads: int = 1,
    score_space: bool = False,
) -> Explanation:
    """SHAP values of a fitted workflow model (the choice: :mod:`genoml_core.explain.families`).

    Args:
        est: a fitted estimator (classical learner or torch net).
        background: training rows (scaled features) the explanation is relative to.
        X: rows to explain (scaled features).
        task: ``binary``, ``multiclass`` or ``continuous``.
        class_names: names of the classes 0..K-1 (classification).
        feature_names: p names (default ``f0``...).
        options: :class:`ExplainOptions` (method, sample sizes, budget).
        seed: seed of every random step.
        threads: CPU threads for torch.
        score_space: explain the model's scores (P(case), class probabilities, the trait value) as
            a stack combines them (``explain_model(score_space=True)``), not its native output.

    Returns:
        An :class:`Explanation`.

    Raises:
        AdditivityError: DeepExplainer's additivity check failed.
    """
    options = options or ExplainOptions()
    X = np.asarray(X, dtype=np.float32)
    background = np.asarray(background, dtype=np.float32)
    if X.ndim != 2 or background.ndim != 2 or X.shape[1] != background.shape[1]:
        raise InputError(f"X {X.shape} and background {background.shape} must be 2-D with the same columns")
    if len(X) == 0 or len(background) == 0:
        raise InputError("nothing to explain: X or the background has no rows")
    method, note = (None, None) if score_space else resolve_method(est, options.method)
    t0 = time.perf_counter()
    if score_space:
        exp = _explain_scores(est, background, X, task, class_names, options, seed, threads)
    elif method == "linear":
        exp = _explain_linear(est, background, X, task, class_names)
    elif method == "tree":
        exp = _explain_tree(est, X, task, class_names)
    elif method in ("gradient", "deep"):
        exp = _explain_torch(est, background, X, task, class_names, method, options, seed, threads)
    else:
        exp = _explain_permutation(est, background, X, task, class_names, options, seed)
    exp.feature_names = list(feature_names) if feature_names is not None else [f"f{j}" for j in range(X.shape[1])]
    if note:
        exp.notes.insert(0, note)
    exp.details["seconds"] = round(time.perf_counter() - t0, 3)
    log.info("%s explained %d rows x %d features in %.1f s (additivity error %.2g)", exp.explainer,
             exp.values.shape[0], exp.values.shape[1], exp.details["seconds"], exp.additivity_error())
    return exp



def _explain_scores(est: Any, background: np.ndarray, X: np.ndarray, task: str, class_names: Sequence[str] | None,
                    options: ExplainOptions, seed: int, threads: int) -> Explanation:
    """SHAP values of a model's *scores* as a stack combines them (``explain_model(score_space=True)``):
    P(case), the class probabilities or the prediction. Linear classifiers: sampled orderings through
    the sigmoid / softmax (:func:`_explain_linear_probability`; exact additivity); linear regressors:
    exact ``LinearExplainer``. XGBoost classifiers: interventional TreeSHAP of the probability (binary)
    or single-reference margins through the softmax (multiclass); forests and tree regressors:
    path-dependent TreeSHAP. Nets: expected gradients of the softmax. Anything else: the permutation
    explainer on the score function."""
    family = model_family(est)
    if family == "linear":
        return (_explain_linear(est, background, X, task, class_names) if task == "continuous"
                else _explain_linear_probability(est, background, X, task, class_names, seed))
    if family == "tree":
        from xgboost import XGBModel

        if isinstance(est, XGBModel) and task == "binary":
            return _explain_xgb_probability(est, background, X, task, class_names)
        if isinstance(est, XGBModel) and task == "multiclass":
            return _explain_xgb_multiclass_probability(est, background, X, class_names, seed)
        return _explain_tree(est, X, task, class_names)
    if family == "torch":
        return _explain_torch(est, background, X, task, class_names, "gradient", options, seed, threads,
                              probability=True)
    return _explain_permutation(est, background, X, task, class_names, options, seed)
