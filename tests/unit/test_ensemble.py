"""The final model from out-of-fold predictions: ensemble selection, the stack-or-single choice,
calibration, and the document evaluate / explain / predict read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genoml_core.evaluation import metrics
from genoml_core.evaluation.ensemble import (
    FinalModel, apply_calibrator, caruana_weights, combine, final_model_document, fit_calibrator, select_final,
)


def _oof(y: np.ndarray, scores: np.ndarray, task: str = "binary") -> pd.DataFrame:
    n = len(y)
    df = pd.DataFrame({"FID": [f"F{i:04d}" for i in range(n)], "IID": [f"I{i:04d}" for i in range(n)],
                       "fold": [f"fold{i % 5}" for i in range(n)], "label": y})
    if task == "multiclass":
        for k in range(scores.shape[1]):
            df[f"prob_{k}"] = scores[:, k]
    else:
        df["score"] = scores
    return df


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _two_views(n=3000, seed=0, prevalence=0.15):
    """Cases driven by two independent signals; learner A sees one, learner B the other."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(np.log(prevalence / (1 - prevalence)) + a + b)).astype(int)
    # balanced-class-weight-like scores: centred near 0.5 whatever the prevalence (uncalibrated)
    sa = _sigmoid(a + 0.3 * rng.normal(size=n))
    sb = _sigmoid(b + 0.3 * rng.normal(size=n))
    noise = _sigmoid(rng.normal(size=n))
    return y, {"learner_a": sa, "learner_b": sb, "noise": noise}


def test_caruana_never_worse_than_best_member_and_skips_noise():
    y, s = _two_views()
    names = ["learner_a", "learner_b", "noise"]
    w = caruana_weights([s[n] for n in names], y, "binary", n_classes=None)
    assert w[0] > 0 and w[1] > 0 and w[2] == 0
    auc = metrics.compute_metrics("binary", y, combine([s[n] for n in names], w))["roc_auc"]
    best = max(metrics.compute_metrics("binary", y, s[n])["roc_auc"] for n in names)
    assert auc > best + 0.03


def test_stack_is_used_when_it_helps_and_single_when_it_does_not():
    y, s = _two_views()
    oofs = {n: _oof(y, v) for n, v in s.items()}
    spec, oof = select_final(oofs, {n: 0 for n in oofs}, task="binary", n_classes=2, seed=1)
    assert spec["combiner"] == "stack"
    assert {m["learner"] for m in spec["members"]} == {"learner_a", "learner_b"}
    assert abs(sum(m["weight"] for m in spec["members"]) - 1) < 1e-9
    ev = spec["evidence"]["crossfit_roc_auc"]
    assert ev["stack"] > ev["best_single"]
    assert len(oof) == len(y) and set(oof.columns) >= {"FID", "IID", "label", "score"}
    # one informative learner and pure noise: the best learner alone
    spec, _ = select_final({k: oofs[k] for k in ("learner_a", "noise")}, {"learner_a": 3, "noise": 0},
                           task="binary", n_classes=2, seed=1)
    assert spec["combiner"] == "single" and spec["members"] == [
        {"learner": "learner_a", "trial": 3, "weight": 1.0, "oof_roc_auc": pytest.approx(spec["evidence"][
            "oof_single"]["learner_a"])}]


def test_calibration_lowers_held_out_log_loss_on_an_imbalanced_cohort():
    """Scores from a balanced-weight model overstate the risk at 15% prevalence; the calibrator
    fitted on OOF predictions brings new people's probabilities back to the observed rate."""
    y, s = _two_views(seed=2)
    spec, _ = select_final({"a": _oof(y, s["learner_a"])}, {"a": 0}, task="binary", n_classes=2, seed=1)
    assert spec["calibrator"]["kind"] in ("platt", "isotonic")
    y_new, s_new = _two_views(seed=3)
    raw = s_new["learner_a"]
    cal = apply_calibrator(spec["calibrator"], raw, "binary")
    before = metrics.compute_metrics("binary", y_new, raw)
    after = metrics.compute_metrics("binary", y_new, cal)
    assert after["log_loss"] < before["log_loss"] - 0.05
    assert abs(cal.mean() - y_new.mean()) < 0.02 < abs(raw.mean() - y_new.mean())
    # monotone: calibration leaves the ranking (AUC) alone
    assert after["roc_auc"] == pytest.approx(before["roc_auc"], abs=1e-3)


