"""Matrix-only runs (no PLINK stages) on two real expression datasets shipped inside PyPI wheels:
scanpy's pbmc68k_reduced (10 cell types) and scikit-survival's GSE7390 (ER status)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from genoml_core.store import datasets
from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow


def _config(work, exported, task, **extra):
    cfg = {
        "seed": 5,
        "task": task,
        "data": {"genotypes": None, "omics": exported["matrix"], "phenotype": exported["labels"],
                 "phenotype_column": exported["column"]},
        "split": {"method": "holdout", "valid_fraction": 0.15, "test_fraction": 0.2},
        "evaluate": {"n_bootstrap": 100},
        **extra,
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


NETS = ["mlp", "rfcn_resnet", "rfcn_densenet", "tabm"]
ONE_BAG = {"type": "categorical", "values": [1], "default": 1}


def test_gse7390_every_net_beside_classical_learners(tmp_path):
    pytest.importorskip("sksurv")
    exported = datasets.export_gse7390(tmp_path / "data")
    _config(tmp_path / "work", exported, "binary",
            train={"learners": ["logistic_l2", "xgboost", *NETS], "n_trials": 1, "net_threads": 3,
                   # one net per fit, not n_bags "auto"'s five on these 158 training tumours: bagging
                   # is tests/unit/test_bagging.py's; here every net runs through the workflow
                   "search_spaces": {net: {"n_bags": ONE_BAG} for net in NETS}})
    run_snakemake(tmp_path / "work")
    res = tmp_path / "work/results"
    assert not (res / "qc/samples.keep").exists()  # PLINK stages skipped
    board = pd.read_csv(res / "leaderboard.tsv", sep="\t")
    assert set(board.learner) == {"logistic_l2", "xgboost", "mlp", "rfcn_resnet", "rfcn_densenet", "tabm"}
    # a net job's torch uses the threads it was given: train.net_threads (3), capped by --cores 2
    for net in ("mlp", "tabm"):
        assert "device: cpu (2 threads)" in (tmp_path / f"work/logs/train/{net}/trial_0.log").read_text()
    assert not [c for c in board.columns if c.startswith("test")]  # the test set is scored once, by the final model
    # ER status is written all over a breast tumour's expression profile (ESR1 and its targets)
    assert json.loads((res / "evaluate/metrics.json").read_text())["test"]["roc_auc"] > 0.85
    # every net learns it too (out-of-fold on ~30 validation tumours: an AUC's standard error is ~0.08)
    assert (board.set_index("learner").oof_roc_auc[NETS] > 0.6).all()
    recipe = json.loads((res / "munge/fold0/recipe.json").read_text())
    assert recipe["n_snps"] == 0 and len(recipe["features"]) == 76
    assert all(f["source"] == "omics" for f in recipe["features"])


def test_pbmc68k_cell_types_and_embeddings(tmp_path):
    pytest.importorskip("scanpy")
    exported = datasets.export_pbmc68k(tmp_path / "data")
    _config(tmp_path / "work", exported, "multiclass",
            train={"learners": ["logistic_l2", "mlp"], "n_trials": 1, "search_spaces": {"mlp": {"n_bags": ONE_BAG}}},
            embed={"enabled": True, "n_trials": 1})
    run_snakemake(tmp_path / "work")
    res = tmp_path / "work/results"
    result = json.loads((res / "evaluate/metrics.json").read_text())
    assert np.array(result["confusion_matrix"]["matrix"]).shape == (10, 10)
    assert result["test"]["accuracy"] > 0.6  # the largest class is 34% of cells
    summary = json.loads((res / "embed/summary.json").read_text())
    for method in ("res_vae", "pca", "tsne"):
        entry = summary["methods"][method]
        assert np.isfinite(entry["davies_bouldin_heldout"]) and entry["davies_bouldin_heldout"] > 0
        latent = pd.read_csv(res / f"individual/embed/{method}_latent.tsv", sep="\t")
        assert len(latent) == 700 and latent.shape[1] == 3 + entry["d_latent"]
        assert (res / f"embed/{method}_scatter.png").read_bytes()[:4] == b"\x89PNG"
    recon = np.load(res / "individual/embed/res_vae_reconstruction.npy")
    assert recon.shape == (700, 765)
    # the Res-VAE reconstructs held-out cells better than predicting the training mean (MSE 1)
    assert summary["methods"]["res_vae"]["recon_mse_heldout"] < 1.0
