"""Training checkpoints: a killed fit resumes bit-identical to an uninterrupted one (CPU, tiny data).

A kill is simulated by making :meth:`Checkpointer.save` raise after epoch ``k``, that
is after the checkpoint of epoch ``k`` (if any) was written and before epoch ``k + 1`` started.
"""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from genoml_core.models import persist
from genoml_core import runtime
from genoml_core.errors import ConfigError
from genoml_core.models.checkpoint import Checkpointer
from genoml_core.models.estimators import NetClassifier, make_net
from genoml_core.tuning.net_spaces import space_for
from genoml_core.models.nn import MLP, ResVAE
from genoml_core.models.training import CheckpointSpec, FitResult, TrainOptions, VAEOptions, fit_supervised, fit_vae
from genoml_core.tuning.tune import run_trial

CPU = torch.device("cpu")
TIMING = {"seconds", "samples_per_s"}


@pytest.fixture(autouse=True)
def _one_thread():
    previous = runtime.set_threads(1)
    yield
    runtime.set_threads(previous)


class Killed(Exception):
    """Stands for SIGKILL: nothing after it runs."""


@pytest.fixture
def kill_after(monkeypatch):
    """``kill_after(k)``: the next fit dies right after epoch ``k`` (and its checkpoint, if due)."""
    original = Checkpointer.save

    def arm(k: int) -> None:
        def save(self, epoch, history):
            original(self, epoch, history)
            if epoch == k:
                monkeypatch.setattr(Checkpointer, "save", original)  # one kill only
                raise Killed(f"killed after epoch {epoch}")

        monkeypatch.setattr(Checkpointer, "save", save)

    return arm


def binary_task(n: int = 240, p: int = 10, seed: int = 0, noise: bool = False):
    rng = np.random.default_rng(seed)
    X = ((rng.binomial(2, 0.3, size=(n, p)) - 0.6) / np.sqrt(0.42)).astype(np.float32)
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    if noise:
        y = rng.permutation(y)  # nothing to learn: early stopping after a few epochs
    return X[:200], y[:200], X[200:], y[200:]


def fit(data, *, checkpoint=None, seed=0, **options) -> FitResult:
    X, y, Xv, yv = data
    torch.manual_seed(0)
    net = MLP(d_in=X.shape[1], d_out=2, d_hidden=[16], dropout=0.2, keep_ratio=1.0)  # dropout: global RNG
    opts = TrainOptions(**{"max_epochs": 8, "batch_size": 32, "lr": 1e-2, **options})
    return fit_supervised(
        net, X, y, X_valid=Xv, y_valid=yv, task="binary", options=opts, seed=seed, device=CPU, checkpoint=checkpoint
    )


def assert_same(a: FitResult, b: FitResult) -> None:
    sa, sb = a.module.state_dict(), b.module.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    strip = [[{k: v for k, v in row.items() if k not in TIMING} for row in r.history] for r in (a, b)]
    assert strip[0] == strip[1]
    assert (a.best_epoch, a.best_score, a.metric) == (b.best_epoch, b.best_score, b.metric)


# ----------------------------------------------------------------------------- resume
@pytest.mark.parametrize(
    "every, kill, options",
    [
        (1, 3, {}),  # AdamW, cross-entropy
        (2, 5, {"optimizer": "sgd", "loss": "pairwise_auc", "max_pairs": 64}),  # redo epoch 5; pair sampling
    ],
)
def test_a_killed_fit_resumes_bit_identical(tmp_path, caplog, kill_after, every, kill, options):
    data = binary_task()
    reference = fit(data, **options)
    spec = CheckpointSpec(path=tmp_path / "ckpt" / "fold0.pt", every=every)
    kill_after(kill)
    with pytest.raises(Killed):
        fit(data, checkpoint=spec, **options)
    saved = kill - kill % every
    assert spec.path.is_file() and not list(spec.path.parent.glob("*.part"))  # atomic: no temp file left
    ckpt = torch.load(spec.path, map_location="cpu", weights_only=True)
    assert ckpt["epoch"] == saved and len(ckpt["history"]) == saved
    with caplog.at_level(logging.INFO, logger="genoml_core"):
        resumed = fit(data, checkpoint=spec, **options)
    assert f"resuming from epoch {saved} of 8" in caplog.text
    assert_same(resumed, reference)
    assert not spec.path.exists()  # deleted after a complete run


