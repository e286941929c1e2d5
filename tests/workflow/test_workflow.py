"""End-to-end runs of the real workflow (real Snakemake, real plink2) on small simulated cohorts."""

from __future__ import annotations

import fnmatch
import gzip
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genoml_core.io import read_fam
from genoml_core.simulate import SimulationSpec, simulate_cohort
from tests.conftest import edited_config, needs_plink, run_snakemake, write_config

pytestmark = [needs_plink, pytest.mark.workflow]


def _job_counts(dry_run_stdout: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run."""
    counts: dict[str, int] = {}
    block = dry_run_stdout.split("Job stats:")[-1]
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    counts.pop("total", None)
    return counts


def test_outputs_and_metrics(binary_run, small_cohort):
    work = binary_run
    board = pd.read_csv(work / "results/leaderboard.tsv", sep="\t")
    assert sorted(board.learner) == ["logistic_l1", "random_forest"]
    assert list(board["rank"]) == [1, 2]
    assert board.oof_roc_auc.is_monotonic_decreasing  # ranked on out-of-fold predictions
    assert {"oof_roc_auc", "fit_seconds", "params", "best_trial"} <= set(board.columns)
    assert not [c for c in board.columns if c.startswith("test")]  # the test set is scored once, below

    final = json.loads((work / "results/final/final_model.json").read_text())
    result = json.loads((work / "results/evaluate/metrics.json").read_text())
    # the final model (chosen on OOF predictions) is the one evaluated: the best learner, or a stack
    assert [(m["learner"], m["trial"]) for m in result["members"]] == [
        (m["learner"], m["trial"]) for m in final["members"]]
    assert final["combiner"] == "stack" or final["members"][0]["learner"] == board.learner[0]
    assert result["calibrator"] == final["calibrator"]["kind"] in ("none", "platt", "isotonic")
    assert final["evidence"]["n_oof"] == len(pd.read_csv(work / "results/individual/final/oof_predictions.tsv", sep="\t"))
    test = result["test"]
    for key in ("roc_auc", "pr_auc", "balanced_accuracy", "accuracy", "sensitivity", "specificity", "f1",
                "brier", "log_loss"):
        assert key in test
    assert test["roc_auc"] > 0.55  # the simulated trait is heritable: better than chance
    assert "calibration_slope" in test and "calibration_intercept" in test
    lo, hi = result["test_ci95"]["roc_auc"]
    assert lo <= test["roc_auc"] <= hi

    split = pd.read_csv(work / "results/split/split.tsv", sep="\t", dtype=str)
    pred = pd.read_csv(work / "results/individual/evaluate/predictions.tsv", sep="\t", dtype={"FID": str, "IID": str})
    assert set(pred.IID) == set(split[split.part == "test"].IID)
    assert {"prob_case", "score", "predicted", "observed"} <= set(pred.columns)
    # predicted classes follow the final model's balanced decision rule (its cutoff: the mean OOF score)
    cutoff = result["decision_cutoff"]
    assert cutoff == final["decision"]["cutoff"] and 0 < cutoff < 1
    assert ((pred.prob_case >= cutoff) == (pred.predicted == "case")).all()
    for name in ("roc", "pr", "confusion", "calibration", "score_distributions"):
        png = work / f"results/evaluate/{name}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"

    qc = json.loads((work / "results/qc/summary.json").read_text())
    truth = json.loads((small_cohort / "truth.json").read_text())
    assert qc["sample_qc"]["removed_mind"] >= len(truth["bad_samples"]) - 1
    vqc = qc["folds"]["fold0"]["variant_qc"]
    assert vqc["removed_geno"] > 0 and vqc["removed_maf"] > 0 and vqc["removed_hwe"] > 0
    assert qc["folds"]["fold0"]["assoc_filter"]["variants_kept"] == 300

    recipe = json.loads((work / "results/munge/fold0/recipe.json").read_text())
    names = [f["name"] for f in recipe["features"]]
    pcs = [f"ancestry_PC{i}" for i in range(1, 11)]  # pca.n_pcs default 10, after the covariates
    assert names[-12:] == ["sex", "age", *pcs] and len(names) == 312


# Per-person outputs live in results/individual/ (README, "Individual-level data"); elsewhere in
# results/ only these working files, read by the jobs and never shared, are keyed by sample id.
WORKING_FILES = ("inputs/samples.tsv", "split/split.tsv", "*.keep", "munge*/*/samples.tsv")
BINARY_SUFFIXES = (".png", ".npy", ".zip")  # plots, int8 stores and reconstructions, model files


def _ids_in(path: Path, pattern: re.Pattern) -> set[str]:
    """The sample ids that ``pattern`` finds in a text file (a .gz one decompressed)."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", errors="replace")
    return set(pattern.findall(text))


