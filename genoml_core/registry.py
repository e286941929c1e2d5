"""The learner registry: every learner, classical or net, declared once.

A :class:`Learner` holds everything the workflow needs to know about one learner: its tasks, its
kind (how it is fitted and which Snakemake rule trains it), the feature set it reads, its builder,
its default search space, its memory estimate, its explainer, whether it is in the default set and
whether it tunes itself. Everything else is a view of :data:`REGISTRY`:
:data:`genoml_core.learners.LEARNERS`, :data:`genoml_core.search.DEFAULT_SPACES`,
:data:`genoml_core.memory.FIT_BYTES_PER_VALUE`, ``genoml_core.config.NET_LEARNERS`` /
``STREAMING_LEARNERS`` / ``SELF_TUNING_LEARNERS`` and ``genoml_core.estimators.NET_ARCHS`` /
``SEARCHED_ARCHS``; :func:`genoml_core.config.learner_space`,
:func:`~genoml_core.config.learner_n_trials`, :func:`~genoml_core.config.resolve_learners`,
:func:`genoml_core.memory.estimate_fit_bytes` and the Snakefile (``workflow/rules/common.smk``)
ask this module.

This module is plain data: it imports nothing heavier than :mod:`genoml_core.net_spaces` (no
NumPy, scikit-learn or torch), so the Snakefile can read it while parsing. Builders are
``"module:function"`` references, imported only when a model is built (:func:`builder`).

Adding a learner is one declaration in :data:`REGISTRY` below: a :class:`Learner` naming its
builder (an existing function, or one written next to the declaration with its imports inside), a
search space in the format of :mod:`genoml_core.search`, and the measured bytes per training value
(``bench/bench_fit_memory.py``) for an in-memory classical learner. A classical builder is
``build(task, random_state, n_jobs, class_weight_or_None) -> unfitted base estimator`` (see
:func:`genoml_core.learners.make_learner`); its model must be one that
:mod:`genoml_core.persist` saves.

Example:
    >>> explainer("xgboost"), kind("logistic_l1_sgd"), feature_set("penalized_glm")
    ('tree', 'streaming', 'genome')
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import net_spaces
from .errors import ConfigError

__all__ = [
    "TASKS",
    "KINDS",
    "CLASSICAL_KINDS",
    "NET_KINDS",
    "FEATURE_SETS",
    "EXPLAINERS",
    "Learner",
    "REGISTRY",
    "RegistryView",
    "get",
    "learner",
    "names",
    "available",
    "kind",
    "is_net",
    "is_streaming",
    "streams",
    "feature_set",
    "default_space",
    "fixed_trials",
    "fit_bytes_per_value",
    "memory_extra_bytes",
    "explainer",
    "resolve",
    "builder",
    "wrapper",
    "out_of_core_hint",
]

#: The three phenotype tasks (one definition: metrics and training import it from here).
TASKS = ("binary", "multiclass", "continuous")
#: ``classical``: fitted in memory on a float copy of the rows (rule train_classical);
#: ``streaming``: fitted out of core by SGD over batches of the int8 store (train_classical);
#: ``net``: a PyTorch network, streamed batches (train_net); ``searched_net``: a network whose
#: wiring comes from the architecture search (genoml_core.nas; rules nas_search + train_rrfcn).
KINDS = ("classical", "streaming", "net", "searched_net")
#: Kinds built by :func:`genoml_core.learners.make_learner` (scikit-learn style).
CLASSICAL_KINDS = ("classical", "streaming")
#: Kinds built by :func:`genoml_core.estimators.make_net` (PyTorch).
NET_KINDS = ("net", "searched_net")
#: ``compact``: the fold's LD-pruned, association-filtered SNPs + covariates; ``genome``: every SNP
#: that passed the fold's variant QC + covariates, read as int8 by the learner itself.
FEATURE_SETS = ("compact", "genome")
#: How the final model is explained (the names of :mod:`genoml_core.explain`'s methods):
#: ``linear`` (exact, from the coefficients), ``tree`` (TreeSHAP), ``gradient`` (the nets) or
#: ``permutation`` (model-agnostic).
EXPLAINERS = ("linear", "tree", "permutation", "gradient")

#: A search space: parameter name -> spec (see :mod:`genoml_core.search`).
Space = dict[str, dict[str, Any]]
#: A space computed by code (the nets' from :mod:`genoml_core.net_spaces`), or from the validated
#: config (rrfcn's retrain settings; called with None when there is no config).
SpaceHook = Callable[[Mapping[str, Any] | None], Space]
#: Trials from the validated config (rrfcn: ``nas.top_k``).
TrialsHook = Callable[[Mapping[str, Any]], int]
#: Bytes beyond ``bytes per value x rows x features``: ``(n_rows, n_features, params) -> bytes``.
MemoryHook = Callable[[int, int, Mapping[str, Any]], float]
#: A builder: ``"module:function"`` (imported when first used) or the function itself.
Ref = str | Callable[..., Any]

_MB = 2**20


@dataclass(frozen=True, eq=False, kw_only=True)
class Learner:
    """One learner, declared once.

    Attributes:
        name: Registry name (``train.learners``, file paths, wildcards): ``[a-z][a-z0-9_]*``.
        tasks: Tasks it supports (a subset of :data:`TASKS`).
        kind: One of :data:`KINDS`.
        feature_set: One of :data:`FEATURE_SETS`.
        builder: ``"module:function"`` or a function. Classical kinds:
            ``build(task, random_state, n_jobs, class_weight_or_None) -> base estimator`` (unfitted,
            with this learner's defaults; ``params`` are set on it afterwards). Nets:
            :func:`genoml_core.estimators.make_net`.
        space: The default search space (a dict), or a hook ``space(cfg) -> dict`` computing it
            (``cfg``: the validated config, or None outside a run). ``train.search_spaces.<name>``
            replaces it.
        fit_bytes_per_value: Peak bytes per training value (rows x features) of an in-memory
            fit, measured (``bench/bench_fit_memory.py``, BENCHMARKS.md) and rounded up; ``None``
            for learners that do not hold the rows as floats (streaming, nets, genome-wide).
        explainer: One of :data:`EXPLAINERS`: how its final model is explained.
        default: Trained when ``train.learners`` is null.
        self_tuning: Tuned by its own inner cross-validation: one trial.
        description: One line for listings.
        wrap: Classical kinds: optional ``wrap(base, task, random_state, n_jobs) -> estimator``
            applied after ``params`` are set on the base estimator.
        fixed: Classical kinds: base-estimator params that define the learner and cannot be set.
        memory_extra: Optional ``(n_rows, n_features, params) -> bytes`` added to the in-memory
            estimate (a covariance matrix, a kernel cache, tree nodes).
        n_trials: Optional ``n_trials(cfg) -> int``: trials fixed by the config (rrfcn: one
            retrain per architecture of the search, ``nas.top_k``).
    """

    name: str
    tasks: frozenset[str]
    kind: str
    feature_set: str
    builder: Ref
    space: Space | SpaceHook
    fit_bytes_per_value: float | None
    explainer: str
    default: bool
    self_tuning: bool
    description: str
    wrap: Ref | None = None
    fixed: frozenset[str] = field(default_factory=frozenset)
    memory_extra: MemoryHook | None = None
    n_trials: TrialsHook | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", frozenset(self.tasks))
        object.__setattr__(self, "fixed", frozenset(self.fixed))
        where = f"learner {self.name!r}"
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ConfigError(f"{where}: a name is lower-case letters, digits and _, starting with a letter")
        if not self.tasks or not self.tasks <= set(TASKS):
            raise ConfigError(f"{where}: tasks must be a non-empty subset of {list(TASKS)}, got {sorted(self.tasks)}")
        for attr, allowed in (("kind", KINDS), ("feature_set", FEATURE_SETS), ("explainer", EXPLAINERS)):
            if getattr(self, attr) not in allowed:
                raise ConfigError(f"{where}: {attr} must be one of {list(allowed)}, got {getattr(self, attr)!r}")
        if not (isinstance(self.builder, str) and ":" in self.builder) and not callable(self.builder):
            raise ConfigError(f"{where}: builder must be 'module:function' or a function, got {self.builder!r}")
        if not isinstance(self.space, Mapping) and not callable(self.space):
            raise ConfigError(f"{where}: space must be a dict or a function of the config")
        in_memory = self.kind == "classical" and self.feature_set == "compact"
        if in_memory != (self.fit_bytes_per_value is not None):
            raise ConfigError(
                f"{where}: fit_bytes_per_value is the measured peak of an in-memory fit on the compact set: "
                + ("give it (bench/bench_fit_memory.py)" if in_memory else "None for a learner that streams")
            )
        if self.fit_bytes_per_value is not None and not self.fit_bytes_per_value > 0:
            raise ConfigError(f"{where}: fit_bytes_per_value must be > 0, got {self.fit_bytes_per_value!r}")
        if not isinstance(self.default, bool) or not isinstance(self.self_tuning, bool):
            raise ConfigError(f"{where}: default and self_tuning are true or false")
        if not self.description:
            raise ConfigError(f"{where}: give a one-line description")


# ----------------------------------------------------------------------------- search spaces
def _f(low: float, high: float, *, log: bool = False, default: float | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "float", "low": low, "high": high, "log": log}
    if default is not None:
        spec["default"] = default
    return spec


def _i(low: int, high: int, *, log: bool = False, default: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "int", "low": low, "high": high, "log": log}
    if default is not None:
        spec["default"] = default
    return spec


def _c(values: list[Any], *, default: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "categorical", "values": values}
    if default is not None:
        spec["default"] = default
    return spec


def _forest() -> Space:
    return {
        "n_estimators": _i(200, 600, default=300),
        "max_features": _c(["sqrt", 0.05, 0.2], default="sqrt"),
        "min_samples_leaf": _i(1, 10, default=1),
    }


def _sgd_space(*, l1_ratio: bool = False) -> Space:
    # SGD over batches of the int8 store; eta0 is per 1,000 features
    space = {"alpha": _f(1e-5, 1e-1, log=True, default=1e-3)}
    if l1_ratio:
        space["l1_ratio"] = _f(0.0, 1.0, default=0.5)
    space["eta0"] = _f(1e-5, 1e-3, log=True, default=1e-4)
    return space


def _net_space(arch: str) -> SpaceHook:
    """The network's space from :data:`genoml_core.net_spaces.NET_SPACES`."""

    def space(cfg: Mapping[str, Any] | None) -> Space:
        return net_spaces.space_for(arch)

    space.__qualname__ = f"net_space[{arch}]"
    return space


def _retrain_space(cfg: Mapping[str, Any] | None) -> Space:
    """rrfcn: the architecture comes from results/nas/architectures.json; the space fixes the retrain
    settings (``nas.retrain``)."""
    if cfg is None:
        raise ConfigError("learner 'rrfcn': its search space is the config's nas.retrain; pass the config")
    retrain = cfg["nas"]["retrain"]
    return {k: {"type": "categorical", "values": [v], "default": v} for k, v in sorted(retrain.items())}


def _nas_top_k(cfg: Mapping[str, Any]) -> int:
    """rrfcn: trial t retrains architecture t of the search."""
    return int(cfg["nas"]["top_k"])


# ----------------------------------------------------------------------------- memory terms
def _covariance_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    return 3 * 8 * n_features * n_features  # covariance, its shrunk copy, the solve


def _kernel_cache_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    return 500 * _MB  # the builders' cache_size


def _tree_node_bytes(n_rows: int, n_features: int, params: Mapping[str, Any]) -> float:
    trees = int(params.get("n_estimators", 300))
    return trees * n_rows * 2 * 80  # at most ~2 nodes per row per tree, ~80 bytes a node


# ----------------------------------------------------------------------------- the registry
_CLF = frozenset({"binary", "multiclass"})
_REG = frozenset({"continuous"})
_ALL = _CLF | _REG
_L = "genoml_core.learners:"  # the classical builders
_NET = "genoml_core.estimators:make_net"

# fit_bytes_per_value: measured slope (bench/bench_fit_memory.py, BENCHMARKS.md), rounded up with
# ~2-4 B margin; the float32 rows from the store (4) plus each learner's own copies.
# The default set was chosen by measurement (bench/bench_quality.py, BENCHMARKS.md): penalized_glm
# beside logistic_l2 / ridge, random_forest and xgboost beat a cross-validated lasso on all SNPs and
# the former all-learner default, in a fifth of its time; the others train when listed.
_DECLARED = [
    # --- classifiers -----------------------------------------------------------------------
    Learner(
        name="logistic_l1", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_l1", fixed=frozenset({"penalty", "l1_ratio"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.1)},
        fit_bytes_per_value=40.0,  # 36.0 measured: liblinear (binary) float64 copy + 16-byte feature nodes
        explainer="linear", default=False, self_tuning=False,
        description="L1-penalized logistic regression (liblinear binary, saga multiclass)",
    ),
    Learner(
        name="logistic_l2", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_l2", fixed=frozenset({"penalty", "l1_ratio"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.01)},
        fit_bytes_per_value=8.0,  # 5.2: lbfgs takes the float32 rows as they are
        explainer="linear", default=True, self_tuning=False,
        description="L2-penalized logistic regression (lbfgs)",
    ),
    Learner(
        name="logistic_elasticnet", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_elasticnet", fixed=frozenset({"penalty"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.1), "l1_ratio": _f(0.1, 0.9, default=0.5)},
        fit_bytes_per_value=8.0,  # 5.2: saga, float32 as is
        explainer="linear", default=False, self_tuning=False,
        description="elastic-net logistic regression (saga)",
    ),
    Learner(
        name="random_forest", tasks=_ALL, kind="classical", feature_set="compact",
        builder=_L + "_random_forest", space=_forest(),
        fit_bytes_per_value=8.0, memory_extra=_tree_node_bytes,  # 5.3 (+ tree nodes)
        explainer="tree", default=True, self_tuning=False,
        description="random forest",
    ),
    Learner(
        name="extra_trees", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_extra_trees", space=_forest(),
        fit_bytes_per_value=8.0, memory_extra=_tree_node_bytes,  # 5.2 (+ tree nodes)
        explainer="tree", default=False, self_tuning=False,
        description="extremely randomized trees",
    ),
    Learner(
        name="xgboost", tasks=_ALL, kind="classical", feature_set="compact",
        builder=_L + "_xgboost",
        space={
            "n_estimators": _i(100, 600, default=300),
            "max_depth": _i(2, 6, default=3),
            "learning_rate": _f(0.01, 0.3, log=True, default=0.05),
            "subsample": _f(0.6, 1.0, default=0.8),
            "colsample_bytree": _f(0.3, 1.0, default=0.5),
            "min_child_weight": _i(1, 10, default=1),
            "reg_lambda": _f(0.1, 10.0, log=True, default=1.0),
        },
        fit_bytes_per_value=42.0,  # 38.8: the sklearn wrapper's DMatrix copies, quantile bins, validation rows
        explainer="tree", default=True, self_tuning=False,
        description="gradient-boosted trees (XGBoost, hist)",
    ),
    Learner(
        name="svm_linear", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_svm_linear", wrap=_L + "_calibrate",
        space={"C": _f(1e-4, 1.0, log=True, default=1e-2)},
        fit_bytes_per_value=36.0,  # 29.3: liblinear inside 3-fold calibration
        # exact for binary (Platt-scaled linear log-odds); explain falls back to permutation otherwise
        explainer="linear", default=False, self_tuning=False,
        description="linear SVM (liblinear) with Platt-scaled probabilities",
    ),
    Learner(
        name="svm_rbf", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_svm_rbf", wrap=_L + "_calibrate", fixed=frozenset({"kernel", "probability"}),
        space={"C": _f(1e-2, 100.0, log=True, default=1.0), "gamma": _c(["scale", 1e-4, 1e-3, 1e-2], default="scale")},
        fit_bytes_per_value=26.0, memory_extra=_kernel_cache_bytes,  # 22.4 (+ kernel cache)
        explainer="permutation", default=False, self_tuning=False,
        description="RBF-kernel SVM with Platt-scaled probabilities",
    ),
    Learner(
        name="knn", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_knn",
        space={
            "n_neighbors": _i(5, 101, log=True, default=15),
            "weights": _c(["uniform", "distance"], default="uniform"),
        },
        fit_bytes_per_value=8.0,  # 5.3: the model keeps the float32 rows
        explainer="permutation", default=False, self_tuning=False,
        description="k-nearest neighbours (no class weighting possible)",
    ),
    Learner(
        name="lda", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_lda", fixed=frozenset({"priors"}),
        space={"shrinkage": _c(["auto", 0.01, 0.1, 0.3, 0.6, 0.9], default="auto")},
        # (+ the p x p covariance; 148 B/value at 2,000 x 8,000 is that term)
        fit_bytes_per_value=16.0, memory_extra=_covariance_bytes,
        explainer="linear", default=False, self_tuning=False,
        description="shrinkage linear discriminant analysis (lsqr)",
    ),
    # --- regressors (random_forest and xgboost above serve both); penalties (alpha) assume the
    # standardized target that make_learner fits on ---------------------------------------------
    Learner(
        name="ridge", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_ridge", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-2, 1e5, log=True, default=100.0)},
        fit_bytes_per_value=12.0,  # 7.7
        explainer="linear", default=True, self_tuning=False,
        description="ridge regression",
    ),
    Learner(
        name="lasso", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_lasso", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-4, 1.0, log=True, default=1e-2)},
        fit_bytes_per_value=20.0,  # float64 Fortran-ordered copy + centred copy
        explainer="linear", default=False, self_tuning=False,
        description="lasso regression",
    ),
    Learner(
        name="elastic_net", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_elastic_net", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-4, 1.0, log=True, default=1e-2), "l1_ratio": _f(0.1, 0.9, default=0.5)},
        fit_bytes_per_value=20.0,
        explainer="linear", default=False, self_tuning=False,
        description="elastic-net regression",
    ),
    Learner(
        name="svr", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_svr", wrap=_L + "_standardize_target", fixed=frozenset({"kernel"}),
        space={
            "C": _f(1e-2, 100.0, log=True, default=1.0),
            "epsilon": _f(1e-2, 1.0, log=True, default=0.1),
            "gamma": _c(["scale", 1e-4, 1e-3, 1e-2], default="scale"),
        },
        fit_bytes_per_value=26.0, memory_extra=_kernel_cache_bytes,
        explainer="permutation", default=False, self_tuning=False,
        description="RBF-kernel support vector regression",
    ),
    Learner(
        name="svr_linear", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_svr_linear", wrap=_L + "_standardize_target",
        space={"C": _f(1e-4, 1.0, log=True, default=1e-2), "epsilon": _f(1e-3, 1.0, log=True, default=0.1)},
        fit_bytes_per_value=36.0,
        explainer="linear", default=False, self_tuning=False,
        description="linear support vector regression (liblinear)",
    ),
    # --- out of core (SGD over batches of the int8 store: memory independent of the samples) ---
    Learner(
        name="logistic_l1_sgd", tasks=_CLF, kind="streaming", feature_set="compact",
        builder=_L + "_logistic_l1_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="L1 logistic regression by SGD, out of core (batches from the int8 store)",
    ),
    Learner(
        name="logistic_l2_sgd", tasks=_CLF, kind="streaming", feature_set="compact",
        builder=_L + "_logistic_l2_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="L2 logistic regression by SGD, out of core (batches from the int8 store)",
    ),
    # --- genome-wide: every QC'd SNP, int8, read by the learner itself (genoml_core.genome_learner);
    # tuned by its own inner CV (alpha grid x lambda path, CMSA): one trial with these settings; its
    # model is written as a linear model on the recipe's scaled features
    Learner(
        name="penalized_glm", tasks=_ALL, kind="classical", feature_set="genome",
        builder=_L + "_penalized_glm", fixed=frozenset({"task", "n_threads"}),
        # alphas: the elastic-net mixing grid of the inner CV, comma-separated. Default "1", the lasso
        # (bigstatsr's default too): alpha 1 won all 13 inner-CV choices measured on the 4-value grid
        # (additive, sparse, epistatic cohorts) and gave the same held-out AUC for a quarter of the time
        # multiclass_model (several classes only): "auto" lets the inner CV choose between the grouped
        # multinomial and the ordinal (rank-1) model by out-of-fold deviance
        space={"n_inner_folds": _c([5], default=5), "lambda_choice": _c(["fold", "common"], default="fold"),
               "alphas": _c(["1", "1,0.5", "1,0.5,0.1", "1,0.5,0.1,0.01"], default="1"),
               "multiclass_model": _c(["auto", "multinomial", "ordinal"], default="auto")},
        fit_bytes_per_value=None, explainer="linear", default=True, self_tuning=True,
        description="genome-wide elastic-net GLM on every QC'd SNP (adelie; inner CV, CMSA)",
    ),
    Learner(
        name="linear_sgd", tasks=_REG, kind="streaming", feature_set="compact",
        builder=_L + "_linear_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(l1_ratio=True),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="elastic-net linear regression by SGD, out of core (standardized target)",
    ),
    # --- PyTorch networks (AutoGenome, TabM): streamed batches, every task, trained when listed ----
    Learner(
        name="mlp", tasks=_ALL, kind="net", feature_set="compact", builder=_NET, space=_net_space("mlp"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="multilayer perceptron (PyTorch)",
    ),
    Learner(
        name="rfcn_resnet", tasks=_ALL, kind="net", feature_set="compact", builder=_NET,
        space=_net_space("rfcn_resnet"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="residual fully connected network, RFCN-ResNet (AutoGenome; PyTorch)",
    ),
    Learner(
        name="rfcn_densenet", tasks=_ALL, kind="net", feature_set="compact", builder=_NET,
        space=_net_space("rfcn_densenet"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="densely connected fully connected network, RFCN-DenseNet (AutoGenome; PyTorch)",
    ),
    Learner(
        name="tabm", tasks=_ALL, kind="net", feature_set="compact", builder=_NET, space=_net_space("tabm"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="TabM, an ensemble of k MLPs in one network (Gorishniy et al. 2025; the tabm package)",
    ),
    Learner(
        name="rrfcn", tasks=_ALL, kind="searched_net", feature_set="compact", builder=_NET,
        space=_retrain_space, n_trials=_nas_top_k,
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="randomly wired network from the architecture search, retrained (genoml_core.nas)",
    ),
]

#: name -> :class:`Learner`, in declaration order (the order of listings and default sets).
REGISTRY: dict[str, Learner] = {spec.name: spec for spec in _DECLARED}
assert len(REGISTRY) == len(_DECLARED), "duplicate learner names"


# ----------------------------------------------------------------------------- views
V = TypeVar("V")


class RegistryView(Mapping[str, V]):
    """A read-only, live mapping ``name -> value(learner)`` over :data:`REGISTRY`, for the learners
    where ``value`` is not None: it always agrees with the registry (also when a test adds a
    learner)."""

    def __init__(self, value: Callable[[Learner], V | None], what: str) -> None:
        self._value = value
        self._what = what

    def _pairs(self) -> Iterator[tuple[str, V]]:
        for name, spec in REGISTRY.items():
            v = self._value(spec)
            if v is not None:
                yield name, v

    def __getitem__(self, name: str) -> V:
        spec = REGISTRY.get(name)
        v = None if spec is None else self._value(spec)
        if v is None:
            raise KeyError(name)
        return v

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs())

    def __len__(self) -> int:
        return sum(1 for _ in self._pairs())

    def __repr__(self) -> str:
        return f"<{self._what}: a view of genoml_core.registry.REGISTRY ({', '.join(self)})>"


# ----------------------------------------------------------------------------- lookups
def get(name: str) -> Learner | None:
    """The declaration of learner ``name``, or None."""
    return REGISTRY.get(name)


def learner(name: str) -> Learner:
    """The declaration of learner ``name``.

    Raises:
        ConfigError: for an unknown name, listing the known ones.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(f"unknown learner {name!r}; known learners: {', '.join(REGISTRY)}")
    return spec


def names(*, kinds: tuple[str, ...] | str | None = None, task: str | None = None,
          defaults_only: bool = False) -> tuple[str, ...]:
    """Learner names in declaration order, optionally only those of ``kinds``, supporting ``task``,
    or in the default set."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    return tuple(
        name for name, spec in REGISTRY.items()
        if (kinds is None or spec.kind in kinds) and (task is None or task in spec.tasks)
        and (spec.default or not defaults_only)
    )


def available(task: str, *, defaults_only: bool = False, kinds: tuple[str, ...] | None = None) -> list[str]:
    """The learners that can be trained for ``task`` (``defaults_only``: those trained when
    ``train.learners`` is null), in declaration order."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    return list(names(kinds=kinds, task=task, defaults_only=defaults_only))


def kind(name: str) -> str:
    """One of :data:`KINDS` (raises :class:`ConfigError` for an unknown learner)."""
    return learner(name).kind


def is_net(name: str) -> bool:
    """Whether ``name`` is a PyTorch network (built by :func:`genoml_core.estimators.make_net`)."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind in NET_KINDS


def is_streaming(name: str) -> bool:
    """Whether ``name`` is a classical learner fitted out of core, batch by batch."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind == "streaming"


def streams(name: str) -> bool:
    """Whether ``name`` reads batches of the store instead of holding its rows (streaming, nets)."""
    spec = REGISTRY.get(name)
    return spec is not None and spec.kind != "classical"


def feature_set(name: str) -> str:
    """The feature store ``name`` trains on: ``compact`` or ``genome`` (``compact`` for a name the
    registry does not know)."""
    spec = REGISTRY.get(name)
    return spec.feature_set if spec is not None else "compact"


def default_space(name: str, cfg: Mapping[str, Any] | None = None) -> Space:
    """A deep copy of ``name``'s default search space (the caller may edit it).

    Args:
        name: A registered learner.
        cfg: The validated config, for learners whose space comes from it (rrfcn: ``nas.retrain``).

    Raises:
        ConfigError: for an unknown learner, or a config-dependent space without ``cfg``.
    """
    spec = learner(name)
    if isinstance(spec.space, Mapping):
        return copy.deepcopy(dict(spec.space))
    return copy.deepcopy(spec.space(cfg))


def fixed_trials(name: str, cfg: Mapping[str, Any]) -> int | None:
    """The number of trials when the registry fixes it (``n_trials`` hook, or 1 for a self-tuning
    learner); None when ``train.n_trials`` / ``n_trials_per_learner`` decide."""
    spec = REGISTRY.get(name)
    if spec is None:
        return None
    if spec.n_trials is not None:
        return int(spec.n_trials(cfg))
    return 1 if spec.self_tuning else None


def fit_bytes_per_value(name: str) -> float | None:
    """Measured peak bytes per training value of an in-memory fit; None for learners that stream
    (and unknown names)."""
    spec = REGISTRY.get(name)
    return None if spec is None else spec.fit_bytes_per_value


def memory_extra_bytes(name: str, n_rows: int, n_features: int, params: Mapping[str, Any] | None = None) -> float:
    """The learner's own memory term beyond bytes per value (0 when it declares none)."""
    spec = REGISTRY.get(name)
    if spec is None or spec.memory_extra is None:
        return 0.0
    return float(spec.memory_extra(int(n_rows), int(n_features), params or {}))


def explainer(name: str) -> str:
    """How ``name``'s final model is explained: one of :data:`EXPLAINERS` (``linear``, ``tree``,
    ``permutation``, ``gradient``). :mod:`genoml_core.explain` still checks the fitted model (a
    multiclass calibrated linear SVM is explained by permutation).

    Raises:
        ConfigError: for an unknown learner.
    """
    return learner(name).explainer


def resolve(ref: Ref) -> Callable[..., Any]:
    """The function a ``"module:function"`` reference names (imported now), or ``ref`` itself."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"learner builder {ref!r} cannot be imported: {e}") from e


def builder(name: str) -> Callable[..., Any]:
    """``name``'s builder (its module imported now)."""
    return resolve(learner(name).builder)


def wrapper(name: str) -> Callable[..., Any] | None:
    """``name``'s wrap function, or None."""
    wrap = learner(name).wrap
    return None if wrap is None else resolve(wrap)


def out_of_core_hint() -> str:
    """The streaming learners by task, for messages: ``"a / b (binary, multiclass) or c (continuous)"``."""
    groups: dict[frozenset[str], list[str]] = {}
    for name in names(kinds="streaming"):
        groups.setdefault(REGISTRY[name].tasks, []).append(name)
    return " or ".join(
        f"{' / '.join(group)} ({', '.join(t for t in TASKS if t in tasks)})" for tasks, group in groups.items()
    )
