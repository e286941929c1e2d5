"""Res-VAE trials, their selection and the embedding comparison, on a tiny real feature store."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core.models import embed, persist
from genoml_core.store import build_feature_store
from genoml_core.tuning.net_spaces import space_for


def _omics_store(tmp_path: Path, *, n: int = 90, m: int = 12, seed: int = 0) -> Path:
    """A matrix-only feature store (fold0, holdout): two classes shifted on the first features."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 2
    x = rng.normal(size=(n, m)) + 1.5 * label[:, None] * (np.arange(m) < 4)
    ids = [f"S{i}" for i in range(n)]
    omics = pd.DataFrame(x, columns=[f"g{j}" for j in range(m)])
    omics.insert(0, "IID", ids)
    omics.insert(0, "FID", ids)
    part = np.array(["train"] * n, dtype=object)
    part[: n // 5] = "valid"
    part[n - n // 5:] = "test"
    sets = np.where(part == "test", "test", "dev")
    split = pd.DataFrame({"FID": ids, "IID": ids, "label": label, "set": sets, "part": part})
    build_feature_store(None, None, split, tmp_path / "store", fold="fold0", method="holdout", task="binary",
                        class_names=["control", "case"], omics=omics)
    return tmp_path / "store"


def _tiny_vae_space() -> dict:
    """The Res-VAE space with small widths and few epochs; trials differ in lr, beta and width."""
    space = space_for("res_vae")
    space["d_first"] = {"type": "categorical", "values": [16, 32], "default": 16}
    space["d_latent"] = {"type": "categorical", "values": [2, 3], "default": 2}
    space["n_layers"] = {"type": "categorical", "values": [3], "default": 3}
    space["max_epochs"] = {"type": "int", "low": 3, "high": 4, "log": False, "default": 3}
    space["kl_warmup_epochs"] = {"type": "int", "low": 0, "high": 1, "log": False, "default": 0}
    space["batch_size"] = {"type": "categorical", "values": [32], "default": 32}
    return space


def test_vae_trial_records_store_the_loss_and_selection_takes_the_lowest(tmp_path: Path) -> None:
    """Issue 12.5.1: records held the negated loss, so select_vae kept the worst trial."""
    store = _omics_store(tmp_path)
    space = _tiny_vae_space()
    records, true_loss = [], {}
    for trial in range(3):
        path = tmp_path / f"trial_{trial}" / "model.zip"
        rec = embed.run_vae_trial(store, trial=trial, space=space, seed=1, threads=1, model_path=path)
        emb, _ = persist.load_model(path)
        # the validation loss of the kept epoch, straight from the training history
        true_loss[trial] = emb.history_[emb.best_epoch_ - 1]["valid_loss"]
        assert rec["valid_loss"] == pytest.approx(true_loss[trial])
        assert rec["valid_loss"] > 0  # a loss (squared error + KL), not its negation
        records.append(rec)
    assert len({round(v, 6) for v in true_loss.values()}) == 3, "trials should differ for this test to bite"
    best = embed.select_vae(records)
    assert best["trial"] == min(true_loss, key=true_loss.get)
    assert best["trial"] != max(true_loss, key=true_loss.get)


def test_select_vae_prefers_finite_and_lower_trial_on_ties() -> None:
    recs = [{"trial": 0, "valid_loss": math.nan}, {"trial": 1, "valid_loss": 2.0}, {"trial": 2, "valid_loss": 2.0},
            {"trial": 3, "valid_loss": 5.0}]
    assert embed.select_vae(recs)["trial"] == 1
    with pytest.raises(ValueError, match="no Res-VAE trial"):
        embed.select_vae([])
    with pytest.raises(ValueError, match=r"trial\(s\) \[1\] have a negative valid_loss.*rerun them"):
        embed.select_vae([{"trial": 0, "valid_loss": 3.0}, {"trial": 1, "valid_loss": -2.0}])


def test_tsne_heldout_score_is_marked_as_in_the_fit(tmp_path: Path) -> None:
    """Issue 12.5.5: t-SNE is fitted on the held-out rows it is scored on; the summary says so."""
    store = _omics_store(tmp_path)
    model = tmp_path / "vae" / "model.zip"
    embed.run_vae_trial(store, trial=0, space=_tiny_vae_space(), seed=1, threads=1, model_path=model)
    summary = embed.compare_embeddings(store, model, tmp_path / "out", seed=1, tsne_perplexity=5.0,
                                       individual_dir=tmp_path / "individual")
    methods = summary["methods"]
    # issue 12.6: the per-person latents and reconstructions apart from the plots and the summary
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{m}_scatter.png" for m in sorted(methods)]
    assert {p.name for p in (tmp_path / "individual").iterdir()} == {
        *(f"{m}_latent.tsv" for m in methods), "res_vae_reconstruction.npy", "pca_reconstruction.npy"}
    assert methods["tsne"]["heldout_rows_in_fit"] is True
    assert methods["res_vae"]["heldout_rows_in_fit"] is False and methods["pca"]["heldout_rows_in_fit"] is False
    assert "not an out-of-sample" in summary["davies_bouldin_note"]
    assert all(np.isfinite(methods[m]["davies_bouldin_heldout"]) for m in embed.EMBED_METHODS)