def test_early_stopping_state_survives_a_kill(tmp_path, kill_after):
    data = binary_task(p=30, seed=5, noise=True)
    reference = fit(data, max_epochs=40, patience=3, lr=3e-2)
    stopped = len(reference.history)
    assert stopped < 40 and reference.best_epoch <= stopped - 2  # stops early, bad epochs counted
    spec = CheckpointSpec(path=tmp_path / "fold0.pt", every=1)
    kill_after(stopped - 1)  # bad-epoch counter is patience - 1 in the checkpoint
    with pytest.raises(Killed):
        fit(data, checkpoint=spec, max_epochs=40, patience=3, lr=3e-2)
    resumed = fit(data, checkpoint=spec, max_epochs=40, patience=3, lr=3e-2)
    assert len(resumed.history) == stopped  # the resumed run stops at the same epoch
    assert_same(resumed, reference)
    assert not spec.path.exists()  # early-stopped runs delete it too


def test_vae_fit_resumes_bit_identical(tmp_path, kill_after):
    X = binary_task()[0]
    opts = VAEOptions(max_epochs=6, batch_size=32, lr=1e-2, kl_warmup_epochs=3)

    def run(checkpoint=None) -> FitResult:
        torch.manual_seed(0)
        net = ResVAE(d_in=10, n_layers=2, d_first=16, width_decay=0.5, d_latent=2, dropout=0.1)
        return fit_vae(net, X[:160], X_valid=X[160:], options=opts, seed=1, device=CPU, checkpoint=checkpoint)

    reference = run()
    spec = CheckpointSpec(path=tmp_path / "vae.pt", every=2)
    kill_after(2)
    with pytest.raises(Killed):
        run(spec)
    assert_same(run(spec), reference)
    assert not spec.path.exists()


# ----------------------------------------------------------------------------- refusal, clean-up
def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path, caplog, kill_after):
    data = binary_task()
    spec = CheckpointSpec(path=tmp_path / "fold0.pt", every=1)
    kill_after(3)
    with pytest.raises(Killed):
        fit(data, checkpoint=spec, lr=1e-2)
    reference = fit(data, lr=2e-2)
    with caplog.at_level(logging.INFO, logger="genoml_core"):
        result = fit(data, checkpoint=spec, lr=2e-2)
    assert "written for another configuration (differs in options)" in caplog.text
    assert "resuming" not in caplog.text
    assert_same(result, reference)
    assert not spec.path.exists()

    caplog.clear()  # another seed, and other data of the same shape
    kill_after(2)
    with pytest.raises(Killed):
        fit(data, checkpoint=spec)
    with caplog.at_level(logging.WARNING, logger="genoml_core"):
        assert_same(fit(data, checkpoint=spec, seed=1), fit(data, seed=1))
    assert "differs in seed" in caplog.text
    kill_after(2)
    with pytest.raises(Killed):
        fit(data, checkpoint=spec)
    X, y, Xv, yv = data
    other = (X[:, ::-1].copy(), y, Xv, yv)  # e.g. another SNP selection of the same size
    with caplog.at_level(logging.WARNING, logger="genoml_core"):
        assert_same(fit(other, checkpoint=spec), fit(other))
    assert "differs in data_rows" in caplog.text


def test_an_unreadable_checkpoint_is_ignored(tmp_path, caplog):
    data = binary_task()
    spec = CheckpointSpec(path=tmp_path / "fold0.pt", every=1)
    spec.path.write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.WARNING, logger="genoml_core"):
        result = fit(data, checkpoint=spec, max_epochs=3)
    assert "cannot read it" in caplog.text
    assert_same(result, fit(data, max_epochs=3))
    assert not spec.path.exists()


def test_checkpointing_does_not_change_the_result_and_cleans_up(tmp_path):
    data = binary_task()
    spec = CheckpointSpec(path=tmp_path / "a" / "fold0.pt", every=1)
    assert_same(fit(data, checkpoint=spec, max_epochs=4), fit(data, max_epochs=4))
    assert not spec.path.exists() and list(spec.path.parent.iterdir()) == []
    off = CheckpointSpec(path=tmp_path / "off.pt", every=0)
    off.path.write_bytes(b"left alone")
    fit(data, checkpoint=off, max_epochs=2)
    assert off.path.read_bytes() == b"left alone"  # every=0: neither read, written nor deleted
    with pytest.raises(ConfigError, match="every=-1"):
        CheckpointSpec(path=tmp_path / "x.pt", every=-1)


