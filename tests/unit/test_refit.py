"""final.refit_full: the "full" pseudo-fold and a learner's best trial refitted on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from genoml_core import io
from genoml_core.models import persist
from genoml_core.tuning import search, tune
from genoml_core.store import FeatureStore, build_feature_store
from genoml_core.genotypes.split import REFIT_FOLD, fold_members


def _cohort(tmp_path, n=900, m=120, seed=4):
    """A .bed whose binary label depends on SNPs 0-9, and a 3-fold split with a test set."""
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(np.int8)
    lin = (g[:, :10] - g[:, :10].mean(axis=0)).sum(axis=1) * 1.2
    label = (lin + rng.logistic(size=n) > 0).astype(int)
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"rs{i}" for i in range(m)], "CM": 0.0, "POS": np.arange(m) + 1,
                        "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0,
                        "MAT": 0, "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    (tmp_path / "snps").write_text("\n".join(bim.SNP) + "\n")
    sets = np.where(np.arange(n) >= n - n // 5, "test", "dev")
    part = np.where(sets == "test", "test", (np.arange(n) % 3).astype(str)).astype(object)
    return pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": label, "set": sets, "part": part})


def _store(tmp_path, split, fold):
    out = tmp_path / fold
    build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, out, fold=fold, method="kfold",
                        task="binary", class_names=["0", "1"], chunk_variants=64)
    return FeatureStore(out)


@pytest.mark.parametrize("method", ["kfold", "holdout"])
def test_the_refit_fold_trains_on_every_development_person_and_no_test_person(tmp_path, method):
    split = _cohort(tmp_path)
    if method == "holdout":
        split["part"] = np.where(split.set == "test", "test", np.where(np.arange(len(split)) % 5 == 0, "valid",
                                                                       "train"))
    m = fold_members(split, REFIT_FOLD, method)
    assert set(m["train"].IID) == set(split.IID[split.set == "dev"])
    assert m["valid"].empty and set(m["test"].IID) == set(split.IID[split.set == "test"])


def test_refit_best_reuses_the_trial_and_fits_on_all_development_rows(tmp_path):
    """The refit has the best trial's hyperparameters and random state, trains on every
    development person (more than any fold), never on a test person, and scores the test set at
    least as well as the fold models' mean here (more people, same model)."""
    split = _cohort(tmp_path)
    full = _store(tmp_path, split, REFIT_FOLD)
    tr, te = full.index("train"), full.index("test")
    assert len(full.index("valid")) == 0 and len(tr) == int((split.set == "dev").sum())
    assert not set(full.samples.iloc[tr].IID) & set(split.IID[split.set == "test"])
    name, trial, seed = "logistic_l2", 1, 7
    params = search.sample_params(search.DEFAULT_SPACES[name], seed=seed, arch=name, trial=trial)
    rec = tune.refit_best({"learner": name, "best_trial": trial, "params": params}, full.directory, seed=seed,
                          task="binary", class_weight="balanced", threads=1, model_path=tmp_path / "m" / "full.zip")
    assert rec["n_train"] == len(tr) and not list((tmp_path / "m").glob(".*"))
    est, meta = persist.load_model(tmp_path / "m" / "full.zip")
    assert meta["fold"] == REFIT_FOLD and meta["trial"] == trial and meta["params"] == params
    assert meta["random_state"] == tune.trial_random_state(seed, name, trial)
    refit_auc = roc_auc_score(full.labels(te), tune.predict_rows(est, full, te, "binary"))
    # the same trial on the three folds, averaged on the same test people
    stores = {f"fold{i}": _store(tmp_path, split, f"fold{i}").directory for i in range(3)}
    paths = {f: tmp_path / "cv" / f"model_{f}.zip" for f in stores}
    tune.run_trial(stores, learner=name, trial=trial, space=search.DEFAULT_SPACES[name], seed=seed, task="binary",
                   class_weight="balanced", threads=1, model_paths=paths)
    fold_scores = []
    for f, d in stores.items():
        st = FeatureStore(d)
        fold_scores.append(tune.predict_rows(persist.load_model(paths[f])[0], st, st.index("test"), "binary"))
    assert (FeatureStore(stores["fold0"]).samples.iloc[FeatureStore(stores["fold0"]).index("test")].IID.tolist()
            == full.samples.iloc[te].IID.tolist())
    cv_auc = roc_auc_score(full.labels(te), np.mean(fold_scores, axis=0))
    assert refit_auc > 0.75 and refit_auc >= cv_auc - 0.01


def test_refit_best_refuses_a_store_with_validation_rows(tmp_path):
    split = _cohort(tmp_path)
    st = _store(tmp_path, split, "fold0")
    with pytest.raises(ValueError, match="no validation rows"):
        tune.refit_best({"learner": "logistic_l2", "best_trial": 0, "params": {}}, st.directory, seed=1,
                        task="binary", class_weight="balanced", threads=1, model_path=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
