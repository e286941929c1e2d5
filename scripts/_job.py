"""Shared start-up for rule scripts: log to the rule's log file, make genoml_core importable,
record what ran, record every warning in the job's sidecar (logs/warnings/, collected into
results/warnings.json), and make any failure exit non-zero with its message in the log."""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from pathlib import Path
from typing import Any

_THREAD_LIMIT: Any = None


def start_job(smk: Any) -> logging.Logger:
    """Point stderr and logging at ``smk.log[0]``; put the repo root first on sys.path."""
    root = Path(smk.scriptdir).resolve().parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if smk.log:
        Path(smk.log[0]).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(smk.log[0], "w", buffering=1)  # noqa: SIM115 (lives as long as the job)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # every WARNING+ record (and warnings.warn) of the job -> logs/warnings/<log path>.json, written
    # now (a rerun replaces the last run's file), on each new message and at exit (ok / failed)
    from genoml_core.warnings_log import install_recorder

    recorder = install_recorder(rule=str(smk.rule), wildcards=dict(smk.wildcards.items()), inputs=list(smk.input),
                                outputs=list(smk.output), log_path=str(smk.log[0]) if smk.log else None)
    log = logging.getLogger(f"rule.{smk.rule}")
    # Native thread pools (BLAS, OpenMP) default to every core: two jobs on a 2-core machine
    # would each start 2+ threads and slow each other down. Hold them to the job's `threads`.
    global _THREAD_LIMIT
    from threadpoolctl import threadpool_limits

    _THREAD_LIMIT = threadpool_limits(limits=max(1, int(smk.threads)))
    import genoml_core

    log.info("rule %s wildcards=%s threads=%s", smk.rule, dict(smk.wildcards.items()), smk.threads)
    log.info("params=%s", {k: v for k, v in smk.params.items()})
    log.info("genoml_core %s, python %s", genoml_core.__version__, platform.python_version())
    log.info("warnings of this job are also recorded in %s", recorder.path)

    def excepthook(etype: type[BaseException], value: BaseException, tb: Any) -> None:
        # the message first and on its own: it names the file, the line and the fix
        recorder.mark_failed()
        log.error("%s: %s", etype.__name__, value)
        log.debug("".join(traceback.format_exception(etype, value, tb)))
        sys.__stderr__.write(f"ERROR in rule {smk.rule}: {etype.__name__}: {value}\n")
        sys.__excepthook__(etype, value, tb)

    sys.excepthook = excepthook
    return log