# ----------------------------------------------------------------------------- estimator, trials
def test_estimator_checkpoint_is_not_a_parameter_and_resumes(tmp_path, kill_after):
    X, y, _, _ = binary_task()
    params = {"max_epochs": 5, "d_layer": 16, "n_layers": 1, "n_bags": 1}
    reference = NetClassifier("mlp", params, device="cpu").fit(X, y)
    path = tmp_path / "mlp_fold0.pt"
    est = make_net("mlp", params, task="binary", random_state=0, n_threads=1, device="cpu",
                   checkpoint_path=path, checkpoint_every=1)  # fmt: skip
    assert est.get_params() == reference.get_params()
    assert getattr(clone(est), "_checkpoint", None) is None  # a clone does not share the file
    kill_after(2)
    with pytest.raises(Killed):
        est.fit(X, y)
    assert path.is_file()
    est.fit(X, y)
    assert not path.exists()
    assert np.array_equal(est.predict_proba(X), reference.predict_proba(X))
    assert est.history_[-1]["train_loss"] == reference.history_[-1]["train_loss"]
    est.save(tmp_path / "model")
    assert NetClassifier.load(tmp_path / "model").get_params() == est.get_params()


def _fake_store(directory, n: int = 160, p: int = 12, seed: int = 0):
    """A feature store as munge writes it (as in test_nas.py)."""
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, 0.4, size=(n, p)).astype(np.int8)
    y = (G[:, 0] + G[:, 1] + rng.normal(0, 0.7, n) > 1.6).astype(int)
    directory.mkdir(parents=True)
    np.save(directory / "genotypes.npy", G)
    np.save(directory / "other.npy", np.zeros((n, 0), np.float32))
    roles = np.array(["train"] * 100 + ["valid"] * 30 + ["test"] * 30)
    pd.DataFrame({"FID": [f"f{i}" for i in range(n)], "IID": [f"i{i}" for i in range(n)], "label": y,
                  "role": roles}).to_csv(directory / "samples.tsv", sep="\t", index=False)  # fmt: skip
    mean, sd = G[:100].mean(0), G[:100].std(0) + 1e-6
    features = [{"name": f"s{j}", "source": "snp", "mean": float(mean[j]), "scale": float(sd[j]),
                 "impute": float(mean[j])} for j in range(p)]  # fmt: skip
    recipe = {"task": "binary", "class_names": ["control", "case"], "n_snps": p, "n_other": 0, "features": features}
    (directory / "recipe.json").write_text(json.dumps(recipe))
    return directory


def test_run_trial_gives_each_net_fold_its_checkpoint_and_resumes(tmp_path, kill_after):
    stores = {"fold0": _fake_store(tmp_path / "munge" / "fold0")}
    space = space_for("mlp")
    for key, value in {"max_epochs": 4, "d_layer": 16, "n_layers": 1}.items():
        space[key] = {"type": "categorical", "values": [value], "default": value}
    common = dict(learner="mlp", trial=0, space=space, seed=3, task="binary", class_weight="balanced", threads=1)
    reference = run_trial(stores, model_paths={"fold0": tmp_path / "ref.zip"}, **common)
    ckpt_dir = tmp_path / "checkpoints" / "train" / "mlp" / "trial_0"
    kill_after(2)
    with pytest.raises(Killed):
        run_trial(stores, model_paths={"fold0": tmp_path / "model.zip"}, checkpoint_dir=ckpt_dir,
                  checkpoint_every=1, **common)  # fmt: skip
    # 100 training rows: n_bags "auto" trains 5 bags, each with its own checkpoint; the run was
    # killed in the first
    assert [f.name for f in ckpt_dir.iterdir()] == ["mlp_trial0_fold0.bag0.pt"]
    record = run_trial(stores, model_paths={"fold0": tmp_path / "model.zip"}, checkpoint_dir=ckpt_dir,
                       checkpoint_every=1, **common)  # fmt: skip
    assert list(ckpt_dir.iterdir()) == []
    drop = {"fit_seconds"}
    assert [{k: v for k, v in m.items() if k not in drop} for m in (record["folds"]["fold0"],)] == [
        {k: v for k, v in reference["folds"]["fold0"].items() if k not in drop}
    ]
    a, _ = persist.load_model(tmp_path / "ref.zip")
    b, _ = persist.load_model(tmp_path / "model.zip")
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert all(math.isfinite(v) for v in record["valid"].values() if isinstance(v, float))

    # classical learners ignore the checkpoint settings
    common["learner"], common["space"] = "logistic_l2", {"C": {"type": "float", "low": 0.01, "high": 1.0}}
    run_trial(stores, model_paths={"fold0": tmp_path / "lr.zip"}, checkpoint_dir=tmp_path / "none",
              checkpoint_every=1, **common)  # fmt: skip
    assert not (tmp_path / "none").exists()
