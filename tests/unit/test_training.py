"""Unit tests for genoml_core.models.training and genoml_core.runtime (CPU, tiny data)."""

from __future__ import annotations

import math
import random
from dataclasses import fields

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from genoml_core import runtime
from genoml_core.models import training
from genoml_core.errors import ConfigError, InputError
from genoml_core.tuning.net_spaces import NET_SPACES, SHARED_SPACE
from genoml_core.models.nn import MLP, ResVAE, RFCNResNet
from genoml_core.models.training import (
    FitResult, RowSubset, TrainOptions, VAEOptions, fit_supervised, fit_vae, iter_batches, pairwise_auc_loss,
    predict_outputs, score_outputs,
)

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def dosages(n: int, p: int, seed: int) -> np.ndarray:
    """Standardised synthetic 0/1/2 dosages (float32)."""
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, 0.3, size=(n, p)).astype(np.float32)
    return (g - 0.6) / np.sqrt(0.42)


def binary_task(n: int = 240, p: int = 10, seed: int = 0, prevalence_shift: float = 0.0):
    X = dosages(n, p, seed)
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] + prevalence_shift
    y = (np.random.default_rng(seed + 1).random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return X, y


def small_net(d_in: int, d_out: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return MLP(d_in=d_in, d_out=d_out, d_hidden=[16], dropout=0.1, keep_ratio=1.0)


def fit(X, y, Xv, yv, *, task="binary", seed=0, net=None, class_weight=None, **options) -> FitResult:
    d_out = {"binary": 2, "continuous": 1}.get(task, int(max(y.max(), yv.max())) + 1)
    net = net if net is not None else small_net(X.shape[1], d_out)
    opts = TrainOptions(**{"max_epochs": 10, "batch_size": 32, "lr": 1e-2, **options})
    return fit_supervised(
        net, X, y, X_valid=Xv, y_valid=yv, task=task, options=opts, seed=seed, device=CPU, class_weight=class_weight
    )


# ----------------------------------------------------------------------------- batches
def test_iter_batches_covers_every_row_once_sorted_within_batches():
    g = torch.Generator().manual_seed(3)
    batches = list(iter_batches(103, 10, generator=g, merge_singleton=True))
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(103))
    assert all(np.all(np.diff(b) > 0) for b in batches)
    assert rows.tolist() != list(range(103))  # shuffled across batches
    again = list(iter_batches(103, 10, generator=torch.Generator().manual_seed(3), merge_singleton=True))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_iter_batches_folds_a_trailing_single_row_into_the_previous_batch():
    sizes = [len(b) for b in iter_batches(21, 10, merge_singleton=True)]
    assert sizes == [10, 11]
    assert [len(b) for b in iter_batches(21, 10)] == [10, 10, 1]
    assert [b.tolist() for b in iter_batches(4, 3)] == [[0, 1, 2], [3]]


class GenotypeView:
    """A row source like the feature store's: int8 genotypes scaled per batch; refuses to be
    turned into one big array, and records the row indices it was asked for."""

    def __init__(self, genotypes: np.ndarray) -> None:
        self.genotypes = genotypes
        self.mean = genotypes.mean(axis=0)
        self.scale = genotypes.std(axis=0) + 1e-6
        self.requests: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.genotypes)

    @property
    def shape(self) -> tuple[int, int]:
        return self.genotypes.shape

    def __getitem__(self, idx):
        idx = np.asarray(idx)
        self.requests.append(idx)
        return ((self.genotypes[idx] - self.mean) / self.scale).astype(np.float32)

    def __array__(self, *args, **kwargs):
        raise AssertionError("the training loop must not materialise X")


def test_training_reads_row_sources_batch_by_batch():
    rng = np.random.default_rng(0)
    G = rng.binomial(2, 0.3, size=(200, 12)).astype(np.int8)
    y = (G[:, 0] + rng.normal(0, 0.5, 200) > 0.8).astype(np.int64)
    view = GenotypeView(G)
    X_train, X_valid = RowSubset(view, np.arange(160)), RowSubset(view, np.arange(160, 200))
    result = fit(X_train, y[:160], X_valid, y[160:], max_epochs=3, eval_batch_size=16)
    assert len(result.history) == 3
    assert view.requests
    assert max(len(r) for r in view.requests) <= 33  # batch_size 32 (+1 folded single row)
    assert all(np.all(np.diff(r) > 0) for r in view.requests)