def test_no_individual_level_data_outside_results_individual(binary_run, small_cohort):
    """Issue 12.6: every summary file, the report included, holds no sample id of the cohort;
    the per-person files are under results/individual/, with their stage's sub-folders."""
    res = binary_run / "results"
    iids = sorted(set(read_fam(small_cohort / "cohort").IID), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, iids)) + r")(?![\w.-])")
    assert _ids_in(res / "split/split.tsv", pattern)  # the scan finds ids where they are (a working file)
    scanned, leaks = [], {}
    for path in sorted(p for p in res.rglob("*") if p.is_file()):
        rel = path.relative_to(res).as_posix()
        if rel.startswith("individual/") or path.suffix in BINARY_SUFFIXES:
            continue
        if any(fnmatch.fnmatch(rel, w) for w in WORKING_FILES):
            continue
        scanned.append(rel)
        found = _ids_in(path, pattern)
        if found:
            leaks[rel] = sorted(found)[:3]
    assert leaks == {}, f"sample ids outside results/individual/: {leaks}"
    assert {"report.html", "qc/summary.json", "qc/samples.json", "inputs/report.json", "split/summary.json",
            "explain/summary.json", "final/final_model.json", "warnings.json"} <= set(scanned)

    individual = {
        "evaluate/predictions.tsv", "explain/shap_values.tsv.gz", "final/oof_predictions.tsv",
        "qc/related_pairs.tsv", "qc/removed_samples.tsv",
        *(f"train/{learner}/trial_{t}/oof.tsv" for learner in ("logistic_l1", "random_forest") for t in (0, 1)),
    }
    made = {p.relative_to(res / "individual").as_posix() for p in (res / "individual").rglob("*") if p.is_file()}
    assert individual <= made
    for rel in ("evaluate/predictions.tsv", "explain/shap_values.tsv.gz", "final/oof_predictions.tsv",
                "train/logistic_l1/trial_0/oof.tsv"):
        assert _ids_in(res / "individual" / rel, pattern), rel  # the per-person rows are here instead
    removed = pd.read_csv(res / "individual/qc/removed_samples.tsv", sep="\t", dtype=str)
    summary = json.loads((res / "qc/samples.json").read_text())
    assert len(removed) == summary["removed_mind"] > 0 and set(removed.IID) <= set(iids)


def test_second_dry_run_has_nothing_to_do(binary_run):
    out = run_snakemake(binary_run, "-n")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_editing_one_space_reruns_only_that_learner(binary_run):
    space = {"random_forest": {"n_estimators": {"type": "int", "low": 50, "high": 100, "default": 60}}}
    with edited_config(binary_run, lambda cfg: cfg["train"].update(search_spaces=space)):
        out = run_snakemake(binary_run, "-n")
    counts = _job_counts(out.stdout)
    assert counts == {"train_classical": 2, "select_learner": 1, "leaderboard": 1, "select_final": 1, "evaluate": 1,
                      "pgs_score": 1, "explain": 1, "collect_warnings": 1, "report": 1, "all": 1,
                      "predict": 3}, out.stdout  # the run's three new cohorts, scored by the new final model
    outputs = [line for line in out.stdout.splitlines() if line.strip().startswith("output:")]
    assert any("results/train/random_forest/trial_0/metrics.json" in line for line in outputs)
    assert not any("results/train/logistic_l1/" in line for line in outputs)


