"""SHAP explanations of the final model, from training-fitted artefacts only.

Which explainer (``explain.method: auto``)
    * PyTorch nets (:class:`~genoml_core.estimators.NetClassifier` / ``NetRegressor``):
      ``shap.GradientExplainer`` (expected gradients; ``gradient_nsamples`` draws per explained
      row). ``method: deep`` uses ``shap.DeepExplainer`` (DeepLIFT) with its additivity check on:
      a mismatch stops the job; a bagged net (``n_bags`` > 1) falls back to ``gradient``, as
      DeepLIFT has no rule for the log of the bags' mean probability. The module is switched to
      eval mode and its mode restored after.
    * Tree ensembles (random forest, extra trees, XGBoost): ``shap.TreeExplainer``, exact
      path-dependent TreeSHAP; its "background" is the trees' own training cover.
    * Linear models (logistic regression, LDA, ridge/lasso/elastic net/linear SVR, and the binary
      Platt-calibrated linear SVM, whose log-odds are linear): ``shap.LinearExplainer``
      (interventional) on the background rows.
    * Anything else (RBF SVM, KNN, RBF SVR, multiclass calibrated linear SVM):
      ``shap.PermutationExplainer`` on the
      workflow's own score function (:func:`genoml_core.learners.predict_scores`), with an
      ``Independent`` masker over ``permutation_background`` background rows and a bounded budget:
      at most ``max_evaluations`` model evaluations in total (one antithetic permutation per row
      costs ``(2 p + 1) x permutation_background``), so few rows are explained when p is large.
    An explicit method that cannot explain the final model (e.g. ``deep`` for a random forest)
    falls back to the automatic choice, with a note in the summary; ``permutation`` explains any
    model.

What is explained (the "output space", recorded in the summary)
    Binary: the log-odds of the second class for linear models, XGBoost and nets (``logit_1 -
    logit_0``); the probability for random forests / extra trees and the permutation explainer.
    Multiclass: one output per class (logits, margins or probabilities as above). Continuous:
    the prediction in phenotype units. SHAP values + base value = that output (exactly for all
    but the gradient explainer, whose error is reported).

Stacked final models (:func:`explain_final_stack`)
    The stack's output is the weighted mean of its members' scores, ``S = sum_m w_m s_m`` (P(case),
    class probabilities or trait values). SHAP values are linear in the model, so each member is
    explained in that score space (``explain_model(score_space=True)``) on the same people against the
    same background, and ``phi_j(S) = sum_m w_m phi_j(s_m)`` on the union of the members' features
    (0 for a feature a member does not use). Linear classifiers: their probability is a sigmoid /
    softmax of a linear score, so each feature's shift ``coef_j (x_j - b_j)`` is carried through the
    link along sampled orderings (exact additivity, Monte Carlo split; exactly zero for zero
    coefficients); linear regressors stay exact. XGBoost: interventional TreeSHAP of the probability
    (binary), single-reference margins through the softmax (multiclass). The calibrator, monotone and
    applied after, is not explained. A single-learner final model keeps its own explainer above
    (exact log-odds for a linear one).

Data
    Background: ``n_background`` training rows of the fold's feature store, a seeded random
    sample. Explained: the ``explain_set`` rows (test by default), at most ``n_explain`` (seeded
    sample). Features are the recipe's: ``<SNP id>_<counted allele>`` and covariate/omics names.
    With k folds the model of ``fold0`` is explained: the test prediction averages k fold models
    whose features and scaling differ, so their SHAP values do not add up to one model's.

Truth (simulated cohorts)
    With a ``truth.json`` (from :mod:`genoml_core.simulate`), :func:`truth_recovery` counts the
    true causal SNPs among the top-k SNPs, a causal SNP counting as found when a top-k SNP is the
    SNP itself or an LD proxy: same chromosome, within ``ld_prune.window`` variants in the .bim
    order, and r2 >= ``truth_min_r2`` (default ``ld_prune.r2``) on the fold's training samples.
    Beside it, what a random ranking of the model's SNPs would give (exact expectation).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from . import io, persist
from .errors import ConfigError, GenomlError, InputError, field_names, reject_unknown
from .munge import FeatureStore

__all__ = [
    "METHODS",
    "EXPLAIN_FILES",
    "ExplainOptions",
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

log = logging.getLogger(__name__)

METHODS = ("auto", "gradient", "deep", "tree", "linear", "permutation")
#: Output key -> file name, as written by :func:`explain_final_model`: under results/explain/, but
#: ``values`` (per person: results/individual/explain/, individual-level data).
EXPLAIN_FILES = {
    "values": "shap_values.tsv.gz",
    "importance": "importance.tsv",
    "top_snps": "top_features.snplist",
    "summary": "summary.json",
    "beeswarm": "beeswarm.png",
    "bar": "bar.png",
    "dependence": "dependence.png",
}
_S_BACKGROUND, _S_EXPLAIN, _S_PERMUTATION = 1, 2, 3
#: Dependence plots draw no group (genotype, decile) of fewer samples.
_MIN_CELL = 5


class AdditivityError(GenomlError, RuntimeError):
    """SHAP values do not add up to the model output (DeepExplainer's check failed)."""


@dataclass(frozen=True, kw_only=True)
class ExplainOptions:
    """The ``explain`` config section without ``truth`` (defaults equal config/schema.yaml's)."""

    method: str = "auto"
    explain_set: str = "test"
    n_explain: int | None = 200
    n_background: int = 100
    gradient_nsamples: int = 200
    permutation_background: int = 10
    max_evaluations: int = 200_000
    top_k: int = 50
    n_display: int = 20
    n_dependence: int = 4
    truth_min_r2: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "ExplainOptions":
        d = dict(d or {})
        reject_unknown(d, field_names(cls), "explain option(s)")
        opts = cls(**d)
        if opts.method not in METHODS:
            raise ConfigError(f"explain.method={opts.method!r}; use one of {list(METHODS)}")
        if opts.explain_set not in ("test", "valid"):
            raise ConfigError(f"explain.explain_set={opts.explain_set!r}; use test or valid")
        for name in ("n_background", "gradient_nsamples", "permutation_background", "max_evaluations", "top_k",
                     "n_display", "n_dependence"):
            if getattr(opts, name) < 1:
                raise ConfigError(f"explain.{name}={getattr(opts, name)} must be >= 1")
        if opts.n_explain is not None and opts.n_explain < 1:
            raise ConfigError(f"explain.n_explain={opts.n_explain} must be >= 1 (or null for all)")
        return opts


@dataclass
class Explanation:
    """SHAP values of one model on some rows.

    Attributes:
        values: ``(n, p, m)`` SHAP values for n rows, p features and m outputs.
        base_values: ``(n, m)`` base value of each row and output.
        outputs: ``(n, m)`` the model's output in the explained space.
        output_names: name of each output (class name, or ``prediction``).
        output_space: what the outputs are (``log-odds of case``...).
        method: ``gradient``, ``deep``, ``tree``, ``linear`` or ``permutation``.
        explainer: the shap class used.
        feature_names: p names.
        rows: indices into the rows given to :func:`explain_model` that were explained.
        exact: whether values + base = output holds exactly by construction.
        details: method-specific numbers (sample sizes, budget) for the summary.
        notes: remarks for the report.
    """

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray
    output_names: list[str]
    output_space: str
    method: str
    explainer: str
    feature_names: list[str]
    rows: np.ndarray
    exact: bool
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def additivity_error(self) -> float:
        """max |sum of SHAP values + base value - model output| over rows and outputs."""
        return float(np.max(np.abs(self.values.sum(axis=1) + self.base_values - self.outputs), initial=0.0))

    def importance(self) -> np.ndarray:
        """``(p, m)`` mean absolute SHAP value per feature and output."""
        return np.abs(self.values).mean(axis=0)


# ----------------------------------------------------------------------------- model families
def _tree_types() -> tuple[type, ...]:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    from xgboost import XGBModel

    return (XGBModel, RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
            DecisionTreeClassifier, DecisionTreeRegressor)


def _is_torch(est: Any) -> bool:
    return getattr(est, "_genoml_kind", None) == "torch" and hasattr(est, "module_")


def linear_parts(est: Any) -> tuple[np.ndarray, np.ndarray, Any] | None:
    """``(coef (m, p), intercept (m,), output_fn)`` when the explained output is linear in X.

    The output: binary classifiers' log-odds of class 1, multiclass decision scores (one row per
    class in ``classes_`` order), regressors' prediction in the phenotype's units (a standardized
    target's scale undone). None for any other model. Also used for score files (:mod:`genoml_core.pgs`).
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import (
        ElasticNet,
        Lasso,
        LinearRegression,
        LogisticRegression,
        Ridge,
        SGDClassifier,
        SGDRegressor,
    )
    from sklearn.preprocessing import StandardScaler
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC, LinearSVR

    linear_reg = (Ridge, Lasso, ElasticNet, LinearRegression, LinearSVR, SGDRegressor)
    if isinstance(est, CalibratedClassifierCV):
        # Platt-scaled linear SVM, binary: P(1) = 1 / (1 + exp(a f(x) + b)) with f linear, so its
        # log-odds -(a f(x) + b) are linear in x
        cc = getattr(est, "calibrated_classifiers_", None) or []
        if len(cc) != 1 or not isinstance(cc[0].estimator, LinearSVC) or len(cc[0].calibrators) != 1:
            return None
        svm, cal = cc[0].estimator, cc[0].calibrators[0]
        if type(cal).__name__ != "_SigmoidCalibration" or not hasattr(cal, "a_"):
            return None
        a, b = float(cal.a_), float(cal.b_)

        def log_odds(X: np.ndarray) -> np.ndarray:
            return -(a * svm.decision_function(X) + b)

        return (-a * np.atleast_2d(np.asarray(svm.coef_, dtype=np.float64)),
                -(a * np.atleast_1d(np.asarray(svm.intercept_, dtype=np.float64)) + b), log_odds)
    if isinstance(est, TransformedTargetRegressor):
        inner, tr = getattr(est, "regressor_", None), getattr(est, "transformer_", None)
        if isinstance(inner, linear_reg) and isinstance(tr, StandardScaler):
            # y = scaler.inverse(X @ coef + b) = (X @ coef + b) * scale + mean
            scale = float(tr.scale_[0]) if tr.scale_ is not None else 1.0
            mean = float(tr.mean_[0]) if tr.mean_ is not None else 0.0
            coef = np.atleast_2d(np.asarray(inner.coef_, dtype=np.float64)) * scale
            intercept = np.atleast_1d(np.asarray(inner.intercept_, dtype=np.float64)) * scale + mean
            return coef, intercept, est.predict
        return None
    if isinstance(est, (LogisticRegression, LinearDiscriminantAnalysis, SGDClassifier)):
        return (np.atleast_2d(np.asarray(est.coef_, dtype=np.float64)),
                np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)), est.decision_function)
    if isinstance(est, linear_reg):
        return (np.atleast_2d(np.asarray(est.coef_, dtype=np.float64)),
                np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)), est.predict)
    return None


def model_family(est: Any) -> str:
    """``torch``, ``tree``, ``linear`` or ``other`` (explained model-agnostically)."""
    if _is_torch(est):
        return "torch"
    if isinstance(est, _tree_types()):
        return "tree"
    if linear_parts(est) is not None:
        return "linear"
    return "other"


_AUTO = {"torch": "gradient", "tree": "tree", "linear": "linear", "other": "permutation"}
_ALLOWED = {"torch": {"gradient", "deep"}, "tree": {"tree"}, "linear": {"linear"}, "other": set()}


def _is_bagged(est: Any) -> bool:
    """A torch net whose module is several bags (``n_bags`` > 1)."""
    from .nn.bagged import BaggedNet

    return isinstance(getattr(est, "module_", None), BaggedNet)


def resolve_method(est: Any, requested: str = "auto") -> tuple[str, str | None]:
    """The explainer for ``est``: ``(method, note)``; the note says why a request was not followed."""
    if requested not in METHODS:
        raise ConfigError(f"explain.method={requested!r}; use one of {list(METHODS)}")
    family = model_family(est)
    bagged = family == "torch" and _is_bagged(est)
    allowed = _ALLOWED[family] - {"deep"} if bagged else _ALLOWED[family]
    if requested == "auto" or requested == "permutation" or requested in allowed:
        return (_AUTO[family] if requested == "auto" else requested), None
    method = _AUTO[family]
    if bagged:  # DeepLIFT has no rule for the log of the bags' mean probability
        note = (f"explain.method={requested!r} does not apply to a bagged network (n_bags > 1: DeepLIFT cannot "
                f"pass through the bags' mean probability); used {method!r} instead")
    else:
        note = (f"explain.method={requested!r} does not apply to the final model ({type(est).__name__}); "
                f"used {method!r} instead")
    log.warning(note)
    return method, note


def _class_labels(est: Any) -> np.ndarray | None:
    classes = getattr(est, "genoml_classes_", None)
    if classes is None:
        classes = getattr(est, "classes_", None)
    return None if classes is None else np.asarray(classes)


def _name(label: Any, class_names: Sequence[str] | None) -> str:
    if class_names is not None:
        try:
            return str(class_names[int(label)])
        except (IndexError, ValueError, TypeError):
            pass
    return str(label)


def _as_3d(values: Any, n: int, p: int) -> np.ndarray:
    """SHAP output (array, list of arrays, any of shap's layouts) as ``(n, p, m)`` float64."""
    if isinstance(values, list):
        arr = np.stack([np.asarray(v, dtype=np.float64).reshape(n, p) for v in values], axis=2)
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[:, :, None]
    if arr.shape[:2] != (n, p):
        raise RuntimeError(f"unexpected SHAP value shape {arr.shape} for {n} rows x {p} features")
    return arr


def _as_2d(a: Any, n: int) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    return arr.reshape(n, -1)


def _space(task: str, kind: str, m: int, names: Sequence[str]) -> str:
    if task == "continuous":
        return "predicted value (phenotype units)"
    if task == "binary":
        return f"{kind} of {names[0]}"
    return {"log-odds": "class scores (logits / margins; softmax gives the probabilities)",
            "probability": "class probabilities"}[kind]


# ----------------------------------------------------------------------------- explainers
def _explain_linear(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                    class_names: Sequence[str] | None) -> Explanation:
    import shap

    coef, intercept, output_fn = linear_parts(est)  # type: ignore[misc]
    n, p = X.shape
    if coef.shape[0] == 1:
        explainer = shap.LinearExplainer((coef[0], float(intercept[0])), background)
    else:
        explainer = shap.LinearExplainer((coef, intercept), background)
    values = _as_3d(explainer.shap_values(X), n, p)
    m = values.shape[2]
    base = np.broadcast_to(np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64)), (n, m)).copy()
    outputs = _as_2d(output_fn(X), n)
    labels = _class_labels(est)
    if task == "continuous":
        names = ["prediction"]
    elif m == 1:
        assert labels is not None  # a classifier has classes_
        names = [_name(labels[-1], class_names)]
    else:
        assert labels is not None  # a classifier has classes_
        names = [_name(c, class_names) for c in labels]
    return Explanation(values, base, outputs, names, _space(task, "log-odds", m, names), "linear",
                       "shap.LinearExplainer", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(background))})


