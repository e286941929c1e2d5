"""Command-line polish: --version on every command, the end-of-run summary, progress lines with
rate and time left."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from genoml_core import __version__
from genoml_core.progress import Progress
from genoml_core.warnings_log import results_summary


@pytest.mark.parametrize("module,prog", [("genoml_core.simulate", "genoml-simulate"),
                                         ("genoml_core.predict", "genoml-predict")])
def test_every_command_has_version(module, prog):
    proc = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"{prog} {__version__} (genoml_core)"


def test_the_run_ends_with_the_final_model_its_metric_and_the_report(tmp_path):
    res = tmp_path / "results"
    (res / "evaluate").mkdir(parents=True)
    (res / "predict/new").mkdir(parents=True)
    (res / "evaluate/metrics.json").write_text(json.dumps({
        "learner": "stack(penalized_glm+xgboost)", "calibrator": "platt", "scored_with": "refit",
        "selection_metric": "roc_auc", "test": {"roc_auc": 0.8123}, "test_ci95": {"roc_auc": [0.75, 0.87]},
        "n_test": 197}))
    (res / "predict/new/metrics.json").write_text(json.dumps({"cohort": "new", "metrics": {"roc_auc": 0.77},
                                                              "n_evaluated": 496}))
    (res / "report.html").write_text("<html></html>")
    text = results_summary(res, n_warnings=3)
    assert "final model: stack(penalized_glm+xgboost) (platt, scored with refit)" in text
    assert "held-out test roc_auc: 0.812 (95% CI 0.750-0.870) on 197 people" in text
    assert "new cohort new: roc_auc 0.770 on 496 people" in text
    assert "warnings: 3" in text and f"report: {res / 'report.html'}" in text
    assert results_summary(tmp_path / "nothing") == ""  # a partial target: no summary, no error


def test_progress_lines_give_rate_and_time_left(caplog):
    log = logging.getLogger("test.progress")
    p = Progress(1000, "munge fold0", unit="variants", logger=log, every_s=0.0)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        p.advance(250)
        p.advance(750)
    assert len(caplog.records) == 2
    first, last = caplog.records[0].getMessage(), caplog.records[1].getMessage()
    assert first.startswith("munge fold0: 250/1,000 variants (25%)") and "variants/s" in first and "s left" in first
    assert "1,000/1,000 variants (100%)" in last and "about 0 s left" in last
    quiet = Progress(10, "x", unit="u", logger=log, every_s=3600)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        caplog.clear()
        quiet.advance(5)  # within the interval: no line
        quiet.advance(5)  # the end: always a line
    assert len(caplog.records) == 1
