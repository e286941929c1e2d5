"""Metrics agree with scikit-learn/scipy, degrade to NaN, and bootstrap deterministically."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn import metrics as skm

from genoml_core.evaluation import metrics as M
from genoml_core.errors import ConfigError, InputError


def binary_case(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1).round(2)  # rounded: plenty of ties
    return y, s


def multiclass_case(n: int = 300, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), n)
    p[np.arange(n), y] += 0.4
    return y, p / p.sum(axis=1, keepdims=True)


def continuous_case(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n) * 2 + 5
    return y, y + rng.standard_normal(n)


def test_binary_agrees_with_sklearn() -> None:
    y, s = binary_case()
    m = M.compute_metrics("binary", y, s)
    pred = (s >= 0.5).astype(int)
    assert list(m) == list(M.METRICS["binary"])
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, s))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, s))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)
    assert m["n"] == 400 and m["n_cases"] == y.sum()
    assert all(isinstance(v, float) for v in m.values())


def test_binary_hand_computed() -> None:
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.6, 0.4, 0.9])
    m = M.compute_metrics("binary", y, s)
    # pairs (pos, neg): (0.4,0.1) win, (0.4,0.6) loss, (0.9,*) two wins -> 3/4
    assert m["roc_auc"] == pytest.approx(0.75)
    # ranked 0.9(+) 0.6(-) 0.4(+) 0.1(-): AP = 0.5 * 1 + 0.5 * 2/3
    assert m["pr_auc"] == pytest.approx(0.5 + 1 / 3)
    # threshold 0.5: TP=1 FN=1 TN=1 FP=1
    for key in ("accuracy", "sensitivity", "specificity", "balanced_accuracy", "f1"):
        assert m[key] == pytest.approx(0.5), key
    assert m["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert m["log_loss"] == pytest.approx(-(np.log(0.9) + np.log(0.4) + np.log(0.4) + np.log(0.9)) / 4)
    assert (m["n"], m["n_cases"]) == (4.0, 2.0)
    assert M.confusion("binary", y, s) == [[1, 1], [1, 1]]


def test_threshold_is_inclusive_at_half() -> None:
    m = M.compute_metrics("binary", np.array([0, 1]), np.array([0.2, 0.5]))
    assert m["sensitivity"] == 1.0 and m["accuracy"] == 1.0


def test_multiclass_agrees_with_sklearn() -> None:
    y, p = multiclass_case()
    m = M.compute_metrics("multiclass", y, p)
    assert list(m) == list(M.METRICS["multiclass"])
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p.argmax(1)))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p.argmax(1)))
    assert m["roc_auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=range(4)))
    assert M.confusion("multiclass", y, p) == skm.confusion_matrix(y, p.argmax(1), labels=range(4)).tolist()


def test_continuous_agrees_with_sklearn() -> None:
    y, s = continuous_case()
    m = M.compute_metrics("continuous", y, s)
    assert list(m) == list(M.METRICS["continuous"])
    assert m["r2"] == pytest.approx(skm.r2_score(y, s))
    assert m["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, s)))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, s))
    assert m["pearson_r"] == pytest.approx(pearsonr(y, s)[0])


# ----------------------------------------------------------------------------- degenerate inputs
def test_one_class_in_y_true_gives_nan_and_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="genoml_core.evaluation.metrics"):
        m = M.compute_metrics("binary", np.ones(5, dtype=int), np.array([0.2, 0.6, 0.7, 0.9, 0.4]))
    assert math.isnan(m["roc_auc"]) and math.isnan(m["specificity"]) and math.isnan(m["balanced_accuracy"])
    assert m["sensitivity"] == pytest.approx(0.6) and m["accuracy"] == pytest.approx(0.6)
    assert "roc_auc" in caplog.text
    m = M.compute_metrics("multiclass", np.zeros(4, dtype=int), np.full((4, 3), 1 / 3))
    assert math.isnan(m["roc_auc_ovr_macro"]) and math.isnan(m["balanced_accuracy"])
    assert m["log_loss"] == pytest.approx(math.log(3))


def test_constant_predictions_and_targets() -> None:
    y, _ = continuous_case(50)
    m = M.compute_metrics("continuous", y, np.full(50, 5.0))
    assert math.isnan(m["pearson_r"]) and m["r2"] <= 0 and m["rmse"] > 0
    m = M.compute_metrics("continuous", np.full(10, 2.0), np.arange(10.0))
    assert math.isnan(m["r2"]) and math.isnan(m["pearson_r"])
    m = M.compute_metrics("binary", np.array([0, 1, 0, 1]), np.zeros(4))  # predicts all controls
    assert m["roc_auc"] == 0.5 and m["f1"] == 0.0 and m["sensitivity"] == 0.0
    assert 10 < m["log_loss"] < 40  # probabilities clipped: large but finite


def test_multiclass_missing_class_averages_over_present() -> None:
    y, p = multiclass_case(k=3)
    keep = y != 2
    m = M.compute_metrics("multiclass", y[keep], p[keep])
    aucs = [skm.roc_auc_score(y[keep] == c, p[keep][:, c]) for c in (0, 1)]
    assert m["roc_auc_ovr_macro"] == pytest.approx(np.mean(aucs))


def test_is_degenerate() -> None:
    """Degenerate means constant scores; one side of 0.5 (or one arg-max class) is not enough."""
    assert M.is_degenerate("binary", np.full(5, 0.7))
    assert M.is_degenerate("binary", np.full(5, 0.03))
    assert not M.is_degenerate("binary", np.array([0.1, 0.3, 0.49]))  # varies: it ranks people
    assert not M.is_degenerate("binary", np.array([0.1, 0.6]))
    assert M.is_degenerate("multiclass", np.tile([0.2, 0.5, 0.3], (6, 1)))
    same_argmax = np.tile([0.2, 0.5, 0.3], (6, 1)) + np.linspace(0, 0.05, 6)[:, None] * [1, 0, 0]
    assert not M.is_degenerate("multiclass", same_argmax)
    assert not M.is_degenerate("multiclass", multiclass_case()[1])
    assert M.is_degenerate("continuous", np.full(7, 123.456))
    assert not M.is_degenerate("continuous", np.array([1.0, 1.1]))


def _low_prevalence_case(n: int = 1000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """7% cases; a good model (AUC ~0.74) and a worse one, every score of both below 0.5."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, int(0.07 * n), replace=False)] = 1
    good = 1 / (1 + np.exp(-(-3.0 + 0.45 * y + 0.6 * rng.normal(size=n))))
    worse = 1 / (1 + np.exp(-(-3.0 + 0.15 * y + 0.6 * rng.normal(size=n))))
    return y, good, worse