def _explain_tree(est: Any, X: np.ndarray, task: str, class_names: Sequence[str] | None) -> Explanation:
    import shap
    from xgboost import XGBModel

    n, p = X.shape
    explainer = shap.TreeExplainer(est, feature_perturbation="tree_path_dependent")
    values = _as_3d(explainer.shap_values(X, check_additivity=True), n, p)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    is_xgb = isinstance(est, XGBModel)
    if task == "continuous":
        outputs = _as_2d(est.predict(X), n)
        kind = "value"
    elif is_xgb:
        outputs = _as_2d(est.predict(X, output_margin=True), n)
        kind = "log-odds"
    else:
        outputs = _as_2d(est.predict_proba(X), n)
        kind = "probability"
    labels = _class_labels(est)
    if task == "binary" and values.shape[2] == 2:  # probabilities of both classes: keep the second
        values, base, outputs = values[:, :, 1:], base[1:], outputs[:, 1:]
    m = values.shape[2]
    if task == "continuous":
        names = ["prediction"]
    elif m == 1:
        assert labels is not None  # a classifier has classes_
        names = [_name(labels[-1], class_names)]
    else:
        assert labels is not None  # a classifier has classes_
        names = [_name(c, class_names) for c in labels]
    base2 = np.broadcast_to(base.reshape(1, -1), (n, m)).copy()
    return Explanation(values, base2, outputs, names, _space(task, kind, m, names), "tree",
                       "shap.TreeExplainer", [], np.arange(n), exact=True,
                       details={"feature_perturbation": "tree_path_dependent (the trees' training cover)"})


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """Switch a torch module (and every submodule) to eval mode; restore each one's mode after."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _explained_net(est: Any, task: str, probability: bool = False) -> Any:
    """A torch module giving the explained output of a net: binary logit_1 - logit_0, multiclass
    logits, continuous the prediction in phenotype units; with ``probability``, P(class 1) (binary)
    or the class probabilities (multiclass) instead."""
    import torch

    class ExplainedOutput(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.net = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.net(x)
            if probability and task != "continuous":
                prob = torch.softmax(out, dim=1)
                return prob[:, 1:2] if task == "binary" else prob
            if task == "binary":
                return out[:, 1:2] - out[:, 0:1]
            if task == "continuous":
                return out[:, 0:1] * float(est.y_scale_) + float(est.y_mean_)
            return out

    return ExplainedOutput(est.module_)


def _explain_torch(est: Any, background: np.ndarray, X: np.ndarray, task: str, class_names: Sequence[str] | None,
                   method: str, options: ExplainOptions, seed: int, threads: int,
                   probability: bool = False) -> Explanation:
    import shap
    import torch

    from .runtime import set_threads

    n, p = X.shape
    device = getattr(est, "device_", torch.device("cpu"))
    wrapper = _explained_net(est, task, probability)
    previous = set_threads(threads)
    try:
        with _eval_mode(est.module_):
            bg = torch.as_tensor(np.asarray(background, dtype=np.float32), device=device)
            xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            with torch.no_grad():
                outputs = wrapper(xt).double().cpu().numpy()
                bg_mean = wrapper(bg).double().mean(dim=0).cpu().numpy()
            details: dict[str, Any] = {"background_rows": int(len(background))}
            if method == "gradient":
                explainer = shap.GradientExplainer(wrapper, bg, batch_size=options.gradient_nsamples)
                raw = explainer.shap_values(xt, nsamples=options.gradient_nsamples, rseed=seed)
                base = bg_mean
                details["nsamples"] = options.gradient_nsamples
                name = "shap.GradientExplainer"
            else:
                explainer = shap.DeepExplainer(wrapper, bg)
                try:
                    raw = explainer.shap_values(xt, check_additivity=True)
                except AssertionError as err:
                    raise AdditivityError(
                        f"DeepExplainer's SHAP values do not add up to the model output for this network ({err}); "
                        "set explain.method: gradient (or auto)"
                    ) from err
                base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
                name = "shap.DeepExplainer"
            wrapper.zero_grad(set_to_none=True)
    finally:
        set_threads(previous)
    values = _as_3d(raw, n, p)
    m = values.shape[2]
    labels = _class_labels(est)
    if task == "continuous":
        names = ["prediction"]
    elif task == "binary":
        assert labels is not None  # a classifier has classes_
        names = [_name(labels[-1], class_names)]
    else:
        assert labels is not None  # a classifier has classes_
        names = [_name(c, class_names) for c in labels]
    base2 = np.broadcast_to(np.asarray(base, dtype=np.float64).reshape(1, -1), (n, m)).copy()
    kind = "probability" if probability else "log-odds"
    exp = Explanation(values, base2, _as_2d(outputs, n), names, _space(task, kind, m, names), method, name,
                      [], np.arange(n), exact=method == "deep", details=details)
    if method == "gradient":
        exp.notes.append("expected gradients approximate SHAP values: values + base match the output only "
                         "approximately (see the additivity error)")
    return exp


def _explain_permutation(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                         class_names: Sequence[str] | None, options: ExplainOptions, seed: int) -> Explanation:
    import shap

    from .learners import predict_scores

    n_all, p = X.shape
    n_classes = len(class_names) if task == "multiclass" and class_names else None
    per_perm = 2 * p + 1
    b = max(1, min(options.permutation_background, len(background), options.max_evaluations // per_perm))
    n_rows = max(1, min(n_all, options.max_evaluations // (per_perm * b)))
    rng = np.random.default_rng([seed, _S_PERMUTATION])
    rows = np.sort(rng.choice(n_all, n_rows, replace=False)) if n_rows < n_all else np.arange(n_all)

    def score(Z: np.ndarray) -> np.ndarray:
        s = np.asarray(predict_scores(est, np.asarray(Z, dtype=np.float32), task=task, n_classes=n_classes))
        return s.reshape(len(Z), -1)

    masker = shap.maskers.Independent(np.asarray(background[:b], dtype=np.float32), max_samples=b)
    explainer = shap.PermutationExplainer(score, masker, seed=seed)
    Xr = X[rows]
    result = explainer(Xr, max_evals=per_perm, silent=True)
    values = _as_3d(result.values, len(rows), p)
    m = values.shape[2]
    base = _as_2d(result.base_values, len(rows))
    outputs = score(Xr)
    if task == "continuous":
        names = ["prediction"]
    elif task == "binary":
        names = [_name(1, class_names)]
    else:
        names = [_name(k, class_names) for k in range(m)]
    budget = n_rows * per_perm * b
    exp = Explanation(values, base, outputs, names, _space(task, "probability", m, names), "permutation",
                      "shap.PermutationExplainer", [], rows, exact=True,
                      details={"background_rows": b, "max_evaluations": options.max_evaluations,
                               "model_evaluations": budget, "rows_available": n_all})
    if n_rows < n_all:
        exp.notes.append(
            f"model-agnostic explainer: {n_rows} of {n_all} rows explained within the budget of "
            f"{options.max_evaluations} model evaluations ({per_perm} x {b} per row); importances from few rows are "
            "noisy: raise explain.max_evaluations for more"
        )
    if budget > options.max_evaluations:
        exp.notes.append(f"one row needs {budget} model evaluations, more than max_evaluations")
    return exp


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
    """SHAP values of a fitted workflow model (see the module docstring for the choice).

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


