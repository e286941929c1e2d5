"""Out-of-core learners and bounded-memory reads of the feature store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from genoml_core import io
from genoml_core.models import learners
from genoml_core.tuning import search, tune
from genoml_core.store import FeatureStore, build_feature_store
from genoml_core.models.outofcore import fit_streaming


def _store(tmp_path, *, n=1200, m=200, task="binary", seed=3):
    """A real feature store (via a .bed) whose label depends on SNPs 0-9."""
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(np.int8)
    lin = (g[:, :10] - g[:, :10].mean(axis=0)).sum(axis=1) * 1.2
    if task == "binary":
        label = (lin + rng.logistic(size=n) > 0).astype(int)
    elif task == "multiclass":
        label = np.digitize(lin + rng.normal(0, 0.5, n), np.quantile(lin, [1 / 3, 2 / 3]))
    else:
        label = 40.0 + 5.0 * lin + rng.normal(0, 2.0, n)
    g[rng.random((n, m)) < 0.01] = -1
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"rs{i}" for i in range(m)], "CM": 0.0, "POS": np.arange(m) + 1,
                        "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0,
                        "MAT": 0, "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    (tmp_path / "snps").write_text("\n".join(bim.SNP) + "\n")
    part = np.array(["train"] * n, dtype=object)
    part[: n // 5] = "valid"
    sets = np.where(np.arange(n) >= n - n // 10, "test", "dev")
    part[sets == "test"] = "test"
    split = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": label, "set": sets, "part": part})
    classes = None if task == "continuous" else [str(c) for c in sorted(set(label))]
    build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, tmp_path / "store", fold="fold0",
                        method="holdout", task=task, class_names=classes, chunk_variants=64)
    return FeatureStore(tmp_path / "store")


class _Counting:
    """A row source that records the largest batch asked for."""

    def __init__(self, view):
        self.view, self.largest, self.calls = view, 0, 0

    def __len__(self):
        return len(self.view)

    @property
    def shape(self):
        return self.view.shape

    def __getitem__(self, idx):
        self.largest = max(self.largest, len(idx))
        self.calls += 1
        return self.view[idx]


def test_sgd_logistic_learns_from_batches_only(tmp_path):
    st = _store(tmp_path)
    tr, va, te = st.index("train"), st.index("valid"), st.index("test")
    for name in ("logistic_l1_sgd", "logistic_l2_sgd"):
        X = _Counting(st.view("train"))
        est = learners.make_learner(name, {}, task="binary", random_state=7)
        fit_streaming(est, X, st.labels(tr), task="binary", X_valid=st.view("valid"), y_valid=st.labels(va),
                      random_state=7, batch_size=128)
        # never more than one batch of rows in memory, and many batches per fit
        assert X.largest <= 128 and X.calls >= len(tr) // 128
        auc = roc_auc_score(st.labels(te), tune.predict_rows(est, st, te, "binary"))
        assert auc > 0.75, (name, auc)
        assert est.genoml_epochs_ and all(np.isfinite(r["loss"]) for r in est.genoml_epochs_)
    # L1 ranks the causal SNPs first
    w = learners.model_weights(est, st.n_features)
    assert len(set(np.argsort(-w)[:10]) & set(range(10))) >= 7


def test_sgd_is_deterministic_and_seed_dependent(tmp_path):
    st = _store(tmp_path)
    tr, va = st.index("train"), st.index("valid")

    def fit(seed):
        est = learners.make_learner("logistic_l2_sgd", {}, task="binary", random_state=seed)
        return fit_streaming(est, st.view("train"), st.labels(tr), task="binary", X_valid=st.view("valid"),
                             y_valid=st.labels(va), random_state=seed, batch_size=100).coef_

    np.testing.assert_array_equal(fit(1), fit(1))
    assert not np.array_equal(fit(1), fit(2))


def test_linear_sgd_predicts_in_phenotype_units(tmp_path):
    st = _store(tmp_path, task="continuous")
    tr, va, te = st.index("train"), st.index("valid"), st.index("test")
    est = learners.make_learner("linear_sgd", {}, task="continuous", random_state=0)
    fit_streaming(est, st.view("train"), st.labels(tr), task="continuous", X_valid=st.view("valid"),
                  y_valid=st.labels(va), random_state=0, batch_size=128)
    pred = tune.predict_rows(est, st, te, "continuous")
    assert abs(pred.mean() - 40.0) < 3.0  # not standardized units
    assert r2_score(st.labels(te), pred) > 0.5


def test_sgd_multiclass_scores_have_one_column_per_class(tmp_path):
    st = _store(tmp_path, task="multiclass")
    tr, va, te = st.index("train"), st.index("valid"), st.index("test")
    est = learners.make_learner("logistic_l2_sgd", {}, task="multiclass", random_state=0)
    fit_streaming(est, st.view("train"), st.labels(tr), task="multiclass", X_valid=st.view("valid"),
                  y_valid=st.labels(va), random_state=0)
    s = tune.predict_rows(est, st, te, "multiclass")
    assert s.shape == (len(te), 3)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-6)
    assert (s.argmax(axis=1) == st.labels(te)).mean() > 0.5


def test_run_trial_streams_and_saves_a_loadable_model(tmp_path):
    from genoml_core.models import persist

    st = _store(tmp_path)
    name = "logistic_l1_sgd"
    rec = tune.run_trial({"fold0": st.directory}, learner=name, trial=1, space=search.DEFAULT_SPACES[name], seed=5,
                         task="binary", class_weight="balanced", threads=1,
                         model_paths={"fold0": tmp_path / "m" / "model_fold0.zip"},
                         metrics_path=tmp_path / "m" / "metrics.json")
    assert rec["valid"]["roc_auc"] > 0.7
    assert io.read_json(tmp_path / "m" / "metrics.json")["valid"] == rec["valid"]
    est, meta = persist.load_model(tmp_path / "m" / "model_fold0.zip")
    te = st.index("test")
    np.testing.assert_allclose(tune.predict_rows(est, st, te, "binary"),
                               learners.predict_scores(est, st.rows(te), task="binary"))
    assert meta["learner"] == name and not list((tmp_path / "m").glob(".*.part"))


def test_store_rows_by_pread_match_the_memory_map(tmp_path):
    st = _store(tmp_path, n=200, m=50)
    whole = FeatureStore(st.directory, mmap=False)
    for idx in (np.arange(200), np.array([5, 3, 3, 199, 0, 1, 2]), np.array([], dtype=int), np.array([-1, 0])):
        np.testing.assert_array_equal(st.genotype_rows(idx), np.asarray(whole.genotypes)[idx])
        np.testing.assert_array_equal(st.rows(idx), whole.rows(idx))
    with pytest.raises(IndexError):
        st.rows(np.array([200]))
    # batches of iter_rows cover the rows in order
    idx = np.arange(0, 200, 3)
    got = np.concatenate([x for _, x in st.iter_rows(idx, batch_rows=7)])
    np.testing.assert_array_equal(got, whole.rows(idx))
