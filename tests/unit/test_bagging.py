"""Bagged networks (``n_bags``): an inner K-fold of the training rows, one net per part, averaged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from genoml_core.errors import ConfigError
from genoml_core.models.estimators import (
    AUTO_BAG_MAX_ROWS, AUTO_BAGS, NetEstimator, make_net, resolve_n_bags,
)
from genoml_core.models.estimators.rows import _bag_rows
from genoml_core.models.nn.bagged import BaggedNet

SMALL = {"max_epochs": 15, "d_layer": 16, "n_layers": 1, "lr": 0.01}


def _noisy(n: int = 400, p: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(int)
    return X, y


def test_auto_bags_small_training_sets_only():
    assert resolve_n_bags("auto", AUTO_BAG_MAX_ROWS) == AUTO_BAGS == 5
    assert resolve_n_bags("auto", AUTO_BAG_MAX_ROWS + 1) == 1
    assert resolve_n_bags(3, 10_000) == 3 and resolve_n_bags(2.0, 50) == 2
    for bad in (0, -1, 1.5, True, "five"):
        with pytest.raises(ConfigError, match="n_bags"):
            resolve_n_bags(bad, 100)
    with pytest.raises(ConfigError, match="n_bags"):
        make_net("mlp", {"n_bags": 0}, task="binary", random_state=0, n_threads=1)


def test_bag_rows_are_an_inner_stratified_kfold():
    y = np.array([0] * 70 + [1] * 30)
    splits = _bag_rows(100, 5, stratify=y, random_state=3)
    stops = np.concatenate([stop for _, stop in splits])
    assert sorted(stops.tolist()) == list(range(100))  # every row stops early for exactly one bag
    for train, stop in splits:
        assert len(np.intersect1d(train, stop)) == 0 and len(train) + len(stop) == 100
        assert (y[stop] == 1).sum() == 6 and (y[stop] == 0).sum() == 14  # each part has its class share
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, _bag_rows(100, 5, stratify=y, random_state=3)))
    with pytest.raises(ValueError, match="n_bags"):
        _bag_rows(3, 5, stratify=None, random_state=0)


def test_bagged_classifier_is_the_mean_of_its_members_and_beats_one_net_on_small_data(tmp_path):
    X, y = _noisy()
    one = make_net("mlp", {**SMALL, "n_bags": 1}, task="binary", random_state=1, n_threads=1).fit(X[:300], y[:300])
    bag = make_net("mlp", {**SMALL, "n_bags": "auto"}, task="binary", random_state=1, n_threads=1).fit(X[:300], y[:300])
    assert type(one.module_).__name__ == "MLP"
    assert isinstance(bag.module_, BaggedNet) and len(bag.module_) == 5 and len(bag.bags_) == 5
    xt = torch.as_tensor(X[300:])
    with torch.no_grad():
        mean_p = torch.stack([m.eval()(xt).softmax(-1) for m in bag.module_.members]).mean(0).numpy()
    np.testing.assert_allclose(bag.predict_proba(X[300:]), mean_p, atol=1e-6)
    # 300 rows: one net stops on 30 of them; five bags each stop on 60 and together train on all.
    # Three seeds: the bags win each time (by 0.012-0.036 here) and by > 0.015 on average
    gains = []
    for rs in (0, 1, 2):
        aucs = [
            roc_auc_score(y[300:], make_net("mlp", {**SMALL, "n_bags": nb}, task="binary", random_state=rs,
                                            n_threads=1).fit(X[:300], y[:300]).predict_proba(X[300:])[:, 1])
            for nb in (1, "auto")
        ]  # fmt: skip
        gains.append(aucs[1] - aucs[0])
    assert min(gains) > 0 and np.mean(gains) > 0.015, gains
    bag.save(tmp_path / "m")
    loaded = NetEstimator.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X[300:]), bag.predict_proba(X[300:]))
    assert isinstance(loaded.module_, BaggedNet) and loaded.module_kwargs_["n_bags"] == 5
    assert loaded.bags_ == bag.bags_ and [b["best_epoch"] for b in bag.bags_] != [0] * 5


def test_bagged_regressor_averages_and_an_explicit_validation_set_trains_one_net():
    X, _ = _noisy(n=300)
    y = 2 * X[:, 0] + 0.1 * X[:, 1]
    reg = make_net("rfcn_resnet", {"n_bags": 3, "max_epochs": 20}, task="continuous", random_state=2,
                   n_threads=1).fit(X[:240], y[:240])  # fmt: skip
    xt = torch.as_tensor(X[240:])
    with torch.no_grad():
        mean_out = torch.stack([m.eval()(xt)[:, 0] for m in reg.module_.members]).mean(0).numpy()
    np.testing.assert_allclose(reg.predict(X[240:]), mean_out * reg.y_scale_ + reg.y_mean_, rtol=1e-5, atol=1e-5)
    assert np.corrcoef(reg.predict(X[240:]), y[240:])[0, 1] > 0.8
    one = make_net("mlp", {**SMALL, "n_bags": 5}, task="continuous", random_state=2, n_threads=1)
    one.fit(X[:200], y[:200], X[200:240], y[200:240])
    assert type(one.module_).__name__ == "MLP" and len(one.bags_) == 1


def test_a_bag_is_not_trained_as_a_whole():
    bag = BaggedNet([torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)])
    with pytest.raises(RuntimeError, match="train the members"):
        bag.train()(torch.randn(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        BaggedNet([torch.nn.Linear(3, 2)])


def test_input_clip_smoothly_bounds_the_inputs_and_survives_save_load(tmp_path):
    from genoml_core.models.nn.bagged import SmoothClipped, smooth_clip

    x = torch.tensor([-1e6, -3.0, 0.0, 0.1, 3.0, 1e6])
    c = smooth_clip(x, 3.0)
    assert torch.all(c.abs() <= 3.0) and torch.all(torch.diff(c) > 0)  # bounded, order kept
    assert abs(float(c[3]) - 0.1) < 1e-3  # near the identity close to 0
    X, y = _noisy(n=1200)
    est = make_net("mlp", {**SMALL, "input_clip": 3.0, "lr_schedule": "cosine"}, task="binary", random_state=0,
                   n_threads=1).fit(X[:1100], y[:1100])  # fmt: skip
    assert isinstance(est.module_, SmoothClipped) and est.train_options_.lr_schedule == "cosine"
    X_out = X[1100:].copy()
    X_out[:, 0] *= 1e4  # an outlier moves the prediction no further than the clipped value does
    X_cap = X[1100:].copy()
    X_cap[:, 0] = np.sign(X_cap[:, 0]) * 1e6
    np.testing.assert_allclose(est.predict_proba(X_out), est.predict_proba(X_cap), atol=1e-4)
    est.save(tmp_path / "m")
    loaded = NetEstimator.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X[1100:]), est.predict_proba(X[1100:]))
    for bad in (-1.0, float("nan"), "3"):
        with pytest.raises(ConfigError, match="input_clip"):
            make_net("mlp", {"input_clip": bad}, task="binary", random_state=0, n_threads=1)
