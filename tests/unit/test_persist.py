"""Model files: identical predictions after a round trip, no pickle, untrusted types refused."""

from __future__ import annotations

import json
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from genoml_core import learners as L
from genoml_core import persist
from genoml_core.errors import InputError

PAIRS = [(name, task) for task in L.TASKS for name in L.available_learners(task)]
FAST = {"random_forest": {"n_estimators": 15}, "extra_trees": {"n_estimators": 15}, "xgboost": {"n_estimators": 15}}


def make_data(task: str, n: int = 160, p: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    lin = X[:, 0] + X[:, 1] - X[:, 2]
    if task == "binary":
        return X, (lin + rng.standard_normal(n) > 0).astype(np.int64)
    if task == "multiclass":
        return X, np.digitize(lin + rng.standard_normal(n), [-1.0, 1.0]).astype(np.int64)
    return X, 3.0 * lin + rng.standard_normal(n)


def fit(name: str, task: str, X: np.ndarray, y: np.ndarray) -> Any:
    est = L.make_learner(name, FAST.get(name, {}), task=task, random_state=2)
    return L.fit_learner(est, X, y, task=task)


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_round_trip_gives_identical_predictions(name: str, task: str, tmp_path: Path) -> None:
    X, y = make_data(task)
    est = fit(name, task, X, y)
    path = persist.save_model(est, tmp_path / "model.zip", meta={"learner": name, "task": task, "seed": np.int64(2)})
    assert path == tmp_path / "model.zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temp files left
    with zipfile.ZipFile(path) as zf:
        assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in zf.namelist())
    loaded, meta = persist.load_model(path)
    np.testing.assert_array_equal(L.predict_scores(loaded, X, task=task), L.predict_scores(est, X, task=task))
    w0, w1 = L.model_weights(est, X.shape[1]), L.model_weights(loaded, X.shape[1])
    assert (w0 is None and w1 is None) or np.array_equal(w0, w1)
    assert meta["learner"] == name and meta["task"] == task and meta["seed"] == 2
    assert meta["kind"] == ("xgboost" if name == "xgboost" else "sklearn")
    assert meta["learner_class"].endswith(type(est).__name__)
    assert meta["versions"]["scikit-learn"] and meta["versions"]["genoml_core"]
    assert meta["format_version"] == persist.FORMAT_VERSION


def test_xgboost_keeps_label_map_and_best_iteration(tmp_path: Path) -> None:
    X, y = make_data("multiclass", n=300)
    keep = y != 1
    est = L.make_learner("xgboost", {"n_estimators": 300, "learning_rate": 0.3}, task="multiclass", random_state=0)
    L.fit_learner(est, X[keep][:150], y[keep][:150], task="multiclass", X_valid=X[keep][150:], y_valid=y[keep][150:])
    assert est.best_iteration < 299
    loaded, _ = persist.load_model(persist.save_model(est, tmp_path / "m.zip", meta={}))
    assert loaded.genoml_classes_.tolist() == [0, 2]
    assert loaded.best_iteration == est.best_iteration
    assert loaded.get_params()["max_depth"] == est.get_params()["max_depth"]
    np.testing.assert_array_equal(
        L.predict_scores(loaded, X, task="multiclass"), L.predict_scores(est, X, task="multiclass")
    )


class Shady(BaseEstimator, TransformerMixin):
    """A type from outside sklearn/numpy/scipy/xgboost."""

    def fit(self, X: Any, y: Any = None) -> "Shady":
        return self

    def transform(self, X: Any) -> Any:
        return X


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    X, y = make_data("binary")
    est = make_pipeline(Shady(), LogisticRegression()).fit(X, y)
    path = persist.save_model(est, tmp_path / "m.zip", meta={})
    with pytest.raises(persist.UntrustedTypesError, match=r"test_persist\.Shady"):
        persist.load_model(path)


def test_save_is_atomic_and_meta_checked(tmp_path: Path) -> None:
    X, y = make_data("binary")
    est = fit("logistic_l2", "binary", X, y)
    path = persist.save_model(est, tmp_path / "deep" / "m.zip", meta={"a": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError, match="not JSON-serializable"):
        persist.save_model(est, path, meta={"bad": object()})
    with pytest.raises(ValueError, match="reserved|written by save_model"):
        persist.save_model(est, path, meta={"kind": "x"})

    class Broken:
        _genoml_kind = "torch"

        def save(self, directory: Path) -> None:
            (Path(directory) / "half.bin").write_bytes(b"x")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        persist.save_model(Broken(), path, meta={})
    assert path.read_bytes() == before  # the old model is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.zip"]


def test_bad_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        persist.load_model(tmp_path / "missing.zip")
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(InputError, match="not a model zip"):
        persist.load_model(tmp_path / "junk.zip")
    with zipfile.ZipFile(tmp_path / "newer.zip", "w") as zf:
        zf.writestr("meta.json", json.dumps({"format_version": 99, "kind": "sklearn"}))
    with pytest.raises(InputError, match="format_version 99"):
        persist.load_model(tmp_path / "newer.zip")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("meta.json", json.dumps({"format_version": 1, "kind": "torch"}))
        zf.writestr("payload/../../escape.txt", "x")
    with pytest.raises(InputError, match="escapes"):
        persist.load_model(tmp_path / "evil.zip")


# ----------------------------------------------------------------------------- custom kinds (torch hook)
class FakeNet:
    """Stands in for genoml_core.estimators.NetEstimator: save(dir) / load(dir)."""

    _genoml_kind = "torch"

    def __init__(self, weights: np.ndarray, config: dict[str, Any]) -> None:
        self.weights = weights
        self.config = config

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.weights

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        (directory / "state").mkdir()
        np.save(directory / "state" / "weights.npy", self.weights)
        (directory / "config.json").write_text(json.dumps(self.config))

    @classmethod
    def load(cls, directory: Path) -> "FakeNet":
        directory = Path(directory)
        return cls(np.load(directory / "state" / "weights.npy"), json.loads((directory / "config.json").read_text()))


def test_torch_kind_loads_lazily_through_genoml_core_estimators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = FakeNet(np.arange(4.0), {"d_block": 8})
    path = persist.save_model(net, tmp_path / "net.zip", meta={"arch": "resnet"})
    with zipfile.ZipFile(path) as zf:
        assert {"payload/config.json", "payload/state/weights.npy"} <= set(zf.namelist())
    fake_module = types.ModuleType("genoml_core.estimators")
    fake_module.NetEstimator = FakeNet  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "genoml_core.estimators", fake_module)
    loaded, meta = persist.load_model(path)
    assert isinstance(loaded, FakeNet) and loaded.config == {"d_block": 8}
    np.testing.assert_array_equal(loaded.predict(np.eye(4)), net.predict(np.eye(4)))
    assert meta["kind"] == "torch" and meta["arch"] == "resnet"


def test_register_kind_and_unknown_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "_LOADERS", dict(persist._LOADERS))
    net = FakeNet(np.ones(3), {})
    monkeypatch.setattr(net, "_genoml_kind", "fake")
    path = persist.save_model(net, tmp_path / "fake.zip", meta={})
    with pytest.raises(InputError, match=r"register_kind\('fake'"):
        persist.load_model(path)
    persist.register_kind("fake", FakeNet.load)
    assert "fake" in persist.registered_kinds()
    loaded, meta = persist.load_model(path)
    assert isinstance(loaded, FakeNet) and meta["kind"] == "fake"
    with pytest.raises(ValueError, match="built in"):
        persist.register_kind("sklearn", FakeNet.load)
