"""Learner registry: every learner x task fits, beats chance, is deterministic and weighted."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

from genoml_core.models import learners as L
from genoml_core.errors import ConfigError, InputError
from genoml_core.tuning.search import DEFAULT_SPACES, sample_params

# learners fitted on dense feature rows (penalized_glm reads int8 genotypes: test_genome_learner.py)
PAIRS = [(name, task) for task in L.TASKS for name in L.available_learners(task) if L.feature_set(name) == "compact"]
CLASSIFIER_PAIRS = [(n, t) for n, t in PAIRS if t != "continuous"]

# small, fast versions of the slow learners (the defaults are exercised in test_defaults_fit...)
FAST = {
    "random_forest": {"n_estimators": 40},
    "extra_trees": {"n_estimators": 40},
    "xgboost": {"n_estimators": 40, "learning_rate": 0.2},
}


def make_data(task: str, n: int = 300, p: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features, signal in features 0-2 only."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    if task == "multiclass":
        y = rng.integers(0, 3, n)
        X[np.arange(n), y] += 1.5
        return X, y.astype(np.int64)
    lin = X[:, 0] + X[:, 1] - X[:, 2]
    if task == "binary":
        return X, (lin + 0.8 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, 2.0 * lin + 1.5 * rng.standard_normal(n) + 10.0


def fitted(name: str, task: str, X: np.ndarray, y: np.ndarray, *, seed: int = 0, params: dict | None = None,
           **kw: object):
    params = {**FAST.get(name, {}), **(params or {})}
    est = L.make_learner(name, params, task=task, random_state=seed, **kw)  # type: ignore[arg-type]
    class_weight = str(kw.get("class_weight", "balanced"))
    return L.fit_learner(est, X, y, task=task, class_weight=class_weight)


# ----------------------------------------------------------------------------- registry
def test_registry_matches_the_task_lists() -> None:
    # the default set, chosen by measurement (bench/bench_quality.py, BENCHMARKS.md): the genome-wide
    # GLM beside three compact-set learners of different kinds, stacked on OOF predictions
    assert set(L.available_learners("binary", defaults_only=True)) == {
        "penalized_glm", "logistic_l2", "random_forest", "xgboost"}
    assert L.available_learners("multiclass") == L.available_learners("binary")
    assert set(L.available_learners("continuous", defaults_only=True)) == {
        "penalized_glm", "ridge", "random_forest", "xgboost"}
    # the rest are trained when listed
    assert set(L.available_learners("binary")) - set(L.available_learners("binary", defaults_only=True)) == {
        "logistic_l1", "logistic_elasticnet", "extra_trees", "svm_linear", "svm_rbf", "knn", "lda",
        "logistic_l1_sgd", "logistic_l2_sgd"}
    assert set(L.available_learners("continuous")) - set(L.available_learners("continuous", defaults_only=True)) == {
        "lasso", "elastic_net", "svr", "svr_linear", "linear_sgd"}
    assert {n for n, spec in L.LEARNERS.items() if spec.feature_set == "genome"} == {"penalized_glm"}
    from genoml_core.config import STREAMING_LEARNERS

    assert {n for n, spec in L.LEARNERS.items() if spec.streaming} == set(STREAMING_LEARNERS)
    assert L.supports("xgboost", "continuous") and not L.supports("lasso", "binary")
    assert not L.supports("no_such", "binary")
    assert set(DEFAULT_SPACES) == set(L.LEARNERS)


def test_unknown_or_unsupported_learner_lists_alternatives() -> None:
    with pytest.raises(ConfigError, match="unknown learner 'catboost'.*logistic_l1"):
        L.make_learner("catboost", {}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="does not support task 'binary'.*'svm_rbf'"):
        L.make_learner("lasso", {}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="task must be one of"):
        L.make_learner("lasso", {}, task="regression", random_state=0)


def test_bad_params_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"no parameter\(s\) \['max_dept'\].*max_depth"):
        L.make_learner("xgboost", {"max_dept": 3}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="set by the workflow"):
        L.make_learner("random_forest", {"random_state": 1}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="cannot be changed"):
        L.make_learner("logistic_l1", {"l1_ratio": 0.5}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="class_weight"):
        L.make_learner("knn", {}, task="binary", random_state=0, class_weight="auto")
    # params of the wrapped base estimator are accepted under their plain names
    est = L.make_learner("svm_rbf", {"C": 3.0, "gamma": 0.01}, task="binary", random_state=0)
    assert est.estimator.C == 3.0
    est = L.make_learner("lasso", {"alpha": 0.5}, task="continuous", random_state=0)
    assert est.regressor.alpha == 0.5
    # a bad value is reported as a config problem at fit time
    X, y = make_data("binary", n=60)
    bad = L.make_learner("logistic_l2", {"C": -1.0}, task="binary", random_state=0)
    with pytest.raises(ConfigError, match="invalid parameter value"):
        L.fit_learner(bad, X, y, task="binary")


def test_make_learner_returns_fresh_unfitted_objects() -> None:
    a = L.make_learner("random_forest", {}, task="binary", random_state=0)
    b = L.make_learner("random_forest", {}, task="binary", random_state=0)
    assert a is not b and not hasattr(a, "estimators_")
    assert a.get_params()["random_state"] == 0 and a.get_params()["class_weight"] == "balanced"
    xgb = L.make_learner("xgboost", {}, task="binary", random_state=5, n_jobs=3)
    assert xgb.get_params()["tree_method"] == "hist" and xgb.n_jobs == 3 and xgb.random_state == 5


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_default_and_sampled_params_are_accepted(name: str, task: str) -> None:
    X, y = make_data(task, n=120, p=12)
    for trial in (0, 1, 2):
        params = sample_params(DEFAULT_SPACES[name], seed=4, arch=name, trial=trial)
        if name in FAST and trial:
            params["n_estimators"] = 30  # keep the draws, only fewer trees
        est = L.make_learner(name, params, task=task, random_state=0)
        L.fit_learner(est, X, y, task=task)
        assert np.isfinite(L.predict_scores(est, X, task=task)).all()


# ----------------------------------------------------------------------------- fitting quality
@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_beats_chance_and_is_deterministic(name: str, task: str) -> None:
    X, y = make_data(task)
    Xtr, ytr, Xte, yte = X[:200], y[:200], X[200:], y[200:]
    a = L.predict_scores(fitted(name, task, Xtr, ytr, seed=3), Xte, task=task)
    b = L.predict_scores(fitted(name, task, Xtr, ytr, seed=3), Xte, task=task)
    np.testing.assert_array_equal(a, b)
    if task == "binary":
        assert a.shape == (100,) and ((a >= 0) & (a <= 1)).all()
        assert roc_auc_score(yte, a) > 0.7
    elif task == "multiclass":
        assert a.shape == (100, 3)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)
        assert balanced_accuracy_score(yte, a.argmax(axis=1)) > 0.5
    else:
        assert a.shape == (100,)
        assert r2_score(yte, a) > 0.3


def test_regressors_are_unit_free() -> None:
    # the target is standardized inside: scaling y scales predictions, penalties unchanged
    X, y = make_data("continuous")
    for name in ("lasso", "svr"):
        p1 = L.predict_scores(fitted(name, "continuous", X, y), X, task="continuous")
        p2 = L.predict_scores(fitted(name, "continuous", X, 1000.0 * y), X, task="continuous")
        np.testing.assert_allclose(p2, 1000.0 * p1, rtol=1e-5)


# ----------------------------------------------------------------------------- class weights
def imbalanced(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 10)).astype(np.float32)
    y = (X[:, 0] + rng.standard_normal(n) > 1.8).astype(np.int64)  # ~10 % cases
    assert 0.05 < y.mean() < 0.2
    return X, y


@pytest.mark.parametrize("name", [n for n in L.available_learners("binary") if L.feature_set(n) == "compact"])
def test_class_weight_changes_the_model(name: str) -> None:
    X, y = imbalanced(400)
    # leaves of >= 5 samples so that tree leaf probabilities reflect the weights
    params = {"min_samples_leaf": 5} if name in ("random_forest", "extra_trees") else None
    bal = fitted(name, "binary", X[:300], y[:300], class_weight="balanced", params=params)
    raw = fitted(name, "binary", X[:300], y[:300], class_weight="none", params=params)
    bal, raw = L.predict_scores(bal, X[300:], task="binary"), L.predict_scores(raw, X[300:], task="binary")
    if name == "knn":  # no weighting possible: documented no-op
        np.testing.assert_array_equal(bal, raw)
        return
    assert not np.allclose(bal, raw)
    if name not in ("svm_linear", "svm_rbf"):  # Platt scaling re-calibrates the SVM scores
        assert bal.mean() > raw.mean() + 0.05  # minority class up-weighted


def test_multiclass_class_weight_for_xgboost_uses_sample_weights() -> None:
    X, y = make_data("multiclass")
    y = np.where((y == 2) & (np.arange(y.size) % 4 != 0), 0, y)  # class 2 rare
    bal = L.predict_scores(fitted("xgboost", "multiclass", X, y), X, task="multiclass")
    raw = L.predict_scores(fitted("xgboost", "multiclass", X, y, class_weight="none"), X, task="multiclass")
    assert bal[:, 2].mean() > raw[:, 2].mean()


# ----------------------------------------------------------------------------- score layout
@pytest.mark.parametrize("name", [n for n in L.available_learners("multiclass") if L.feature_set(n) == "compact"])
def test_multiclass_columns_follow_labels_with_a_class_absent(name: str) -> None:
    X, y = make_data("multiclass", n=300)
    keep = y != 1  # class 1 never seen in training
    est = fitted(name, "multiclass", X[keep], y[keep])
    s = L.predict_scores(est, X, task="multiclass")
    assert s.shape == (300, 3)
    np.testing.assert_array_equal(s[:, 1], 0.0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-6)
    # column 2 really is class 2
    assert s[y == 2, 2].mean() > s[y == 0, 2].mean() + 0.2
    # a wider label space on request
    assert L.predict_scores(est, X, task="multiclass", n_classes=5).shape == (300, 5)
    with pytest.raises(InputError, match="beyond n_classes"):
        L.predict_scores(est, X, task="multiclass", n_classes=2)


def test_highest_label_absent_defaults_to_max_seen() -> None:
    X, y = make_data("multiclass")
    keep = y != 2
    est = fitted("logistic_l2", "multiclass", X[keep], y[keep])
    assert L.predict_scores(est, X, task="multiclass").shape == (300, 2)
    assert L.predict_scores(est, X, task="multiclass", n_classes=3).shape == (300, 3)


def test_xgboost_refit_forgets_previous_label_map() -> None:
    X, y = make_data("multiclass")
    est = L.make_learner("xgboost", FAST["xgboost"], task="multiclass", random_state=0)
    L.fit_learner(est, X[y != 1], y[y != 1], task="multiclass")
    assert est.genoml_classes_.tolist() == [0, 2]
    L.fit_learner(est, X, y, task="multiclass")
    assert not hasattr(est, "genoml_classes_")
    assert L.predict_scores(est, X, task="multiclass").shape == (300, 3)


def test_binary_scores_are_probability_of_class_one() -> None:
    X, y = make_data("binary")
    est = fitted("logistic_l2", "binary", X, y)
    np.testing.assert_array_equal(L.predict_scores(est, X, task="binary"), est.predict_proba(X)[:, 1])


# ----------------------------------------------------------------------------- input checks
def test_fit_rejects_bad_labels_and_features() -> None:
    X, y = make_data("binary", n=50)
    est = L.make_learner("logistic_l2", {}, task="binary", random_state=0)
    with pytest.raises(InputError, match="single class"):
        L.fit_learner(est, X, np.zeros(50, dtype=int), task="binary")
    with pytest.raises(InputError, match="binary y must be 0/1"):
        L.fit_learner(est, X, y * 2, task="binary")
    with pytest.raises(InputError, match="integer labels"):
        L.fit_learner(est, X, y + 0.5, task="binary")
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(InputError, match="impute"):
        L.fit_learner(est, Xn, y, task="binary")
    with pytest.raises(InputError, match="one label per row"):
        L.fit_learner(est, X, y[:-1], task="binary")


def test_convergence_warnings_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    X, y = make_data("binary")
    est = L.make_learner("logistic_elasticnet", {"max_iter": 1}, task="binary", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would fail the test
        with caplog.at_level(logging.WARNING, logger="genoml_core.models.learners"):
            L.fit_learner(est, X, y, task="binary")
    assert any("ConvergenceWarning" in r.getMessage() for r in caplog.records)


def test_knn_neighbours_clipped_to_training_size(caplog: pytest.LogCaptureFixture) -> None:
    X, y = make_data("binary", n=40)
    est = L.make_learner("knn", {"n_neighbors": 101}, task="binary", random_state=0)
    with caplog.at_level(logging.WARNING):
        L.fit_learner(est, X, y, task="binary")
    assert est.n_neighbors == 40 and "n_neighbors=101" in caplog.text
    assert L.predict_scores(est, X, task="binary").shape == (40,)


def test_svm_calibration_folds_shrink_for_rare_classes() -> None:
    X, y = make_data("multiclass", n=120)
    y[y == 2] = 0
    y[:2] = 2  # two samples of class 2
    est = fitted("svm_rbf", "multiclass", X, y)
    assert est.cv.n_splits == 2
    y[1] = 0  # one sample: calibration impossible
    with pytest.raises(InputError, match="at least 2 per class"):
        fitted("svm_rbf", "multiclass", X, y)


# ----------------------------------------------------------------------------- xgboost early stopping
def test_xgboost_early_stopping_with_validation_set_is_deterministic() -> None:
    X, y = make_data("binary", n=400)
    runs = []
    for _ in range(2):
        est = L.make_learner("xgboost", {"n_estimators": 400, "learning_rate": 0.3}, task="binary", random_state=1)
        L.fit_learner(est, X[:250], y[:250], task="binary", X_valid=X[250:320], y_valid=y[250:320])
        assert est.best_iteration < 399  # stopped early
        assert est.get_params()["early_stopping_rounds"] is None  # restored after fit
        runs.append(L.predict_scores(est, X[320:], task="binary"))
    np.testing.assert_array_equal(runs[0], runs[1])


# ----------------------------------------------------------------------------- weights
@pytest.mark.parametrize(
    ("name", "task"),
    [("logistic_l1", "binary"), ("lda", "multiclass"), ("svm_linear", "binary"), ("random_forest", "binary"),
     ("xgboost", "binary"), ("lasso", "continuous"), ("ridge", "continuous"), ("xgboost", "continuous")],
)
def test_model_weights_rank_signal_features_first(name: str, task: str) -> None:
    X, y = make_data(task)
    w = L.model_weights(fitted(name, task, X, y), X.shape[1])
    assert w is not None and w.shape == (30,) and (w >= 0).all()
    assert set(np.argsort(-w)[:3]) == {0, 1, 2}


@pytest.mark.parametrize(("name", "task"), [("knn", "binary"), ("svm_rbf", "binary"), ("svr", "continuous")])
def test_model_weights_none_without_coefficients(name: str, task: str) -> None:
    X, y = make_data(task, n=100)
    assert L.model_weights(fitted(name, task, X, y), X.shape[1]) is None