def test_noise_phenotype_gives_chance_auc(tmp_path):
    """Leakage guard: every fitted step sees training samples only, so pure noise stays at chance."""
    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, SimulationSpec(n_samples=1500, n_snps=6000, n_chromosomes=3, n_new=20, seed=3))
    ph = pd.read_csv(cohort / "phenotype.tsv", sep="\t", dtype=str)
    ph["noise"] = np.random.default_rng(99).integers(0, 2, len(ph))
    ph.to_csv(cohort / "phenotype.tsv", sep="\t", index=False)
    work = tmp_path / "work"
    write_config(
        work, cohort,
        data={"phenotype_column": "noise"},
        split={"valid_fraction": 0.1, "test_fraction": 0.25},
        assoc_filter={"top_k": 200},
        # knn with k=1 memorizes its training rows: its OOF predictions must still be at chance
        train={"learners": ["logistic_l1", "knn"], "n_trials": 2,
               "search_spaces": {"knn": {"n_neighbors": {"type": "categorical", "values": [1], "default": 1}}}},
        # the default refit on every development person: its own QC, filter and fits must not see
        # a test person either
        final={"refit_full": True},
    )
    run_snakemake(work)
    result = json.loads((work / "results/evaluate/metrics.json").read_text())
    assert all(set(m["models"]) == {"full"} for m in json.loads(
        (work / "results/final/final_model.json").read_text())["members"])
    assert 0.4 <= result["test"]["roc_auc"] <= 0.6, result["test"]
    board = pd.read_csv(work / "results/leaderboard.tsv", sep="\t").set_index("learner")
    assert 0.4 <= board.oof_roc_auc["knn"] <= 0.6, board.oof_roc_auc


