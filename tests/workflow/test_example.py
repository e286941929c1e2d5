"""The README's first command, `make example`, runs the whole workflow on the example cohort."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from tests.conftest import REPO, needs_plink

pytestmark = [needs_plink, pytest.mark.workflow]


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_example_runs_the_workflow_and_says_where_results_are():
    env = {**os.environ, "CORES": "2"}
    proc = subprocess.run(["make", "example"], cwd=REPO, capture_output=True, text=True, timeout=1200, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "leaderboard:        results/leaderboard.tsv" in proc.stdout

    board = pd.read_csv(REPO / "results/leaderboard.tsv", sep="\t")
    # the default learners: penalized_glm, logistic_l2, random_forest, xgboost (bench_quality.py)
    assert set(board.learner) == {"penalized_glm", "logistic_l2", "random_forest", "xgboost"}
    final = json.loads((REPO / "results/final/final_model.json").read_text())
    assert final["members"] and final["calibrator"]["kind"] in ("none", "platt", "isotonic")
    # the default refits the chosen trials on every development person and scores with them
    assert final["refit_full"] and all(set(m["models"]) == {"full"} for m in final["members"])
    # ancestry PCs by default: in the genome-wide store (unpenalized covariates of penalized_glm),
    # in the report with the model card's line, and projected for the new cohort
    genome = json.loads((REPO / "results/munge_genome/full/recipe.json").read_text())
    assert [f["name"] for f in genome["features"] if f["source"] == "pca"] == [f"ancestry_PC{i}" for i in range(1, 11)]
    assert "ancestry PCs" in (REPO / "results/report.html").read_text()
    harmonized = json.loads((REPO / "results/predict/example_new/harmonize_report.json").read_text())
    assert harmonized["ancestry_pcs"]["full"]["n_pcs"] == 10
    result = json.loads((REPO / "results/evaluate/metrics.json").read_text())
    truth = json.loads((REPO / "resources/example/truth.json").read_text())
    # the example cohort carries real signal: the chosen model finds a good part of it, and
    # cannot beat the noise-free liability (allowing for sampling error on ~200 test people)
    auc = result["test"]["roc_auc"]
    assert 0.65 < auc < truth["case_control"]["oracle_auc"]["training"] + 0.05
    qc = json.loads((REPO / "results/qc/summary.json").read_text())
    assert qc["sample_qc"]["removed_mind"] == len(truth["bad_samples"])
