"""Unit tests for genoml_core.models.nn: shapes, gradients, capacity, SHAP-safety, validation."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genoml_core.models.nn as gnn
from genoml_core.models.nn import MLP, FCUnit, ResVAE, RFCNDenseNet, RFCNResNet, kl_weight, vae_widths
from genoml_core.models.nn import blocks, mlp, res_vae, rfcn_densenet, rfcn_resnet

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs CUDA")])]


pytestmark = pytest.mark.usefixtures("one_thread")


def make_net(name: str, d_in: int, d_out: int, **kw) -> nn.Module:
    if name == "mlp":
        return MLP(d_in=d_in, d_out=d_out, d_hidden=kw.get("d_hidden", [32, 16]), dropout=0.1, keep_ratio=0.8)
    if name == "rfcn_resnet":
        return RFCNResNet(
            d_in=d_in, d_out=d_out, d_block=kw.get("d_block", 32), n_blocks=kw.get("n_blocks", 3),
            dropout=0.1, keep_ratio=0.8,
        )  # fmt: skip
    if name == "rfcn_densenet":
        return RFCNDenseNet(
            d_in=d_in, d_out=d_out, block_structure=kw.get("block_structure", [2, 3]), growth_rate=8,
            dropout=0.1, keep_ratio=0.8,
        )  # fmt: skip
    raise AssertionError(name)


SUPERVISED = ["mlp", "rfcn_resnet", "rfcn_densenet"]


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", SUPERVISED)
@pytest.mark.parametrize("d_out", [2, 3, 1], ids=["binary", "multiclass", "continuous"])
def test_supervised_output_shapes(name, d_out, device):
    net = make_net(name, 13, d_out).to(device)
    x = torch.randn(7, 13, device=device)
    net.train()
    assert net(x).shape == (7, d_out)
    net.eval()
    with torch.no_grad():
        out = net(x[:1])  # batch of one works in eval mode
    assert out.shape == (1, d_out)
    assert out.device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_res_vae_output_shapes(device):
    vae = ResVAE(d_in=30, n_layers=4, d_first=64, width_decay=0.6, d_latent=5, dropout=0.1, keep_ratio=0.8)
    vae = vae.to(device)
    x = torch.randn(9, 30, device=device)
    out = vae(x)
    assert out.recon.shape == (9, 30)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (9, 5)
    vae.eval()
    with torch.no_grad():
        out = vae(x)
    assert torch.equal(out.z, out.mu)  # deterministic embedding in eval mode
    loss = vae.loss(x, out, beta=0.3)
    assert loss.total.shape == loss.recon.shape == loss.kl.shape == ()
    assert torch.isclose(loss.total, loss.recon + 0.3 * loss.kl)
    assert loss.kl.item() >= 0


@pytest.mark.gpu
@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_autocast_bf16_forward_on_cuda():
    net = make_net("rfcn_resnet", 13, 2).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = net(torch.randn(8, 13, device="cuda"))
    assert out.shape == (8, 2)


# ----------------------------------------------------------------------------- structure
def test_fc_unit_order_and_options():
    unit = FCUnit(6, 4, activation="gelu", dropout=0.2)
    assert [type(m).__name__ for m in unit.children()] == ["Linear", "BatchNorm1d", "GELU", "Dropout"]
    assert unit.linear.bias is None  # batch norm makes the bias redundant
    plain = FCUnit(6, 4, batchnorm=False)
    assert isinstance(plain.norm, nn.Identity) and plain.linear.bias is not None
    assert isinstance(plain.dropout, nn.Identity)


def test_keep_ratio_is_input_dropout():
    net = MLP(d_in=10, d_out=2, d_hidden=[8], dropout=0.0, keep_ratio=0.6)
    assert isinstance(net.input_dropout, nn.Dropout) and net.input_dropout.p == pytest.approx(0.4)
    assert isinstance(MLP(d_in=10, d_out=2, d_hidden=[8], keep_ratio=1.0).input_dropout, nn.Identity)


def test_resnet_sums_input_and_output_of_each_unit():
    net = RFCNResNet(d_in=5, d_out=2, d_block=8, n_blocks=2, dropout=0.0, keep_ratio=1.0).eval()
    h = torch.randn(4, 8)
    block = net.blocks[0]
    assert isinstance(block.shortcut, nn.Identity)
    with torch.no_grad():
        assert torch.allclose(block(h), h + block.unit(h))


def test_densenet_widths_grow_in_blocks_and_shrink_in_transitions():
    net = RFCNDenseNet(d_in=20, d_out=2, block_structure=[2, 3], growth_rate=8, dropout=0.0, keep_ratio=1.0)
    block1, transition, block2 = net.blocks
    assert block1.d_out == 16 + 2 * 8  # stem width 2 * growth_rate
    assert transition.linear.out_features == block1.d_out // 2
    assert block2.d_out == block1.d_out // 2 + 3 * 8
    assert net.head.in_features == block2.d_out
    # unit j of a block reads everything before it
    assert [u.linear.in_features for u in block2.units] == [16, 24, 32]


def test_res_vae_has_projected_residuals_in_encoder_and_decoder():
    vae = ResVAE(d_in=40, n_layers=3, d_first=64, width_decay=0.5, d_latent=4, dropout=0.0, keep_ratio=1.0)
    assert vae.widths == [64, 32, 16] == vae_widths(n_layers=3, d_first=64, width_decay=0.5)
    enc_res = [m for m in vae.encoder if isinstance(m, gnn.ResidualFCUnit)]
    dec_res = [m for m in vae.decoder if isinstance(m, gnn.ResidualFCUnit)]
    assert len(enc_res) == len(dec_res) == 2
    assert all(isinstance(m.shortcut, nn.Linear) for m in enc_res + dec_res)
    assert [m.unit.linear.out_features for m in dec_res] == [32, 64]


def test_kl_warmup_ramp():
    assert [kl_weight(e, beta=2.0, warmup_epochs=4) for e in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert kl_weight(0, beta=0.7, warmup_epochs=0) == 0.7


def all_nets() -> list[nn.Module]:
    nets = [make_net(n, 12, 2) for n in SUPERVISED]
    nets.append(ResVAE(d_in=12, n_layers=3, d_first=16, width_decay=0.5, d_latent=2, dropout=0.1, keep_ratio=0.8))
    return nets


@pytest.mark.parametrize("net", all_nets(), ids=["mlp", "rfcn_resnet", "rfcn_densenet", "res_vae"])
def test_no_inplace_ops_and_one_module_per_activation(net):
    """SHAP's DeepExplainer needs every non-linearity as its own, not-in-place module."""
    for module in net.modules():
        assert getattr(module, "inplace", False) is False, module
    activations = [m for m in net.modules() if isinstance(m, (nn.ReLU, nn.GELU, nn.ELU, nn.SiLU, nn.Tanh))]
    assert activations
    assert len({id(m) for m in activations}) == len(activations)
    # and no module instance is reused at two places in the graph
    named = list(net.named_modules(remove_duplicate=False))
    assert len({id(m) for _, m in named}) == len(named)