def test_low_prevalence_model_is_ranked_by_auc_not_flagged() -> None:
    """Issue 12.5.2: an AUC-0.74 model at 7% prevalence with all scores < 0.5 was ranked last."""
    from genoml_core.tuning.tune import select_best

    y, good, worse = _low_prevalence_case()
    assert good.max() < 0.5 and worse.max() < 0.5
    records = []
    for trial, s in enumerate([worse, good]):  # trial index order favours the worse model on ties
        m = M.compute_metrics("binary", y, s)
        records.append({"learner": "x", "trial": trial, "params": {}, "selection_metric": "roc_auc", "valid": m,
                        "degenerate": M.is_degenerate("binary", s), "seconds": 0.0})
    assert records[1]["valid"]["roc_auc"] == pytest.approx(0.74, abs=0.03)
    assert records[1]["valid"]["roc_auc"] > records[0]["valid"]["roc_auc"]
    assert not records[0]["degenerate"] and not records[1]["degenerate"]
    best = select_best(records)
    assert best["best_trial"] == 1 and not best["degenerate"]
    # truly constant scores are still flagged and passed over, even with an equal metric
    constant = np.full(y.size, 0.07)
    assert M.is_degenerate("binary", constant)
    flat = {"learner": "x", "trial": 2, "params": {}, "selection_metric": "roc_auc", "seconds": 0.0,
            "valid": {**records[1]["valid"]}, "degenerate": M.is_degenerate("binary", constant)}
    assert select_best([flat, records[0]])["best_trial"] == 0


