"""Per job: :class:`WarningRecorder` keeps a job's WARNING-or-worse records (Python warnings
included, :func:`capture_python_warnings`) and writes them to the job's sidecar
(:func:`sidecar_path`); :func:`install_recorder` sets it up for ``scripts/_job.py``."""

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
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import layout

#: The package's logger name, not __name__ (warnings.json records it); a sidecar's
#: overflow entry names it too.
LOGGER_NAME = "genoml_core.warnings_log"

#: ``format`` of the sidecars and of ``results/warnings.json``.
FORMAT = "genoml_core.warnings/1"
#: Where the per-job sidecars live (relative to the working directory).
SIDECAR_DIR = layout.WARNING_SIDECARS
#: Longer messages are cut (a warning listing thousands of SNPs must not bloat every file).
MAX_MESSAGE_CHARS = 2000
#: Distinct messages kept per job; later new ones are only counted (a job warning once per SNP
#: must not rewrite a growing sidecar thousands of times).
MAX_DISTINCT = 200
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
            key = ("WARNING", LOGGER_NAME, "more distinct warnings than the sidecar keeps; see the job's log")
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
