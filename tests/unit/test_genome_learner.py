"""penalized_glm in the workflow: fitted from a real int8 store, written as a recipe-space linear
model that reproduces the GLM's own predictor, saved safely, and routed by tune.run_trial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# a default learner needs adelie (make setup installs it): fail, never skip. Imported through the
# package, which keeps adelie from pinning this process (and every workflow it starts) to one CPU
from genoml_core.models.penalized.solver import _adelie  # noqa: E402

from genoml_core import io
from genoml_core.models import learners, persist
from genoml_core.tuning import search, tune  # noqa: E402
from genoml_core.models.genome_learner import fit_genome_glm  # noqa: E402
from genoml_core.store import FeatureStore, build_feature_store  # noqa: E402
from genoml_core.models.penalized import GenomeWideGLM  # noqa: E402

_adelie()


def _store(tmp_path, task: str = "binary", n: int = 300, m: int = 400, seed: int = 0) -> FeatureStore:
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.5, m)
    g = (rng.random((n, m)) < freq).astype(np.int8) + (rng.random((n, m)) < freq).astype(np.int8)
    g[rng.random((n, m)) < 0.01] = -1  # missing calls
    beta = np.zeros(m)
    beta[:10] = rng.normal(0, 0.8, 10)
    liab = np.where(g < 0, 0, g - 2 * freq) @ beta
    age = rng.normal(50, 10, n)
    liab = liab + 0.05 * (age - 50)
    if task == "binary":
        label = (liab + rng.logistic(size=n) > np.quantile(liab, 0.6)).astype(int)
    elif task == "multiclass":
        label = np.digitize(liab + rng.normal(size=n), np.quantile(liab, [0.33, 0.66]))
    else:
        label = liab + rng.normal(size=n)
    bim = pd.DataFrame({"CHR": 1, "SNP": [f"rs{j}" for j in range(m)], "CM": 0,
                        "POS": np.arange(1, m + 1) * 100, "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0, "MAT": 0,
                        "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    (tmp_path / "snps").write_text("\n".join(bim.SNP) + "\n")
    part = np.where(np.arange(n) % 5 == 0, "valid", "train").astype(object)
    sets = np.where(np.arange(n) % 10 == 1, "test", "dev")
    part[sets == "test"] = "test"
    split = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": label, "set": sets, "part": part})
    cov = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": age})
    cov.loc[3, "age"] = np.nan
    names = {"binary": ["control", "case"], "multiclass": ["a", "b", "c"], "continuous": None}[task]
    out = tmp_path / "store"
    build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, out, fold="fold0", method="holdout",
                        task=task, class_names=names, covariates=cov, chunk_variants=128,
                        summary_path=out / "summary.json")
    return FeatureStore(out)


@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_linear_model_reproduces_the_glm_predictor(tmp_path, task):
    store = _store(tmp_path, task)
    params = {"alphas": (1.0, 0.5), "n_inner_folds": 3, "n_lambdas": 30}
    est = fit_genome_glm(store, task=task, params=params, random_state=3, threads=1, class_weight="balanced")
    # the same GLM, fitted directly on the raw int8 rows, predicts the same people identically
    tr, te = store.index("train"), store.index("test")
    from sklearn.utils.class_weight import compute_sample_weight

    y = store.labels(tr)
    sw = compute_sample_weight("balanced", y) if task != "continuous" else None
    glm = GenomeWideGLM(task, random_state=3, **params).fit(store.genotypes, y, covariates=store.other[tr],
                                                             sample_weight=sw, rows=tr)
    eta = glm.decision_function(store.genotypes, covariates=store.other[te], rows=te)
    X = store.rows(te)
    if task == "continuous":
        np.testing.assert_allclose(est.predict(X), eta, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(est.decision_function(X), eta, rtol=1e-4, atol=1e-5)
    assert est.genoml_glm_["n_nonzero_snps"] == glm.n_nonzero_ > 0
    # saved and loaded through the safe model files, same scores
    path = persist.save_model(est, tmp_path / "m.zip", meta={"learner": "penalized_glm"})
    loaded, _ = persist.load_model(path)
    n_classes = 3 if task == "multiclass" else None
    np.testing.assert_array_equal(learners.predict_scores(loaded, X, task=task, n_classes=n_classes),
                                  learners.predict_scores(est, X, task=task, n_classes=n_classes))


def test_run_trial_routes_penalized_glm_to_the_int8_store(tmp_path):
    store = _store(tmp_path)
    record = tune.run_trial({"fold0": store.directory}, learner="penalized_glm", trial=0,
                            space=search.DEFAULT_SPACES["penalized_glm"], seed=5, task="binary",
                            class_weight="balanced", threads=1, model_paths={"fold0": tmp_path / "model.zip"},
                            metrics_path=tmp_path / "metrics.json", oof_path=tmp_path / "oof.tsv")
    assert record["valid"]["roc_auc"] > 0.6  # ten causal SNPs among 400: found
    oof = pd.read_csv(tmp_path / "oof.tsv", sep="\t")
    assert len(oof) == len(store.index("valid"))
    assert learners.feature_set("penalized_glm") == "genome" and learners.feature_set("xgboost") == "compact"


def test_alpha_grid_from_the_search_space():
    from genoml_core.errors import ConfigError
    from genoml_core.models.genome_learner import parse_alphas

    assert parse_alphas("1,0.5,0.1") == (1.0, 0.5, 0.1) and parse_alphas(1) == (1.0,)
    assert parse_alphas([1, 0.01]) == (1.0, 0.01)
    default = search.DEFAULT_SPACES["penalized_glm"]["alphas"]["default"]
    assert parse_alphas(default)[0] == 1.0  # the lasso is always in the default grid
    for bad in ("", "1,x", "0", "1.5"):
        with pytest.raises(ConfigError, match="alphas"):
            parse_alphas(bad)