# ----------------------------------------------------------------------------- members of a stack
#: Random orderings per (explained row, background row) pair for a linear classifier explained in
#: probability space: at least LINK_PERMUTATIONS (in antithetic pairs), more while the work
#: (rows x background rows x features x outputs x orderings) stays within LINK_WORK, up to 256.
LINK_PERMUTATIONS = 8
LINK_WORK = 2e8


def _link(z: np.ndarray) -> np.ndarray:
    """Probabilities from log-odds ``(..., 1)`` (sigmoid) or class scores ``(..., K)`` (softmax)."""
    if z.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _link_shapley(z_b: np.ndarray, deltas: Any, n: int, p: int, active: np.ndarray, seed: int,
                  n_permutations: int | None = None) -> np.ndarray:
    """Shapley values of ``link(z)`` where each feature moves the score z additively.

    ``deltas(rows)`` gives, for explained rows ``rows`` (a slice) and every background row b, each
    active feature's shift of the score from ``z_b`` towards the row's: ``(c, b, a, K)``. Along a
    random order of the features, a feature's contribution is the change in ``link`` when its
    shift is added; every ordering's contributions add up to ``link(z_b + sum of shifts) -
    link(z_b)`` exactly, so the values (averaged over antithetic pairs of orderings and over the
    background rows) add up exactly; only their split between features is sampled. Returns
    ``(n, p, m)`` with ``m = K`` (1 for a sigmoid); inactive features get exactly zero.
    """
    k_out = z_b.shape[1]
    m = k_out
    values = np.zeros((n, p, m))
    a = len(active)
    if not a:
        return values
    rng = np.random.default_rng([seed, _S_PERMUTATION, 7])
    nb = len(z_b)
    if n_permutations is None:
        n_permutations = int(np.clip(LINK_WORK // max(1, n * nb * a * k_out), LINK_PERMUTATIONS, 256))
    n_perm = max(2, n_permutations - n_permutations % 2)
    # one chunk of explained rows at a time keeps memory at ~ chunk x b x a x K floats
    chunk = max(1, int(4e6 // max(1, nb * a * k_out)))
    for r0 in range(0, n, chunk):
        rows = slice(r0, min(n, r0 + chunk))
        delta = np.asarray(deltas(rows), dtype=np.float64)  # (c, b, a, K)
        acc = np.zeros((delta.shape[0], a, m))
        start = np.broadcast_to(z_b[None, :, None, :], (delta.shape[0], nb, 1, k_out))
        for _ in range(n_perm // 2):
            order = rng.permutation(a)
            for perm in (order, order[::-1]):
                z = np.concatenate([start, start + np.cumsum(delta[:, :, perm, :], axis=2)], axis=2)
                acc[:, perm, :] += np.diff(_link(z), axis=2).mean(axis=1)
        values[rows][:, active, :] = acc / n_perm  # values[rows] is a view
    return values


def _explain_linear_probability(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                                class_names: Sequence[str] | None, seed: int) -> Explanation:
    """Interventional Shapley values of a linear classifier's *probabilities* (sigmoid / softmax of
    a linear score) by :func:`_link_shapley`: a feature's shift is ``coef_j (x_j - b_j)``. The
    values add up to ``p(x) - mean_b p(b)`` exactly; their split between the features with a
    non-zero coefficient is a Monte Carlo estimate (``LINK_PERMUTATIONS`` or more orderings per pair
    of explained and background rows); features with a zero coefficient get exactly zero.
    """
    coef, intercept, _ = linear_parts(est)  # type: ignore[misc]
    n, p = X.shape
    active = np.flatnonzero(np.any(coef != 0, axis=0))
    Xd = np.asarray(X, dtype=np.float64)
    B = np.asarray(background, dtype=np.float64)
    z_b = B @ coef.T + intercept  # (b, K)
    ca = coef[:, active].T  # (a, K)

    def deltas(rows: slice) -> np.ndarray:
        return (Xd[rows, None, active] - B[None, :, active])[..., None] * ca[None, None]

    values = _link_shapley(z_b, deltas, n, p, active, seed)
    m = values.shape[2]
    outputs = _link(Xd @ coef.T + intercept)
    base = np.broadcast_to(_link(z_b).mean(axis=0)[None, :], (n, m)).copy()
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    names = [_name(labels[-1], class_names)] if m == 1 else [_name(c, class_names) for c in labels]
    return Explanation(values, base, outputs, names, _space(task, "probability", m, names), "linear",
                       "sampled permutations of a linear model's probabilities", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(B)), "nonzero_coefficients": int(len(active)),
                                "min_permutations_per_pair": LINK_PERMUTATIONS})


def _xgb_split_features(est: Any, p: int) -> np.ndarray:
    """Indices of the features an XGBoost model splits on (all of them if the names are not f<j>)."""
    used = []
    for name in est.get_booster().get_score(importance_type="weight"):
        if not (name.startswith("f") and name[1:].isdigit()):
            return np.arange(p)
        used.append(int(name[1:]))
    return np.asarray(sorted(used), dtype=np.int64)


def _explain_xgb_multiclass_probability(est: Any, background: np.ndarray, X: np.ndarray,
                                        class_names: Sequence[str] | None, seed: int) -> Explanation:
    """An XGBoost multiclass model's probabilities: per background row b, exact single-reference
    TreeSHAP of the class margins splits ``z(x) - z(b)`` between the features; those shifts are
    carried through the softmax by :func:`_link_shapley` (exact additivity; exact Shapley values
    where the margins are additive in the features, a sampled approximation where trees interact)."""
    import shap

    n, p = X.shape
    B = np.asarray(background, dtype=np.float64)
    Xd = np.asarray(X, dtype=np.float64)
    active = _xgb_split_features(est, p)
    z_b = _as_2d(est.predict(B, output_margin=True), len(B))
    phis = np.zeros((n, len(B), len(active), z_b.shape[1]), dtype=np.float32)
    for j in range(len(B)):
        explainer = shap.TreeExplainer(est, data=B[j:j + 1], feature_perturbation="interventional")
        phi = _as_3d(explainer.shap_values(Xd, check_additivity=False), n, p)
        phis[:, j] = phi[:, active, :]
    values = _link_shapley(z_b, lambda rows: phis[rows], n, p, active, seed)
    m = values.shape[2]
    outputs = _as_2d(est.predict_proba(X), n)
    base = np.broadcast_to(_link(z_b).mean(axis=0)[None, :], (n, m)).copy()
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    names = [_name(c, class_names) for c in labels]
    return Explanation(values, base, outputs, names, _space("multiclass", "probability", m, names), "tree",
                       "single-reference TreeSHAP through the softmax", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(B)), "split_features": int(len(active)),
                                "min_permutations_per_pair": LINK_PERMUTATIONS})


def _explain_xgb_probability(est: Any, background: np.ndarray, X: np.ndarray, task: str,
                             class_names: Sequence[str] | None) -> Explanation:
    """Interventional TreeSHAP of an XGBoost classifier's probabilities (exact) on the background rows."""
    import shap

    n, p = X.shape
    explainer = shap.TreeExplainer(est, data=np.asarray(background, dtype=np.float64),
                                   feature_perturbation="interventional", model_output="probability")
    values = _as_3d(explainer.shap_values(X, check_additivity=True), n, p)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    outputs = _as_2d(est.predict_proba(X), n)
    labels = _class_labels(est)
    assert labels is not None  # a classifier has classes_
    if task == "binary":
        if values.shape[2] == 2:
            values, base = values[:, :, 1:], base[1:]
        outputs = outputs[:, 1:]
    m = values.shape[2]
    names = [_name(labels[-1], class_names)] if m == 1 else [_name(c, class_names) for c in labels]
    base2 = np.broadcast_to(base[-m:].reshape(1, -1), (n, m)).copy()
    return Explanation(values, base2, outputs, names, _space(task, "probability", m, names), "tree",
                       "shap.TreeExplainer (interventional)", [], np.arange(n), exact=True,
                       details={"background_rows": int(len(background)),
                                "feature_perturbation": "interventional (the background rows)"})


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


def combine_explanations(
    parts: Sequence[tuple[float, Explanation]], names: Sequence[str], *, output_space: str
) -> Explanation:
    """The weighted sum of the members' explanations on one feature list ``names``.

    Interventional (and path-dependent) SHAP values are linear in the model, so the values of the
    weighted mean of member scores are the weighted mean of the members' values; a member's
    feature it does not use contributes 0. Every part must explain the same rows (in the same
    order) in the same output space. Weights are normalized to sum to 1, as in
    :func:`genoml_core.ensemble.combine`.
    """
    if not parts:
        raise ValueError("nothing to combine")
    w = np.asarray([wt for wt, _ in parts], dtype=np.float64)
    if w.sum() <= 0:
        raise ValueError("member weights must have a positive sum")
    w = w / w.sum()
    first = parts[0][1]
    n, m = first.outputs.shape
    column = {name: j for j, name in enumerate(names)}
    values = np.zeros((n, len(names), m))
    base = np.zeros((n, m))
    outputs = np.zeros((n, m))
    exact = True
    for wi, (_, exp) in zip(w, parts):
        if exp.outputs.shape != (n, m):
            raise ValueError(f"member explanations differ in rows or outputs: {exp.outputs.shape} vs {(n, m)}")
        cols = [column[f] for f in exp.feature_names]
        values[:, cols, :] += wi * exp.values
        base += wi * exp.base_values
        outputs += wi * exp.outputs
        exact = exact and exp.exact
    return Explanation(values, base, outputs, list(first.output_names), output_space, "stack",
                       "member-weighted SHAP", list(names), first.rows.copy(), exact=exact)


# ----------------------------------------------------------------------------- tables
def importance_table(exp: Explanation, recipe: Mapping[str, Any], X: np.ndarray | None = None) -> pd.DataFrame:
    """Per-feature mean |SHAP| (overall = mean over outputs, and per output when several).

    Columns: rank, feature, source, id, chrom, pos, counted, other, mean_abs_shap,
    ``mean_abs_shap_<output>`` (several outputs), and for one output ``direction``: the
    correlation of the feature's value with its SHAP value (> 0: a higher value, e.g. more copies
    of the counted allele, raises the output). Sorted by importance.
    """
    feats = recipe["features"]
    if len(feats) != exp.values.shape[1]:
        raise InputError(f"recipe has {len(feats)} features, the explanation {exp.values.shape[1]}")
    imp = exp.importance()
    df = pd.DataFrame({
        "feature": [f["name"] for f in feats],
        "source": [f["source"] for f in feats],
        "id": [f.get("id", f["name"]) for f in feats],
        "chrom": [f.get("chrom", "") for f in feats],
        "pos": [f.get("pos", pd.NA) for f in feats],
        "counted": [f.get("counted", "") for f in feats],
        "other": [f.get("other", "") for f in feats],
        "mean_abs_shap": imp.mean(axis=1),
    })
    if imp.shape[1] > 1:
        for k, name in enumerate(exp.output_names):
            df[f"mean_abs_shap_{name}"] = imp[:, k]
    elif X is not None:
        Xe = np.asarray(X, dtype=np.float64)
        v = exp.values[:, :, 0]
        xc, vc = Xe - Xe.mean(axis=0), v - v.mean(axis=0)
        den = np.sqrt((xc**2).sum(axis=0) * (vc**2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            df["direction"] = np.where(den > 0, (xc * vc).sum(axis=0) / den, np.nan)
    df = df.sort_values("mean_abs_shap", ascending=False, kind="mergesort").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def top_snps(importance: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` most important SNP ids (with a non-zero importance), best first."""
    snps = importance[(importance.source == "snp") & (importance.mean_abs_shap > 0)]
    return [str(s) for s in snps.id.head(k)]


# ----------------------------------------------------------------------------- truth
def causal_snps_from_truth(truth: Mapping[str, Any], phenotype: str | None) -> tuple[list[str], str]:
    """The causal SNP ids of ``phenotype`` in a simulate ``truth.json`` (else all causal SNPs)."""
    if phenotype and isinstance(truth.get(phenotype), Mapping) and "causal" in truth[phenotype]:
        return [str(c["snp"]) for c in truth[phenotype]["causal"]], f"{phenotype}.causal"
    if "causal_snps" in truth:
        return [str(s) for s in truth["causal_snps"]], "causal_snps"
    raise InputError(f"truth file has neither {phenotype!r}.causal nor causal_snps")


def _r2(a: np.ndarray, b: np.ndarray) -> float:
    ok = (a >= 0) & (b >= 0)
    if ok.sum() < 3:
        return math.nan
    x, y = a[ok].astype(np.float64), b[ok].astype(np.float64)
    if x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def _p_hit(n: int, t: int, k: int) -> float:
    """P(at least one of t marked items among k drawn from n without replacement)."""
    if t <= 0 or k <= 0:
        return 0.0
    if n - t < k:
        return 1.0
    # 1 - C(n - t, k) / C(n, k), in logs
    log_miss = (math.lgamma(n - t + 1) - math.lgamma(n - t - k + 1)) - (math.lgamma(n + 1) - math.lgamma(n - k + 1))
    return float(1.0 - math.exp(log_miss))


def truth_recovery(
    ranked_snps: Sequence[str],
    top: Sequence[str],
    causal: Sequence[str],
    *,
    bfile: str,
    sample_idx: np.ndarray,
    window: int,
    min_r2: float,
    engine: str = "lut",
) -> dict[str, Any]:
    """How many true causal SNPs the top SNPs find, directly or through an LD proxy.

    Args:
        ranked_snps: every SNP the model sees (its candidates), any order.
        top: the top-k SNPs of the explanation.
        causal: true causal SNP ids.
        bfile: PLINK prefix the genotypes are read from.
        sample_idx: .fam rows of the training samples used for r2.
        window: a proxy lies within this many variants (.bim order, same chromosome).
        min_r2: a proxy has r2 >= this with the causal SNP.
        engine: .bed decoder.

    Returns:
        Counts (found, found directly, reachable through the candidates, expected under a random
        ranking of the candidates), the hypergeometric view of the top-k features that tag a causal
        SNP, and a per-causal-SNP list.
    """
    from scipy.stats import hypergeom

    bim = io.read_bim(bfile)
    pos = pd.Series(np.arange(len(bim)), index=bim.SNP.astype(str))
    chrom = bim.CHR.astype(str).to_numpy()
    cand = [s for s in dict.fromkeys(ranked_snps) if s in pos.index]
    cand_idx = pos.loc[cand].to_numpy() if cand else np.zeros(0, dtype=np.int64)
    cand_name = dict(zip(cand_idx.tolist(), cand))
    causal_in = [c for c in dict.fromkeys(causal) if c in pos.index]
    neighbours: dict[str, list[int]] = {}
    for c in causal_in:
        i = int(pos[c])
        near = cand_idx[(np.abs(cand_idx - i) < window) & (chrom[cand_idx] == chrom[i])]
        neighbours[c] = near.tolist()
    need = sorted({int(pos[c]) for c in causal_in} | {j for v in neighbours.values() for j in v})
    geno = (io.read_genotypes(bfile, np.asarray(need, dtype=np.int64), np.sort(np.asarray(sample_idx)), engine=engine)
            if need and len(sample_idx) else np.zeros((0, 0), np.int8))
    col = {j: k for k, j in enumerate(need)}
    top_set = set(top)
    rank = {s: r for r, s in enumerate(top, start=1)}
    n_cand, k = len(cand), len(top)
    per_causal: list[dict[str, Any]] = []
    tagging: set[str] = set()
    expected = 0.0
    for c in dict.fromkeys(causal):
        if c not in pos.index:
            per_causal.append({"snp": c, "in_genotypes": False, "in_model": False, "n_tags": 0, "found": False})
            continue
        i = int(pos[c])
        tags = []
        for j in neighbours[c]:
            name = cand_name[j]
            r2 = 1.0 if j == i else _r2(geno[:, col[i]], geno[:, col[j]])
            if j == i or (not math.isnan(r2) and r2 >= min_r2):
                tags.append((name, r2))
        tagging.update(t for t, _ in tags)
        hits = sorted(((t, r2) for t, r2 in tags if t in top_set), key=lambda h: rank[h[0]])
        expected += _p_hit(n_cand, len(tags), k)
        per_causal.append({
            "snp": c,
            "chrom": str(chrom[i]),
            "in_genotypes": True,
            "in_model": c in cand_name.values(),
            "n_tags": len(tags),
            "found": bool(hits),
            "found_directly": c in top_set,
            "found_by": [{"snp": t, "rank": rank[t], "r2": round(r2, 4)} for t, r2 in hits],
        })
    n_found = sum(p["found"] for p in per_causal)
    tag_top = len(tagging & top_set)
    expected_tag = k * len(tagging) / n_cand if n_cand else 0.0
    p_value = float(hypergeom.sf(tag_top - 1, n_cand, len(tagging), k)) if n_cand and k else math.nan
    return {
        "n_causal": len(per_causal),
        "n_causal_in_genotypes": len(causal_in),
        "n_causal_in_model": sum(bool(p.get("in_model")) for p in per_causal),
        "n_causal_reachable": sum(p["n_tags"] > 0 for p in per_causal),
        "top_k": k,
        "n_candidates": n_cand,
        "found": int(n_found),
        "found_directly": int(sum(bool(p.get("found_directly")) for p in per_causal)),
        "expected_random": round(expected, 3),
        "tagging_candidates": len(tagging),
        "tagging_in_top_k": tag_top,
        "tagging_expected_random": round(expected_tag, 3),
        "tagging_p_value": p_value,
        "proxy_rule": (f"a top-k SNP is the causal SNP, or on the same chromosome within {window} variants "
                       f"(.bim order) with r2 >= {min_r2:g} on {len(sample_idx)} training samples"),
        "random_rule": (f"expected causal SNPs found by {k} SNPs drawn at random from the model's {n_cand} SNPs: "
                        "sum over causal SNPs of 1 - C(N - tags, k) / C(N, k)"),
        "causal": per_causal,
    }


# ----------------------------------------------------------------------------- plots
def _grid(m: int, max_cols: int = 3) -> tuple[int, int]:
    """Rows and columns of panels for m outputs (classes)."""
    ncol = min(m, max_cols)
    return int(math.ceil(m / ncol)), ncol


def _top_order(imp: np.ndarray, n: int) -> np.ndarray:
    return np.argsort(-imp, kind="mergesort")[:n]


def _swarm_offsets(v: np.ndarray, width: float = 0.4, nbins: int = 80) -> np.ndarray:
    """Vertical offsets that spread points with similar values (a simple beeswarm)."""
    if v.size == 0:
        return v
    lo, hi = float(v.min()), float(v.max())
    bins = np.zeros(v.size, dtype=np.int64) if hi <= lo else np.minimum(((v - lo) / (hi - lo) * nbins).astype(int),
                                                                          nbins - 1)
    off = np.zeros(v.size)
    counts = np.bincount(bins, minlength=nbins)
    peak = max(int(counts.max()), 1)
    seen = np.zeros(nbins, dtype=np.int64)
    for i in np.argsort(v, kind="mergesort"):
        k = seen[bins[i]]
        seen[bins[i]] += 1
        off[i] = (k + 1) // 2 * (1 if k % 2 else -1)
    return off * (width / max(peak / 2, 1))


def plot_beeswarm(exp: Explanation, X: np.ndarray, path: str | Path, *, n_display: int = 20) -> Path:
    """SHAP summary (beeswarm) plot, one panel per output: one dot per explained row and top
    feature, coloured by the feature's value (5th-95th percentile scale). Dots carry no ids."""
    from matplotlib import colormaps

    from .plots import _figure

    m = exp.values.shape[2]
    imp = exp.importance()
    n_show = min(n_display, exp.values.shape[1])
    nrow, ncol = _grid(m)
    fig = _figure(5.5 * ncol, (1.2 + 0.32 * n_show) * nrow)
    fig.set_layout_engine("constrained")
    cmap = colormaps["coolwarm"]
    Xr = np.asarray(X, dtype=np.float64)
    for k in range(m):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        order = _top_order(imp[:, k], n_show)
        for row, j in enumerate(order):
            yv = n_show - 1 - row
            v = exp.values[:, j, k]
            x = Xr[:, j]
            lo, hi = np.nanpercentile(x, [5, 95]) if x.size else (0.0, 1.0)
            if hi <= lo:
                lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
            c = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.full(x.size, 0.5)
            ax.scatter(v, yv + _swarm_offsets(v), c=cmap(c), s=7, linewidths=0, rasterized=True)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(range(n_show), [exp.feature_names[j] for j in order][::-1], fontsize=7)
        ax.set_ylim(-0.8, n_show - 0.2)
        ax.set_xlabel(f"SHAP value ({exp.output_space if m == 1 else exp.output_names[k]})", fontsize=8)
        if m > 1:
            ax.set_title(exp.output_names[k], fontsize=9)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    sm = ScalarMappable(norm=Normalize(0, 1), cmap=cmap)
    cb = fig.colorbar(sm, ax=fig.axes, fraction=0.03, pad=0.02, ticks=[0, 1])
    cb.ax.set_yticklabels(["low", "high"], fontsize=7)
    cb.set_label("feature value", fontsize=8)
    fig.suptitle(f"SHAP summary ({exp.values.shape[0]} explained samples)", fontsize=10)
    path = Path(path)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    fig.clear()
    return path


def plot_bar(exp: Explanation, sources: Sequence[str], path: str | Path, *, n_display: int = 20) -> Path:
    """Mean |SHAP| of the top features, one panel per output (class); SNPs blue, others orange."""
    from .plots import _figure, _save

    m = exp.values.shape[2]
    imp = exp.importance()
    n_show = min(n_display, imp.shape[0])
    nrow, ncol = _grid(m)
    fig = _figure(4.8 * ncol, (1.2 + 0.3 * n_show) * nrow)
    for k in range(m):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        order = _top_order(imp[:, k], n_show)[::-1]
        colours = ["tab:blue" if sources[j] == "snp" else "tab:orange" for j in order]
        ax.barh(range(n_show), imp[order, k], color=colours)
        ax.set_yticks(range(n_show), [exp.feature_names[j] for j in order], fontsize=7)
        ax.set_xlabel("mean |SHAP value|", fontsize=8)
        ax.set_title(exp.output_names[k] if m > 1 else f"{exp.output_space}", fontsize=9)
    fig.suptitle("Feature importance (blue: SNP, orange: covariate/omics)", fontsize=10)
    return _save(fig, path)


def plot_dependence(exp: Explanation, genotypes: np.ndarray, other: np.ndarray, recipe: Mapping[str, Any],
                    path: str | Path, *, n_features: int = 4) -> Path:
    """SHAP dependence of the top features, drawn from aggregates only: per genotype (0/1/2 copies
    of the counted allele, and missing) a box plot of SHAP values with its count; for a
    covariate, the median and quartiles of SHAP values per decile of its value. Groups of fewer
    than 5 samples are not drawn."""
    from .plots import _figure, _save

    feats = recipe["features"]
    n_snps = int(recipe["n_snps"])
    imp = exp.importance()
    overall = imp.mean(axis=1)
    order = _top_order(overall, min(n_features, len(overall)))
    ncol = min(2, len(order))
    nrow = int(math.ceil(len(order) / max(ncol, 1)))
    fig = _figure(4.2 * max(ncol, 1), 3.3 * max(nrow, 1))
    for i, j in enumerate(order):
        ax = fig.add_subplot(nrow, max(ncol, 1), i + 1)
        k = int(np.argmax(imp[j]))
        v = exp.values[:, j, k]
        f = feats[j]
        if j < n_snps:
            g = genotypes[:, j]
            groups = [(lab, g == val) for lab, val in (("0", 0), ("1", 1), ("2", 2), ("missing", -1))]
            groups = [(lab, mask) for lab, mask in groups if mask.any()]
            # small cells are not drawn: a box of 1-4 people shows their individual values
            shown = [(lab, mask) for lab, mask in groups if mask.sum() >= _MIN_CELL]
            if shown:
                ax.boxplot([v[mask] for _, mask in shown], showfliers=False)
            ax.set_xticks(range(1, len(shown) + 1), [f"{lab}\nn={int(mask.sum())}" for lab, mask in shown],
                          fontsize=7)
            hidden = [f"{lab} (n<{_MIN_CELL})" for lab, mask in groups if mask.sum() < _MIN_CELL]
            if hidden:
                ax.text(0.99, 0.02, "not shown: " + ", ".join(hidden), transform=ax.transAxes, ha="right",
                        va="bottom", fontsize=6, color="0.4")
            ax.set_xlabel(f"copies of {f.get('counted', '?')}", fontsize=8)
        else:
            x = other[:, j - n_snps].astype(np.float64)
            ok = ~np.isnan(x)
            edges = np.unique(np.nanquantile(x[ok], np.linspace(0, 1, 11))) if ok.any() else np.array([0.0])
            which = np.clip(np.searchsorted(edges, x[ok], side="right") - 1, 0, max(len(edges) - 2, 0))
            mids, med, q1, q3, cnt = [], [], [], [], []
            for b in np.unique(which):
                sel = v[ok][which == b]
                if sel.size < _MIN_CELL:
                    continue
                mids.append(float(np.median(x[ok][which == b])))
                med.append(np.median(sel))
                q1.append(np.quantile(sel, 0.25))
                q3.append(np.quantile(sel, 0.75))
                cnt.append(sel.size)
            ax.fill_between(mids, q1, q3, alpha=0.3, color="tab:orange")
            ax.plot(mids, med, "o-", color="tab:orange", ms=3)
            ax.set_xlabel(f"{f['name']} (decile medians; n per decile {min(cnt) if cnt else 0}-{max(cnt) if cnt else 0})",
                          fontsize=8)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_ylabel("SHAP value" + (f" ({exp.output_names[k]})" if exp.values.shape[2] > 1 else ""), fontsize=8)
        ax.set_title(f"{i + 1}. {f['name']}", fontsize=9)
    return _save(fig, path)


# ----------------------------------------------------------------------------- the workflow step
def _sample(rng: np.random.Generator, idx: np.ndarray, n: int | None, *, sort: bool) -> np.ndarray:
    if n is not None and len(idx) > n:
        idx = rng.choice(idx, n, replace=False)
    elif not sort:
        idx = rng.permutation(idx)
    return np.sort(idx) if sort else idx


def _background_text(exp: Explanation, n_sampled: int, fold: str) -> str:
    if exp.method == "tree":
        return "the trees' own training cover (path-dependent TreeSHAP; no background sample needed)"
    used = int(exp.details.get("background_rows", n_sampled))
    return f"{used} training samples of {fold} (seeded random sample)"


def explain_final_model(
    leaderboard: pd.DataFrame,
    model_paths: Mapping[str, Mapping[str, str | Path]],
    stores: Mapping[str, str | Path],
    *,
    options: ExplainOptions,
    task: str,
    class_names: Sequence[str] | None,
    seed: int,
    out: Mapping[str, str | Path],
    threads: int = 1,
    truth: str | Path | None = None,
    bfile: str | None = None,
    phenotype: str | None = None,
    ld: Mapping[str, Any] | None = None,
    engine: str = "lut",
) -> dict[str, Any]:
    """Explain the leaderboard's top model (fold0's with k folds) and write every output.

    Args:
        leaderboard: ``results/leaderboard.tsv``.
        model_paths: learner -> fold -> model file.
        stores: fold -> feature store directory.
        options: :class:`ExplainOptions`.
        task: the task.
        class_names: class names (classification).
        seed: the config seed.
        out: output key (see :data:`EXPLAIN_FILES`) -> path.
        threads: CPU threads (torch).
        truth: optional simulate ``truth.json`` for :func:`truth_recovery`.
        bfile: PLINK prefix (needed with ``truth``).
        phenotype: phenotype column (picks the trait in ``truth``).
        ld: the ``ld_prune`` config (window, r2) for the proxy rule.
        engine: .bed decoder.

    Returns:
        The summary written to ``out["summary"]``.
    """
    t0 = time.perf_counter()
    best = leaderboard.iloc[0]
    learner, trial = str(best["learner"]), int(best["best_trial"])
    folds = list(model_paths[learner])
    fold = folds[0]
    est, meta = persist.load_model(model_paths[learner][fold])
    store = FeatureStore(stores[fold])
    train = store.index("train")
    pool = store.index(options.explain_set)
    if len(pool) == 0:
        raise InputError(f"{stores[fold]}: no {options.explain_set} samples to explain; set explain.explain_set")
    bg_idx = _sample(np.random.default_rng([seed, _S_BACKGROUND]), train, options.n_background, sort=False)
    ex_idx = _sample(np.random.default_rng([seed, _S_EXPLAIN]), pool, options.n_explain, sort=True)
    background, X = store.rows(bg_idx), store.rows(ex_idx)
    t_load = time.perf_counter()
    exp = explain_model(est, background, X, task=task, class_names=class_names, feature_names=store.feature_names,
                        options=options, seed=seed, threads=threads)
    t_explain = time.perf_counter()
    rows = ex_idx[exp.rows]
    train_ids = store.samples.iloc[train][["FID", "IID"]]
    summary = _write_explanation(
        exp, recipe=store.recipe, X=X[exp.rows], ids=store.samples.iloc[rows][["FID", "IID"]],
        genotypes=np.asarray(store.genotypes[rows]), other=store.other[rows], train_ids=train_ids, options=options,
        out=out, truth=truth, bfile=bfile, phenotype=phenotype, ld=ld, engine=engine)
    summary.update({
        "learner": learner,
        "best_trial": trial,
        "fold": fold,
        "n_folds": len(folds),
        "model_class": meta.get("learner_class", type(est).__name__),
        "n_available": int(len(pool)),
        "n_background": int(len(bg_idx)),
        "background": _background_text(exp, len(bg_idx), fold),
        "notes": exp.notes + ([f"k-fold run: the model of {fold} is explained (of {len(folds)} fold models)"]
                              if len(folds) > 1 else []),
    })
    summary["seconds"] = {"load": round(t_load - t0, 3), "explain": round(t_explain - t_load, 3),
                          **summary["seconds"], "total": round(time.perf_counter() - t0, 3)}
    io.write_json(summary, out["summary"])
    return summary


def _write_explanation(
    exp: Explanation,
    *,
    recipe: Mapping[str, Any],
    X: np.ndarray,
    ids: pd.DataFrame,
    genotypes: np.ndarray,
    other: np.ndarray,
    train_ids: pd.DataFrame,
    options: ExplainOptions,
    out: Mapping[str, str | Path],
    truth: str | Path | None,
    bfile: str | None,
    phenotype: str | None,
    ld: Mapping[str, Any] | None,
    engine: str,
) -> dict[str, Any]:
    """Importance table, top SNPs, truth recovery, per-person values and plots of one explanation
    (rows ``ids``, features ``recipe["features"]``, SNPs first); returns the summary's common part
    (the caller adds what model was explained, then writes it)."""
    t0 = time.perf_counter()
    importance = importance_table(exp, recipe, X)
    top = top_snps(importance, options.top_k)

    truth_result = None
    if truth is not None:
        if bfile is None or ld is None:
            raise ConfigError("explain: a truth file needs the genotypes (bfile) and the ld_prune settings")
        causal, source = causal_snps_from_truth(io.read_json(truth), phenotype)
        fam = io.read_fam(bfile)
        fam_pos = pd.Series(np.arange(len(fam)), index=fam.FID.astype(str) + "\t" + fam.IID.astype(str))
        sample_idx = fam_pos.loc[train_ids.FID.astype(str) + "\t" + train_ids.IID.astype(str)].to_numpy()
        snp_ids = [f["id"] for f in recipe["features"] if f["source"] == "snp"]
        min_r2 = float(options.truth_min_r2 if options.truth_min_r2 is not None else ld["r2"])
        truth_result = truth_recovery(snp_ids, top, causal, bfile=bfile, sample_idx=sample_idx,
                                      window=int(ld["window"]), min_r2=min_r2, engine=engine)
        truth_result["truth_file"] = str(truth)
        truth_result["causal_source"] = source
        log.info("truth: %d of %d causal SNPs found by the top %d SNPs (random ranking: %.2f expected)",
                 truth_result["found"], truth_result["n_causal"], len(top), truth_result["expected_random"])
    t_truth = time.perf_counter()

    # SHAP values, one row per explained sample (and output); features whose values are all zero
    # (unused by every model) are left out: the importance table lists them with 0
    ids = ids.reset_index(drop=True)
    used = np.flatnonzero(np.any(exp.values != 0, axis=(0, 2)))
    frames = []
    for k, name in enumerate(exp.output_names):
        df = ids.copy()
        df.insert(2, "output", name)
        df["base_value"] = exp.base_values[:, k]
        df["model_output"] = exp.outputs[:, k]
        frames.append(pd.concat([df, pd.DataFrame(exp.values[:, used, k],
                                                  columns=[exp.feature_names[j] for j in used])], axis=1))
    io.write_tsv(pd.concat(frames, ignore_index=True), out["values"], float_format="%.6g",
                 compression={"method": "gzip", "compresslevel": 1})
    io.write_tsv(importance, out["importance"], float_format="%.6g")
    with io.atomic_path(out["top_snps"]) as tmp:
        tmp.write_text("".join(f"{s}\n" for s in top))
    sources = [f["source"] for f in recipe["features"]]
    plot_beeswarm(exp, X, out["beeswarm"], n_display=options.n_display)
    plot_bar(exp, sources, out["bar"], n_display=options.n_display)
    plot_dependence(exp, genotypes, other, recipe, out["dependence"], n_features=options.n_dependence)
    t_plots = time.perf_counter()

    import shap

    shown = importance.head(options.n_display)
    return {
        "method": exp.method,
        "explainer": exp.explainer,
        "requested_method": options.method,
        "output_space": exp.output_space,
        "outputs": exp.output_names,
        "explain_set": options.explain_set,
        "n_explained": int(len(ids)),
        "details": exp.details,
        "base_value": [float(b) for b in exp.base_values.mean(axis=0)],
        "additivity": {
            "max_abs_error": exp.additivity_error(),
            "mean_abs_output_minus_base": float(np.mean(np.abs(exp.outputs - exp.base_values))),
            "exact_by_construction": exp.exact,
        },
        "n_features": int(exp.values.shape[1]),
        "n_snp_features": int(recipe["n_snps"]),
        "n_nonzero": int((importance.mean_abs_shap > 0).sum()),
        "n_features_in_values_file": int(len(used)),
        "top_k": options.top_k,
        "top_snps": top,
        "top_features": io.to_plain(
            shown[["rank", "feature", "source", "mean_abs_shap"]
                  + (["direction"] if "direction" in shown else [])].to_dict("records")
        ),
        "truth": truth_result,
        "options": asdict(options),
        "seconds": {
            "truth": round(t_truth - t0, 3),
            "write_and_plots": round(t_plots - t_truth, 3),
        },
        "shap_version": shap.__version__,
        "files": {k: str(v) for k, v in out.items()},
    }


@dataclass(frozen=True)
class StackMember:
    """One member of a stacked final model, as explained: its fold0 model and feature store."""

    learner: str
    trial: int
    weight: float
    model: Path
    store: Path
    n_folds: int = 1


def _union_features(stores: Sequence[FeatureStore]) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The members' features without repeats, SNPs first: (recipe features, (store, column) of each)."""
    seen: dict[str, tuple[int, int]] = {}
    feats: dict[str, dict[str, Any]] = {}
    for k, st in enumerate(stores):
        for j, f in enumerate(st.recipe["features"]):
            if f["name"] not in seen:
                seen[f["name"]] = (k, j)
                feats[f["name"]] = dict(f)
    names = [n for n in feats if feats[n]["source"] == "snp"] + [n for n in feats if feats[n]["source"] != "snp"]
    return [feats[n] for n in names], [seen[n] for n in names]


def explain_final_stack(
    members: Sequence[StackMember],
    *,
    options: ExplainOptions,
    task: str,
    class_names: Sequence[str] | None,
    seed: int,
    out: Mapping[str, str | Path],
    calibrator: str = "none",
    threads: int = 1,
    truth: str | Path | None = None,
    bfile: str | None = None,
    phenotype: str | None = None,
    ld: Mapping[str, Any] | None = None,
    engine: str = "lut",
) -> dict[str, Any]:
    """Explain a stacked final model (the weighted mean of its members' scores) and write every output.

    How: the stack's output is ``S(x) = sum_m w_m s_m(x)`` with ``s_m`` member m's score (P(case),
    class probabilities or the trait value) and weights summing to 1. SHAP values are linear in
    the model, so ``phi_j(S) = sum_m w_m phi_j(s_m)``: each member is explained in score space by
    ``explain_model(score_space=True)`` on the same people (the same seeded background of training
    rows, the same explained rows), on its own features, and the weighted values are added on the
    union of the members' features (a feature a member does not use contributes 0 for it). They
    add up to ``S(x) - E[S]`` over the background (exactly, but for a net's expected gradients).
    The calibrator, a monotone map applied to ``S`` after, is not explained: it changes the
    scale, not the order of people or the ranking of features. With k folds, the fold0 model of
    each member is explained.
    """
    t0 = time.perf_counter()
    if not members:
        raise InputError("explain: the final model has no members")
    order = sorted(range(len(members)), key=lambda k: -members[k].weight)
    members = [members[k] for k in order]
    stores = [FeatureStore(m.store) for m in members]
    main = stores[0]
    train = main.index("train")
    pool = main.index(options.explain_set)
    if len(pool) == 0:
        raise InputError(f"{members[0].store}: no {options.explain_set} samples to explain; set explain.explain_set")
    bg_idx = _sample(np.random.default_rng([seed, _S_BACKGROUND]), train, options.n_background, sort=False)
    ex_idx = _sample(np.random.default_rng([seed, _S_EXPLAIN]), pool, options.n_explain, sort=True)

    def key(df: pd.DataFrame) -> pd.Index:
        return pd.Index(df.FID.astype(str) + "\t" + df.IID.astype(str))

    main_keys = key(main.samples)
    bg_keys, ex_keys = main_keys[bg_idx], main_keys[ex_idx]
    positions = []
    for m, st in zip(members, stores):
        pos = pd.Series(np.arange(len(st.samples)), index=key(st.samples))
        missing = bg_keys.difference(pos.index).union(ex_keys.difference(pos.index))
        if len(missing):
            raise InputError(f"{m.store}: {len(missing)} people of {members[0].store} are missing "
                             f"(e.g. {missing[0]!r}); rerun the munge rules of this fold")
        positions.append((pos.loc[bg_keys].to_numpy(), pos.loc[ex_keys].to_numpy()))
    t_load = time.perf_counter()

    # members whose explainer may keep only some rows (the budgeted permutation explainer) go last,
    # on the rows the others explained
    details = []
    keep = np.arange(len(ex_idx))
    fitted = [persist.load_model(m.model) for m in members]
    by_cost = sorted(range(len(members)), key=lambda k: model_family(fitted[k][0]) == "other")
    explained: dict[int, Explanation] = {}
    for k in by_cost:
        m, st, (bg_pos, ex_pos) = members[k], stores[k], positions[k]
        est, meta = fitted[k]
        exp = explain_model(est, st.rows(bg_pos), st.rows(ex_pos[keep]), task=task, score_space=True,
                            class_names=class_names, feature_names=st.feature_names, options=options, seed=seed,
                            threads=threads)
        if len(exp.rows) < len(keep):
            for j in explained:  # rows are independent in every other explainer: keep the same ones
                e = explained[j]
                explained[j] = Explanation(e.values[exp.rows], e.base_values[exp.rows], e.outputs[exp.rows],
                                           e.output_names, e.output_space, e.method, e.explainer, e.feature_names,
                                           np.arange(len(exp.rows)), e.exact, e.details, e.notes)
            keep = keep[exp.rows]
            exp.rows = np.arange(len(keep))
        explained[k] = exp
        details.append({"learner": m.learner, "trial": m.trial, "weight": m.weight,
                        "model_class": meta.get("learner_class", type(est).__name__), "explainer": exp.explainer,
                        "output_space": exp.output_space, "n_features": int(exp.values.shape[1]),
                        "additivity_error": exp.additivity_error(), "seconds": exp.details.get("seconds"),
                        "details": {k2: v for k2, v in exp.details.items() if k2 != "seconds"},
                        "notes": exp.notes})
        log.info("member %s (weight %.3g): %s, %d features, %.1f s", m.learner, m.weight, exp.explainer,
                 exp.values.shape[1], exp.details.get("seconds", 0.0))
    parts = [(members[k].weight, explained[k]) for k in range(len(members))]
    t_explain = time.perf_counter()

    feats, where = _union_features(stores)
    names = [f["name"] for f in feats]
    space = parts[0][1].output_space
    exp = combine_explanations(parts, names, output_space=f"{space}: weighted mean of the members' scores"
                               + (f", before the {calibrator} calibrator" if calibrator != "none" else ""))
    exp.rows = keep
    # the union's feature values, genotypes and other columns, each from the first store that has it
    rows_by_store = [positions[k][1][keep] for k in range(len(members))]
    X = np.empty((len(keep), len(feats)), dtype=np.float32)
    n_snps = sum(f["source"] == "snp" for f in feats)
    genotypes = np.empty((len(keep), n_snps), dtype=np.int8)
    other = np.empty((len(keep), len(feats) - n_snps), dtype=np.float64)
    scaled = [st.rows(r) for st, r in zip(stores, rows_by_store)]
    geno = [np.asarray(st.genotypes[r]) for st, r in zip(stores, rows_by_store)]
    oth = [st.other[r] for st, r in zip(stores, rows_by_store)]
    for j, (k, col) in enumerate(where):
        X[:, j] = scaled[k][:, col]
        n_k = int(stores[k].recipe["n_snps"])
        if j < n_snps:
            genotypes[:, j] = geno[k][:, col]
        else:
            other[:, j - n_snps] = oth[k][:, col - n_k]
    recipe = {"features": feats, "n_snps": n_snps}
    train_ids = main.samples.iloc[train][["FID", "IID"]]
    summary = _write_explanation(
        exp, recipe=recipe, X=X, ids=main.samples.iloc[ex_idx[keep]][["FID", "IID"]], genotypes=genotypes,
        other=other, train_ids=train_ids, options=options, out=out, truth=truth, bfile=bfile, phenotype=phenotype,
        ld=ld, engine=engine)
    n_folds = max(m.n_folds for m in members)
    notes = [f"stacked final model: SHAP values of the weighted mean of {len(members)} members' scores, "
             "each member explained in score space and weighted by its stack weight"]
    if calibrator != "none":
        notes.append(f"the {calibrator} calibrator (monotone, applied after the stack) is not explained")
    if n_folds > 1:
        notes.append(f"k-fold run: each member's fold0 model is explained (of {n_folds} fold models)")
    notes += [f"{d['learner']}: {n}" for d in details for n in d["notes"]]
    summary.update({
        "learner": "stack(" + "+".join(m.learner for m in members) + ")",
        "best_trial": None,
        "members": details,
        "fold": Path(members[0].store).name,  # fold0, or "full" (the refits)
        "n_folds": n_folds,
        "model_class": "stack",
        "n_available": int(len(pool)),
        "n_background": int(len(bg_idx)),
        "background": f"{len(bg_idx)} training samples of fold0 (seeded random sample), the same for every member "
                      "(random forests: their trees' training cover)",
        "notes": notes,
    })
    summary["seconds"] = {"load": round(t_load - t0, 3), "explain": round(t_explain - t_load, 3),
                          **summary["seconds"], "total": round(time.perf_counter() - t0, 3)}
    io.write_json(summary, out["summary"])
    return summary