# ----------------------------------------------------------------------------- gradients, capacity
def test_gradient_reaches_stem_of_deep_resnet():
    torch.manual_seed(0)
    net = RFCNResNet(d_in=50, d_out=2, d_block=32, n_blocks=12, dropout=0.0, keep_ratio=1.0)
    x, y = torch.randn(64, 50), torch.randint(0, 2, (64,))
    F.cross_entropy(net(x), y).backward()
    grad = net.stem.linear.weight.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    # the residual path keeps it within a few orders of magnitude of the head's gradient
    ratio = grad.norm() / net.head.weight.grad.norm()
    assert ratio > 1e-3


@pytest.mark.parametrize("name", SUPERVISED)
def test_supervised_nets_overfit_a_tiny_batch(name):
    torch.manual_seed(0)
    x, y = torch.randn(32, 20), torch.randint(0, 2, (32,))
    net = make_net(name, 20, 2)
    net.input_dropout = nn.Identity()
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    first = F.cross_entropy(net(x), y).item()
    for _ in range(150):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        final = F.cross_entropy(net(x), y).item()
        accuracy = (net(x).argmax(1) == y).float().mean().item()
    assert final < 0.1 * first
    assert accuracy == 1.0


def test_res_vae_overfits_a_tiny_batch():
    torch.manual_seed(0)
    x = torch.randn(32, 20)
    vae = ResVAE(d_in=20, n_layers=3, d_first=64, width_decay=0.5, d_latent=8, dropout=0.0, keep_ratio=1.0)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-2)
    first = vae.loss(x, vae(x), beta=0.0).recon.item()
    for _ in range(200):
        opt.zero_grad()
        vae.loss(x, vae(x), beta=0.01).total.backward()
        opt.step()
    vae.eval()
    with torch.no_grad():
        final = vae.loss(x, vae(x), beta=0.0).recon.item()
    assert final < 0.1 * first


# ----------------------------------------------------------------------------- validation, docs
@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: RFCNResNet(d_in=5, d_out=2, d_block=8, n_blocks=0), "n_blocks=0 must be > 0"),
        (lambda: RFCNResNet(d_in=5, d_out=2, d_block=8, n_blocks=2, keep_ratio=0.0), "keep_ratio"),
        (lambda: MLP(d_in=5, d_out=2, d_hidden=[]), "d_hidden"),
        (lambda: MLP(d_in=5, d_out=2, d_hidden=[8], dropout=1.0), "dropout"),
        (lambda: MLP(d_in=0, d_out=2, d_hidden=[8]), "d_in=0 must be > 0"),
        (lambda: RFCNDenseNet(d_in=5, d_out=2, block_structure=[], growth_rate=8), "block_structure"),
        (lambda: RFCNDenseNet(d_in=5, d_out=2, block_structure="2-3", growth_rate=8), "block_structure"),
        (lambda: ResVAE(d_in=5, n_layers=3, d_first=8, width_decay=1.5, d_latent=2), "width_decay"),
        (lambda: FCUnit(5, 3, activation="swish"), "activation"),
    ],
)
def test_invalid_arguments_raise_value_error(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        MLP(5, 2, [8])  # type: ignore[misc]


@pytest.mark.parametrize("module", [blocks, mlp, rfcn_resnet, rfcn_densenet, res_vae], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