def test_bad_batches_are_reported():
    class Flat:
        shape = (10, 3)

        def __len__(self):
            return 10

        def __getitem__(self, idx):
            return np.zeros(len(idx))

    with pytest.raises(InputError, match="rows, features"):
        fit(Flat(), np.zeros(10, dtype=np.int64), Flat(), np.zeros(10, dtype=np.int64))


# ----------------------------------------------------------------------------- loop behaviour
def test_binary_training_learns_and_records_history():
    X, y = binary_task(seed=0)
    result = fit(X[:200], y[:200], X[200:], y[200:], max_epochs=8)
    assert result.metric == "roc_auc"
    assert result.best_score > 0.8
    assert result.amp_dtype is None  # no mixed precision on the CPU
    row = result.history[0]
    assert set(row) >= {"epoch", "train_loss", "valid_loss", "roc_auc", "samples_per_s", "seconds"}
    assert row["samples_per_s"] > 0
    assert not result.module.training


def test_early_stopping_restores_the_best_weights():
    X, y = binary_task(n=160, p=30, seed=5)
    y = np.random.default_rng(9).permutation(y)  # nothing to learn: the metric wanders
    result = fit(X[:120], y[:120], X[120:], y[120:], max_epochs=40, patience=3, lr=3e-2)
    scores = [h["roc_auc"] for h in result.history]
    assert result.best_score == max(scores)
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert len(result.history) == min(40, result.best_epoch + 3)
    assert result.best_epoch < len(result.history)  # the last epoch is not the one kept
    outputs = predict_outputs(result.module, X[120:], device=CPU, batch_size=1024)
    assert score_outputs("binary", y[120:], outputs) == result.best_score


def test_same_seed_is_bit_identical_and_another_seed_differs():
    X, y = binary_task(seed=1)

    def weights(seed: int) -> list[torch.Tensor]:
        result = fit(X[:200], y[:200], X[200:], y[200:], seed=seed, max_epochs=3, net=small_net(10, 2, seed=0))
        return [t.clone() for t in result.module.state_dict().values()]

    a, b, c = weights(0), weights(0), weights(1)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))


def test_class_weights_change_training_on_imbalanced_data():
    X, y = binary_task(n=300, seed=2, prevalence_shift=-3.0)
    assert 0.03 < y.mean() < 0.2
    Xt, yt, Xv, yv = X[:240], y[:240], X[240:], y[240:]
    weights = training.balanced_class_weights(yt, 2)
    assert weights[1] > 1 > weights[0]
    plain = fit(Xt, yt, Xv, yv, max_epochs=5, patience=100, net=small_net(10, 2))
    weighted = fit(Xt, yt, Xv, yv, max_epochs=5, patience=100, net=small_net(10, 2), class_weight=weights)
    p_plain = torch.softmax(torch.from_numpy(predict_outputs(plain.module, Xv, device=CPU)), 1)[:, 1]
    p_weighted = torch.softmax(torch.from_numpy(predict_outputs(weighted.module, Xv, device=CPU)), 1)[:, 1]
    assert p_weighted.mean() > p_plain.mean() + 0.1  # the minority class gets more probability


def test_pairwise_auc_loss_values():
    scores = torch.tensor([2.0, 0.5, 0.0, 1.0])
    y = torch.tensor([1, 1, 0, 0])
    # pairs (pos - neg): 2-0, 2-1, .5-0, .5-1 -> hinge (1 - d)^+ squared: 0, 0, .25, 2.25
    assert pairwise_auc_loss(scores, y).item() == pytest.approx((0 + 0 + 0.25 + 2.25) / 4)
    assert pairwise_auc_loss(scores, torch.ones(4, dtype=torch.long)).item() == 0.0
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    s = torch.randn(100, requires_grad=True)
    labels = (torch.arange(100) % 2).long()
    a = pairwise_auc_loss(s, labels, max_pairs=50, generator=g1)
    b = pairwise_auc_loss(s, labels, max_pairs=50, generator=g2)
    assert a.item() == b.item()
    a.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_pairwise_auc_loss_trains_an_imbalanced_binary_task():
    X, y = binary_task(n=400, seed=4, prevalence_shift=-2.5)
    result = fit(X[:320], y[:320], X[320:], y[320:], loss="pairwise_auc", max_epochs=10, patience=100)
    assert result.best_score > 0.8