def test_kfold(small_cohort, tmp_path):
    """k folds: each fold's filters and scaling fitted on its own training rows; every development
    person predicted once per trial by the fold model that did not train on them (OOF). With
    final.refit_full (the default) the chosen trials are refitted on every development person
    (the "full" pseudo-fold, its own filters and scaling) and the test prediction is the
    calibrated refit's; the mean of the fold models is test_predict's k-fold case."""
    from genoml_core.models import learners, persist
    from genoml_core.evaluation.ensemble import FinalModel, read_oof
    from genoml_core.store import FeatureStore
    from genoml_core.genotypes.plink import read_keep

    write_config(tmp_path, small_cohort, split={"method": "kfold", "n_folds": 3},
                 train={"learners": ["logistic_l2", "knn"], "n_trials": 1}, final={"refit_full": True})
    run_snakemake(tmp_path)
    res = tmp_path / "results"
    split = pd.read_csv(res / "split/split.tsv", sep="\t", dtype=str)
    dev = split[split.set == "dev"].set_index("IID")
    for i in range(3):
        train = read_keep(res / f"split/fold{i}/train.keep")
        assert set(train.IID) == set(dev.index[dev.part != str(i)])  # the other folds' people, nobody else
        recipe = json.loads((res / f"munge/fold{i}/recipe.json").read_text())
        assert recipe["n_train"] == len(train)
        for step in ("qc_variants", "ld_prune"):
            assert f"results/split/fold{i}/train.keep" in (tmp_path / f"logs/{step}/fold{i}.log").read_text()
    recipes = [json.loads((res / f"munge/fold{i}/recipe.json").read_text()) for i in range(3)]
    assert recipes[0]["features"] != recipes[1]["features"]  # fold-specific filters and training means
    # the refit pseudo-fold: every development person trains, no test person
    assert set(read_keep(res / "split/full/train.keep").IID) == set(dev.index)
    assert json.loads((res / "munge/full/recipe.json").read_text())["n_train"] == len(dev)
    # ancestry PCs (pca.n_pcs default 10): fitted on each fold's training people only, everybody
    # projected, in both stores as covariates whose recipes name the weights
    for fold in ("fold0", "fold1", "fold2", "full"):
        summary = json.loads((res / f"pca/{fold}/summary.json").read_text())
        train = read_keep(res / f"split/{fold}/train.keep")
        assert summary["n_train"] == len(train) and summary["n_pcs"] == 10
        assert f"of {len(train)} training samples (results/split/{fold}/train.keep)" in (
            tmp_path / f"logs/pca/{fold}.log").read_text()
        assert min(summary["train_projection_agreement"]) > 0.95
        pcs = pd.read_csv(res / f"individual/pca/{fold}/pcs.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
        assert set(pcs.index[pcs.role == "train"]) == set(train.IID)
        assert set(pcs.index[pcs.role == "test"]) == set(split[split.set == "test"].IID)
        recipe = json.loads((res / f"munge/{fold}/recipe.json").read_text())
        names = [f["name"] for f in recipe["features"] if f["source"] == "pca"]
        assert names == [f"ancestry_PC{i}" for i in range(1, 11)]
        assert (res / f"munge/{fold}" / recipe["pca"]["weights"]).resolve() == (res / f"pca/{fold}/weights.tsv").resolve()

    for learner in ("logistic_l2", "knn"):
        oof = read_oof(res / f"individual/train/{learner}/trial_0/oof.tsv").set_index("IID")
        assert not oof.index.duplicated().any() and set(oof.index) == set(dev.index)
        assert (oof.fold == "fold" + dev.part.loc[oof.index]).all()  # predicted by the fold that held them out
    board = pd.read_csv(res / "leaderboard.tsv", sep="\t")
    assert not [c for c in board.columns if c.startswith("test")]
    assert (board.oof_n == len(dev)).all()

    final = FinalModel.load(res / "final/final_model.json")
    assert final.spec["refit_full"] and all(m.folds == ["full"] for m in final.members)
    for m, raw in zip(final.members, final.spec["members"]):
        assert sorted(raw["fold_models"]) == ["fold0", "fold1", "fold2"]
        est, meta = persist.load_model(m.models["full"])
        assert meta["fold"] == "full" and meta["trial"] == m.trial
    assert not set(split[split.set == "test"].IID) & set(
        pd.read_csv(res / "individual/final/oof_predictions.tsv", sep="\t", dtype=str).IID)  # the stack never saw test rows
    member_scores = []
    for m in final.members:
        per_fold = []
        for fold in m.folds:
            store = FeatureStore(res / f"munge/{fold}")
            te = store.index("test")
            est, _ = persist.load_model(m.models[fold])
            per_fold.append(learners.predict_scores(est, store.rows(te), task="binary"))
            ids = store.samples.iloc[te].IID.to_numpy()
        member_scores.append(np.mean(per_fold, axis=0))
    expected = pd.Series(final.score(member_scores), index=ids)
    pred = pd.read_csv(res / "individual/evaluate/predictions.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
    np.testing.assert_allclose(pred.score.loc[expected.index], expected, rtol=1e-6)


# ----------------------------------------------------------------------------- bad inputs
def _corrupt(case: str, d: Path) -> None:
    ph = d / "phenotype.tsv"
    if case == "id_not_in_fam":
        df = pd.read_csv(ph, sep="\t", dtype=str, keep_default_na=False)
        df.loc[5, "IID"] = "NOBODY"
        df.to_csv(ph, sep="\t", index=False)
    elif case == "duplicated_ids":
        df = pd.read_csv(ph, sep="\t", dtype=str, keep_default_na=False)
        pd.concat([df, df.iloc[[7]]]).to_csv(ph, sep="\t", index=False)
    elif case == "wrong_coding":
        df = pd.read_csv(ph, sep="\t", dtype=str, keep_default_na=False)
        df["case_control"] = df["case_control"].map({"0": "1", "1": "2"}).fillna("NA")
        df.to_csv(ph, sep="\t", index=False)
    elif case == "single_class":
        df = pd.read_csv(ph, sep="\t", dtype=str, keep_default_na=False)
        df["case_control"] = "1"
        df.to_csv(ph, sep="\t", index=False)
    elif case == "non_numeric_covariate":
        df = pd.read_csv(d / "covariates.tsv", sep="\t", dtype=str, keep_default_na=False)
        df.loc[9, "sex"] = "female"
        df.to_csv(d / "covariates.tsv", sep="\t", index=False)
    elif case == "truncated_bed":
        data = (d / "cohort.bed").read_bytes()
        (d / "cohort.bed").write_bytes(data[: len(data) // 2])
    elif case == "wrong_magic":
        data = bytearray((d / "cohort.bed").read_bytes())
        data[:3] = b"BED"
        (d / "cohort.bed").write_bytes(bytes(data))
    elif case == "bim_fam_mismatch":
        lines = (d / "cohort.bim").read_text().splitlines()
        (d / "cohort.bim").write_text("\n".join(lines[:-3]) + "\n")
    else:
        raise ValueError(case)


BAD_INPUTS = {
    "id_not_in_fam": r"phenotype\.tsv: 1 sample\(s\) are not in .*cohort\.fam, e\.g\. FID='\S+' IID='NOBODY'",
    "duplicated_ids": r"phenotype\.tsv, line \d+: sample FID=\S+ IID=\S+ appears 2 times",
    "wrong_coding": r"phenotype case_control = '2', but data\.binary_coding is '01'",
    "single_class": r"single class \(case\)",
    "non_numeric_covariate": r"covariates\.tsv, line 11: covariate column 'sex' = 'female' is not numeric",
    "truncated_bed": r"cohort\.bed: size \d+ bytes does not match .* truncated",
    "wrong_magic": r"cohort\.bed: not a PLINK 1 \.bed file",
    "bim_fam_mismatch": r"cohort\.bed: size \d+ bytes does not match 2997 variants",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_stops_early_with_a_clear_message(small_cohort, tmp_path, case):
    d = tmp_path / "data"
    shutil.copytree(small_cohort, d)
    _corrupt(case, d)
    work = tmp_path / "work"
    write_config(work, d)
    out = run_snakemake(work, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert re.search(BAD_INPUTS[case], text), text[-3000:]
    assert "Error in rule check_inputs" in text
    # nothing past the check ran, and the check left no output behind
    results = work / "results"
    leftovers = [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
    assert leftovers == []


def test_cohort_below_the_floor_stops_at_the_split_unless_allowed(small_cohort, tmp_path):
    """~390 analysis samples against a floor of 1000: stopped before anything is fitted, with the
    count, the floor and the opt-in key; with the opt-in the split runs and warns."""
    write_config(tmp_path, small_cohort, split={"min_samples": 1000})
    out = run_snakemake(tmp_path, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and "Error in rule split_samples" in text
    assert re.search(r"split: \d{3} analysis samples after QC, fewer than split\.min_samples = 1000.*"
                     r"set split\.allow_small: true", text), text[-3000:]
    assert not (tmp_path / "results/split/split.tsv").exists() and not (tmp_path / "results/munge").exists()
    assert "genoml-workflow: the run failed." in text  # the console summary, on failure too
    write_config(tmp_path, small_cohort, split={"min_samples": 1000, "allow_small": True})
    out = run_snakemake(tmp_path, "results/split/summary.json")
    sidecar = json.loads((tmp_path / "logs/warnings/split_samples.json").read_text())
    assert sidecar["status"] == "ok" and any(
        "running anyway because split.allow_small is true" in w["message"] for w in sidecar["warnings"])
    assert "TOO SMALL TO JUDGE" in out.stdout + out.stderr


def test_config_typo_stops_before_any_job(small_cohort, tmp_path):
    write_config(tmp_path, small_cohort, qc={"mnd": 0.1})
    out = run_snakemake(tmp_path, check=False)
    assert out.returncode != 0
    assert "config key qc: unknown key 'mnd' (did you mean 'mind'?)" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


def test_user_configfile_is_not_merged_with_the_example_config(small_cohort, tmp_path):
    """`--configfile mine.yaml` must not inherit keys (e.g. covariates) from config/config.yaml."""
    write_config(tmp_path, small_cohort)  # stands in for the example config: it has covariates
    (tmp_path / "config").mkdir()
    (tmp_path / "config.yaml").rename(tmp_path / "config" / "config.yaml")
    mine = {"task": "binary", "data": {"genotypes": str(small_cohort / "cohort"),
                                       "phenotype": str(small_cohort / "phenotype.tsv"),
                                       "phenotype_column": "case_control"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(mine))
    out = run_snakemake(tmp_path, "-n", "results/inputs/samples.tsv")
    inputs = next(line for line in out.stdout.splitlines() if line.strip().startswith("input:"))
    assert "phenotype.tsv" in inputs and "covariates.tsv" not in inputs


def test_parsing_the_snakefile_imports_no_heavy_library(small_cohort, tmp_path):
    """Every job (and every SLURM job twice) parses the Snakefile: the rule files import only
    import-light modules (genoml_core.layout, config, registry), never scikit-learn, XGBoost,
    PyTorch or matplotlib. Checked on a real dry run, from Python's own import log."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    write_config(tmp_path, small_cohort)
    cmd = [sys.executable, "-X", "importtime", "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
           str(tmp_path), "--configfile", str(tmp_path / "config.yaml"), "--cores", "1", "-n", "--quiet"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert {"genoml_core.layout", "genoml_core.config", "genoml_core.models.registry"} <= imported  # the log is real
    heavy = sorted(m for m in imported if m.split(".")[0] in {"sklearn", "xgboost", "torch", "matplotlib"})
    assert not heavy, f"parsing the Snakefile imported {heavy[:10]}"


def test_snakemake_lint_finds_nothing(small_cohort, tmp_path):
    """`snakemake --lint` (Snakemake's own best practices: no hard-coded path prefixes in params,
    rule files without functions, logs and conda envs on every rule, ...) is clean."""
    # with a truth file, so that explain reads the genotypes too
    write_config(tmp_path, small_cohort, explain={"truth": str(small_cohort / "truth.json")})
    out = run_snakemake(tmp_path, "--lint", check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "Lints for" not in text, text[-6000:]
    assert "your workflow is in a good condition" in text


def test_dry_run_of_the_committed_test_config():
    """`snakemake -n --directory .test` from the repository root, as the README and .test/README.md
    say: the committed config validates, its data are found and the DAG reaches every stage
    (-F: whatever a local run of .test left behind)."""
    import subprocess

    from tests.conftest import REPO, snakemake_bin

    proc = subprocess.run([snakemake_bin(), "-n", "-F", "--directory", ".test", "--cores", "1"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    counts = _job_counts(proc.stdout)
    assert counts["train_classical"] == 4 and counts["select_learner"] == 2, counts  # 2 learners x 2 trials
    for rule in ("check_inputs", "munge", "evaluate", "explain", "predict", "subgroups", "report", "all"):
        assert counts[rule] == 1, (rule, counts)


def _variant(cfg: dict, **sections) -> dict:
    """``cfg`` with top-level keys replaced, or sections (dicts) updated key by key."""
    out = json.loads(json.dumps(cfg))
    for key, value in sections.items():
        if isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        else:
            out[key] = value
    return out


def _target_variants() -> dict[str, dict]:
    """.test's config, config/config.yaml on .test's data, and variants that change rule all."""
    from tests.conftest import REPO, TEST_DIR

    base = yaml.safe_load((TEST_DIR / "config/config.yaml").read_text())
    cohort = base["predict"]["cohorts"]["test_new"]
    default = _variant(
        yaml.safe_load((REPO / "config/config.yaml").read_text()),
        data={k: base["data"][k] for k in ("genotypes", "phenotype", "covariates", "groups")},
        explain={"truth": base["explain"]["truth"]},
        predict={"cohorts": {"example_new": {**cohort, "omics": None, "phenotype_column": "case_control"}}},
    )
    return {
        "test": base,
        "default": default,
        "embed_on": _variant(base, embed={"enabled": True}),
        "no_cohorts": _variant(base, predict={"cohorts": None}),
        "two_cohorts": _variant(base, predict={"cohorts": {"test_new": cohort, "again": cohort}}),
        "no_groups": _variant(base, data={"groups": None}),
        "no_truth": _variant(base, explain={"truth": None}),
        "continuous": _variant(base, task="continuous", data={"phenotype_column": "quantitative"},
                               train={"learners": ["ridge", "random_forest"]}),
        "multiclass": _variant(base, task="multiclass", data={"phenotype_column": "three_class"}),
    }


def test_rule_all_targets_on_a_dry_run_are_those_of_the_old_snakefile(tmp_path):
    """Rule all's inputs, now all_outputs() in workflow/rules/common.smk, are the same files in the
    same order as the Snakefile's former list of globals gave, for the default config and variants
    (embedding on, no / two new cohorts, no groups, no truth, other tasks). rule_all_targets.json was
    written by this test's dry runs on the Snakefile before all_outputs().
    The explain stage has no on/off switch: its outputs are always targets."""
    from tests.conftest import copy_test_config

    expected = json.loads((Path(__file__).with_name("rule_all_targets.json")).read_text())
    variants = _target_variants()
    assert sorted(variants) == sorted(expected)
    copy_test_config(tmp_path)
    for name, cfg in variants.items():
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
        out = run_snakemake(tmp_path, "-n")
        found = re.search(r"^(?:local)?rule all:\n\s+input: (.*)$", out.stdout, re.M)
        assert found, (name, out.stdout[-3000:])
        assert found.group(1).split(", ") == expected[name], name


def test_report_captions_exist():
    """Every report(..., caption=...) of the rule files names a file of workflow/report/ (Snakemake
    reads captions only when `snakemake --report` runs, so a wrong path shows nowhere else)."""
    from tests.conftest import REPO

    rule_files = [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]
    captions = {(f, c) for f in rule_files for c in re.findall(r'caption="([^"]+)"', f.read_text())}
    captions |= {(REPO / "Snakefile", c) for c in re.findall(r'^report: "([^"]+)"', (REPO / "Snakefile").read_text(), re.M)}
    assert len(captions) >= 10
    for smk, caption in captions:
        path = (REPO / caption) if smk.name == "Snakefile" else (smk.parent / caption)
        assert path.resolve().parent == REPO / "workflow/report" and path.is_file(), (smk.name, caption)
