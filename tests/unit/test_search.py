"""Search spaces: validation messages, deterministic draws, trial 0 = defaults."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from genoml_core.errors import ConfigError
from genoml_core.tuning.search import DEFAULT_SPACES, sample_params, stable_hash, validate_space

REPO = Path(__file__).resolve().parents[2]

SPACE = {
    "lr": {"type": "float", "low": 0.001, "high": 0.3, "log": True},
    "frac": {"type": "float", "low": 0.2, "high": 0.8},
    "depth": {"type": "int", "low": 2, "high": 6},
    "k": {"type": "int", "low": 5, "high": 101, "log": True},
    "mode": {"type": "categorical", "values": ["a", 0.5, 3]},
}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"type": "float", "low": 1.0, "high": 1.0}, "must be < high"),
        ({"type": "float", "low": 2.0, "high": 1.0}, "must be < high"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log range needs low > 0"),
        ({"type": "int", "low": -1, "high": 5, "log": True}, "log range needs low > 0"),
        ({"type": "categorical", "values": []}, "non-empty list"),
        ({"type": "categorical", "values": [[1, 2]]}, "must be scalars"),
        ({"type": "uniform", "low": 0, "high": 1}, "type must be one of"),
        ({"low": 0, "high": 1}, "type must be one of"),
        ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.1}, "unknown key(s) ['step']"),
        ({"type": "categorical", "values": ["a"], "low": 0}, "unknown key(s) ['low']"),
        ({"type": "float", "low": 0.0, "high": 1.0, "default": 2.0}, "outside [0.0, 1.0]"),
        ({"type": "int", "low": 1, "high": 5, "default": 2.5}, "default must be an integer"),
        ({"type": "categorical", "values": ["a", "b"], "default": "c"}, "not one of the values"),
        ({"type": "int", "low": 1.5, "high": 5}, "must be an integer"),
        ({"type": "float", "low": "0", "high": 1.0}, "finite number"),
        ({"type": "float", "high": 1.0}, "missing 'low'"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": "yes"}, "'log' must be true or false"),
        ("0.1..1", "must be a mapping"),
    ],
)
def test_validate_space_names_arch_param_and_fix(spec: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_space("xgboost", {"eta": spec})
    msg = str(err.value)
    assert "'xgboost'" in msg and "'eta'" in msg
    assert fragment in msg


def test_default_spaces_are_valid_and_defaults_inside() -> None:
    for arch, space in DEFAULT_SPACES.items():
        validate_space(arch, space)
        assert space, arch


def test_trial0_uses_defaults_else_midpoints() -> None:
    got = sample_params(SPACE, seed=3, arch="x", trial=0)
    assert got["lr"] == pytest.approx(math.sqrt(0.001 * 0.3))  # geometric midpoint
    assert got["frac"] == pytest.approx(0.5)
    assert got["depth"] == 4
    assert got["k"] == round(math.sqrt(5 * 101))
    assert got["mode"] == "a"
    with_defaults = {**SPACE, "depth": {**SPACE["depth"], "default": 6}, "mode": {**SPACE["mode"], "default": 3}}
    got = sample_params(with_defaults, seed=3, arch="x", trial=0)
    assert got["depth"] == 6 and got["mode"] == 3
    # trial 0 does not depend on seed or arch
    assert sample_params(SPACE, seed=99, arch="y", trial=0) == sample_params(SPACE, seed=3, arch="x", trial=0)


def test_trial0_of_default_spaces_equals_declared_defaults() -> None:
    for arch, space in DEFAULT_SPACES.items():
        got = sample_params(space, seed=0, arch=arch, trial=0)
        for name, spec in space.items():
            if "default" in spec:
                assert got[name] == spec["default"], (arch, name)


def test_same_inputs_same_draw_and_streams_differ() -> None:
    a = sample_params(SPACE, seed=1, arch="xgboost", trial=5)
    assert a == sample_params(SPACE, seed=1, arch="xgboost", trial=5)
    assert a != sample_params(SPACE, seed=1, arch="xgboost", trial=6)
    assert a != sample_params(SPACE, seed=2, arch="xgboost", trial=5)
    assert a != sample_params(SPACE, seed=1, arch="random_forest", trial=5)
    # key order in the YAML does not matter
    reordered = dict(reversed(list(SPACE.items())))
    assert sample_params(reordered, seed=1, arch="xgboost", trial=5) == a


def test_draw_follows_documented_generator() -> None:
    # the contract: one uniform per parameter, sorted names, rng([seed, crc32(arch), trial])
    space = {"b": {"type": "float", "low": 0.0, "high": 1.0}, "a": {"type": "float", "low": 10.0, "high": 20.0}}
    rng = np.random.default_rng([7, zlib.crc32(b"svm_rbf"), 3])
    u_a, u_b = rng.random(), rng.random()
    got = sample_params(space, seed=7, arch="svm_rbf", trial=3)
    assert got == {"a": pytest.approx(10.0 + 10.0 * u_a), "b": pytest.approx(u_b)}
    assert stable_hash("svm_rbf") == zlib.crc32(b"svm_rbf")


def test_draws_stable_across_processes() -> None:
    code = (
        "import json; from genoml_core.tuning.search import DEFAULT_SPACES, sample_params; "
        "print(json.dumps(sample_params(DEFAULT_SPACES['xgboost'], seed=11, arch='xgboost', trial=4)))"
    )
    outs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(REPO)}
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outs.append(json.loads(res.stdout))
    assert outs[0] == outs[1] == sample_params(DEFAULT_SPACES["xgboost"], seed=11, arch="xgboost", trial=4)


def test_ranges_types_and_coverage() -> None:
    draws = [sample_params(SPACE, seed=0, arch="x", trial=t) for t in range(1, 401)]
    lr = np.array([d["lr"] for d in draws])
    assert all(type(d["lr"]) is float and type(d["frac"]) is float for d in draws)
    assert all(type(d["depth"]) is int and type(d["k"]) is int for d in draws)
    assert lr.min() >= 0.001 and lr.max() <= 0.3
    # log-uniform: about half the draws below the geometric midpoint
    assert 0.4 < np.mean(lr < math.sqrt(0.001 * 0.3)) < 0.6
    frac = np.array([d["frac"] for d in draws])
    assert frac.min() >= 0.2 and frac.max() <= 0.8 and 0.4 < np.mean(frac < 0.5) < 0.6
    assert {d["depth"] for d in draws} == {2, 3, 4, 5, 6}  # both ends reachable
    ks = np.array([d["k"] for d in draws])
    assert ks.min() >= 5 and ks.max() <= 101 and np.mean(ks < 23) > 0.35  # log: small k common
    assert {d["mode"] for d in draws} == {"a", 0.5, 3}
    json.dumps(draws)  # JSON-friendly


@pytest.mark.parametrize(("seed", "trial"), [(-1, 1), (0, -1), (1.5, 1), (0, True)])
def test_bad_seed_or_trial(seed: object, trial: object) -> None:
    with pytest.raises(ConfigError):
        sample_params(SPACE, seed=seed, arch="x", trial=trial)  # type: ignore[arg-type]


def test_sample_validates_space() -> None:
    with pytest.raises(ConfigError, match="'knn'"):
        sample_params({"n_neighbors": {"type": "int", "low": 10, "high": 5}}, seed=0, arch="knn", trial=1)