def test_calibrator_kinds_per_task():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    p = rng.dirichlet(np.ones(3), 500)
    p[np.arange(500), y] += 1.0
    p /= p.sum(axis=1, keepdims=True)
    cal = fit_calibrator("platt", p, y, "multiclass")
    out = apply_calibrator(cal, p, "multiclass")
    assert out.shape == p.shape and np.allclose(out.sum(axis=1), 1)
    x = rng.normal(size=300)
    yc = 2 + 0.5 * x + rng.normal(scale=0.1, size=300)
    lin = fit_calibrator("linear", x, yc, "continuous")
    assert lin["a"] == pytest.approx(2, abs=0.05) and lin["b"] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="isotonic"):
        fit_calibrator("isotonic", x, yc, "continuous")


@pytest.mark.parametrize("task", ["multiclass", "continuous"])
def test_other_tasks_select_and_stack(task):
    rng = np.random.default_rng(4)
    n = 1500
    if task == "continuous":
        a, b = rng.normal(size=n), rng.normal(size=n)
        y = a + b + rng.normal(scale=0.5, size=n)
        oofs = {"x": _oof(y, a + 0.2 * rng.normal(size=n), task), "z": _oof(y, b + 0.2 * rng.normal(size=n), task)}
    else:
        y = rng.integers(0, 3, n)
        def view(strength):
            logits = rng.normal(size=(n, 3))
            logits[np.arange(n), y] += strength
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)
        oofs = {"x": _oof(y, view(1.5), task), "z": _oof(y, view(1.5), task)}
    spec, oof = select_final(oofs, {"x": 0, "z": 1}, task=task, n_classes=3 if task == "multiclass" else None, seed=0)
    assert spec["combiner"] == "stack" and len(spec["members"]) == 2
    assert spec["calibrator"]["kind"] in {"multiclass": ("none", "platt"), "continuous": ("none", "linear")}[task]
    assert len(oof) == n


def test_oof_tables_must_cover_the_same_people():
    y, s = _two_views(n=200)
    a, b = _oof(y, s["learner_a"]), _oof(y, s["learner_b"]).iloc[1:]
    with pytest.raises(Exception, match="other people"):
        select_final({"a": a, "b": b}, {"a": 0, "b": 0}, task="binary", n_classes=2, seed=0)


def _two_learner_trials(tmp_path):
    """Two learners' best trial (2) with OOF files under ``tmp_path/train``: scores, selections, paths."""
    y, s = _two_views(n=1000)
    selections, oof_paths = [], []
    for name in ("learner_a", "learner_b"):
        d = tmp_path / "train" / name / "trial_2"
        d.mkdir(parents=True)
        _oof(y, s[name]).to_csv(d / "oof.tsv", sep="\t", index=False)
        oof_paths.append(d / "oof.tsv")
        selections.append({"learner": name, "best_trial": 2})
    return s, selections, oof_paths


def test_final_model_document_round_trip(tmp_path):
    """The document names each member's fold models and recipes; FinalModel reads it back and
    scores exactly as combine + calibrator."""
    s, selections, oof_paths = _two_learner_trials(tmp_path)
    spec, _ = final_model_document(selections, oof_paths, folds=["fold0", "fold1"], task="binary",
                                   class_names=["control", "case"], seed=3, options={},
                                   feature_sets={"learner_b": "genome"})
    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "final_model.json").write_text(json.dumps(spec))
    final = FinalModel.load(tmp_path / "final" / "final_model.json")
    assert final.class_names == ["control", "case"] and final.combiner == "stack"
    b = next(m for m in final.members if m.learner == "learner_b")
    assert b.models["fold1"] == tmp_path / "train/learner_b/trial_2/model_fold1.zip"
    assert b.recipes["fold0"] == tmp_path / "munge_genome/fold0/recipe.json" and b.feature_set == "genome"
    member_scores = [s[m.learner] for m in final.members]
    expected = apply_calibrator(spec["calibrator"], combine(member_scores, [m.weight for m in final.members]),
                                "binary")
    np.testing.assert_allclose(final.score(member_scores), expected)