def test_score_of_exactly_one_half_is_a_case_everywhere(tmp_path) -> None:
    """Issue 12.5.4: 0.5 was 'control' in predictions.tsv but a case in the metrics."""
    import pandas as pd

    from genoml_core.predict import prediction_table

    s = np.array([0.2, 0.5, 0.5, 0.8])
    y = np.array([0, 1, 0, 1])
    m = M.compute_metrics("binary", y, s)
    assert m["sensitivity"] == 1.0 and m["specificity"] == 0.5
    assert M.confusion("binary", y, s) == [[1, 1], [0, 2]]
    samples = pd.DataFrame({"FID": list("abcd"), "IID": list("abcd")})
    table = prediction_table(samples, s, "binary", ["control", "case"])
    assert table["predicted"].tolist() == ["control", "case", "case", "case"]
    # the predicted column agrees with the confusion matrix the metrics report
    pred = (table["predicted"] == "case").astype(int).to_numpy()
    assert np.bincount(y * 2 + pred, minlength=4).reshape(2, 2).tolist() == M.confusion("binary", y, s)
    assert M.predicted_class("binary", s).tolist() == [0, 1, 1, 1]
    # multiclass: the arg-max column, ties to the lower class
    p = np.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    assert M.predicted_class("multiclass", p).tolist() == [0, 2]
    with pytest.raises(ConfigError, match="classification"):
        M.predicted_class("continuous", s)


# ----------------------------------------------------------------------------- misc API
def test_selection_metric_and_direction() -> None:
    for task, metric in M.SELECTION_METRIC.items():
        assert metric in M.METRICS[task] and M.greater_is_better(metric)
    assert not M.greater_is_better("log_loss") and not M.greater_is_better("rmse")
    assert not M.greater_is_better("brier") and not M.greater_is_better("mae")
    with pytest.raises(ConfigError, match="unknown metric"):
        M.greater_is_better("auc")


