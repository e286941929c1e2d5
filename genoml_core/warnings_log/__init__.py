"""Every warning a job raises, collected where the user sees it: the console and the report.

A job's log file is read by nobody when the run exits 0, so a warning there (covariates imputed
for 13% of the people, a fold with one class, a learner that did not converge) is as good as lost.
Three steps bring them out:

1. **Per job** (``scripts/_job.py:start_job`` calls :func:`install_recorder`): a logging handler,
   :class:`WarningRecorder`, keeps every WARNING-or-worse record of the job, Python
   ``warnings.warn`` included (:func:`capture_python_warnings` routes them to the ``py.warnings``
   logger), deduplicated by (level, logger, message) with a count. It writes the job's sidecar,
   ``logs/warnings/<the log path under logs/, without .log>.json``: at start (status
   ``running``, no warnings), whenever a new message appears, and at exit (``ok``, or ``failed``
   after an uncaught exception). A job that reruns therefore replaces its sidecar at once: a
   stale sidecar never outlives its job's rerun, and a killed job leaves ``running``.
2. **Per run** (rule ``collect_warnings``, :func:`collect_warnings`): the sidecars of the jobs that
   made the current results, found by walking back from the rule's inputs through the inputs
   and outputs each sidecar records (so jobs no longer in the workflow, e.g. a learner removed
   from the config, are left out), merged into ``results/warnings.json``: one entry per
   (rule, level, logger, message) with the total count and the jobs (wildcards) that raised it.
3. **Shown**: the Snakefile's ``onsuccess``/``onerror`` print :func:`console_summary`; the report
   shows ``results/warnings.json`` as a banner at its top.

One module per step: :mod:`~genoml_core.warnings_log.sidecar` (1), :mod:`~genoml_core.warnings_log.collect`
(2) and :mod:`~genoml_core.warnings_log.console` (3). Every public name is importable from
:mod:`genoml_core.warnings_log` itself; the logger is ``genoml_core.warnings_log``.

Only the standard library is used here: ``scripts/_job.py`` imports this package in every job,
whatever its conda environment.
"""

from __future__ import annotations

from .collect import MAX_JOBS_LISTED as MAX_JOBS_LISTED
from .collect import WORKFLOW_LOGGERS as WORKFLOW_LOGGERS
from .collect import collect_warnings, read_sidecars
from .console import console_summary
from .console import results_summary as results_summary
from .sidecar import FORMAT, MAX_DISTINCT, MAX_MESSAGE_CHARS, SIDECAR_DIR, WarningRecorder
from .sidecar import PY_WARNINGS_LOGGER as PY_WARNINGS_LOGGER
from .sidecar import capture_python_warnings, install_recorder, sidecar_path, write_json_atomic

__all__ = [
    "FORMAT",
    "MAX_DISTINCT",
    "MAX_MESSAGE_CHARS",
    "SIDECAR_DIR",
    "WarningRecorder",
    "capture_python_warnings",
    "collect_warnings",
    "console_summary",
    "install_recorder",
    "read_sidecars",
    "sidecar_path",
    "write_json_atomic",
]
