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


rule collect_warnings:
    input:
        warning_sources,
    output:
        layout.WARNINGS_FILE,
    log:
        layout.log_file("collect_warnings"),
    localrule: True
    conda:
        "../../envs/classical.yaml"
    params:
        sidecars=SIDECAR_DIR,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/collect_warnings.py"
