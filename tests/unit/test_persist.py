"""Model files: identical predictions after a round trip, no pickle, untrusted types refused.

The crafted-file tests take a genuine model zip and add what an attacker would (a skops node
calling a NumPy function with arguments from the file, an XGBoost wrapper naming another
class), then check that loading refuses it *and* that the planted code never ran; each also
shows that the planted node is live (it runs once its name is trusted, as the old
package-prefix policy trusted every ``numpy.*`` name), so the test cannot pass vacuously.
"""

from __future__ import annotations

import functools
import io
import json
import sys
import types
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import skops.io as sio
import xgboost
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from genoml_core.models import learners as L
from genoml_core.models import persist
from genoml_core.errors import InputError

# penalized_glm is written as a LogisticRegression / LinearRegression (test_genome_learner.py)
PAIRS = [(name, task) for task in L.TASKS for name in L.available_learners(task) if L.feature_set(name) == "compact"]
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


@functools.lru_cache(maxsize=None)
def fitted(name: str, task: str) -> Any:
    """``name`` fitted on ``make_data(task)`` (12 features: knn builds its KD-tree), made once."""
    X, y = make_data(task)
    return fit(name, task, X, y)


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_round_trip_gives_identical_predictions(name: str, task: str, tmp_path: Path) -> None:
    X, _ = make_data(task)
    est = fitted(name, task)
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


# ----------------------------------------------------------------------------- trust policy
def test_allow_list_is_exactly_what_the_learners_write() -> None:
    """Every learner x task dumps only skops defaults + SKOPS_TRUSTED_TYPES (not too narrow),
    and every entry is written by some learner (nothing trusted that the workflow never writes)."""
    written: set[str] = set()
    xgb: set[tuple[str, str]] = set()
    for name, task in PAIRS:
        est = fitted(name, task)
        if name == "xgboost":
            xgb.add((type(est).__module__, type(est).__name__))
        else:
            written |= set(sio.get_untrusted_types(data=sio.dumps(est)))
    assert written == persist.SKOPS_TRUSTED_TYPES
    assert xgb == persist.XGBOOST_CLASSES
    assert not hasattr(persist, "TRUSTED_MODULES")
    assert all(name.count(".") >= 2 for name in persist.SKOPS_TRUSTED_TYPES)  # exact types, no packages


