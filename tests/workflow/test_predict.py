"""Predicting new cohorts with the real workflow: the rule, the command line, and the harmonization
of the simulated new cohort (other people, SNPs shuffled, ~10% swapped alleles, ~2% absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.predict import Cohort, PredictOptions, final_model_from_results, run_prediction
from tests.conftest import (REPO, cohort_entry, edited_config, needs_plink, run_snakemake, training_coded_copy,
                            write_config)

pytestmark = [needs_plink, pytest.mark.workflow]

ID = {"FID": str, "IID": str}


@pytest.fixture
def predict_run(binary_run):
    """The shared default run (tests/conftest.py), whose config predicts three new cohorts."""
    return binary_run


def _predictions(work: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(work / f"results/individual/predict/{name}/predictions.tsv", sep="\t", dtype=ID)


def test_outputs_report_and_metrics(predict_run, small_cohort):
    work = predict_run
    truth = json.loads((small_cohort / "truth.json").read_text())["new_cohort"]
    pred = _predictions(work, "new")
    fam = io.read_fam(small_cohort / "new_cohort")
    assert list(pred.IID) == list(fam.IID)  # every .fam person, in .fam order
    assert list(pred.columns) == ["FID", "IID", "score", "predicted", "prob_control", "prob_case", "observed"]
    assert pred.score.between(0, 1).all()

    report = json.loads((work / "results/predict/new/harmonize_report.json").read_text())
    recipe = json.loads((work / "results/munge/fold0/recipe.json").read_text())
    snps = {f["id"]: f for f in recipe["features"][: recipe["n_snps"]]}
    amb = {s for s, f in snps.items() if {f["counted"], f["other"]} in ({"A", "T"}, {"C", "G"})}
    c = report["folds"]["fold0"]["snps"]
    assert c["total"] == len(snps) and c["matched_by_id"] == len(set(snps) - set(truth["absent_snps"]))
    assert c["absent"] == len(set(snps) & set(truth["absent_snps"]))  # never causal, but may be selected
    assert c["swapped"] == len((set(snps) & set(truth["swapped_snps"])) - amb) > 0
    assert c["ambiguous_dropped"] == len(amb - set(truth["absent_snps"]))
    assert c["strand_flipped"] == c["allele_mismatch"] == c["matched_by_position"] == 0
    assert 0.5 <= report["coverage"] <= 1.0 and report["passed"]
    assert report["importance_source"] == "model_weights"  # logistic_l1 and random_forest both have weights
    assert report["folds"]["fold0"]["other"]["present"] == 2 + 10  # sex, age + the ancestry PCs, projected
    assert report["ancestry_pcs"]["fold0"]["snps"]["absent"] > 0

    m = json.loads((work / "results/predict/new/metrics.json").read_text())
    # the final model select_final wrote (the same one evaluate scored), not a winner re-picked here
    assert m["learner"] == json.loads((work / "results/evaluate/metrics.json").read_text())["learner"]
    final = json.loads((work / "results/final/final_model.json").read_text())
    assert m["members"] == [{k: mb[k] for k in ("learner", "trial", "weight")} for mb in final["members"]]
    assert 0.5 < m["metrics"]["roc_auc"] <= 1.0 and m["n_evaluated"] == pred.observed.notna().sum()
    for name in ("roc", "pr", "confusion", "calibration", "score_distributions"):
        assert (work / f"results/predict/new/plots/{name}.png").read_bytes()[:4] == b"\x89PNG"

    bare = json.loads((work / "results/predict/bare/metrics.json").read_text())
    assert bare["metrics"] is None
    assert not list((work / "results/predict/bare/plots").glob("*.png"))  # no phenotype, no plots
    assert "observed" not in _predictions(work, "bare").columns
    bare_report = json.loads((work / "results/predict/bare/harmonize_report.json").read_text())
    assert bare_report["folds"]["fold0"]["other"]["absent_columns"] == ["sex", "age"]


def test_invariance_new_cohort_equals_training_coded_copy(predict_run):
    """Issue test: shuffled order, swapped alleles and absent SNPs change nobody's score."""
    new, copy = _predictions(predict_run, "new"), _predictions(predict_run, "copy")
    assert list(new.IID) == list(copy.IID)
    np.testing.assert_array_equal(new.score.to_numpy(), copy.score.to_numpy())
    report = json.loads((predict_run / "results/predict/copy/harmonize_report.json").read_text())
    c = report["folds"]["fold0"]["snps"]
    assert c["swapped"] == c["absent"] == 0


