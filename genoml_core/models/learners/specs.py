"""The classical learners as declared in :mod:`genoml_core.models.registry` (:data:`LEARNERS`, queries by
task) and :func:`make_learner`, which builds one with its params checked."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from sklearn.base import BaseEstimator

from .. import registry
from ...errors import ConfigError
from ...evaluation.metrics import check_task
from .builders import _is_clf

CLASS_WEIGHTS = ("balanced", "none")

#: Params every learner takes as arguments of make_learner instead.
_MANAGED = frozenset({"random_state", "n_jobs", "class_weight"})

BuildFn = Callable[[str, int, int, "str | None"], BaseEstimator]
WrapFn = Callable[[BaseEstimator, str, int, int], BaseEstimator]


@dataclass(frozen=True)
class LearnerSpec:
    """How to build one classical learner: its :class:`genoml_core.models.registry.Learner` declaration
    with the builder and wrapper imported.

    Attributes:
        name: Registry name.
        tasks: Tasks it supports.
        build: ``build(task, random_state, n_jobs, class_weight_or_None) -> base estimator``
            (unfitted, with this learner's defaults).
        wrap: Optional ``wrap(base, task, random_state, n_jobs) -> estimator`` applied after
            ``params`` are set on the base estimator.
        fixed: Base-estimator params that define the learner and cannot be overridden.
        description: One line for listings.
        streaming: Fitted out of core by :func:`genoml_core.models.outofcore.fit_streaming`, batch by
            batch from the int8 store (memory independent of the number of samples).
        default: Trained when the config's ``train.learners`` is null. The default set was
            chosen by measurement (``bench/bench_quality.py``, BENCHMARKS.md): penalized_glm
            beside logistic_l2 / ridge, random_forest and xgboost beat a cross-validated lasso
            on all SNPs and the former all-learner default, in a fifth of its time; the others
            (and the out-of-core learners, for cohorts too large for the rest) train when listed.
        feature_set: ``compact`` (the fold's LD-pruned, association-filtered SNPs + covariates)
            or ``genome`` (every SNP that passed the fold's variant QC + covariates, read as
            int8 by the learner itself: :mod:`genoml_core.models.genome_learner`).
    """

    name: str
    tasks: frozenset[str]
    build: BuildFn
    wrap: WrapFn | None = None
    fixed: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    streaming: bool = False
    default: bool = True
    feature_set: str = "compact"


def _spec(learner: registry.Learner) -> LearnerSpec | None:
    return _resolved(learner) if learner.kind in registry.CLASSICAL_KINDS else None


@functools.lru_cache(maxsize=None)
def _resolved(learner: registry.Learner) -> LearnerSpec:  # declarations hash by identity
    return LearnerSpec(
        learner.name, learner.tasks, registry.resolve(learner.builder),
        wrap=None if learner.wrap is None else registry.resolve(learner.wrap), fixed=learner.fixed,
        description=learner.description, streaming=learner.kind == "streaming", default=learner.default,
        feature_set=learner.feature_set,
    )


#: name -> :class:`LearnerSpec` of every classical learner: a live view of
#: :data:`genoml_core.models.registry.REGISTRY` (declare learners there).
LEARNERS: Mapping[str, LearnerSpec] = registry.RegistryView(_spec, "genoml_core.models.learners.LEARNERS")


# ----------------------------------------------------------------------------- registry API
def available_learners(task: str, *, defaults_only: bool = False) -> list[str]:
    """Names of the learners supporting ``task``, in registry order (``defaults_only``: those
    trained when the config lists none)."""
    check_task(task)
    return registry.available(task, defaults_only=defaults_only, kinds=registry.CLASSICAL_KINDS)


def feature_set(name: str) -> str:
    """The feature store learner ``name`` trains on: ``compact`` or ``genome``."""
    return registry.feature_set(name)


def is_streaming(name: str) -> bool:
    """Whether learner ``name`` is fitted out of core, batch by batch."""
    return registry.is_streaming(name)


def supports(name: str, task: str) -> bool:
    """Whether learner ``name`` exists and supports ``task``."""
    check_task(task)
    spec = LEARNERS.get(name)
    return spec is not None and task in spec.tasks


def make_learner(
    name: str,
    params: Mapping[str, Any] | None,
    *,
    task: str,
    random_state: int,
    n_jobs: int = 1,
    class_weight: str = "balanced",
) -> BaseEstimator:
    """Build a fresh, unfitted estimator.

    Args:
        name: A key of :data:`LEARNERS`.
        params: Hyperparameters of the base estimator (e.g. from
            :func:`genoml_core.tuning.search.sample_params`); ``None`` or ``{}`` keeps the defaults.
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        random_state: Seed of every random step inside the learner.
        n_jobs: Threads/processes the learner may use.
        class_weight: ``"balanced"`` or ``"none"``; ignored for ``"continuous"``.

    Returns:
        A scikit-learn compatible estimator (fit it with :func:`fit_learner`).

    Raises:
        ConfigError: Unknown learner, learner not supporting ``task`` (the message lists
            those that do), unknown or fixed params, or a bad ``class_weight``.
    """
    check_task(task)
    spec = LEARNERS.get(name)
    if spec is None:
        raise ConfigError(f"unknown learner {name!r}; choose one of {available_learners(task)} for task {task!r}")
    if task not in spec.tasks:
        raise ConfigError(
            f"learner {name!r} does not support task {task!r}; learners that do: {available_learners(task)}"
        )
    if class_weight not in CLASS_WEIGHTS:
        raise ConfigError(f"class_weight must be one of {list(CLASS_WEIGHTS)}, got {class_weight!r}")
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise ConfigError(f"random_state must be an integer seed, got {random_state!r}")
    cw = "balanced" if (class_weight == "balanced" and _is_clf(task)) else None
    base = spec.build(task, int(random_state), int(n_jobs), cw)
    params = dict(params or {})
    managed = sorted(set(params) & _MANAGED)
    if managed:
        raise ConfigError(
            f"learner {name!r}: {managed} are set by the workflow (seed, threads, class_weight option), "
            "remove them from the params/search space"
        )
    fixed = sorted(set(params) & spec.fixed)
    if fixed:
        raise ConfigError(f"learner {name!r}: {fixed} define this learner and cannot be changed; pick another learner")
    known = set(base.get_params(deep=False)) - _MANAGED - spec.fixed
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"learner {name!r} ({type(base).__name__}) has no parameter(s) {unknown}; "
            f"valid ones are {sorted(known)}"
        )
    base.set_params(**params)
    est = spec.wrap(base, task, int(random_state), int(n_jobs)) if spec.wrap else base
    return est
