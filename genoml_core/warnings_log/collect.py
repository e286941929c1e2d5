"""Per run: the sidecars of the jobs behind the results merged into ``results/warnings.json``
(:func:`collect_warnings`)."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from .sidecar import FORMAT, LOGGER_NAME, SIDECAR_DIR

log = logging.getLogger(LOGGER_NAME)

#: Jobs named per entry of ``results/warnings.json`` (the count of all is ``n_jobs``).
MAX_JOBS_LISTED = 10
#: Loggers whose records are the workflow's own (others are third-party libraries).
WORKFLOW_LOGGERS = ("genoml_core", "rule")


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
