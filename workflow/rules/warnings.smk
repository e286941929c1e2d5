# Every warning of the jobs behind the results, in one file the report and the console summary
# read: each job's script records its WARNING+ log records (and Python warnings) in a sidecar,
# logs/warnings/<log path>.json (scripts/_job.py); collect_warnings merges those of the jobs that
# made rule all's other targets into results/warnings.json, before the report.
import os
import sys
import time

from genoml_core.warnings_log import (
    SIDECAR_DIR,
    collect_warnings,
    console_summary,
    results_summary,
)

# the console summary covers the jobs this run started (a small allowance for the
# clocks of cluster nodes)
RUN_STARTED = time.time() - 5
WARNINGS_FILE = "results/warnings.json"


def warning_sources(wildcards):
    """Rule all's targets but the report and this rule's own output: every job runs first."""
    own = {
        str(p) for p in list(rules.report.output) + list(rules.collect_warnings.output)
    }
    return [str(p) for p in rules.all.input if str(p) not in own]


def print_warnings_summary(failed):
    """The end-of-run summary (Snakefile onsuccess / onerror): the warnings of this run's jobs
    and, on success, of every job behind rule all's targets (made by earlier runs too).
    """
    try:
        targets = None if failed else [str(p) for p in rules.all.input]
        collected = collect_warnings(SIDECAR_DIR, targets=targets, since=RUN_STARTED)
        fresh = (
            os.path.exists(WARNINGS_FILE)
            and os.path.getmtime(WARNINGS_FILE) >= RUN_STARTED
        )
        text = console_summary(
            collected, failed=failed, warnings_file=WARNINGS_FILE if fresh else None
        )
        if (
            not failed
        ):  # the final model, its test metric with CI, the warnings, the report
            done = results_summary(
                "results", n_warnings=int(collected.get("n_warnings", 0))
            )
            text = f"{done}\n{text}" if done else text
    except Exception as err:  # the summary must never change how the run ends
        text = f"genoml-workflow: no warnings summary ({type(err).__name__}: {err}); see {SIDECAR_DIR}/"
    print(text, file=sys.stderr)


rule collect_warnings:
    input:
        warning_sources,
    output:
        WARNINGS_FILE,
    log:
        "logs/collect_warnings.log",
    localrule: True
    conda:
        "../../envs/classical.yaml"
    params:
        sidecars=SIDECAR_DIR,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/collect_warnings.py"