def test_the_decision_cutoff_keeps_calibrated_predictions_balanced():
    """After calibration at 15% prevalence, a fixed 0.5 cutoff would call few people cases; the
    final model's balanced rule (the mean OOF score, here about the prevalence) keeps the
    sensitivity and the balanced accuracy of the balanced-weight model, on new people."""
    y, s = _two_views(seed=2)
    spec, _ = select_final({"a": _oof(y, s["learner_a"])}, {"a": 0}, task="binary", n_classes=2, seed=1)
    cutoff = spec["decision"]["cutoff"]
    assert spec["decision"]["rule"] == "balanced" and abs(cutoff - y.mean()) < 0.03
    y_new, s_new = _two_views(seed=3)
    cal = apply_calibrator(spec["calibrator"], s_new["learner_a"], "binary")
    fixed = metrics.compute_metrics("binary", y_new, cal)
    ruled = metrics.compute_metrics("binary", y_new, cal, cutoff=cutoff)
    assert fixed["sensitivity"] < 0.35 < 0.6 < ruled["sensitivity"]
    assert ruled["balanced_accuracy"] > fixed["balanced_accuracy"] + 0.1
    # the OOF evidence uses the same rule
    assert spec["evidence"]["final_crossfit"]["sensitivity"] > 0.6


def test_multiclass_cutoff_is_the_mean_class_probability():
    rng = np.random.default_rng(5)
    n = 2000
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    spec, _ = select_final({"x": _oof(y, p, "multiclass")}, {"x": 0}, task="multiclass", n_classes=3, seed=0)
    cutoff = np.asarray(spec["decision"]["cutoff"])
    assert cutoff.shape == (3,) and cutoff[0] > cutoff[1] > cutoff[2]
    final = apply_calibrator(spec["calibrator"], p, "multiclass")
    np.testing.assert_allclose(cutoff, final.mean(axis=0), rtol=1e-6)
    plain = metrics.compute_metrics("multiclass", y, final)
    ruled = metrics.compute_metrics("multiclass", y, final, cutoff=cutoff)
    assert ruled["balanced_accuracy"] > plain["balanced_accuracy"]
    # continuous traits have no cutoff
    yc = rng.normal(size=300)
    spec, _ = select_final({"x": _oof(yc, yc + rng.normal(size=300), "continuous")}, {"x": 0}, task="continuous",
                           n_classes=None, seed=0)
    assert spec["decision"] == {"rule": "none", "cutoff": None}


def test_final_model_document_with_refit_scores_with_the_refits(tmp_path):
    """refit_full: each member scores with its refit on the "full" store; the fold models, whose
    OOF predictions chose it, are kept under fold_models; the weights come from the same OOF."""
    s, selections, oof_paths = _two_learner_trials(tmp_path)
    common = dict(folds=["fold0", "fold1"], task="binary", class_names=["control", "case"], seed=3, options={},
                  feature_sets={"learner_b": "genome"})
    spec, _ = final_model_document(selections, oof_paths, refit_full=True, **common)
    plain, _ = final_model_document(selections, oof_paths, **common)
    assert spec["refit_full"] and spec["folds"] == ["full"] and not plain["refit_full"]
    assert [m["weight"] for m in spec["members"]] == [m["weight"] for m in plain["members"]]
    assert spec["calibrator"] == plain["calibrator"]
    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "final_model.json").write_text(json.dumps(spec))
    b = next(m for m in FinalModel.load(tmp_path / "final" / "final_model.json").members if m.learner == "learner_b")
    assert b.folds == ["full"] and b.models["full"] == tmp_path / "train/learner_b/refit/model_full.zip"
    assert b.recipes["full"] == tmp_path / "munge_genome/full/recipe.json"
    raw = next(m for m in spec["members"] if m["learner"] == "learner_b")
    assert raw["fold_models"]["fold1"] == "train/learner_b/trial_2/model_fold1.zip"
