"""The learner declaration: the tasks, kinds, feature sets and explainers, and :class:`Learner`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError

#: The three phenotype tasks (one definition: metrics and training import it from here).
TASKS = ("binary", "multiclass", "continuous")
#: ``classical``: fitted in memory on a float copy of the rows (rule train_classical);
#: ``streaming``: fitted out of core by SGD over batches of the int8 store (train_classical);
#: ``net``: a PyTorch network, streamed batches (train_net); ``searched_net``: a network whose
#: wiring comes from the architecture search (genoml_core.models.nas; rules nas_search + train_rrfcn).
KINDS = ("classical", "streaming", "net", "searched_net")
#: Kinds built by :func:`genoml_core.models.learners.make_learner` (scikit-learn style).
CLASSICAL_KINDS = ("classical", "streaming")
#: Kinds built by :func:`genoml_core.models.estimators.make_net` (PyTorch).
NET_KINDS = ("net", "searched_net")
#: ``compact``: the fold's LD-pruned, association-filtered SNPs + covariates; ``genome``: every SNP
#: that passed the fold's variant QC + covariates, read as int8 by the learner itself.
FEATURE_SETS = ("compact", "genome")
#: How the final model is explained (the names of :mod:`genoml_core.explain`'s methods):
#: ``linear`` (exact, from the coefficients), ``tree`` (TreeSHAP), ``gradient`` (the nets) or
#: ``permutation`` (model-agnostic).
EXPLAINERS = ("linear", "tree", "permutation", "gradient")

#: A search space: parameter name -> spec (see :mod:`genoml_core.tuning.search`).
Space = dict[str, dict[str, Any]]
#: A space computed by code (the nets' from :mod:`genoml_core.tuning.net_spaces`), or from the validated
#: config (rrfcn's retrain settings; called with None when there is no config).
SpaceHook = Callable[[Mapping[str, Any] | None], Space]
#: Trials from the validated config (rrfcn: ``nas.top_k``).
TrialsHook = Callable[[Mapping[str, Any]], int]
#: Bytes beyond ``bytes per value x rows x features``: ``(n_rows, n_features, params) -> bytes``.
MemoryHook = Callable[[int, int, Mapping[str, Any]], float]
#: A builder: ``"module:function"`` (imported when first used) or the function itself.
Ref = str | Callable[..., Any]


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
            :func:`genoml_core.models.estimators.make_net`.
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
