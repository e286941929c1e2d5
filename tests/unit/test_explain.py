"""SHAP explanations: the right explainer per model, additivity, rankings, truth recovery, plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genoml_core import io
from genoml_core.models import learners as L
from genoml_core.config import SCHEMA_PATH
from genoml_core.errors import ConfigError
from genoml_core.explain import (
    EXPLAIN_FILES,
    ExplainOptions,
    causal_snps_from_truth,
    explain_model,
    importance_table,
    model_family,
    plot_bar,
    plot_beeswarm,
    plot_dependence,
    resolve_method,
    top_snps,
    truth_recovery,
)
from genoml_core.explain.truth import _p_hit

CLASSES3 = ["a", "b", "c"]
FAST = {"random_forest": {"n_estimators": 40}, "extra_trees": {"n_estimators": 40},
        "xgboost": {"n_estimators": 60, "learning_rate": 0.2}}


def three_feature_data(task: str, n: int = 500, p: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal features; only features 0, 1 and 2 carry signal."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    lin = 2.0 * X[:, 0] - 1.6 * X[:, 1] + 1.3 * X[:, 2]
    if task == "binary":
        return X, (lin + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    if task == "multiclass":
        return X, np.digitize(lin + 0.5 * rng.standard_normal(n), [-1.0, 1.0]).astype(np.int64)
    return X, 3.0 * lin + 0.5 * rng.standard_normal(n) + 50.0


def fit(name: str, task: str, X: np.ndarray, y: np.ndarray, **kw):
    est = L.make_learner(name, FAST.get(name, {}), task=task, random_state=0)
    return L.fit_learner(est, X, y, task=task, **kw)


def names(task: str) -> list[str] | None:
    return {"binary": ["control", "case"], "multiclass": CLASSES3, "continuous": None}[task]


# ----------------------------------------------------------------------------- options
def test_option_defaults_equal_the_schema():
    schema = yaml.safe_load(Path(SCHEMA_PATH).read_text())["properties"]["explain"]["properties"]
    defaults = {k: v["default"] for k, v in schema.items() if k != "truth"}
    assert {f: getattr(ExplainOptions(), f) for f in defaults} == defaults
    assert set(ExplainOptions.__dataclass_fields__) == set(defaults)


def test_options_reject_unknown_and_impossible_values():
    with pytest.raises(ConfigError, match="unknown explain option"):
        ExplainOptions.from_dict({"n_backround": 5})
    with pytest.raises(ConfigError, match="method"):
        ExplainOptions.from_dict({"method": "kernel"})
    with pytest.raises(ConfigError, match="n_background"):
        ExplainOptions.from_dict({"n_background": 0})


# ----------------------------------------------------------------------------- method choice
@pytest.mark.parametrize(
    "name,task,family",
    [("logistic_l1", "binary", "linear"), ("logistic_elasticnet", "multiclass", "linear"), ("lda", "binary", "linear"),
     ("ridge", "continuous", "linear"), ("lasso", "continuous", "linear"), ("random_forest", "binary", "tree"),
     ("extra_trees", "multiclass", "tree"), ("xgboost", "continuous", "tree"), ("svm_rbf", "binary", "other"),
     ("svm_linear", "binary", "linear"), ("svm_linear", "multiclass", "other"), ("knn", "multiclass", "other"),
     ("svr", "continuous", "other")],
)
def test_each_learner_gets_its_explainer(name, task, family):
    X, y = three_feature_data(task, n=150)
    est = fit(name, task, X, y)
    assert model_family(est) == family
    expected = {"linear": "linear", "tree": "tree", "other": "permutation"}[family]
    assert resolve_method(est, "auto") == (expected, None)
    assert resolve_method(est, "permutation") == ("permutation", None)


def test_a_method_that_does_not_fit_falls_back_with_a_note():
    X, y = three_feature_data("binary", n=150)
    est = fit("random_forest", "binary", X, y)
    method, note = resolve_method(est, "deep")
    assert method == "tree" and "does not apply" in note
    exp = explain_model(est, X[:50], X[:20], task="binary", options=ExplainOptions(method="linear"))
    assert exp.method == "tree" and "does not apply" in exp.notes[0]


# ----------------------------------------------------------------------------- additivity
ADDITIVE = [
    ("logistic_l2", "binary"), ("logistic_l1", "binary"), ("logistic_l2", "multiclass"), ("lda", "binary"),
    ("svm_linear", "binary"),
    ("lda", "multiclass"), ("ridge", "continuous"), ("elastic_net", "continuous"),
    ("random_forest", "binary"), ("random_forest", "multiclass"), ("random_forest", "continuous"),
    ("extra_trees", "binary"), ("xgboost", "binary"), ("xgboost", "multiclass"), ("xgboost", "continuous"),
]


@pytest.mark.parametrize("name,task", ADDITIVE)
def test_shap_values_plus_base_value_equal_the_model_output(name, task):
    X, y = three_feature_data(task, n=300)
    est = fit(name, task, X, y)
    exp = explain_model(est, X[:80], X[200:260], task=task, class_names=names(task))
    assert exp.method in ("linear", "tree") and exp.exact
    n, p, m = exp.values.shape
    assert (n, p) == (60, X.shape[1]) and exp.base_values.shape == exp.outputs.shape == (n, m)
    scale = max(1.0, float(np.abs(exp.outputs).max()))
    assert exp.additivity_error() < 1e-5 * scale
    # the explained output is the model's own, linked to predict_scores as documented
    Xe = X[200:260]
    scores = L.predict_scores(est, Xe, task=task, n_classes=3 if task == "multiclass" else None)
    if task == "continuous":
        np.testing.assert_allclose(exp.outputs[:, 0], scores, rtol=1e-5, atol=1e-5)
    elif task == "binary":
        assert m == 1 and exp.output_names == ["case"]
        prob = exp.outputs[:, 0] if "probability" in exp.output_space else 1 / (1 + np.exp(-exp.outputs[:, 0]))
        np.testing.assert_allclose(prob, scores, atol=1e-5)
    else:
        assert m == 3 and exp.output_names == CLASSES3
        out = exp.outputs
        prob = out if exp.output_space == "class probabilities" else np.exp(out) / np.exp(out).sum(1, keepdims=True)
        np.testing.assert_allclose(prob, scores, atol=1e-5)


def test_xgboost_with_early_stopping_explains_the_best_iteration():
    X, y = three_feature_data("binary", n=400)
    est = L.make_learner("xgboost", {"n_estimators": 300, "learning_rate": 0.3}, task="binary", random_state=0)
    L.fit_learner(est, X[:300], y[:300], task="binary", X_valid=X[300:], y_valid=y[300:])
    assert est.best_iteration < 299  # stopped early: predictions use fewer trees than were grown
    exp = explain_model(est, X[:50], X[300:], task="binary")
    np.testing.assert_allclose(exp.outputs[:, 0], est.predict(X[300:], output_margin=True), atol=1e-5)
    assert exp.additivity_error() < 1e-4


def test_permutation_explainer_is_additive_and_respects_the_budget():
    X, y = three_feature_data("binary", n=300)
    est = fit("svm_rbf", "binary", X, y)
    p = X.shape[1]
    opts = ExplainOptions(permutation_background=4, max_evaluations=(2 * p + 1) * 4 * 7)
    exp = explain_model(est, X[:50], X[200:300], task="binary", class_names=["control", "case"], options=opts)
    assert exp.method == "permutation" and exp.values.shape[0] == 7 and len(exp.rows) == 7
    assert exp.details["model_evaluations"] <= opts.max_evaluations
    assert exp.additivity_error() < 1e-8
    np.testing.assert_allclose(exp.outputs[:, 0], L.predict_scores(est, X[200:300][exp.rows], task="binary"))
    assert any("budget" in n for n in exp.notes)


# ----------------------------------------------------------------------------- rankings
@pytest.mark.parametrize(
    "name,task",
    [("logistic_l2", "binary"), ("ridge", "continuous"), ("logistic_l2", "multiclass"), ("xgboost", "binary"),
     ("random_forest", "continuous"), ("svm_rbf", "binary"), ("knn", "binary")],
)
def test_only_the_three_informative_features_rank_first(name, task):
    X, y = three_feature_data(task)
    est = fit(name, task, X, y)
    exp = explain_model(est, X[:100], X[300:500], task=task, class_names=names(task), seed=3)
    overall = exp.importance().mean(axis=1)
    assert set(np.argsort(-overall)[:3]) == {0, 1, 2}, overall.round(3)


# ----------------------------------------------------------------------------- torch nets
@pytest.fixture(scope="module")
def tiny_net():
    from genoml_core.models.estimators import make_net

    X, y = three_feature_data("binary", n=600)
    est = make_net("mlp", {"max_epochs": 15, "d_layer": 32, "n_layers": 1, "dropout": 0.0, "lr": 0.01, "n_bags": 1},
                   task="binary", random_state=0, n_threads=1)
    return est.fit(X[:500], y[:500]), X


def test_a_bagged_net_is_explained_by_gradients_and_deep_falls_back():
    from genoml_core.models.estimators import make_net

    X, y = three_feature_data("binary", n=600)
    est = make_net("mlp", {"max_epochs": 15, "d_layer": 32, "n_layers": 1, "dropout": 0.0, "lr": 0.01, "n_bags": 3},
                   task="binary", random_state=0, n_threads=1).fit(X[:500], y[:500])
    assert type(est.module_).__name__ == "BaggedNet"
    exp = explain_model(est, X[:100], X[500:600], task="binary", class_names=["control", "case"],
                        options=ExplainOptions(method="deep", gradient_nsamples=100), seed=0)
    assert exp.method == "gradient" and any("bagged" in n for n in exp.notes)
    # the explained output is the bag's: the log-odds of the bags' mean probability
    np.testing.assert_allclose(1 / (1 + np.exp(-exp.outputs[:, 0])), est.predict_proba(X[500:600])[:, 1], atol=1e-5)
    assert set(np.argsort(-exp.importance()[:, 0])[:3]) == {0, 1, 2}
    spread = float(np.abs(exp.outputs - exp.base_values).mean())
    assert exp.additivity_error() < 0.5 * max(spread, 1.0)


@pytest.mark.parametrize("method", ["gradient", "deep"])
def test_torch_nets_rank_the_informative_features_and_keep_their_mode(tiny_net, method):
    est, X = tiny_net
    est.module_.train()  # whatever mode the net was in is restored afterwards
    exp = explain_model(est, X[:100], X[500:600], task="binary", class_names=["control", "case"],
                        options=ExplainOptions(method=method, gradient_nsamples=100), seed=0)
    assert est.module_.training
    est.module_.eval()
    assert exp.method == method and exp.output_space == "log-odds of case"
    assert set(np.argsort(-exp.importance()[:, 0])[:3]) == {0, 1, 2}
    proba = est.predict_proba(X[500:600])[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-exp.outputs[:, 0])), proba, atol=1e-5)
    spread = float(np.abs(exp.outputs - exp.base_values).mean())
    if method == "deep":  # DeepLIFT's additivity is checked by shap and exact up to float32
        assert exp.exact and exp.additivity_error() < 1e-3
    else:  # expected gradients: approximately additive
        assert exp.additivity_error() < 0.5 * max(spread, 1.0)


def test_torch_regressor_is_explained_in_phenotype_units():
    from genoml_core.models.estimators import make_net

    X, y = three_feature_data("continuous", n=400)
    est = make_net("mlp", {"max_epochs": 10, "d_layer": 16, "n_layers": 1, "n_bags": 1}, task="continuous",
                   random_state=0, n_threads=1).fit(X[:300], y[:300])
    exp = explain_model(est, X[:50], X[300:340], task="continuous", options=ExplainOptions(method="deep"))
    np.testing.assert_allclose(exp.outputs[:, 0], est.predict(X[300:340]), rtol=1e-4, atol=1e-3)
    assert exp.additivity_error() < 1e-2 * max(1.0, float(np.abs(exp.outputs).max()))


# ----------------------------------------------------------------------------- tables
def _recipe(p_snps: int, others: list[str]) -> dict:
    feats = [{"name": f"rs{j}_A", "source": "snp", "id": f"rs{j}", "chrom": "1", "pos": 1000 * (j + 1),
              "counted": "A", "other": "G", "mean": 0.0, "scale": 1.0, "impute": 0.0} for j in range(p_snps)]
    feats += [{"name": o, "source": "covariate", "mean": 0.0, "scale": 1.0, "impute": 0.0} for o in others]
    return {"features": feats, "n_snps": p_snps, "n_other": len(others)}


def test_importance_table_and_plink_list():
    X, y = three_feature_data("binary", n=300, p=8)
    est = fit("logistic_l2", "binary", X, y)
    recipe = _recipe(6, ["age", "sex"])
    exp = explain_model(est, X[:50], X[200:], task="binary", feature_names=[f["name"] for f in recipe["features"]])
    imp = importance_table(exp, recipe, X[200:])
    assert list(imp["rank"]) == list(range(1, 9)) and imp.mean_abs_shap.is_monotonic_decreasing
    assert set(imp.feature.head(3)) == {"rs0_A", "rs1_A", "rs2_A"}
    direction = imp.set_index("feature").direction
    assert direction["rs0_A"] > 0.9 and direction["rs1_A"] < -0.9  # the sign of each effect
    top = top_snps(imp, 2)
    assert len(top) == 2 and set(top) <= {"rs0", "rs1", "rs2"}
    assert top_snps(imp, 100) == [s for s in imp[imp.source == "snp"].id]  # covariates never listed


def test_plots_are_written(tmp_path):
    X, y = three_feature_data("multiclass", n=300, p=8)
    est = fit("logistic_l2", "multiclass", X, y)
    recipe = _recipe(6, ["age", "sex"])
    exp = explain_model(est, X[:50], X[200:], task="multiclass", class_names=CLASSES3,
                        feature_names=[f["name"] for f in recipe["features"]])
    geno = np.clip(np.round(X[200:, :6] + 1), -1, 2).astype(np.int8)
    paths = [plot_beeswarm(exp, X[200:], tmp_path / "b.png", n_display=5),
             plot_bar(exp, [f["source"] for f in recipe["features"]], tmp_path / "bar.png", n_display=5),
             plot_dependence(exp, geno, X[200:, 6:], recipe, tmp_path / "d.png", n_features=4)]
    for p in paths:
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 5000


# ----------------------------------------------------------------------------- truth
def test_random_expectation_matches_the_hypergeometric_formula():
    from math import comb

    assert _p_hit(100, 0, 10) == 0.0 and _p_hit(100, 95, 10) == 1.0
    for n, t, k in [(100, 1, 10), (300, 4, 50), (1000, 2, 50)]:
        assert math.isclose(_p_hit(n, t, k), 1 - comb(n - t, k) / comb(n, k), rel_tol=1e-9)
    assert math.isclose(_p_hit(100, 1, 10), 0.1)


def test_truth_recovery_counts_direct_hits_and_ld_proxies(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    c1 = rng.integers(0, 3, n)
    proxy = np.where(rng.random(n) < 0.9, c1, rng.integers(0, 3, n))  # r2 ~ 0.8 with c1
    g = np.column_stack([c1, proxy, rng.integers(0, 3, (n, 3)), rng.integers(0, 3, n), rng.integers(0, 3, n)])
    bim = pd.DataFrame({"CHR": ["1"] * 5 + ["2", "2"], "SNP": [f"rs{j}" for j in range(7)], "CM": 0,
                        "POS": [1000 * (j + 1) for j in range(7)], "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0, "MAT": 0,
                        "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "c", g.astype(np.int8), bim, fam)
    # rs0 causal but not in the model; its proxy rs1 is; rs5 causal and in the model; rs6 is absent
    model_snps = ["rs1", "rs2", "rs3", "rs4", "rs5"]
    res = truth_recovery(model_snps, ["rs1", "rs2"], ["rs0", "rs5", "rs99"], bfile=str(tmp_path / "c"),
                         sample_idx=np.arange(n), window=50, min_r2=0.2)
    per = {c["snp"]: c for c in res["causal"]}
    assert per["rs0"]["found"] and not per["rs0"]["found_directly"] and per["rs0"]["found_by"][0]["snp"] == "rs1"
    assert per["rs0"]["found_by"][0]["r2"] > 0.5
    assert not per["rs5"]["found"] and per["rs5"]["in_model"]
    assert not per["rs99"]["in_genotypes"]
    assert (res["found"], res["found_directly"], res["n_causal"], res["n_candidates"]) == (1, 0, 3, 5)
    # random: rs0 has 1 tag (rs1), rs5 has 1 (itself): 2 x P(one given SNP among 2 of 5) = 0.8
    assert res["expected_random"] == pytest.approx(0.8)
    # a window of 1 variant leaves rs0 without its proxy
    res1 = truth_recovery(model_snps, ["rs1", "rs2"], ["rs0"], bfile=str(tmp_path / "c"), sample_idx=np.arange(n),
                          window=1, min_r2=0.2)
    assert res1["found"] == 0 and res1["n_causal_reachable"] == 0


def test_causal_snps_are_taken_for_the_phenotype():
    truth = {"causal_snps": ["a", "b", "c"], "case_control": {"causal": [{"snp": "a"}, {"snp": "b"}]}}
    assert causal_snps_from_truth(truth, "case_control") == (["a", "b"], "case_control.causal")
    assert causal_snps_from_truth(truth, "other") == (["a", "b", "c"], "causal_snps")


def test_explain_files_are_the_rule_outputs():
    """The files explain_final_model writes are the explain rule's outputs (layout's patterns)."""
    from genoml_core import layout

    smk = (Path(__file__).resolve().parents[2] / "workflow/rules/explain.smk").read_text()
    patterns = {name: value for name, value in vars(layout).items() if name.startswith("EXPLAIN_")}
    for key, name in EXPLAIN_FILES.items():
        folder = "results/individual/explain" if key == "values" else "results/explain"  # per person: 12.6
        constant = next(c for c, p in patterns.items() if p == f"{folder}/{name}")
        assert f"layout.{constant}" in smk