def rewrite_member(src: Path, dst: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """Copy the zip ``src`` to ``dst`` with ``member`` replaced by ``edit(its bytes)``."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = edit(members[member])
    with zipfile.ZipFile(dst, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return dst


def add_skops_attribute(src: Path, dst: Path, attr: str, node: dict[str, Any]) -> Path:
    """Copy the sklearn model zip ``src`` to ``dst`` with one more attribute, ``node``, in the
    skops tree of the estimator (its ``__dict__`` is a DictNode: values + key types)."""

    def edit(skops_bytes: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(skops_bytes)) as sk:
            inner = {n: sk.read(n) for n in sk.namelist()}
        schema = json.loads(inner["schema.json"])
        attrs = schema["content"]
        assert attrs["__loader__"] == "DictNode"
        attrs["content"][attr] = node
        attrs["key_types"]["content"].append({"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"})
        inner["schema.json"] = json.dumps(schema).encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as sk:
            for n, b in inner.items():
                sk.writestr(n, b)
        return buf.getvalue()

    return rewrite_member(src, dst, "payload/model.skops", edit)


def json_node(value: Any) -> dict[str, Any]:
    """A skops node for a JSON value (how skops stores str, int, list...)."""
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}  # fmt: skip


def call_node(module: str, func: str, *args: dict[str, Any]) -> dict[str, Any]:
    """A skops node that, when constructed, calls ``module.func(*args)`` (skops treats the
    name as a class to rebuild from its ``__reduce__`` arguments)."""
    return {"__class__": func, "__module__": module, "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                        "content": list(args)}}  # fmt: skip


#: A skops node for ``{}`` (runstring's namespace argument).
EMPTY_DICT = {
    "__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
    "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []},
}  # fmt: skip


@pytest.mark.parametrize("exploit", ["numpy.save", "numpy exec"])
def test_crafted_numpy_call_in_a_genuine_model_is_refused_and_never_runs(exploit: str, tmp_path: Path) -> None:
    genuine = persist.save_model(fitted("logistic_l2", "binary"), tmp_path / "genuine.zip", meta={})
    target = tmp_path / "planted.npy"
    if exploit == "numpy.save":  # writes an arbitrary file
        name, node = "numpy.save", call_node("numpy", "save", json_node(str(target)), json_node([1, 2, 3]))
    else:  # numpy.testing._private.utils.runstring(code, namespace) is exec(code, namespace)
        name = "numpy.testing._private.utils.runstring"
        code = f"open({str(target)!r}, 'w').write('arbitrary code ran')"
        node = call_node("numpy.testing._private.utils", "runstring", json_node(code), EMPTY_DICT)
    evil = add_skops_attribute(genuine, tmp_path / "evil.zip", "genoml_note", node)

    with pytest.raises(persist.UntrustedTypesError) as err:
        persist.load_model(evil)
    msg = str(err.value)
    assert str(evil) in msg and repr(name) in msg and "SKOPS_TRUSTED_TYPES" in msg
    assert not target.exists()

    # the planted node is live: trusting its name (as the numpy.* prefix did) runs it
    with zipfile.ZipFile(evil) as zf:
        data = zf.read("payload/model.skops")
    assert sio.get_untrusted_types(data=data) == [name]
    sio.loads(data, trusted=[name])
    assert target.exists()


def test_function_node_is_refused_even_where_skops_trusts_it(tmp_path: Path) -> None:
    """skops trusts every NumPy ufunc as a function node; the learners write no function node,
    so persist refuses it from schema.json whatever skops' defaults are."""
    genuine = persist.save_model(fitted("logistic_l2", "binary"), tmp_path / "genuine.zip", meta={})
    node = {"__class__": "add", "__module__": "numpy", "__loader__": "FunctionNode"}
    evil = add_skops_attribute(genuine, tmp_path / "evil.zip", "genoml_note", node)
    with zipfile.ZipFile(evil) as zf:
        assert sio.get_untrusted_types(data=zf.read("payload/model.skops")) == []  # skops alone would load it
    with pytest.raises(persist.UntrustedTypesError, match=r"numpy\.add"):
        persist.load_model(evil)


class Shady(BaseEstimator, TransformerMixin):
    """A type from outside sklearn/numpy/scipy/xgboost."""

    def fit(self, X: Any, y: Any = None) -> "Shady":
        return self

    def transform(self, X: Any) -> Any:
        return X


def test_untrusted_type_is_refused_on_save_and_on_load(tmp_path: Path) -> None:
    X, y = make_data("binary")
    est = make_pipeline(Shady(), LogisticRegression()).fit(X, y)
    with pytest.raises(persist.UntrustedTypesError, match=r"not saved.*test_persist\.Shady"):
        persist.save_model(est, tmp_path / "m.zip", meta={})
    assert list(tmp_path.iterdir()) == []  # nothing written
    # the same payload written by other means, inside a genuine model zip
    genuine = persist.save_model(fitted("logistic_l2", "binary"), tmp_path / "genuine.zip", meta={})
    path = rewrite_member(genuine, tmp_path / "shady.zip", "payload/model.skops", lambda _: sio.dumps(est))
    with pytest.raises(persist.UntrustedTypesError, match=r"shady\.zip.*test_persist\.Shady"):
        persist.load_model(path)


def test_learner_params_outside_the_allow_list_fail_when_saved(tmp_path: Path) -> None:
    """knn with a ball tree trains, but writes a type no default learner writes: refused at
    save time (the training job), not when the model is first loaded."""
    X, y = make_data("binary")
    est = L.fit_learner(L.make_learner("knn", {"algorithm": "ball_tree"}, task="binary", random_state=0), X, y,
                        task="binary")  # fmt: skip
    with pytest.raises(persist.UntrustedTypesError, match=r"BallTree.*SKOPS_TRUSTED_TYPES"):
        persist.save_model(est, tmp_path / "knn.zip", meta={})
    assert list(tmp_path.iterdir()) == []


PROBE = "genoml_probe_plant"


@pytest.fixture
def planted_xgboost_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A module importable as ``xgboost.genoml_probe_plant`` (so it passes any ``xgboost.*``
    prefix check) that writes a file when imported and another when its class is built."""
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / f"{PROBE}.py").write_text(
        "from pathlib import Path\n"
        "Path(__file__).with_name('imported').write_text('x')\n"
        "class Boom:\n"
        "    def __init__(self, **kw):\n"
        "        Path(__file__).with_name('called').write_text(repr(kw))\n"
    )
    monkeypatch.setattr(xgboost, "__path__", [*xgboost.__path__, str(plant)])
    yield plant
    sys.modules.pop(f"xgboost.{PROBE}", None)


@pytest.mark.parametrize(
    ("module", "cls"),
    [
        (f"xgboost.{PROBE}", "Boom"),  # under the xgboost prefix: the old check imported and called it
        ("xgboost.sklearn", "XGBRFClassifier"),  # a real XGBoost class the workflow never writes
        ("xgboost.callback", "EarlyStopping"),
        ("subprocess", "Popen"),
        ("os", "system"),
    ],
)
def test_xgboost_wrapper_naming_another_class_is_refused(
    module: str, cls: str, tmp_path: Path, planted_xgboost_module: Path
) -> None:
    genuine = persist.save_model(fitted("xgboost", "binary"), tmp_path / "genuine.zip", meta={})

    def edit(raw: bytes) -> bytes:
        wrapper = json.loads(raw)
        assert (wrapper["module"], wrapper["class"]) == ("xgboost.sklearn", "XGBClassifier")
        wrapper.update(module=module, **{"class": cls})
        return json.dumps(wrapper).encode()

    evil = rewrite_member(genuine, tmp_path / "evil.zip", "payload/wrapper.json", edit)
    with pytest.raises(persist.UntrustedTypesError, match=rf"evil\.zip.*{cls}.*XGBOOST_CLASSES"):
        persist.load_model(evil)
    assert sorted(p.name for p in planted_xgboost_module.iterdir()) == [f"{PROBE}.py"]  # not imported, not called
    assert f"xgboost.{PROBE}" not in sys.modules


@pytest.mark.parametrize(
    "params",
    [{"n_estimators": [1, 2]}, {"objective": {"__class__": "x"}}, {"missing": float("nan")}, ["max_depth", 3]],
)
def test_xgboost_params_must_be_json_scalars(params: Any, tmp_path: Path) -> None:
    genuine = persist.save_model(fitted("xgboost", "binary"), tmp_path / "genuine.zip", meta={})

    def edit(raw: bytes) -> bytes:
        wrapper = json.loads(raw)
        wrapper["params"] = {**wrapper["params"], **params} if isinstance(params, dict) else params
        return json.dumps(wrapper).encode()

    evil = rewrite_member(genuine, tmp_path / "evil.zip", "payload/wrapper.json", edit)
    with pytest.raises(persist.UntrustedTypesError, match="JSON scalars"):
        persist.load_model(evil)


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
    """Stands in for genoml_core.models.estimators.NetEstimator: save(dir) / load(dir)."""

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
    fake_module = types.ModuleType("genoml_core.models.estimators")
    fake_module.NetEstimator = FakeNet  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "genoml_core.models.estimators", fake_module)
    loaded, meta = persist.load_model(path)
    assert isinstance(loaded, FakeNet) and loaded.config == {"d_block": 8}
    np.testing.assert_array_equal(loaded.predict(np.eye(4)), net.predict(np.eye(4)))
    assert meta["kind"] == "torch" and meta["arch"] == "resnet"


def test_register_kind_and_unknown_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist.archive, "_LOADERS", dict(persist.archive._LOADERS))  # where the kinds live
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
