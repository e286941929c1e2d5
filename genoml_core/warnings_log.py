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

Only the standard library is used here: ``scripts/_job.py`` imports this module in every job,
whatever its conda environment.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import logging
import os
import socket
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import layout
from .run_size import LOGGER_NAME as SIZE_LOGGER

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

log = logging.getLogger(__name__)

#: ``format`` of the sidecars and of ``results/warnings.json``.
FORMAT = "genoml_core.warnings/1"
#: Where the per-job sidecars live (relative to the working directory).
SIDECAR_DIR = layout.WARNING_SIDECARS
#: Longer messages are cut (a warning listing thousands of SNPs must not bloat every file).
MAX_MESSAGE_CHARS = 2000
#: Distinct messages kept per job; later new ones are only counted (a job warning once per SNP
#: must not rewrite a growing sidecar thousands of times).
MAX_DISTINCT = 200
#: Jobs named per entry of ``results/warnings.json`` (the count of all is ``n_jobs``).
MAX_JOBS_LISTED = 10
#: Loggers whose records are the workflow's own (others are third-party libraries).
WORKFLOW_LOGGERS = ("genoml_core", "rule")
#: Python warnings go to this logger (as with ``logging.captureWarnings``).
PY_WARNINGS_LOGGER = "py.warnings"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as JSON through a temporary file renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=1, default=str)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sidecar_path(
    rule: str, wildcards: Mapping[str, Any], log_path: str | None = None, root: str | os.PathLike[str] = SIDECAR_DIR
) -> Path:
    """The sidecar of one job: its log path under ``root`` (``logs/a/b.log`` -> ``root/a/b.json``).

    A job's log path is unique (Snakemake treats logs as outputs), so its sidecar is too. Jobs
    without a relative log path under ``logs/`` fall back to ``root/<rule>/<wildcard values>.json``.
    """
    root = Path(root)
    if log_path:
        parts = Path(log_path).parts
        if not Path(log_path).is_absolute() and len(parts) > 1 and parts[0] == layout.LOGS and ".." not in parts:
            rel = Path(*parts[1:])
            return root / rel.with_suffix(".json") if rel.suffix == ".log" else root / f"{rel}.json"
    name = "_".join(f"{k}-{v}" for k, v in wildcards.items()) or "job"
    return root / rule / f"{name}.json"


class WarningRecorder(logging.Handler):
    """Keeps a job's WARNING-or-worse records and writes them to the job's sidecar JSON.

    Args:
        path: The sidecar file.
        rule: The job's rule.
        wildcards: The job's wildcards.
        inputs: The job's input files (recorded for :func:`collect_warnings`' walk).
        outputs: The job's output files.
        log_path: The job's log file (named in the summaries).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rule: str,
        wildcards: Mapping[str, Any],
        inputs: Iterable[str] = (),
        outputs: Iterable[str] = (),
        log_path: str | None = None,
    ) -> None:
        super().__init__(level=logging.WARNING)
        self.path = Path(path)
        self.status = "running"
        self.previous_showwarning: Any = None
        self._failed = False
        self._entries: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._header: dict[str, Any] = {
            "format": FORMAT,
            "rule": rule,
            "wildcards": {str(k): str(v) for k, v in wildcards.items()},
            "log": log_path,
            "inputs": [str(p) for p in inputs],
            "outputs": [str(p) for p in outputs],
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": _now(),
            "started_epoch": time.time(),
        }

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The distinct warnings so far, in the order they first appeared."""
        return [dict(e) for e in self._entries.values()]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the job
            message = str(record.msg)
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + f" ... [{len(message) - MAX_MESSAGE_CHARS} more characters]"
        key = (record.levelname, record.name, message)
        entry = self._entries.get(key)
        if entry is None and len(self._entries) >= MAX_DISTINCT:
            key = ("WARNING", __name__, "more distinct warnings than the sidecar keeps; see the job's log")
            entry = self._entries.setdefault(key, {"level": key[0], "logger": key[1], "message": key[2], "count": 0})
        if entry is not None:
            entry["count"] += 1
            return
        self._entries[key] = {"level": record.levelname, "logger": record.name, "message": message, "count": 1}
        self.write()

    def mark_failed(self) -> None:
        """The job raised an uncaught exception (``finish`` then records ``failed``)."""
        self._failed = True

    def write(self, status: str | None = None) -> None:
        """Write the sidecar now (atomically); never raises (a job must not fail for its sidecar)."""
        if status is not None:
            self.status = status
        doc = {**self._header, "status": self.status,
               "finished": _now() if self.status != "running" else None, "warnings": self.entries}
        try:
            write_json_atomic(doc, self.path)
        except OSError as err:
            # stderr is the job's log; logging here would recurse into this handler
            import sys

            sys.stderr.write(f"could not write the warnings sidecar {self.path}: {err}\n")

    def finish(self) -> None:
        """Final write at exit: ``failed`` after an uncaught exception, else ``ok``."""
        self.write("failed" if self._failed else "ok")

    def detach(self, logger: logging.Logger | None = None) -> None:
        """Stop recording: remove the handler and give ``warnings.showwarning`` back (tests)."""
        (logger or logging.getLogger()).removeHandler(self)
        if self.previous_showwarning is not None:
            warnings.showwarning = self.previous_showwarning
            self.previous_showwarning = None