def test_swapped_alleles_matter(predict_run, small_cohort, tmp_path):
    """Without the swap logic (stored counts used as they are) people's scores change."""
    model = final_model_from_results(predict_run / "results")
    cohort = Cohort.from_dict({"name": "naive", **cohort_entry(small_cohort, small_cohort / "new_cohort"),
                               "phenotype_column": "case_control"})
    run_prediction(model, cohort, PredictOptions(n_bootstrap=0), predictions_path=tmp_path / "p.tsv",
                   report_path=tmp_path / "r.json", metrics_path=tmp_path / "m.json", plots_dir=tmp_path / "plots",
                   swap_alleles=False)
    naive = pd.read_csv(tmp_path / "p.tsv", sep="\t", dtype=ID)
    good = _predictions(predict_run, "new")
    changed = ~np.isclose(naive.score, good.score, rtol=0, atol=1e-9)
    assert changed.mean() > 0.5, changed.mean()
    assert json.loads((tmp_path / "r.json").read_text())["options"]["swap_alleles"] is False


def test_cli_gives_the_rules_predictions(predict_run, small_cohort, tmp_path):
    cmd = [sys.executable, "-m", "genoml_core.predict", "--results", str(predict_run / "results"),
           "--bfile", str(small_cohort / "new_cohort"), "--covariates", str(small_cohort / "new_cohort_covariates.tsv"),
           "--phenotype", str(small_cohort / "new_cohort_phenotype.tsv"), "--phenotype-column", "case_control",
           "--n-bootstrap", "100", "--seed", "11", "--name", "new", "--out", str(tmp_path / "cli")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "roc_auc" in proc.stdout
    cli = pd.read_csv(tmp_path / "cli/predictions.tsv", sep="\t", dtype=ID)
    pd.testing.assert_frame_equal(cli, _predictions(predict_run, "new"))
    a = json.loads((tmp_path / "cli/metrics.json").read_text())
    b = json.loads((predict_run / "results/predict/new/metrics.json").read_text())
    assert a["metrics"] == b["metrics"] and a["ci95"] == b["ci95"]
    assert 'genoml-predict = "genoml_core.predict:main"' in (REPO / "pyproject.toml").read_text()


def _added_cohort(work: Path, name: str, spec: dict):
    """The shared run's config with one more cohort to predict, for a ``with`` block."""
    return edited_config(work, lambda cfg: cfg["predict"]["cohorts"].update({name: spec}))


def _subset(cohort: Path, out: Path, keep: int) -> Path:
    """The new cohort with only its first ``keep`` variants."""
    bim = io.read_bim(cohort / "new_cohort")
    g = io.read_genotypes(cohort / "new_cohort", np.arange(keep))
    io.write_bed(out, g, bim.iloc[:keep], io.read_fam(cohort / "new_cohort"))
    return out


def test_too_little_overlap_stops_with_the_message(predict_run, small_cohort):
    work = predict_run
    low = _subset(small_cohort, work / "data" / "low", 150)  # ~5% of the SNPs
    with _added_cohort(work, "low", {"genotypes": str(low)}):
        out = run_snakemake(work, "results/individual/predict/low/predictions.tsv", check=False)
        text = out.stdout + out.stderr
        assert out.returncode != 0
        assert "Error in rule predict" in text
        assert "of the model's importance" in text and "below the minimum overlap 50%" in text, text[-3000:]
        assert not (work / "results/individual/predict/low/predictions.tsv").exists()
        # a dry run shows nothing else would rerun: adding a cohort touches only its own job
        dry = run_snakemake(work, "-n", check=False)
    assert "predict" in dry.stdout and "train_classical" not in dry.stdout


@pytest.mark.parametrize("case", ["duplicated_ids", "truncated_bed"])
def test_bad_cohort_stops_before_any_work(predict_run, small_cohort, case):
    work = predict_run
    name = f"bad_{case}"
    d = work / "data" / name
    d.mkdir(parents=True)
    prefix = d / "bad"
    for ext in (".bed", ".bim", ".fam"):
        (d / f"bad{ext}").write_bytes((small_cohort / f"new_cohort{ext}").read_bytes())
    if case == "duplicated_ids":
        lines = (d / "bad.fam").read_text().splitlines()
        lines[9] = lines[3]
        (d / "bad.fam").write_text("\n".join(lines) + "\n")
        expected = "bad.fam, line 4: sample FID=NFAM0004 IID=NEW0004 appears 2 times"
    else:
        data = (d / "bad.bed").read_bytes()
        (d / "bad.bed").write_bytes(data[: len(data) - 100])
        expected = "bad.bed: size"
    with _added_cohort(work, name, {"genotypes": str(prefix)}):
        out = run_snakemake(work, f"results/individual/predict/{name}/predictions.tsv", check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and expected in text, text[-3000:]
    log = (work / f"logs/predict/{name}.log").read_text()
    assert "harmonized" not in log and "coverage" not in log  # stopped before harmonizing or loading a model
    assert not (work / f"results/predict/{name}").exists() or not any((work / f"results/predict/{name}").iterdir())


@pytest.mark.parametrize(
    "task,column,learners,split,keys",
    [
        ("continuous", "quantitative", ["ridge", "xgboost"], {"method": "kfold", "n_folds": 2},
         ["r2", "rmse", "mae", "pearson_r"]),
        ("multiclass", "three_class", ["logistic_l2", "lda"], {}, ["accuracy", "balanced_accuracy", "roc_auc_ovr_macro"]),
    ],
)
def test_other_tasks_and_folds(small_cohort, tmp_path, task, column, learners, split, keys):
    """One code path for every task, from training (two trials per learner) through the test
    evaluation to a new cohort; with k folds the prediction is the mean of the fold models, each
    harmonized to its own recipe (and still invariant to the cohort's coding)."""
    copy = training_coded_copy(small_cohort, tmp_path / "data" / "copy")
    new = cohort_entry(small_cohort, small_cohort / "new_cohort")  # no phenotype_column: the training one
    write_config(tmp_path, small_cohort, task=task, data={"phenotype_column": column}, split=split,
                 train={"learners": learners, "n_trials": 2},
                 predict={"cohorts": {"new": new, "copy": cohort_entry(small_cohort, copy)}})
    run_snakemake(tmp_path)
    result = json.loads((tmp_path / "results/evaluate/metrics.json").read_text())
    assert all(k in result["test"] for k in keys), result["test"]
    assert set(pd.read_csv(tmp_path / "results/leaderboard.tsv", sep="\t").learner) == set(learners)
    a, b = _predictions(tmp_path, "new"), _predictions(tmp_path, "copy")
    np.testing.assert_array_equal(a.score.to_numpy(), b.score.to_numpy())
    report = json.loads((tmp_path / "results/predict/new/harmonize_report.json").read_text())
    m = json.loads((tmp_path / "results/predict/new/metrics.json").read_text())
    folds = ["fold0", "fold1"] if split else ["fold0"]
    assert sorted(report["folds"]) == folds and m["folds"] == folds
    if task == "continuous":
        assert result["test"]["r2"] > 0.0  # the quantitative trait is heritable
        assert list(a.columns) == ["FID", "IID", "score", "predicted", "observed"]
        assert m["metrics"]["pearson_r"] > 0.0 and "rmse" in m["ci95"]  # new cohort: r2 may be < 0
        assert {p.name for p in (tmp_path / "results/predict/new/plots").glob("*.png")} == {"scatter.png",
                                                                                            "residuals.png"}
    else:
        cm = np.array(result["confusion_matrix"]["matrix"])
        assert cm.shape == (3, 3) and cm.sum() == result["n_test"]
        assert {"prob_subtype_a", "prob_subtype_b", "prob_subtype_c"} <= set(a.columns)
        assert set(a.predicted) <= {"subtype_a", "subtype_b", "subtype_c"}
        assert np.array(m["confusion_matrix"]["matrix"]).sum() == m["n_evaluated"]


def test_predicting_the_training_cohort_gives_evaluates_test_scores(predict_run, small_cohort, tmp_path):
    """One final model, one scoring path: the test people predicted as a "new" cohort (the training
    .bed itself, harmonized to every fold's recipe) get exactly evaluate's scores."""
    model = final_model_from_results(predict_run / "results")
    cohort = Cohort.from_dict({"name": "self", "genotypes": str(small_cohort / "cohort"),
                               "covariates": str(small_cohort / "covariates.tsv")})
    # the training .bed's strand-ambiguous SNPs are the training ones: keep them (drop would impute them)
    run_prediction(model, cohort, PredictOptions(n_bootstrap=0, ambiguous_snps="keep"), predictions_path=tmp_path / "p.tsv",
                   report_path=tmp_path / "r.json", metrics_path=tmp_path / "m.json", plots_dir=tmp_path / "plots")
    again = pd.read_csv(tmp_path / "p.tsv", sep="\t", dtype=ID).set_index(["FID", "IID"])
    test = pd.read_csv(predict_run / "results/individual/evaluate/predictions.tsv", sep="\t", dtype=ID).set_index(["FID", "IID"])
    assert len(test) > 50
    np.testing.assert_allclose(again.score.loc[test.index].to_numpy(), test.score.to_numpy(), rtol=1e-6, atol=1e-9)