def test_multiclass_metric_matches_sklearn_macro_ovr():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    outputs = rng.normal(size=(60, 3)).astype(np.float32) + np.eye(3, dtype=np.float32)[y]
    proba = torch.softmax(torch.from_numpy(outputs).double(), 1).numpy()
    expected = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert score_outputs("multiclass", y, outputs) == pytest.approx(expected, abs=1e-12)


def test_multiclass_and_continuous_tasks_learn():
    X = dosages(300, 8, seed=7)
    y_cls = np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.5, 0.5]).astype(np.int64)
    result = fit(X[:240], y_cls[:240], X[240:], y_cls[240:], task="multiclass", max_epochs=8)
    assert result.metric == "roc_auc_ovr_macro" and result.best_score > 0.85
    y_reg = (X[:, 0] - 0.5 * X[:, 2] + np.random.default_rng(1).normal(0, 0.3, 300)).astype(np.float32)
    result = fit(X[:240], y_reg[:240], X[240:], y_reg[240:], task="continuous", max_epochs=15)
    assert result.metric == "r2" and result.best_score > 0.5


def test_metric_falls_back_to_validation_loss_when_undefined():
    X, y = binary_task(seed=3)
    yv = np.zeros(40, dtype=np.int64)  # one class: AUC undefined
    result = fit(X[:200], y[:200], X[200:], yv, max_epochs=2)
    assert result.metric == "neg_valid_loss"
    assert result.best_score == max(-h["valid_loss"] for h in result.history)


def test_divergence_stops_training_and_keeps_finite_weights():
    X = dosages(100, 5, seed=0)
    y = (X[:, 0] * 1e3).astype(np.float32)
    net = RFCNResNet(d_in=5, d_out=1, d_block=8, n_blocks=2, dropout=0.0, keep_ratio=1.0)
    result = fit(X[:80], y[:80], X[80:], y[80:], task="continuous", net=net, optimizer="sgd", lr=1e6, max_epochs=5)
    assert all(torch.isfinite(t).all() for t in result.module.state_dict().values() if t.is_floating_point())


@pytest.mark.parametrize(
    ("task", "loss", "d_out", "match"),
    [
        ("continuous", "cross_entropy", 1, "does not fit"),
        ("binary", "mse", 2, "does not fit"),
        ("multiclass", "pairwise_auc", 3, "binary tasks only"),
        ("binary", "auto", 3, "d_out=2"),
        ("sometimes", "auto", 2, "task"),
    ],
)
def test_task_loss_and_output_mismatches_raise(task, loss, d_out, match):
    X, y = binary_task(n=60, seed=0)
    with pytest.raises(ConfigError, match=match):
        fit(X[:40], y[:40], X[40:], y[40:], task=task, loss=loss, net=small_net(10, d_out), max_epochs=1)


def test_length_mismatch_raises():
    X, y = binary_task(n=60, seed=0)
    with pytest.raises(InputError, match="rows"):
        fit(X[:40], y[:39], X[40:], y[40:])


def test_train_options_defaults_match_the_search_space_defaults():
    defaults = TrainOptions()
    for name, spec in SHARED_SPACE.items():
        if name != "dropout":  # dropout belongs to the module
            assert getattr(defaults, name) == spec["default"], name
    vae = VAEOptions()
    for name in ("beta", "kl_warmup_epochs"):
        assert getattr(vae, name) == NET_SPACES["res_vae"][name]["default"]
    assert {f.name for f in fields(TrainOptions)} <= {f.name for f in fields(VAEOptions)}


def test_train_options_validate():
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainOptions.from_dict({"lr": 0.1, "learning_rate": 0.1})
    with pytest.raises(ConfigError, match="optimizer"):
        TrainOptions(optimizer="adam")
    with pytest.raises(ConfigError, match="batch_size"):
        TrainOptions(batch_size=0)
    assert TrainOptions.from_dict({"lr": 0.1}).to_dict()["lr"] == 0.1
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainOptions(lr_schedule="linear")


