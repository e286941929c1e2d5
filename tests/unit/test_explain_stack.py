"""Explanations of a stacked final model: member-weighted SHAP in score space, on the union of the
members' features, adding up to the stack's score."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from genoml_core.evaluation import ensemble
from genoml_core import io
from genoml_core.models import persist
from genoml_core.models import learners as L
from genoml_core.explain import (
    EXPLAIN_FILES,
    ExplainInputs,
    ExplainOptions,
    StackMember,
    combine_explanations,
    explain_final_stack,
    explain_model,
)
from genoml_core.explain.linear import _explain_linear_probability
from genoml_core.explain.link import _link
from genoml_core.store import FeatureStore, build_feature_store


def _exact_probability_shapley(coef, intercept, x, B):
    """Interventional Shapley values of link(coef . z + b) by enumerating every coalition."""
    p = len(x)
    phi = np.zeros((p, coef.shape[0] if coef.shape[0] > 1 else 1))
    for b in B:
        def v(S):
            z = np.where(np.isin(np.arange(p), list(S)), x, b)
            return _link((coef @ z + intercept)[None, :])[0][: phi.shape[1]]

        for j in range(p):
            rest = [k for k in range(p) if k != j]
            for r in range(p):
                w = math.factorial(r) * math.factorial(p - r - 1) / math.factorial(p)
                for S in itertools.combinations(rest, r):
                    phi[j] += w * (v(S + (j,)) - v(S))
    return phi / len(B)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_linear_probability_shapley_matches_exact_enumeration(task):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5)).astype(np.float32)
    lin = 2.0 * X[:, 0] - 1.5 * X[:, 1] + 1.0 * X[:, 2]
    y = (lin + rng.logistic(size=400) > 0).astype(int) if task == "binary" else np.digitize(lin, [-1, 1])
    est = L.fit_learner(L.make_learner("logistic_l2", {"C": 10.0}, task=task, random_state=0), X, y, task=task)
    B, Xe = X[:100], X[300:304]
    exp = _explain_linear_probability(est, B, Xe, task, None, seed=1)
    coef = np.atleast_2d(est.coef_).astype(np.float64)
    intercept = np.atleast_1d(est.intercept_).astype(np.float64)
    for i in range(len(Xe)):
        exact = _exact_probability_shapley(coef, intercept, Xe[i].astype(np.float64), B.astype(np.float64))
        # a Monte Carlo split of an exact total (800 orderings per row): within 5% of the largest value
        assert np.abs(exp.values[i] - exact).max() <= 0.05 * np.abs(exact).max()
    # the total is exact: values + base = the model's probabilities
    proba = est.predict_proba(Xe)
    np.testing.assert_allclose(exp.outputs, proba[:, 1:] if task == "binary" else proba, atol=1e-6)
    assert exp.additivity_error() < 1e-9


def _stores(tmp_path, n=400, m=300, seed=0):
    """A genome-wide store (every SNP) and a compact one (the first 60 SNPs), same people and split."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.5, m)
    g = (rng.random((n, m)) < freq).astype(np.int8) + (rng.random((n, m)) < freq).astype(np.int8)
    beta = np.zeros(m)
    beta[[3, 10, 40, 200]] = [1.2, -1.0, 0.9, 1.1]  # rs200 only in the genome-wide store
    age = rng.normal(50, 10, n)
    liab = (g - 2 * freq) @ beta + 0.04 * (age - 50)
    label = (liab + rng.logistic(size=n) * 0.7 > np.quantile(liab, 0.6)).astype(int)
    bim = pd.DataFrame({"CHR": 1, "SNP": [f"rs{j}" for j in range(m)], "CM": 0,
                        "POS": np.arange(1, m + 1) * 100, "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0,
                        "MAT": 0, "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    part = np.where(np.arange(n) % 5 == 0, "valid", "train").astype(object)
    sets = np.where(np.arange(n) % 8 == 1, "test", "dev")
    part[sets == "test"] = "test"
    split = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": label, "set": sets, "part": part})
    cov = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": age})
    out = {}
    for name, snps in (("genome", list(bim.SNP)), ("compact", list(bim.SNP[:60]))):
        (tmp_path / f"{name}.snps").write_text("\n".join(snps) + "\n")
        # the compact store lists its people in another order: members are matched by id
        sp = split if name == "genome" else split.iloc[::-1].reset_index(drop=True)
        build_feature_store(str(tmp_path / "g"), tmp_path / f"{name}.snps", sp, tmp_path / name, fold="fold0",
                            method="holdout", task="binary", class_names=["control", "case"], covariates=cov,
                            chunk_variants=128)
        out[name] = FeatureStore(tmp_path / name)
    return out


def _members(tmp_path, stores, specs):
    """Fit each (learner, store, params, weight) on its store's training rows, save it, as a StackMember."""
    members = []
    for name, which, params, w in specs:
        st = stores[which]
        tr = st.index("train")
        est = L.fit_learner(L.make_learner(name, params, task="binary", random_state=0), st.rows(tr),
                            st.labels(tr), task="binary")
        path = persist.save_model(est, tmp_path / f"{name}.zip", meta={"learner": name})
        members.append(StackMember(learner=name, trial=0, weight=w, model=path, store=tmp_path / which))
    return members


def _member_scores(stores, specs, members, iids):
    """Each member's own scores for the people ``iids`` (matched by id in its store)."""
    scores = []
    for (_, which, _, _), m in zip(specs, members):
        st = stores[which]
        pos = pd.Series(np.arange(len(st.samples)), index=st.samples.IID)
        est, _ = persist.load_model(m.model)
        scores.append(L.predict_scores(est, st.rows(pos.loc[iids].to_numpy()), task="binary"))
    return scores


def test_stack_explanation_adds_up_to_the_stack_score_on_the_union_of_features(tmp_path):
    stores = _stores(tmp_path)
    specs = [("logistic_l1", "genome", {"C": 0.3}, 0.5), ("xgboost", "compact", {"n_estimators": 60}, 0.3),
             ("random_forest", "compact", {"n_estimators": 60}, 0.2)]
    members = _members(tmp_path, stores, specs)
    out = {k: tmp_path / "explain" / v for k, v in EXPLAIN_FILES.items()}
    inputs = ExplainInputs(options=ExplainOptions(n_background=40, n_explain=30), task="binary",
                           class_names=["control", "case"], seed=5, out=out)
    summary = explain_final_stack(members, inputs, calibrator="platt")
    assert summary["learner"] == "stack(logistic_l1+xgboost+random_forest)"
    assert summary["additivity"]["max_abs_error"] < 1e-6 and summary["additivity"]["exact_by_construction"]
    # the union: every genome-wide feature (the compact ones are among them), SNPs first
    assert summary["n_features"] == len(stores["genome"].feature_names)
    assert [m["learner"] for m in summary["members"]] == ["logistic_l1", "xgboost", "random_forest"]
    assert any("calibrator" in n for n in summary["notes"])
    # per person, the explained output is the stack's (uncalibrated) score from each member's own scores
    values = pd.read_csv(out["values"], sep="\t", dtype={"FID": str, "IID": str})
    g = stores["genome"]
    stack = ensemble.combine(_member_scores(stores, specs, members, values.IID), [w for *_, w in specs])
    np.testing.assert_allclose(values.model_output, stack, atol=1e-6)
    shap_cols = [c for c in values.columns if c not in ("FID", "IID", "output", "base_value", "model_output")]
    # the file keeps 6 significant digits per value
    np.testing.assert_allclose(values[shap_cols].sum(axis=1) + values.base_value, stack, atol=1e-4)
    assert set(values.IID) <= set(g.samples.IID[g.index("test")])
    # the causal SNPs lead; rs200 is seen only by the genome-wide member and still counts
    top = summary["top_snps"][:6]
    assert {"rs3", "rs10", "rs40", "rs200"} <= set(top), top
    # a SNP no member uses gets exactly zero
    imp = pd.read_csv(out["importance"], sep="\t").set_index("feature")
    est0, _ = persist.load_model(members[0].model)
    unused = [f for f, c in zip(g.feature_names, est0.coef_[0]) if c == 0 and f not in stores["compact"].feature_names]
    assert unused and (imp.loc[unused, "mean_abs_shap"] == 0).all()
    for key in ("beeswarm", "bar", "dependence"):
        assert out[key].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_members_in_score_space_add_up_to_their_scores(task):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 10)).astype(np.float32)
    lin = 2.0 * X[:, 0] - 1.6 * X[:, 1] + 1.3 * X[:, 2] * X[:, 3]
    y = {"binary": (lin > 0).astype(int), "multiclass": np.digitize(lin, [-1, 1]), "continuous": 3 * lin}[task]
    names = [f"f{j}" for j in range(10)]
    parts = []
    for name in (("ridge", "xgboost", "random_forest") if task == "continuous"
                 else ("logistic_l2", "xgboost", "random_forest", "knn")):
        params = {"n_estimators": 40} if name in ("xgboost", "random_forest") else {}
        est = L.fit_learner(L.make_learner(name, params, task=task, random_state=0), X[:300], y[:300], task=task)
        exp = explain_model(est, X[:50], X[300:340], task=task, feature_names=names, score_space=True,
                                     options=ExplainOptions(max_evaluations=400_000), seed=2)
        s = L.predict_scores(est, X[300:340][exp.rows], task=task).reshape(len(exp.rows), -1)
        np.testing.assert_allclose(exp.outputs, s, atol=1e-5)
        assert exp.additivity_error() < 1e-4 * max(1.0, float(np.abs(s).max())), (name, exp.additivity_error())
        assert set(np.argsort(-exp.importance().mean(axis=1))[:2]) <= {0, 1, 2, 3}, name
        if len(exp.rows) == 40:
            parts.append((1.0, exp))
    both = combine_explanations(parts, names, output_space="stack")
    assert both.additivity_error() < 1e-4 * max(1.0, float(np.abs(both.outputs).max()))


def test_a_budgeted_member_restricts_every_member_to_the_same_people(tmp_path):
    """The permutation explainer explains only the rows its budget allows; the other members are
    then kept to those rows, and the stack still adds up to its own score for each of them."""
    stores = _stores(tmp_path)
    specs = [("logistic_l1", "genome", {"C": 0.3}, 0.6), ("knn", "compact", {}, 0.4)]
    members = _members(tmp_path, stores, specs)
    out = {k: tmp_path / "explain" / v for k, v in EXPLAIN_FILES.items()}
    inputs = ExplainInputs(options=ExplainOptions(n_background=40, n_explain=30, max_evaluations=20_000),
                           task="binary", class_names=["control", "case"], seed=5, out=out)
    summary = explain_final_stack(members, inputs)
    assert 0 < summary["n_explained"] < 30 and summary["additivity"]["max_abs_error"] < 1e-9
    values = pd.read_csv(out["values"], sep="\t", dtype={"FID": str, "IID": str})
    scores = _member_scores(stores, specs, members, values.IID)
    np.testing.assert_allclose(values.model_output, ensemble.combine(scores, [0.6, 0.4]), atol=1e-6)
