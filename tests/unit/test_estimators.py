"""Unit tests for genoml_core.models.estimators and genoml_core.tuning.net_spaces (CPU, tiny data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from genoml_core import runtime
from genoml_core.errors import ConfigError, InputError
from genoml_core.models.estimators import (
    NET_ARCHS, NetClassifier, NetEstimator, NetRegressor, ResVAEEmbedder, build_module, make_net,
    resolve_params,
)
from genoml_core.models.estimators.rows import _holdout_rows
from genoml_core.tuning.net_spaces import NET_SPACES, parse_block_structure, space_defaults

# Small, fast settings: a few epochs of a narrow net.
FAST = {"max_epochs": 5, "lr": 1e-2, "batch_size": 32, "dropout": 0.0}
FAST_ARCH = {
    "mlp": {"n_layers": 1, "d_layer": 16},
    "rfcn_resnet": {"n_blocks": 2, "d_block": 16},
    "rfcn_densenet": {"block_structure": "2-2", "growth_rate": 8},
    "tabm": {"k": 4, "n_blocks": 1, "d_block": 16},
}
FAST_VAE = {"max_epochs": 5, "d_first": 16, "n_layers": 3, "d_latent": 2, "batch_size": 32, "kl_warmup_epochs": 0}


def fast(arch: str, **extra) -> dict:
    return {**FAST, **FAST_ARCH[arch], **extra}


pytestmark = pytest.mark.usefixtures("one_thread")


def dataset(task: str, n: int = 120, p: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    signal = X[:, 0] - 0.8 * X[:, 1]
    if task == "binary":
        y = (signal + 0.3 * rng.normal(size=n) > 0).astype(int)
    elif task == "multiclass":
        y = np.digitize(signal, [-0.6, 0.6])
    else:
        y = 3.0 * signal + 10.0 + 0.2 * rng.normal(size=n)
    return X, y


# ----------------------------------------------------------------------------- sklearn contract
def _expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, NetClassifier):
        return {
            # The check wants extreme class weights to shift predictions on a 10-row hold-out.
            # Early stopping here keeps the epoch with the best validation ROC AUC, which does not
            # depend on the decision threshold that class weights move, so an early epoch is kept.
            # Class weights do change training: see test_class_weight_changes_predictions.
            "check_class_weight_classifiers": "AUC-based early stopping ignores the threshold class weights move",
        }
    return {}


@parametrize_with_checks(
    [
        NetClassifier("mlp", fast("mlp"), task="multiclass"),
        NetRegressor("mlp", fast("mlp")),
        ResVAEEmbedder(FAST_VAE),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_init_only_stores_arguments_and_params_round_trip():
    params = {"n_layers": 1}
    est = NetClassifier("not_a_net", params, task="binary", random_state=3, n_threads=2)  # no validation yet
    assert est.params is params
    assert est.get_params() == {
        "arch": "not_a_net", "params": params, "task": "binary", "random_state": 3, "device": "auto",
        "n_threads": 2, "class_weight": "balanced",
    }  # fmt: skip
    cloned = clone(est.set_params(arch="mlp", class_weight=None))
    assert cloned.get_params()["arch"] == "mlp" and cloned.class_weight is None
    assert cloned.params == params and cloned.params is not params
    with pytest.raises(ConfigError, match="arch='bogus'"):
        NetClassifier("bogus").fit(*dataset("binary"))
    assert NetRegressor().task == "continuous"
    assert NetEstimator._genoml_kind == NetClassifier._genoml_kind == ResVAEEmbedder._genoml_kind == "torch"


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("arch", NET_ARCHS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_every_net_and_task_fits_and_predicts(arch, task):
    X, y = dataset(task)
    est = make_net(arch, fast(arch, max_epochs=2), task=task, random_state=0, n_threads=1)
    est.fit(X, y)
    assert est.n_features_in_ == 8 and est.device_ == torch.device("cpu")
    assert len(est.history_) == 2 and est.best_epoch_ >= 1
    pred = est.predict(X)
    assert pred.shape == (120,)
    if task == "continuous":
        assert isinstance(est, NetRegressor) and pred.dtype == np.float64
    else:
        n_classes = 2 if task == "binary" else 3
        proba = est.predict_proba(X)
        assert proba.shape == (120, n_classes)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        assert set(np.unique(pred)) <= set(est.classes_)
        expected = (120,) if n_classes == 2 else (120, n_classes)
        assert est.decision_function(X).shape == expected


def test_binary_task_rejects_three_classes_and_unseen_validation_labels():
    X, y = dataset("multiclass")
    with pytest.raises(ConfigError, match="task='multiclass'"):
        NetClassifier("mlp", fast("mlp"), task="binary").fit(X, y)
    Xb, yb = dataset("binary")
    with pytest.raises(ValueError, match="not seen"):
        NetClassifier("mlp", fast("mlp")).fit(Xb[:100], yb[:100], Xb[100:], np.full(20, 7))
    with pytest.raises(ValueError, match="both X_valid and y_valid"):
        NetClassifier("mlp", fast("mlp")).fit(Xb, yb, X_valid=Xb)
    with pytest.raises(ConfigError, match="NetRegressor|continuous"):
        NetClassifier("mlp", fast("mlp"), task="continuous").fit(Xb, yb)


# ----------------------------------------------------------------------------- reproducibility
def test_same_random_state_gives_identical_predictions_and_another_differs():
    X, y = dataset("binary", seed=1)
    a = NetClassifier("rfcn_resnet", fast("rfcn_resnet"), random_state=0).fit(X, y).predict_proba(X)
    b = NetClassifier("rfcn_resnet", fast("rfcn_resnet"), random_state=0).fit(X, y).predict_proba(X)
    c = NetClassifier("rfcn_resnet", fast("rfcn_resnet"), random_state=1).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_holdout_is_deterministic_stratified_and_keeps_every_class_in_training():
    y = np.array([0] * 50 + [1] * 8 + [2] * 2 + [3])
    train, valid = _holdout_rows(len(y), stratify=y, random_state=0)
    again = _holdout_rows(len(y), stratify=y, random_state=0)
    assert np.array_equal(valid, again[1]) and np.array_equal(train, again[0])
    assert np.all(np.diff(valid) > 0) and np.all(np.diff(train) > 0)
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(len(y)))
    assert set(y[train]) == {0, 1, 2, 3}
    assert np.bincount(y[valid], minlength=4).tolist() == [5, 1, 1, 0]
    other = _holdout_rows(len(y), stratify=y, random_state=1)[1]
    assert not np.array_equal(valid, other)
    with pytest.raises(ValueError, match="n_samples=2"):
        _holdout_rows(2, stratify=None, random_state=0)


def test_n_threads_is_used_during_fit_and_restored_after():
    X, y = dataset("binary")
    runtime.set_threads(1)
    NetClassifier("mlp", fast("mlp", max_epochs=1), n_threads=2).fit(X, y)
    assert torch.get_num_threads() == 1


# ----------------------------------------------------------------------------- save / load
@pytest.mark.parametrize(
    ("arch", "task", "labels"),
    [
        ("mlp", "binary", np.array(["case", "control"])),
        ("rfcn_densenet", "multiclass", np.array([10, 20, 30])),
        ("rfcn_resnet", "continuous", None),
    ],
)
def test_save_load_round_trip_predicts_identically(tmp_path, monkeypatch, arch, task, labels):
    X, y = dataset(task)
    if labels is not None:
        y = labels[y]
    est = make_net(arch, fast(arch, max_epochs=3), task=task, random_state=0, n_threads=1).fit(X, y)
    est.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["arch.json", "state_dict.pt"]
    meta = json.loads((tmp_path / "model" / "arch.json").read_text())
    assert meta["arch"] == arch and meta["task"] == task and meta["n_features"] == 8
    assert set(meta["versions"]) >= {"genoml_core", "torch", "numpy", "scikit-learn", "python"}
    assert meta["params"]["max_epochs"] == 3
    state = torch.load(tmp_path / "model" / "state_dict.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    loaded = NetEstimator.load(tmp_path / "model")
    assert calls == [True]
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert np.array_equal(loaded.predict(X), est.predict(X))
    if task == "continuous":
        assert loaded.y_mean_ == est.y_mean_ and loaded.y_scale_ == est.y_scale_
    else:
        assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
        assert loaded.classes_.dtype == est.classes_.dtype
        assert np.array_equal(loaded.classes_, est.classes_)
    assert loaded.history_ == est.history_  # JSON round-trips finite floats exactly


def test_load_checks_the_saved_class_and_files(tmp_path):
    X, y = dataset("continuous")
    NetRegressor("mlp", fast("mlp", max_epochs=1)).fit(X, y).save(tmp_path / "reg")
    with pytest.raises(InputError, match="not a NetClassifier"):
        NetClassifier.load(tmp_path / "reg")
    assert isinstance(NetRegressor.load(tmp_path / "reg", device="cpu"), NetRegressor)
    with pytest.raises(InputError, match="missing"):
        NetEstimator.load(tmp_path / "nothing")


def test_embedder_save_load_round_trip(tmp_path):
    X, _ = dataset("continuous", n=80, p=12)
    emb = ResVAEEmbedder(FAST_VAE).fit(X)
    emb.save(tmp_path / "vae")
    loaded = NetEstimator.load(tmp_path / "vae")
    assert isinstance(loaded, ResVAEEmbedder)
    assert np.array_equal(loaded.transform(X), emb.transform(X))
    assert loaded.get_feature_names_out().tolist() == ["resvaeembedder0", "resvaeembedder1"]


# ----------------------------------------------------------------------------- behaviour
def test_class_weight_changes_predictions():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 1.6).astype(int)  # about 7% cases
    params = fast("mlp", max_epochs=5, patience=100)
    plain = NetClassifier("mlp", params, class_weight=None).fit(X, y).predict_proba(X)[:, 1]
    balanced = NetClassifier("mlp", params, class_weight="balanced").fit(X, y).predict_proba(X)[:, 1]
    manual = NetClassifier("mlp", params, class_weight={1: 10.0}).fit(X, y).predict_proba(X)[:, 1]
    assert balanced.mean() > plain.mean() + 0.1
    assert manual.mean() > plain.mean() + 0.1


@pytest.mark.parametrize("learner", ["mlp", "rfcn_resnet", "rfcn_densenet"])
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_class_weight_none_from_the_config_fits_one_epoch(learner, task):
    """Issue 12.5.3: train.class_weight: none (allowed by the schema) crashed every net."""
    from genoml_core.tuning.tune import build_estimator

    X, y = dataset(task)
    params = fast(learner, max_epochs=1)
    est = build_estimator(learner, params, task=task, random_state=0, threads=1, class_weight="none")
    est.fit(X[:90], y[:90], X[90:], y[90:])
    assert len(est.history_) == 1
    # unweighted: the same fit as class_weight=None
    plain = make_net(learner, params, task=task, random_state=0, n_threads=1, class_weight=None).fit(
        X[:90], y[:90], X[90:], y[90:]
    )
    np.testing.assert_allclose(est.predict_proba(X), plain.predict_proba(X), rtol=1e-6, atol=1e-7)
    with pytest.raises(ConfigError, match="'balanced', 'none'"):
        NetClassifier(learner, params, task=task, class_weight="nonee").fit(X[:90], y[:90])


def test_regressor_predicts_on_the_original_scale():
    X, y = dataset("continuous", n=200)
    y = 1000.0 * y + 5000.0
    est = NetRegressor("mlp", fast("mlp", max_epochs=30)).fit(X, y)
    assert est.y_mean_ == pytest.approx(y.mean())
    assert est.score(X, y) > 0.8
    assert abs(est.predict(X).mean() - y.mean()) < 0.1 * y.std()


class GenotypeView:
    """A feature-store-like row source: int8 genotypes, standardised per batch."""

    def __init__(self, genotypes: np.ndarray) -> None:
        self.genotypes = genotypes
        self.mean = genotypes.mean(axis=0, dtype=np.float64)
        self.scale = genotypes.std(axis=0, dtype=np.float64) + 1e-6
        self.max_rows = 0

    def __len__(self) -> int:
        return len(self.genotypes)

    @property
    def shape(self) -> tuple[int, int]:
        return self.genotypes.shape

    def __getitem__(self, idx):
        self.max_rows = max(self.max_rows, len(idx))
        return ((self.genotypes[idx] - self.mean) / self.scale).astype(np.float32)

    def __array__(self, *args, **kwargs):
        raise AssertionError("X must not be materialised")


def test_fit_and_predict_accept_a_row_source_without_materialising_it():
    rng = np.random.default_rng(0)
    G = rng.binomial(2, 0.3, size=(200, 15)).astype(np.int8)
    y = (G[:, 0] + G[:, 1] + rng.normal(0, 0.5, 200) > 1.2).astype(int)
    view = GenotypeView(G)
    params = fast("rfcn_resnet", eval_batch_size=64)
    est = NetClassifier("rfcn_resnet", params).fit(view, y)
    assert est.n_features_in_ == 15 and not hasattr(est, "feature_names_in_")
    proba = est.predict_proba(view)
    assert proba.shape == (200, 2) and view.max_rows <= 64
    dense = ((G - view.mean) / view.scale).astype(np.float32)
    same = NetClassifier("rfcn_resnet", params).fit(dense, y)
    np.testing.assert_array_equal(same.predict_proba(dense), proba)
    with pytest.raises(ValueError, match="features"):
        est.predict(GenotypeView(G[:, :5]))


def test_int8_genotypes_are_accepted_directly():
    rng = np.random.default_rng(0)
    G = rng.binomial(2, 0.3, size=(120, 10)).astype(np.int8)
    y = (G[:, 0] > 0).astype(int)
    est = NetClassifier("mlp", fast("mlp")).fit(G, y)
    assert est.predict_proba(G).shape == (120, 2)


def test_res_vae_embedder_learns_and_transforms():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 3)) @ rng.normal(size=(3, 20)) + 0.1 * rng.normal(size=(200, 20))).astype(np.float32)
    emb = ResVAEEmbedder({**FAST_VAE, "max_epochs": 15, "d_first": 64, "d_latent": 4, "lr": 5e-3, "patience": 100})
    Z = emb.fit_transform(X)
    assert Z.shape == (200, 4) and Z.dtype == np.float64
    assert np.array_equal(Z, emb.transform(X))
    assert emb.reconstruct(X).shape == (200, 20)
    history = emb.history_
    assert history[-1]["valid_loss"] < history[0]["valid_loss"]
    assert -emb.best_score_ == min(h["valid_loss"] for h in history)
    assert not hasattr(emb, "predict")


# ----------------------------------------------------------------------------- make_net, params
def test_make_net_returns_the_right_estimator_and_validates_early():
    clf = make_net("rfcn_densenet", {"block_structure": "3-4-5"}, task="multiclass", random_state=1, n_threads=1)
    assert isinstance(clf, NetClassifier) and clf.task == "multiclass" and clf.random_state == 1
    reg = make_net("mlp", None, task="continuous", random_state=0, n_threads=1, device="cpu")
    assert isinstance(reg, NetRegressor) and reg.device == "cpu"
    with pytest.raises(ConfigError, match="choose one of"):
        make_net("transformer", None, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="ResVAEEmbedder"):
        make_net("res_vae", None, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match=r"allowed keys are .*d_block"):
        make_net("rfcn_resnet", {"n_block": 3}, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="dropout"):
        make_net("mlp", {"dropout": 2.0}, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="2-3-4"):
        make_net("rfcn_densenet", {"block_structure": "big"}, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="task"):
        make_net("mlp", None, task="survival", random_state=0, n_threads=1)
    with pytest.raises(ValueError):  # ConfigError is a ValueError
        make_net("mlp", {"optimizer": "adam"}, task="binary", random_state=0, n_threads=1)


def test_resolve_params_fills_defaults_and_coerces_tuner_values():
    module, options = resolve_params("mlp", {"n_layers": np.int64(3), "d_layer": 64.0, "batch_size": 32.0})
    assert module["d_hidden"] == [64, 64, 64] and all(type(w) is int for w in module["d_hidden"])
    assert options["batch_size"] == 32 and type(options["batch_size"]) is int
    assert options["lr"] == NET_SPACES["mlp"]["lr"]["default"]
    module, _ = resolve_params("rfcn_densenet", {"block_structure": "2-3-4"})
    assert module["block_structure"] == [2, 3, 4]


@pytest.mark.parametrize("arch", list(NET_SPACES))
def test_net_spaces_are_well_formed_and_their_defaults_build(arch):
    space = NET_SPACES[arch]
    for name, spec in space.items():
        if spec["type"] == "categorical":
            assert set(spec) == {"type", "values", "default"}, name
            assert spec["default"] in spec["values"], name
            assert all(np.isscalar(v) for v in spec["values"]), name
        else:
            assert spec["type"] in ("float", "int"), name
            assert set(spec) == {"type", "low", "high", "log", "default"}, name
            assert spec["low"] <= spec["default"] <= spec["high"], name
            assert not spec["log"] or spec["low"] > 0, name
            if spec["type"] == "int":
                assert all(isinstance(spec[k], int) for k in ("low", "high", "default")), name
    if arch == "tabm":  # the paper's optimiser, a longer budget (patience 8: see net_spaces)
        assert space["patience"]["default"] == 8 and space["max_epochs"]["default"] <= 100
    else:
        assert space["max_epochs"]["high"] <= 100 and space["max_epochs"]["default"] <= 30
    assert space["keep_ratio"]["values"] == [0.6, 0.8, 1.0]
    module, _ = resolve_params(arch, None)
    d_out = {} if arch == "res_vae" else {"d_out": 2}
    build_module(arch, {"d_in": 50, **d_out, **module})
    if arch == "rfcn_densenet":
        for value in space["block_structure"]["values"]:
            assert parse_block_structure(value)
    assert space_defaults(arch) == {k: v["default"] for k, v in space.items()}


@pytest.mark.parametrize("arch", ["mlp", "rfcn_resnet"])
def test_default_spaces_learn_a_synthetic_genetic_signal(arch):
    """Signal in 3 of 50 SNPs, 600 samples: the space defaults reach a validation AUC > 0.8."""
    rng = np.random.default_rng(0)
    G = rng.binomial(2, 0.3, size=(600, 50))
    X = ((G - 0.6) / np.sqrt(0.42)).astype(np.float32)
    logit = 2.0 * X[:, 0] - 2.0 * X[:, 1] + 1.5 * X[:, 2]
    y = (rng.random(600) < 1 / (1 + np.exp(-logit))).astype(int)
    est = make_net(arch, None, task="binary", random_state=0, n_threads=1)
    est.fit(X[:480], y[:480], X[480:], y[480:])
    auc = roc_auc_score(y[480:], est.predict_proba(X[480:])[:, 1])
    assert auc > 0.8
    assert auc == pytest.approx(est.best_score_, abs=1e-6)