def test_cosine_schedule_decays_the_learning_rate_step_by_step(monkeypatch):
    """lr_schedule='cosine': each step's lr follows the half cosine over max_epochs (the optimizer
    sees it), from lr at the first step to near 0 at the last; 'constant' keeps lr."""
    seen = {"cosine": [], "constant": []}
    step = torch.optim.AdamW.step

    def spy(self, *a, **kw):
        seen[mode].append(self.param_groups[0]["lr"])
        return step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    X, y = binary_task(n=200, seed=3)
    for mode in seen:
        fit(X[:160], y[:160], X[160:], y[160:], max_epochs=4, patience=100, batch_size=40, lr=0.01, lr_schedule=mode)
    assert len(seen["cosine"]) == 16 and seen["constant"] == [0.01] * 16
    assert seen["cosine"][0] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(seen["cosine"], seen["cosine"][1:]))
    assert seen["cosine"][-1] == pytest.approx(training.scheduled_lr(TrainOptions(lr=0.01, lr_schedule="cosine",
                                                                                   max_epochs=4), 15 / 16))
    assert seen["cosine"][-1] < 0.0003


# ----------------------------------------------------------------------------- Res-VAE loop
def test_vae_training_reduces_the_loss_and_ramps_beta():
    rng = np.random.default_rng(0)  # three latent factors behind 20 features: something to compress
    X = (rng.normal(size=(200, 3)) @ rng.normal(size=(3, 20)) + 0.1 * rng.normal(size=(200, 20))).astype(np.float32)
    torch.manual_seed(0)
    vae = ResVAE(d_in=20, n_layers=3, d_first=32, width_decay=0.5, d_latent=4, dropout=0.0, keep_ratio=1.0)
    opts = VAEOptions(max_epochs=12, batch_size=32, lr=5e-3, kl_warmup_epochs=4, beta=1.0, patience=100)
    result = fit_vae(vae, X[:160], X_valid=X[160:], options=opts, seed=0, device=CPU)
    history = result.history
    assert [h["beta"] for h in history[:5]] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert history[-1]["train_recon"] < 0.5 * history[0]["train_recon"]
    assert result.best_score == max(-h["valid_loss"] for h in history)
    assert result.best_score > -history[0]["valid_loss"]
    mu = predict_outputs(result.module, X, device=CPU, fn=lambda m, xb: m.encode(xb)[0])
    assert mu.shape == (200, 4) and np.isfinite(mu).all()


def test_vae_options_reject_a_supervised_loss():
    with pytest.raises(ConfigError, match="Res-VAE loss is fixed"):
        VAEOptions(loss="mse")


# ----------------------------------------------------------------------------- runtime
def test_seed_everything_reproduces_python_numpy_and_torch():
    runtime.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    runtime.seed_everything(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)


def test_resolve_device_asks_torch_not_the_environment(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # SLURM may set this without a usable GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.resolve_device("auto") == CPU
    assert runtime.resolve_device("cpu") == CPU
    assert runtime.resolve_device(torch.device("cpu")) == CPU
    with pytest.raises(ConfigError, match="device='auto'"):
        runtime.resolve_device("cuda")
    with pytest.raises(ConfigError, match="must be one of"):
        runtime.resolve_device("tpu")


@pytest.mark.gpu
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_resolve_device_picks_cuda_and_training_uses_amp():
    device = runtime.resolve_device("auto")
    assert device.type == "cuda"
    X, y = binary_task(seed=0)
    net = small_net(10, 2)
    opts = TrainOptions(max_epochs=2, batch_size=32)
    result = fit_supervised(net, X[:200], y[:200], X_valid=X[200:], y_valid=y[200:], task="binary",
                            options=opts, seed=0, device=device)  # fmt: skip
    assert result.amp_dtype in ("bfloat16", "float16")
    assert next(result.module.parameters()).device.type == "cuda"
    assert math.isfinite(result.best_score)


def test_set_threads_returns_previous_and_validates():
    previous = runtime.set_threads(1)
    assert torch.get_num_threads() == 1
    assert runtime.set_threads(None) == 1
    runtime.set_threads(previous)
    with pytest.raises(ValueError, match="n=0"):
        runtime.set_threads(0)
