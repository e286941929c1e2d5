"""Shown: the text the Snakefile prints at the end of a run (:func:`console_summary`,
:func:`results_summary`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .. import layout
from ..run_size import LOGGER_NAME as SIZE_LOGGER
from .sidecar import SIDECAR_DIR


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
