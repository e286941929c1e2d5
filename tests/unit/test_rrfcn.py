"""Unit tests for genoml_core.models.nn.rrfcn and the rrfcn estimator: wiring, shapes, the supernet's
sliced forward against a standalone network, BatchNorm isolation, save/load."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

from genoml_core.models import persist
from genoml_core import runtime
from genoml_core.errors import ConfigError
from genoml_core.models.estimators import SEARCHED_ARCHS, NetClassifier, make_net, resolve_params
from genoml_core.models.nn import rrfcn
from genoml_core.models.nn.rrfcn import RRFCN, Architecture, RRFCNSupernet

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs CUDA")])]
ARCH = Architecture(widths=(16, 4, 8), skips=((), (0,), (0, 1)))


@pytest.fixture(autouse=True)
def _one_thread():
    previous = runtime.set_threads(1)
    yield
    runtime.set_threads(previous)


def test_docstring_examples_run():
    result = doctest.testmod(rrfcn, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------- Architecture
def test_architecture_round_trips_and_describes_its_edges():
    assert Architecture.from_json(ARCH.to_json()) == ARCH
    assert Architecture.from_dict(ARCH.to_dict()) == ARCH
    assert ARCH.skip_edges == [(0, 2), (0, 3), (1, 3)]
    assert ARCH.inputs(2) == (0, 1, 2) and ARCH.inputs(0) == (0,)
    assert ARCH.skip_density == 1.0 and ARCH.n_skip_slots == 3
    assert ARCH.describe() == "16-4+0-8+0,1"
    # canonical: skip order and list/tuple spelling do not matter
    assert Architecture(widths=[16, 4, 8], skips=[[], [0], [1, 0]]).to_json() == ARCH.to_json()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"widths": [], "skips": []}, "widths"),
        ({"widths": [8, 0], "skips": [[], []]}, r"widths\[1\]"),
        ({"widths": [8, 8], "skips": [[]]}, "one list of skip inputs per layer"),
        ({"widths": [8, 8], "skips": [[0], []]}, r"skips\[0\].*none"),
        ({"widths": [8, 8, 8], "skips": [[], [], [2]]}, r"layer 3 may skip from nodes 0\.\.1"),
        ({"widths": [8, 8, 8], "skips": [[], [], [0, 0]]}, "repeats"),
        ({"widths": [8, 8], "skips": [[], []], "skip_mode": "mean"}, "skip_mode"),
    ],
)
def test_impossible_wirings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RRFCN(d_in=5, d_out=2, **kwargs)


def test_architecture_json_errors_are_clear():
    with pytest.raises(ValueError, match="not valid architecture JSON"):
        Architecture.from_json("{widths")
    with pytest.raises(ValueError, match=r"missing \['skips'\]"):
        Architecture.from_dict({"widths": [4]})
    with pytest.raises(ValueError, match=r"unknown \['depth'\]"):
        Architecture.from_dict({"widths": [4], "skips": [[]], "depth": 2})


# ----------------------------------------------------------------------------- RRFCN
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("skip_mode", ["sum", "concat"])
@pytest.mark.parametrize("d_out", [2, 3, 1])
def test_rrfcn_output_shapes_and_gradients(device, skip_mode, d_out):
    net = RRFCN(d_in=12, d_out=d_out, **{**ARCH.to_dict(), "skip_mode": skip_mode}, dropout=0.1).to(device)
    x = torch.randn(9, 12, device=device)
    out = net.train()(x)
    assert out.shape == (9, d_out)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    with torch.no_grad():
        assert net.eval()(x[:1]).shape == (1, d_out)  # batch of one in eval mode


def test_without_skips_it_is_a_plain_chain_and_skips_change_the_parameters():
    chain = RRFCN(d_in=10, d_out=2, widths=[8, 8], skips=[[], []])
    assert [layer.sources for layer in chain.layers] == [(0,), (1,)]
    skipped = RRFCN(d_in=10, d_out=2, widths=[8, 8], skips=[[], [0]])
    assert sum(p.numel() for p in skipped.parameters()) - sum(p.numel() for p in chain.parameters()) == 10 * 8


# ----------------------------------------------------------------------------- supernet
def _trained_supernet(skip_mode: str) -> RRFCNSupernet:
    torch.manual_seed(0)
    sn = RRFCNSupernet(d_in=12, d_out=3, n_layers=3, widths=[4, 8, 16], skip_mode=skip_mode)
    opt = torch.optim.SGD(sn.parameters(), lr=0.1)
    for arch in (ARCH, Architecture(widths=(8, 8, 4), skips=((), (), (1,))), ARCH):
        arch = Architecture(widths=arch.widths, skips=arch.skips, skip_mode=skip_mode)
        loss = sn.train()(torch.randn(32, 12), arch).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return sn


@pytest.mark.parametrize("skip_mode", ["sum", "concat"])
def test_supernet_sliced_forward_equals_the_extracted_standalone_network(skip_mode):
    sn = _trained_supernet(skip_mode)
    arch = Architecture(widths=ARCH.widths, skips=ARCH.skips, skip_mode=skip_mode)
    x = torch.randn(40, 12)
    sn.recalibrate(arch, [x[:20], x[20:]])
    net = sn.extract(arch)
    assert isinstance(net, RRFCN) and not net.training
    with torch.no_grad():
        torch.testing.assert_close(net(x), sn(x, arch), rtol=1e-5, atol=1e-6)
        # train mode: batch statistics on both sides
        torch.testing.assert_close(net.train()(x), sn.train()(x, arch), rtol=1e-5, atol=1e-6)
    # the same weights in a fresh RRFCN built from the JSON wiring (what a saved model does)
    sn.recalibrate(arch, [x[:20], x[20:]])  # the train-mode passes above moved the running statistics
    rebuilt = RRFCN(d_in=12, d_out=3, **Architecture.from_json(arch.to_json()).module_kwargs())
    rebuilt.load_state_dict(sn.extract(arch).state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), sn.eval()(x, arch), rtol=1e-5, atol=1e-6)


def test_supernet_shares_one_max_width_matrix_per_pair_and_slices_it():
    sn = RRFCNSupernet(d_in=12, d_out=2, n_layers=3, widths=[16, 4, 8])
    assert sn.width_choices == (4, 8, 16)
    assert [sorted(p) for p in sn.weights] == [["0"], ["0", "1"], ["0", "1", "2"]]
    assert sn.weights[0]["0"].shape == (16, 12) and sn.weights[2]["1"].shape == (16, 16)
    sn(torch.randn(8, 12), ARCH).sum().backward()
    grad = sn.weights[1]["1"].grad  # layer 2 (width 4) reads layer 1 (width 16)
    assert grad[:4].abs().sum() > 0 and grad[4:].abs().sum() == 0
    assert sn.weights[1]["0"].grad[:4, :].abs().sum() > 0  # the input skip 0 -> 2
    assert [sorted(m.keys()) for m in sn.norms] == [["16", "4", "8"]] * 3  # one BatchNorm per width


def test_batchnorm_statistics_do_not_leak_across_architectures():
    sn = _trained_supernet("sum")
    other = Architecture(widths=(16, 8, 8), skips=((), (), (1,)))
    x_bn, x = torch.randn(64, 12), torch.randn(20, 12)
    with torch.no_grad():
        sn.recalibrate(ARCH, [x_bn])
        first = sn(x, ARCH)
        sn.recalibrate(other, [torch.randn(64, 12) * 5 + 3])  # very different statistics
        sn.train()(torch.randn(64, 12) * 5, ARCH)  # even a train-mode pass of ARCH itself ...
        sn.recalibrate(ARCH, [x_bn])  # ... is undone by recalibration
        torch.testing.assert_close(sn(x, ARCH), first)


def test_supernet_rejects_architectures_outside_its_space():
    sn = RRFCNSupernet(d_in=12, d_out=2, n_layers=3, widths=[4, 8])
    with pytest.raises(ValueError, match="not among the supernet's choices"):
        sn(torch.randn(4, 12), ARCH)
    with pytest.raises(ValueError, match="2 layers"):
        sn(torch.randn(4, 12), Architecture(widths=(4, 4), skips=((), (0,))))
    with pytest.raises(ValueError, match="skip_mode"):
        sn(torch.randn(4, 12), Architecture(widths=(4, 4, 8), skips=((), (), ()), skip_mode="concat"))


# ----------------------------------------------------------------------------- estimator
def _data(n: int = 160, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    y = (np.abs(X[:, 0]) > 0.67).astype(int)
    return X, y


def test_make_net_builds_rrfcn_from_the_architecture_json():
    assert SEARCHED_ARCHS == ("rrfcn",)
    module, options = resolve_params("rrfcn", {"arch_json": ARCH.to_json(), "lr": 0.01, "batch_size": 32.0})
    assert module["widths"] == [16, 4, 8] and module["skips"] == [[], [0], [0, 1]]
    assert options["lr"] == 0.01 and options["batch_size"] == 32
    with pytest.raises(ConfigError, match="needs params\\['arch_json'\\]"):
        make_net("rrfcn", {"lr": 0.01}, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="not a valid architecture"):
        make_net("rrfcn", {"arch_json": '{"widths": [4]}'}, task="binary", random_state=0, n_threads=1)
    with pytest.raises(ConfigError, match="allowed keys"):
        make_net("rrfcn", {"arch_json": ARCH.to_json(), "d_block": 4}, task="binary", random_state=0, n_threads=1)


def test_rrfcn_estimator_fits_and_round_trips_through_a_weights_only_model_file(tmp_path):
    X, y = _data()
    params = {"arch_json": ARCH.to_json(), "max_epochs": 3, "lr": 1e-2, "batch_size": 32}
    est = make_net("rrfcn", params, task="binary", random_state=0, n_threads=1)
    assert isinstance(est, NetClassifier)
    est.fit(X[:120], y[:120], X[120:], y[120:])
    assert type(est.module_).__name__ == "RRFCN"
    path = persist.save_model(est, tmp_path / "model.zip", meta={"learner": "rrfcn"})
    loaded, meta = persist.load_model(path)  # torch.load(..., weights_only=True) inside
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.module_kwargs_["widths"] == [16, 4, 8] and meta["kind"] == "torch"
    again = make_net("rrfcn", params, task="binary", random_state=0, n_threads=1)
    again.fit(X[:120], y[:120], X[120:], y[120:])
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))  # same seed, same model