def capture_python_warnings() -> Any:
    """Route ``warnings.warn`` to the ``py.warnings`` logger as ``Category: message (file:line)``.

    Like :func:`logging.captureWarnings`, with a one-line message (the same warning from the same
    line deduplicates across jobs). Returns the previous ``warnings.showwarning``.
    """
    previous = warnings.showwarning

    def showwarning(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                    line: str | None = None) -> None:
        if file is not None:  # an explicit destination: behave as before
            previous(message, category, filename, lineno, file, line)
            return
        logging.getLogger(PY_WARNINGS_LOGGER).warning(
            "%s: %s (%s:%s)", category.__name__, message, os.path.basename(str(filename)), lineno
        )

    warnings.showwarning = showwarning
    return previous


def install_recorder(
    *,
    rule: str,
    wildcards: Mapping[str, Any],
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    log_path: str | None = None,
    root: str | os.PathLike[str] = SIDECAR_DIR,
    logger: logging.Logger | None = None,
    at_exit: bool = True,
) -> WarningRecorder:
    """Record the job's warnings into its sidecar (see the module docstring).

    Adds a :class:`WarningRecorder` to ``logger`` (default: the root logger), routes Python
    warnings to logging, writes the sidecar once (status ``running``: a rerun replaces the last
    run's file at once) and, with ``at_exit``, registers the final write.
    """
    recorder = WarningRecorder(sidecar_path(rule, wildcards, log_path, root), rule=rule, wildcards=wildcards,
                               inputs=inputs, outputs=outputs, log_path=log_path)
    (logger or logging.getLogger()).addHandler(recorder)
    recorder.previous_showwarning = capture_python_warnings()
    recorder.write("running")
    if at_exit:
        atexit.register(recorder.finish)
    return recorder


# ----------------------------------------------------------------------------- collection
def read_sidecars(root: str | os.PathLike[str] = SIDECAR_DIR) -> list[dict[str, Any]]:
    """Every readable sidecar under ``root`` (each with its ``path``); others are skipped with a warning."""
    found: list[dict[str, Any]] = []
    root = Path(root)
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            log.warning("skipping unreadable warnings sidecar %s: %s", path, err)
            continue
        if isinstance(doc, dict) and doc.get("format") == FORMAT and "rule" in doc:
            doc["path"] = str(path)
            found.append(doc)
    return found


def _norm(path: str) -> str:
    return os.path.normpath(str(path))


def _reachable(sidecars: Sequence[dict[str, Any]], targets: Iterable[str]) -> list[dict[str, Any]]:
    """The sidecars of the jobs that made ``targets``, directly or through other jobs' outputs."""
    producer: dict[str, dict[str, Any]] = {}
    doc: dict[str, Any] | None
    for doc in sorted(sidecars, key=lambda d: float(d.get("started_epoch") or 0)):
        for out in doc.get("outputs") or []:
            producer[_norm(out)] = doc  # the newest job that declared the file made it
    todo = [_norm(t) for t in targets]
    seen_files: set[str] = set()
    picked: dict[str, dict[str, Any]] = {}
    while todo:
        f = todo.pop()
        if f in seen_files:
            continue
        seen_files.add(f)
        doc = producer.get(f)
        if doc is None or doc["path"] in picked:
            continue
        picked[doc["path"]] = doc
        todo.extend(_norm(p) for p in doc.get("inputs") or [])
    return list(picked.values())


