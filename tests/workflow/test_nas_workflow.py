"""A short real run of the RRFCN search inside the workflow: nas_search, then the top-k retrains
as trials of learner rrfcn, chosen on validation beside a classical learner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from genoml_core.evaluation import metrics
from tests.conftest import needs_plink, run_snakemake, write_config
from tests.workflow.test_workflow import _job_counts

pytestmark = [needs_plink, pytest.mark.workflow]

NAS = {
    "n_layers": 3,
    "widths": [8, 16, 32],
    "budget": 4,
    "supernet_epochs": 2,
    "top_k": 2,
    "bn_samples": 64,
    "retrain": {"max_epochs": 4, "patience": 2},
}


@pytest.fixture(scope="module")
def nas_run(small_cohort, tmp_path_factory):
    work = tmp_path_factory.mktemp("wf_nas")
    write_config(work, small_cohort, train={"learners": ["logistic_l2", "rrfcn"], "n_trials": 2}, nas=NAS)
    dry = run_snakemake(work, "-n")
    run_snakemake(work)
    return work, _job_counts(dry.stdout)


def test_search_runs_once_and_the_top_k_retrain_as_rrfcn_trials(nas_run):
    work, counts = nas_run
    assert counts["nas_search"] == 1 and counts["train_rrfcn"] == 2 and counts["train_classical"] == 2
    assert "train_net" not in counts

    found = json.loads((work / "results/nas/architectures.json").read_text())
    assert found["sampler"] == "controller" and found["budget"] == 4 and len(found["architectures"]) == 2
    assert found["n_features"] == 312  # 300 SNPs + sex + age + 10 ancestry PCs of fold0's store
    for entry in found["architectures"]:
        assert len(entry["architecture"]["widths"]) == 3 and 0.0 <= entry["supernet_score"] <= 1.0
    for name in ("winner.png", "search_curve.png"):
        assert (work / "results/nas" / name).read_bytes()[:4] == b"\x89PNG"
    curve = pd.read_csv(work / "results/nas/search_curve.tsv", sep="\t")
    assert list(curve.step) == [1, 2, 3, 4]

    for t, entry in enumerate(found["architectures"]):
        trial = json.loads((work / f"results/train/rrfcn/trial_{t}/metrics.json").read_text())
        assert json.loads(trial["params"]["arch_json"]) == entry["architecture"]
        assert trial["params"]["max_epochs"] == 4 and trial["params"]["patience"] == 2
        # the trial's score is that of its pooled out-of-fold predictions, every validation person once
        oof = pd.read_csv(work / f"results/individual/train/rrfcn/trial_{t}/oof.tsv", sep="\t")
        assert not oof.duplicated(["FID", "IID"]).any()
        auc = metrics.compute_metrics("binary", oof.label.to_numpy(), oof.score.to_numpy())["roc_auc"]
        assert trial["valid"]["roc_auc"] == pytest.approx(auc)

    board = pd.read_csv(work / "results/leaderboard.tsv", sep="\t")
    assert sorted(board.learner) == ["logistic_l2", "rrfcn"]
    selected = json.loads((work / "results/select/rrfcn.json").read_text())
    assert selected["n_trials"] == 2  # the best retrained architecture chosen on validation
    assert (work / "results/evaluate/metrics.json").exists()


def test_nothing_to_do_after_the_run_and_retrain_edits_skip_the_search(nas_run):
    work, _ = nas_run
    out = run_snakemake(work, "-n")
    assert "Nothing to be done" in out.stdout + out.stderr
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["nas"]["retrain"]["max_epochs"] = 5
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    counts = _job_counts(run_snakemake(work, "-n").stdout)
    assert "nas_search" not in counts and counts["train_rrfcn"] == 2, counts
    assert "train_classical" not in counts
