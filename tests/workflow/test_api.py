"""The Python API (genoml_core.run / open_run): the same jobs, files and results as the command line,
and the final model's predictions for a new cohort in one call."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

import genoml_core as gm
from genoml_core.errors import ConfigError, GenomlError
from tests.conftest import needs_plink
from tests.identity import differences

pytestmark = [needs_plink, pytest.mark.workflow]

def test_api_runs_the_same_workflow_as_the_command_line(binary_run, tmp_path):
    """The API run of the shared command-line run's config (tests/conftest.py's ``binary_run``), in
    another folder, gives the same results file by file and byte for byte (tests/identity.py: wall
    times and the run's folder set aside), model files and the new cohorts' predictions included.
    This is also the suite's check that the same config and seed give the same results."""
    shutil.copytree(binary_run / "data", tmp_path / "api" / "data")  # the config's "copy" cohort
    config = yaml.safe_load((binary_run / "config.yaml").read_text().replace(str(binary_run), str(tmp_path / "api")))

    run = gm.run(config, workdir=tmp_path / "api", cores=2)
    assert run.workdir == (tmp_path / "api").resolve() and (run.workdir / "config.yaml").exists()
    assert sum(1 for p in run.results.rglob("*") if p.is_file()) > 50
    diffs = differences(binary_run / "results", run.results)
    assert diffs == [], "the API run (the same config) gave different results:\n" + "\n".join(diffs)
    cli = gm.open_run(binary_run)
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(cli.leaderboard().drop(columns=timing), run.leaderboard().drop(columns=timing))

    board = run.leaderboard()
    assert set(board.learner) == {"logistic_l1", "random_forest"} and not [c for c in board.columns if c.startswith("test")]
    assert run.metrics()["test"]["roc_auc"] == cli.metrics()["test"]["roc_auc"]
    assert [m.learner for m in run.final_model().members] == [m.learner for m in cli.final_model().members]
    assert {"feature", "mean_abs_shap"} <= set(run.explanations().columns) and len(run.explanations()) > 0
    assert run.report_path.name == "report.html"

    # a new cohort in one call: the rule predict's predictions for the same people
    new = config["predict"]["cohorts"]["new"]
    pred = run.predict(new["genotypes"], covariates=new["covariates"], phenotype=new["phenotype"], name="new",
                       n_bootstrap=0)
    rule = pd.read_csv(run.results / "individual/predict/new/predictions.tsv", sep="\t", dtype={"FID": str, "IID": str})
    assert list(pred.IID) == list(rule.IID)
    np.testing.assert_allclose(pred.score.to_numpy(), rule.score.to_numpy(), rtol=0, atol=0)
    assert (run.workdir / "predictions/new/metrics.json").exists()

    # nothing to do the second time (the same up-to-date checks as the command line)
    before = (run.results / "leaderboard.tsv").stat().st_mtime_ns
    gm.run(run.workdir / "config.yaml", workdir=run.workdir)
    assert (run.results / "leaderboard.tsv").stat().st_mtime_ns == before


def test_api_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        gm.run(tmp_path / "missing.yaml", workdir=tmp_path)
    with pytest.raises(ConfigError, match=r"qc\.mnd|mnd"):
        gm.run({"task": "binary", "data": {"genotypes": "g", "phenotype": "p", "phenotype_column": "y"},
                "qc": {"mnd": 0.1}}, workdir=tmp_path / "bad")
    with pytest.raises(GenomlError, match="not made yet"):
        gm.open_run(tmp_path / "empty").leaderboard()
