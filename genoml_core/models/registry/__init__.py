"""The learner registry: every learner, classical or net, declared once.

A :class:`Learner` holds everything the workflow needs to know about one learner: its tasks, its
kind (how it is fitted and which Snakemake rule trains it), the feature set it reads, its builder,
its default search space, its memory estimate, its explainer, whether it is in the default set and
whether it tunes itself. Everything else is a view of :data:`REGISTRY`:
:data:`genoml_core.models.learners.LEARNERS`, :data:`genoml_core.tuning.search.DEFAULT_SPACES`,
:data:`genoml_core.memory.FIT_BYTES_PER_VALUE`, ``genoml_core.config.NET_LEARNERS`` /
``STREAMING_LEARNERS`` / ``SELF_TUNING_LEARNERS`` and ``genoml_core.models.estimators.NET_ARCHS`` /
``SEARCHED_ARCHS``; :func:`genoml_core.config.learner_space`,
:func:`~genoml_core.config.learner_n_trials`, :func:`~genoml_core.config.resolve_learners`,
:func:`genoml_core.memory.estimate_fit_bytes` and the Snakefile (``workflow/rules/common.smk``)
ask this module.

This package is plain data: it imports nothing heavier than :mod:`genoml_core.tuning.net_spaces` (no
NumPy, scikit-learn or torch), so the Snakefile can read it while parsing. Builders are
``"module:function"`` references, imported only when a model is built (:func:`builder`).

Adding a learner is one declaration in :data:`REGISTRY` (in :mod:`~genoml_core.models.registry.table`):
a :class:`Learner` naming its builder (an existing function, or one written next to the declaration
with its imports inside), a search space in the format of :mod:`genoml_core.tuning.search`, and the
measured bytes per training value (``bench/bench_fit_memory.py``) for an in-memory classical
learner. A classical builder is ``build(task, random_state, n_jobs, class_weight_or_None) ->
unfitted base estimator`` (see :func:`genoml_core.models.learners.make_learner`); its model must be one that
:mod:`genoml_core.models.persist` saves.

One module per concern: :mod:`~genoml_core.models.registry.learner` (the constants and :class:`Learner`),
:mod:`~genoml_core.models.registry.spaces` (the search-space builders and memory terms),
:mod:`~genoml_core.models.registry.table` (:data:`REGISTRY`) and :mod:`~genoml_core.models.registry.queries`
(:class:`RegistryView` and the lookups). Every public name is importable from :mod:`genoml_core.models.registry`
itself.

Example:
    >>> explainer("xgboost"), kind("logistic_l1_sgd"), feature_set("penalized_glm")
    ('tree', 'streaming', 'genome')
"""

from __future__ import annotations

from .learner import (
    CLASSICAL_KINDS,
    EXPLAINERS,
    FEATURE_SETS,
    KINDS,
    NET_KINDS,
    TASKS,
    Learner,
)
from .learner import MemoryHook as MemoryHook
from .learner import Ref as Ref
from .learner import Space as Space
from .learner import SpaceHook as SpaceHook
from .learner import TrialsHook as TrialsHook
from .queries import (
    RegistryView,
    available,
    builder,
    default_space,
    explainer,
    feature_set,
    fit_bytes_per_value,
    fixed_trials,
    get,
    is_net,
    is_streaming,
    kind,
    learner,
    memory_extra_bytes,
    names,
    out_of_core_hint,
    resolve,
    streams,
    wrapper,
)
from .table import REGISTRY

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