def _source(logger_name: str) -> str:
    return "workflow" if logger_name.split(".")[0] in WORKFLOW_LOGGERS else "library"


def collect_warnings(
    root: str | os.PathLike[str] = SIDECAR_DIR,
    *,
    targets: Iterable[str] | None = None,
    since: float | None = None,
) -> dict[str, Any]:
    """Merge job sidecars into the ``results/warnings.json`` document.

    Args:
        root: The sidecar directory.
        targets: Keep the jobs that made these files (walking back through each sidecar's
            recorded inputs and outputs).
        since: Keep the jobs started at or after this time (seconds since the epoch).
            With both, a job is kept if either keeps it (the results' jobs and this run's);
            with neither, every sidecar is kept.

    Returns:
        ``format``; ``n_jobs`` (jobs considered); ``n_warnings`` (occurrences of WARNING-or-worse
        records); ``n_errors`` (of those, ERROR or worse: a failed job's message); ``n_messages``
        (entries); ``by_rule`` (occurrences per rule); ``warnings``: one entry per (rule, level,
        logger, message) with ``source`` (``workflow`` or ``library``), ``count``, ``n_jobs`` and
        ``jobs`` (the wildcards of up to :data:`MAX_JOBS_LISTED` of them), in pipeline order;
        ``unfinished``: jobs whose sidecar says ``running`` or ``failed`` (rule, wildcards, status, log).
    """
    docs = read_sidecars(root)
    if targets is not None or since is not None:
        kept = {d["path"] for d in _reachable(docs, targets or [])}
        if since is not None:
            kept.update(d["path"] for d in docs if float(d.get("started_epoch") or 0) >= since)
        docs = [d for d in docs if d["path"] in kept]
    docs.sort(key=lambda d: (float(d.get("started_epoch") or 0), d["path"]))
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for doc in docs:
        for w in doc.get("warnings") or []:
            key = (doc["rule"], str(w.get("level")), str(w.get("logger")), str(w.get("message")))
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = {"rule": doc["rule"], "level": key[1], "logger": key[2],
                                       "source": _source(key[2]), "message": key[3], "count": 0, "n_jobs": 0,
                                       "jobs": [], "logs": []}
            entry["count"] += int(w.get("count", 1))
            entry["n_jobs"] += 1
    # the jobs named per entry in the order of their sidecars' paths, not of their start times
    # (parallel jobs start in any order): the same run gives the same file
    for doc in sorted(docs, key=lambda d: d["path"]):
        for w in doc.get("warnings") or []:
            entry = merged[(doc["rule"], str(w.get("level")), str(w.get("logger")), str(w.get("message")))]
            if len(entry["jobs"]) < MAX_JOBS_LISTED:
                entry["jobs"].append(doc.get("wildcards") or {})
                if doc.get("log"):
                    entry["logs"].append(doc["log"])
    entries = list(merged.values())
    by_rule: Counter[str] = Counter()
    for e in entries:
        by_rule[e["rule"]] += e["count"]
    unfinished = [{"rule": d["rule"], "wildcards": d.get("wildcards") or {}, "status": d.get("status"),
                   "log": d.get("log")} for d in docs if d.get("status") != "ok"]
    return {
        "format": FORMAT,
        "n_jobs": len(docs),
        "n_warnings": sum(e["count"] for e in entries),
        "n_errors": sum(e["count"] for e in entries if e["level"] != "WARNING"),
        "n_messages": len(entries),
        "by_rule": dict(by_rule),
        "warnings": entries,
        "unfinished": unfinished,
    }


# ----------------------------------------------------------------------------- console
def _jobs_text(entry: Mapping[str, Any]) -> str:
    jobs = [j for j in entry.get("jobs") or [] if j]
    if not jobs:
        return ""
    first = " ".join(f"{k}={v}" for k, v in jobs[0].items())
    more = int(entry.get("n_jobs", len(jobs))) - 1
    return f" [{first}" + (f", +{more} more job(s)" if more > 0 else "") + "]"