def test_input_errors() -> None:
    with pytest.raises(InputError, match="shape"):
        M.compute_metrics("binary", np.array([0, 1]), np.array([0.5]))
    with pytest.raises(InputError, match="NaN"):
        M.compute_metrics("binary", np.array([0, 1]), np.array([0.5, np.nan]))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        M.compute_metrics("binary", np.array([0, 1]), np.array([0.5, 1.5]))
    with pytest.raises(InputError, match="labels must be in 0..2"):
        M.compute_metrics("multiclass", np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(InputError, match="n_classes=4"):
        M.compute_metrics("multiclass", np.array([0, 1]), np.full((2, 3), 1 / 3), n_classes=4)
    with pytest.raises(ConfigError, match="continuous"):
        M.confusion("continuous", np.zeros(2), np.zeros(2))
    with pytest.raises(ConfigError, match="task must be one of"):
        M.compute_metrics("ordinal", np.zeros(2), np.zeros(2))


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_deterministic_and_covers_estimate() -> None:
    y, s = binary_case(300)
    names = ["roc_auc", "pr_auc", "balanced_accuracy", "brier"]
    a = M.bootstrap_ci("binary", y, s, metrics=names, n_boot=300, seed=5)
    assert a == M.bootstrap_ci("binary", y, s, metrics=names, n_boot=300, seed=5)
    assert a != M.bootstrap_ci("binary", y, s, metrics=names, n_boot=300, seed=6)
    point = M.compute_metrics("binary", y, s)
    for name in names:
        low, high = a[name]
        assert low < point[name] < high, name
        assert high - low < 0.25
    # a wider confidence level gives a wider interval
    wide = M.bootstrap_ci("binary", y, s, metrics=["roc_auc"], n_boot=300, seed=5, alpha=0.01)
    assert wide["roc_auc"][0] <= a["roc_auc"][0] and wide["roc_auc"][1] >= a["roc_auc"][1]


@pytest.mark.parametrize(
    ("task", "case", "names"),
    [
        ("multiclass", multiclass_case, ["roc_auc_ovr_macro", "accuracy", "log_loss"]),
        ("continuous", continuous_case, ["r2", "rmse", "pearson_r"]),
    ],
)
def test_bootstrap_other_tasks_cover_estimate(task: str, case, names: list[str]) -> None:
    y, s = case()
    ci = M.bootstrap_ci(task, y, s, metrics=names, n_boot=200, seed=1)
    point = M.compute_metrics(task, y, s)
    for name in names:
        assert ci[name][0] < point[name] < ci[name][1], name


def test_bootstrap_is_fast_enough() -> None:
    y, s = binary_case(500)
    start = time.perf_counter()
    M.bootstrap_ci("binary", y, s, metrics=["roc_auc"], n_boot=1000, seed=0)
    assert time.perf_counter() - start < 2.0


def test_bootstrap_errors_and_degenerate() -> None:
    y, s = binary_case(50)
    with pytest.raises(ConfigError, match="unknown binary metric"):
        M.bootstrap_ci("binary", y, s, metrics=["r2"], seed=0)
    with pytest.raises(ConfigError, match="alpha"):
        M.bootstrap_ci("binary", y, s, metrics=["roc_auc"], seed=0, alpha=1.5)
    ci = M.bootstrap_ci("binary", np.ones(20, dtype=int), s[:20], metrics=["roc_auc", "accuracy"], n_boot=50, seed=0)
    assert all(math.isnan(v) for v in ci["roc_auc"]) and not math.isnan(ci["accuracy"][0])


def test_a_cutoff_moves_the_predicted_classes_and_the_thresholded_metrics():
    from genoml_core.errors import ConfigError
    from genoml_core.evaluation.metrics import check_cutoff, compute_metrics, confusion, predicted_class

    s = np.array([0.1, 0.2, 0.3, 0.6])
    y = np.array([0, 1, 1, 1])
    assert predicted_class("binary", s).tolist() == [0, 0, 0, 1]
    assert predicted_class("binary", s, 0.2).tolist() == [0, 1, 1, 1]  # the cutoff itself is a case
    assert compute_metrics("binary", y, s, cutoff=0.2)["sensitivity"] == 1.0
    assert compute_metrics("binary", y, s)["sensitivity"] == pytest.approx(1 / 3)
    assert compute_metrics("binary", y, s, cutoff=0.2)["roc_auc"] == compute_metrics("binary", y, s)["roc_auc"]
    assert confusion("binary", y, s, cutoff=0.2) == [[1, 0], [0, 3]]
    p = np.array([[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]])
    assert predicted_class("multiclass", p).tolist() == [0, 0]
    assert predicted_class("multiclass", p, [0.7, 0.2, 0.1]).tolist() == [2, 2]
    for task, bad in (("binary", 0.0), ("binary", 1.5), ("binary", "x"), ("multiclass", [1, -1, 1])):
        with pytest.raises(ConfigError, match="cutoff"):
            check_cutoff(task, bad, 3)


@pytest.mark.parametrize("labels", [[3, 1, 3, 7, 1], ["sub_b", "sub_a", "sub_c", "sub_a"], [1.0, 0.0, 0.0]])
def test_encode_labels_sorted_codes_and_unseen_labels(labels: list) -> None:
    from sklearn.preprocessing import LabelEncoder

    classes, codes = M.encode_labels(labels)
    assert codes.dtype == np.int64 and classes.tolist() == sorted(set(labels))
    assert codes.tolist() == LabelEncoder().fit_transform(labels).tolist()
    assert classes[codes].tolist() == list(labels)
    again = M.encode_labels(labels[::-1], classes)  # validation labels: the training codes
    assert again[1].tolist() == codes[::-1].tolist()
    with pytest.raises(InputError, match=r"y_valid has labels \[.*\] not seen in training; the classes are"):
        M.encode_labels([*labels[:1], "never" if isinstance(labels[0], str) else 99], classes, what="y_valid")


def test_learners_share_the_label_codes() -> None:
    from genoml_core.models.nas.search import _encode_targets
    from genoml_core.models.penalized.stats import _encode_y

    y = np.array([5, 2, 9, 2, 5, 9, 9])
    _, codes = M.encode_labels(y)
    onehot, classes = _encode_y(y, "multiclass", len(y))
    assert classes is not None and onehot.argmax(axis=1).tolist() == codes.tolist()
    binary, _ = _encode_y(y[y != 9], "binary", int((y != 9).sum()))
    assert binary.tolist() == M.encode_labels(y[y != 9])[1].astype(float).tolist()
    train, valid, k = _encode_targets("multiclass", y, y[:3], None)
    assert train.tolist() == codes.tolist() and valid.tolist() == codes[:3].tolist() and k == 3
    with pytest.raises(InputError, match=r"the validation data has labels \[4\] not seen in training"):
        _encode_targets("multiclass", y, np.array([4]), None)
