"""The Python API (genoml_core.run / open_run): the same jobs, files and results as the command line,
and the final model's predictions for a new cohort in one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import genoml_core as gm
from genoml_core.errors import ConfigError, GenomlError
from tests.conftest import needs_plink, run_snakemake, write_config

pytestmark = [needs_plink, pytest.mark.workflow]

# results that must be byte-identical (the others differ only in run times, gzip/zip timestamps
# or absolute paths: fit_seconds, "seconds", the report's date)
_SAME = ["evaluate/metrics.json", "final/final_model.json", "split/split.tsv", "munge/fold0/recipe.json",
         "pca/fold0/weights.tsv", "assoc/fold0/selected.snplist", "predict/new/metrics.json",
         "individual/evaluate/predictions.tsv", "individual/predict/new/predictions.tsv", "score/summary.json"]


def _files(results: Path) -> list[str]:
    return sorted(str(p.relative_to(results)) for p in results.rglob("*") if p.is_file())


def test_api_runs_the_same_workflow_as_the_command_line(small_cohort, tmp_path):
    new = {"genotypes": str(small_cohort / "new_cohort"), "covariates": str(small_cohort / "new_cohort_covariates.tsv"),
           "phenotype": str(small_cohort / "new_cohort_phenotype.tsv")}
    cli = tmp_path / "cli"
    cfg_path = write_config(cli, small_cohort, train={"learners": ["logistic_l1"], "n_trials": 1},
                            predict={"cohorts": {"new": new}})
    run_snakemake(cli)
    config = yaml.safe_load(cfg_path.read_text())

    run = gm.run(config, workdir=tmp_path / "api", cores=2)
    assert run.workdir == (tmp_path / "api").resolve() and (run.workdir / "config.yaml").exists()
    assert _files(cli / "results") == _files(run.results)  # the same files
    for rel in _SAME:
        assert (cli / "results" / rel).read_bytes() == (run.results / rel).read_bytes(), rel
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(gm.open_run(cli).leaderboard().drop(columns=timing),
                                  run.leaderboard().drop(columns=timing))

    board = run.leaderboard()
    assert list(board.learner) == ["logistic_l1"] and not [c for c in board.columns if c.startswith("test")]
    assert run.metrics()["test"]["roc_auc"] == pytest.approx(
        gm.open_run(cli).metrics()["test"]["roc_auc"])
    assert run.final_model().members[0].learner == "logistic_l1"
    assert {"feature", "mean_abs_shap"} <= set(run.explanations().columns) and len(run.explanations()) > 0
    assert run.report_path.name == "report.html"

    # a new cohort in one call: the rule predict's predictions for the same people
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
