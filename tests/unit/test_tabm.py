"""TabM (genoml_core.models.nn.tabm, the ``tabm`` learner): the ensemble in training and in inference,
the members' mean loss, learning, persistence and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import tabm
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score, roc_auc_score

from genoml_core.models import registry
from genoml_core.errors import ConfigError
from genoml_core.models.estimators import NetEstimator, make_net, resolve_params
from genoml_core.tuning.net_spaces import space_defaults
from genoml_core.models.nn import TabMNet
from genoml_core.models.nn.blocks import ByteMaskDropout
from genoml_core.models.training import TrainOptions, fit_supervised

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs CUDA")])]
SMALL = {"k": 4, "n_blocks": 2, "d_block": 16, "max_epochs": 40, "patience": 8, "batch_size": 64}


pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=400, p=12, seed=0, task="binary"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    lin = 1.5 * X[:, 0] - X[:, 1] + X[:, 2] * X[:, 3]
    if task == "continuous":
        return X, lin + 0.3 * rng.normal(size=n)
    if task == "multiclass":
        return X, np.digitize(lin, [-0.8, 0.8])
    return X, (lin + 0.5 * rng.normal(size=n) > 0).astype(int)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("d_out", [2, 3, 1], ids=["binary", "multiclass", "continuous"])
def test_members_in_training_one_prediction_in_inference(d_out, device):
    net = TabMNet(d_in=7, d_out=d_out, k=5, n_blocks=2, d_block=16, dropout=0.0).to(device)
    x = torch.randn(9, 7, device=device)
    members = net.train()(x)
    assert members.shape == (9, 5, d_out)
    with torch.no_grad():
        ensemble = net.eval()(x)
    assert ensemble.shape == (9, d_out)
    if d_out == 1:  # regression: the members' mean
        torch.testing.assert_close(ensemble, members.mean(dim=1))
    else:  # classification: softmax of the output is the members' mean probability
        torch.testing.assert_close(ensemble.softmax(-1), members.softmax(-1).mean(dim=1))
    with torch.no_grad():
        assert net(x[:1]).shape == (1, d_out)  # a batch of one in inference


def test_members_differ_and_share_weights():
    net = TabMNet(d_in=6, d_out=2, k=4, n_blocks=2, d_block=32, dropout=0.0)
    out = net.train()(torch.randn(16, 6)).detach()
    assert not torch.allclose(out[:, 0], out[:, 1])  # the members are different models ...
    plain = sum(p.numel() for p in torch.nn.Sequential(
        torch.nn.Linear(6, 32), torch.nn.Linear(32, 32), torch.nn.Linear(32, 2)).parameters())
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params < 2 * plain  # ... sharing their weight matrices (not k = 4 separate MLPs)


@pytest.mark.parametrize("kw", [{"k": 0}, {"arch_type": "tabm-huge"}, {"activation": "swish"}, {"dropout": 1.0}])
def test_bad_arguments_are_refused(kw):
    args = {"d_in": 5, "d_out": 2, "k": 4, "n_blocks": 1, "d_block": 8, **kw}
    with pytest.raises(ValueError):
        TabMNet(**args)


def test_loss_is_the_mean_of_the_members_losses():
    """One SGD step of fit_supervised on a TabM equals a step on the mean of the k members' losses."""
    X, y = _data(n=64)
    torch.manual_seed(0)
    net = TabMNet(d_in=X.shape[1], d_out=2, k=3, n_blocks=1, d_block=8, dropout=0.0)
    twin = TabMNet(d_in=X.shape[1], d_out=2, k=3, n_blocks=1, d_block=8, dropout=0.0)
    twin.load_state_dict(net.state_dict())
    opts = TrainOptions(lr=0.1, batch_size=64, max_epochs=1, patience=1, optimizer="sgd", momentum=0.0,
                        weight_decay=0.0)
    fit_supervised(net, X, y, X_valid=X, y_valid=y, task="binary", options=opts, seed=0, device=torch.device("cpu"))
    # the same step by hand: the mean over members of each member's cross-entropy
    opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    out = twin.train()(torch.from_numpy(X))
    yt = torch.from_numpy(y).long()
    loss = torch.stack([F.cross_entropy(out[:, m], yt) for m in range(3)]).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    for (name, a), b in zip(net.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_tabm_learns_every_task(task):
    X, y = _data(n=600, task=task, seed=1)
    Xt, yt, Xv, yv = X[:450], y[:450], X[450:], y[450:]
    est = make_net("tabm", dict(SMALL, lr=0.01), task=task, random_state=0, n_threads=1).fit(Xt, yt)
    if task == "binary":
        assert roc_auc_score(yv, est.predict_proba(Xv)[:, 1]) > 0.85
    elif task == "multiclass":
        proba = est.predict_proba(Xv)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert roc_auc_score(yv, proba, multi_class="ovr") > 0.8
    else:
        assert r2_score(yv, est.predict(Xv)) > 0.5


def test_pairwise_auc_loss_trains_tabm():
    X, y = _data(n=500, seed=2)
    est = make_net("tabm", dict(SMALL, loss="pairwise_auc", lr=0.01), task="binary", random_state=0,
                   n_threads=1).fit(X[:400], y[:400])
    assert roc_auc_score(y[400:], est.decision_function(X[400:])) > 0.85


def test_save_load_and_same_seed_same_model(tmp_path):
    X, y = _data(n=300, seed=3)
    params = dict(SMALL, max_epochs=5)
    a = make_net("tabm", params, task="binary", random_state=7, n_threads=1).fit(X, y)
    b = make_net("tabm", params, task="binary", random_state=7, n_threads=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    a.save(tmp_path / "m")
    loaded = NetEstimator.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    # 300 rows: n_bags "auto" trains 5 bags, each a TabM
    assert type(loaded.module_).__name__ == "BaggedNet" and len(loaded.module_) == 5
    assert all(type(m).__name__ == "TabMNet" for m in loaded.module_.members)


def test_registry_and_defaults():
    spec = registry.REGISTRY["tabm"]
    assert spec.kind == "net" and spec.feature_set == "compact" and spec.explainer == "gradient"
    assert set(spec.tasks) == {"binary", "multiclass", "continuous"}
    d = space_defaults("tabm")
    # the paper's optimiser, not the AutoGenome nets' shared defaults
    assert (d["lr"], d["weight_decay"], d["batch_size"], d["patience"]) == (2e-3, 3e-4, 256, 8)
    assert space_defaults("mlp")["lr"] == 1e-3  # the other nets keep theirs
    module, options = resolve_params("tabm", {"k": 8.0})
    assert module["k"] == 8 and options["lr"] == 2e-3
    with pytest.raises(ConfigError, match="unknown parameter"):
        resolve_params("tabm", {"d_layer": 8})


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_tabm_trains_on_cuda_with_mixed_precision_and_loads_on_cpu(tmp_path):
    X, y = _data(n=600, seed=4)
    est = make_net("tabm", dict(SMALL, lr=0.01), task="binary", random_state=0, n_threads=1, device="cuda")
    est.fit(X[:450], y[:450])
    assert est.device_.type == "cuda"
    proba = est.predict_proba(X[450:])
    assert roc_auc_score(y[450:], proba[:, 1]) > 0.85
    est.save(tmp_path / "m")
    on_cpu = NetEstimator.load(tmp_path / "m", device="cpu")
    np.testing.assert_allclose(on_cpu.predict_proba(X[450:]), proba, atol=2e-2)  # bf16 on the GPU vs fp32 here


def test_byte_mask_dropout_keeps_the_expectation_and_its_gradient_uses_the_same_mask():
    torch.manual_seed(0)
    drop = ByteMaskDropout(0.1).train()
    assert drop.p_effective == 26 / 256  # 0.1 rounded to a multiple of 1/256
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    dropped = y == 0
    assert abs(float(dropped.float().mean()) - drop.p_effective) < 0.005
    assert torch.allclose(y[~dropped], torch.tensor(256 / 230))  # kept elements scaled by 1 / (1 - p)
    assert abs(float(y.detach().mean()) - 1.0) < 0.01
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x * keep)/dx = keep
    torch.manual_seed(1)
    a = drop(torch.ones(1000))
    torch.manual_seed(1)
    assert torch.equal(a, drop(torch.ones(1000)))  # from the seeded generator
    assert drop.eval()(x) is x and ByteMaskDropout(0.0).train()(x) is x


def test_tabm_hidden_dropout_is_the_byte_mask_and_the_first_layer_the_bf16_input_one():
    net = TabMNet(d_in=6, d_out=2, k=3, n_blocks=2, d_block=8, dropout=0.2)
    assert [type(block[-1]).__name__ for block in net.tabm.backbone.blocks] == ["ByteMaskDropout"] * 2
    first = net.tabm.backbone.blocks[0][0]
    assert type(first).__name__ == "_ScaledWeightsLinearBatchEnsemble" and isinstance(first, tabm.LinearBatchEnsemble)
    # the package's parameters, so model files keep their keys
    assert set(net.state_dict()) == set(TabMNet(d_in=6, d_out=2, k=3, n_blocks=2, d_block=8).state_dict())
    mini = TabMNet(d_in=6, d_out=2, k=3, n_blocks=2, d_block=8, arch_type="tabm-mini")
    assert type(mini.tabm.backbone.blocks[0][0]) is torch.nn.Linear  # only arch "tabm" has it


@pytest.mark.parametrize("shared_row", [True, False], ids=["row_expanded_to_k", "k_rows"])
def test_bf16_first_layer_matches_the_packages_layer(shared_row):
    torch.manual_seed(0)
    layer = TabMNet(d_in=40, d_out=2, k=4, n_blocks=1, d_block=16).tabm.backbone.blocks[0][0]
    x = torch.randn(32, 40)[:, None].expand(-1, 4, -1) if shared_row else torch.randn(32, 4, 40)
    reference = tabm.LinearBatchEnsemble.forward(layer, x)
    assert torch.equal(layer(x), reference)  # float32: the package's forward itself
    grads = []
    for forward in (layer.forward, lambda v: tabm.LinearBatchEnsemble.forward(layer, v)):
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = forward(x)
        out.float().pow(2).sum().backward()
        grads.append((out.float().detach(), layer.weight.grad.clone(), layer.r.grad.clone(), layer.s.grad.clone()))
    (fast, *fast_grads), (packaged, *packaged_grads) = grads
    # bf16 operands either way; only where the rounding happens differs
    torch.testing.assert_close(fast, packaged, atol=0.05, rtol=0.02)
    torch.testing.assert_close(fast, reference, atol=0.05, rtol=0.02)
    for a, b in zip(fast_grads, packaged_grads):
        torch.testing.assert_close(a, b, atol=0.05 * float(b.abs().max()), rtol=0.05)


def test_cpu_bf16_trains_under_autocast_only_where_the_cpu_has_bf16(monkeypatch):
    import genoml_core.models.training.options as options_module

    X, y = _data(n=300, seed=5)
    for native, expected in ((True, "bfloat16"), (False, None)):
        monkeypatch.setattr(options_module, "cpu_has_native_bf16", lambda native=native: native)
        result = fit_supervised(
            TabMNet(d_in=X.shape[1], d_out=2, k=4, n_blocks=1, d_block=16), X[:240], y[:240],
            X_valid=X[240:], y_valid=y[240:], task="binary", seed=0, device=torch.device("cpu"),
            options=TrainOptions(max_epochs=3, cpu_bf16=True),
        )
        assert result.amp_dtype == expected
    assert space_defaults("tabm")["cpu_bf16"] is True and "cpu_bf16" not in space_defaults("mlp")
    with pytest.raises(ConfigError, match="cpu_bf16"):
        TrainOptions(cpu_bf16="yes")