def _one_line(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def results_summary(results: str | os.PathLike[str] = layout.RESULTS, *, n_warnings: int | None = None) -> str:
    """The end of a successful run in a few lines: the final model, its test metric with the
    95% CI, the new cohorts' metric, the number of warnings and where the report is. Reads the
    results' JSON files only; lines whose files are absent (a partial target) are left out."""
    res = Path(results)
    lines = ["genoml-workflow: done."]
    try:
        ev = json.loads((res / layout.in_results(layout.EVALUATE_METRICS)).read_text())
    except (OSError, ValueError):
        ev = None
    if ev:
        key = ev.get("selection_metric") or next(iter(ev.get("test") or {}), None)
        value = (ev.get("test") or {}).get(key)
        ci = (ev.get("test_ci95") or {}).get(key) or [None, None]
        ci_text = f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if None not in ci[:2] else ""
        lines.append(f"  final model: {ev.get('learner')} ({ev.get('calibrator') or 'uncalibrated'}, scored with "
                     f"{ev.get('scored_with', 'its fold models')})")
        if value is not None:
            lines.append(f"  held-out test {key}: {value:.3f}{ci_text} on {ev.get('n_test')} people")
    for m in sorted(res.glob(layout.in_results(layout.PREDICT_METRICS, cohort="*"))):
        try:
            pm = json.loads(m.read_text())
        except (OSError, ValueError):
            continue
        if pm.get("metrics") and ev:
            key = ev.get("selection_metric")
            if key in pm["metrics"]:
                lines.append(f"  new cohort {pm.get('cohort')}: {key} {pm['metrics'][key]:.3f} on {pm.get('n_evaluated')}"
                             " people")
    if n_warnings is not None:
        lines.append(f"  warnings: {n_warnings}")
    report = res / layout.in_results(layout.REPORT_HTML)
    if report.exists():
        lines.append(f"  report: {report}")
    return "\n".join(lines) if len(lines) > 1 else ""


def console_summary(
    collected: Mapping[str, Any],
    *,
    failed: bool = False,
    warnings_file: str | None = None,
    size_logger: str = SIZE_LOGGER,
    max_lines: int = 8,
    width: int = 160,
) -> str:
    """The short text the Snakefile prints at the end of a run.

    Args:
        collected: :func:`collect_warnings` output.
        failed: The run failed (the text says warnings were raised before it stopped).
        warnings_file: Where the full list is (``results/warnings.json``), when it is current.
        size_logger: The logger of :mod:`genoml_core.run_size`: its findings come first, under
            "TOO SMALL TO JUDGE".
        max_lines: Messages shown (the workflow's own first, then libraries').
        width: Characters per message line.
    """
    entries = list(collected.get("warnings") or [])
    sized = [e for e in entries if e.get("logger") == size_logger]
    others = [e for e in entries if e.get("logger") != size_logger]
    others.sort(key=lambda e: e.get("source") != "workflow")  # stable: pipeline order within each
    n_err = sum(int(e.get("count", 1)) for e in entries if e.get("level") != "WARNING")
    n = int(collected.get("n_warnings", 0)) - n_err
    where = (f"full list: {warnings_file} (and at the top of the report); " if warnings_file else "") + \
        f"per job: {SIDECAR_DIR}/"
    head = "genoml-workflow: the run failed. " if failed else "genoml-workflow: "
    lines: list[str] = []
    if not entries:
        tail = " before it stopped." if failed else " from the jobs behind these results."
        lines.append(head + "no warnings" + tail)
    else:
        rules = ", ".join(f"{r} {c}" for r, c in (collected.get("by_rule") or {}).items())
        scope = "raised before it stopped" if failed else "behind these results"
        errors = f" and {n_err} error(s)" if n_err else ""
        lines.append(f"{head}{n} warning(s){errors}, {len(entries)} distinct, {scope} ({rules}); {where}")
    if sized:
        lines.append("  TOO SMALL TO JUDGE:")
        lines.extend("    - " + _one_line(e["message"].removeprefix("too small to judge: "), 2 * width) for e in sized)
    for e in others[:max_lines]:
        count = f" (x{e['count']})" if int(e.get("count", 1)) > 1 else ""
        lines.append(f"  {e['level']} {e['rule']}{_jobs_text(e)}{count}: {_one_line(e['message'], width)}")
    if len(others) > max_lines:
        lines.append(f"  ... and {len(others) - max_lines} more")
    stuck = [u for u in collected.get("unfinished") or [] if u.get("status") == "running"]
    if stuck and not failed:
        lines.append(f"  {len(stuck)} job(s) left no final record (killed?), e.g. {stuck[0]['rule']} "
                     f"(log: {stuck[0].get('log')})")
    return "\n".join(lines)
