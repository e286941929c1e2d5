"""The feature store: int8 genotypes, training-only statistics, per-batch scaling."""

import json

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.store import FeatureStore, build_feature_store


@pytest.fixture()
def setup(tmp_path):
    rng = np.random.default_rng(5)
    n, m = 60, 12
    g = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    g[rng.random((n, m)) < 0.05] = -1
    bim = pd.DataFrame({"CHR": "2", "SNP": [f"rs{i}" for i in range(m)], "CM": 0.0, "POS": np.arange(m) * 100,
                        "A1": "T", "A2": "C"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0, "MAT": 0,
                        "SEX": 2, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    # split rows in an order different from the .fam, to check the reordering
    order = rng.permutation(n)
    split = pd.DataFrame({"FID": fam.FID[order], "IID": fam.IID[order], "label": rng.integers(0, 2, n),
                          "set": "dev", "part": "train"}).reset_index(drop=True)
    split.loc[:9, ["set", "part"]] = ["test", "test"]
    split.loc[10:19, "part"] = "valid"
    (tmp_path / "snps").write_text("rs3\nrs0\nrs7\n")
    cov = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": rng.normal(40, 10, n)})
    cov.loc[0, "age"] = np.nan
    return tmp_path, g, split, order, cov


def _build(tmp_path, split, cov, engine="pandas-plink"):
    build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, tmp_path / "store", fold="fold0",
                        method="holdout", task="binary", class_names=["control", "case"], covariates=cov,
                        chunk_variants=2, engine=engine)
    return FeatureStore(tmp_path / "store")


@pytest.mark.parametrize("engine", ["pandas-plink", "lut"])
def test_store_holds_int8_genotypes_in_split_order(setup, engine):
    tmp_path, g, split, order, cov = setup
    st = _build(tmp_path, split, cov, engine)
    assert st.genotypes.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(st.genotypes), g[order][:, [3, 0, 7]])
    assert st.feature_names == ["rs3_T", "rs0_T", "rs7_T", "age"]


def test_statistics_come_from_training_rows_only(setup):
    tmp_path, g, split, order, cov = setup
    st = _build(tmp_path, split, cov)
    recipe = json.loads((tmp_path / "store" / "recipe.json").read_text())
    train = np.asarray(st.genotypes)[st.index("train")].astype(float)
    for j, f in enumerate(recipe["features"][:3]):
        col = train[:, j][train[:, j] >= 0]
        assert f["mean"] == pytest.approx(col.mean()) and f["scale"] == pytest.approx(col.std())
        assert f["counted"] == "T" and f["other"] == "C" and f["source"] == "snp"
    # changing every test and validation genotype leaves the recipe unchanged
    g2 = g.copy()
    held = split.iloc[:20].index
    g2[order[held]] = 2
    fam = io.read_fam(tmp_path / "g")
    io.write_bed(tmp_path / "g", g2, io.read_bim(tmp_path / "g"), fam)
    st2 = _build(tmp_path, split, cov)
    assert st2.recipe["features"] == st.recipe["features"]


def test_rows_are_scaled_and_imputed(setup):
    tmp_path, g, split, order, cov = setup
    st = _build(tmp_path, split, cov)
    X = st.rows(np.arange(len(split)))
    raw = np.asarray(st.genotypes)
    f = st.recipe["features"]
    for j in range(3):
        obs = raw[:, j] >= 0
        np.testing.assert_allclose(X[obs, j], (raw[obs, j] - f[j]["mean"]) / f[j]["scale"], rtol=1e-5)
        assert np.all(X[~obs, j] == 0)
    assert not np.isnan(X).any()
    view = st.view("valid")
    idx = np.array([3, 0, 5])
    np.testing.assert_allclose(view[idx], st.rows(st.index("valid")[idx]))
