"""Memory a job may use, and what an in-memory learner's fit will need: fail early, not OOM.

The in-memory classical learners fit on a float copy of the training rows; many of them copy
it again (float64, Fortran order, liblinear's sparse nodes, calibration folds). At biobank
scale that is tens of GB, and a job killed by the kernel (or SLURM's cgroup) says nothing
useful. :func:`check_fit_memory` compares an estimate with the job's budget before anything is
loaded and raises :class:`MemoryBudgetError` naming the settings that fix it.

The estimate is ``base + n_rows * n_features * bytes_per_value`` (plus learner-specific terms:
LDA's covariance, the SVM kernel cache, tree nodes), with ``bytes_per_value`` per learner
measured as the slope of the peak RSS of a fit between 2,000 x 2,000 and 2,000 x 8,000 values
(``bench/bench_fit_memory.py``, figures in BENCHMARKS.md). The budget is the smallest of the
cgroup limit (SLURM's ``--mem``), the memory available now plus what this process already
holds, and ``GENOML_MEM_MB`` when set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .models import registry
from .errors import GenomlError

__all__ = [
    "MemoryBudgetError",
    "FIT_BYTES_PER_VALUE",
    "BASE_BYTES",
    "job_memory_budget",
    "estimate_fit_bytes",
    "check_fit_memory",
]

_MB = 2**20

#: Process memory before the data: Python, NumPy, scikit-learn, XGBoost, torch imports.
BASE_BYTES = 600 * _MB

#: Peak bytes per training value (rows x features) during ``fit``, on top of the base: the
#: float32 rows from the store (4) plus each learner's own copies. Measured, rounded up; declared
#: per learner in :data:`genoml_core.models.registry.REGISTRY` (``fit_bytes_per_value``), of which this
#: is a live view: in-memory learners only (the out-of-core learners and nets stream).
FIT_BYTES_PER_VALUE: Mapping[str, float] = registry.RegistryView(
    lambda spec: spec.fit_bytes_per_value, "genoml_core.memory.FIT_BYTES_PER_VALUE"
)


class MemoryBudgetError(GenomlError, MemoryError):
    """A fit would need more memory than the job has: the message names the setting to change."""


def _cgroup_limit() -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max`` or v1), or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, rel = parts
        rel = rel.lstrip("/")
        if hier == "0" and controllers == "":  # cgroup v2: the limit may sit on any ancestor
            base = Path("/sys/fs/cgroup")
            path = base / rel
            while True:
                f = path / "memory.max"
                if f.exists():
                    value = f.read_text().strip()
                    if value != "max":
                        limits.append(int(value))
                if path == base:
                    break
                path = path.parent
        elif "memory" in controllers.split(","):
            f = Path("/sys/fs/cgroup/memory") / rel / "memory.limit_in_bytes"
            if f.exists():
                limit = int(f.read_text().strip())
                if limit < 1 << 60:
                    limits.append(limit)
    return min(limits) if limits else None


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _own_rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def job_memory_budget() -> tuple[int, str]:
    """``(bytes, where from)``: the memory this job may use at most.

    The smallest of: ``GENOML_MEM_MB`` (if set), the cgroup limit (SLURM's ``--mem``), and the
    memory available now (``MemAvailable``) plus what this process holds already.
    """
    options: list[tuple[int, str]] = []
    env = os.environ.get("GENOML_MEM_MB")
    if env:
        options.append((int(float(env) * _MB), f"GENOML_MEM_MB={env}"))
    cg = _cgroup_limit()
    if cg is not None:
        options.append((cg, "the job's cgroup memory limit"))
    avail = _meminfo("MemAvailable")
    if avail is not None:
        options.append((avail + _own_rss(), "memory available on this node"))
    if not options:
        return (1 << 62, "unknown (no limit found)")
    return min(options)


def estimate_fit_bytes(
    learner: str, n_rows: int, n_features: int, *, params: Mapping[str, object] | None = None
) -> int | None:
    """Estimated peak bytes of fitting ``learner`` in memory on ``n_rows x n_features``; None
    for learners not in :data:`FIT_BYTES_PER_VALUE` (out-of-core learners and nets stream)."""
    per_value = FIT_BYTES_PER_VALUE.get(learner)
    if per_value is None:
        return None
    total = BASE_BYTES + per_value * n_rows * n_features
    # the learner's own term (its registry memory_extra): LDA's covariance, the SVM kernel cache, tree nodes
    total += registry.memory_extra_bytes(learner, n_rows, n_features, params)
    return int(total)


def check_fit_memory(
    learner: str,
    n_rows: int,
    n_features: int,
    *,
    params: Mapping[str, object] | None = None,
    budget: tuple[int, str] | None = None,
) -> int | None:
    """Raise :class:`MemoryBudgetError` before fitting when the estimate exceeds the budget.

    Returns the estimate in bytes (None for learners that stream). The message names the
    settings that fix it: ``assoc_filter.top_k`` (with the largest value that fits), the
    out-of-core learners, the job's memory, and ``GENOML_MEM_MB`` for a wrong budget.
    """
    need = estimate_fit_bytes(learner, n_rows, n_features, params=params)
    if need is None:
        return None
    limit, source = budget if budget is not None else job_memory_budget()
    if need <= limit:
        return need
    per_value = FIT_BYTES_PER_VALUE[learner]
    room = max(limit - (need - per_value * n_rows * n_features), 0)
    k_fit = int(room / (per_value * n_rows)) if n_rows else 0
    raise MemoryBudgetError(
        f"learner {learner!r} would need about {need / 2**30:.2f} GiB to fit {n_rows:,} training samples x "
        f"{n_features:,} features in memory (~{per_value:g} bytes per value), but this job has "
        f"{limit / 2**30:.2f} GiB ({source}). Fix one of: lower assoc_filter.top_k to at most {k_fit:,} "
        f"(features kept after the association filter); or use the out-of-core learners {registry.out_of_core_hint()} "
        f"in train.learners instead of {learner!r}; or give the job more memory (more RAM, or on SLURM a "
        f"larger mem_mb through set-resources in profiles/slurm). Stopped before loading the data."
    )
