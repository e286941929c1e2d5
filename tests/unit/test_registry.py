"""One learner registry: every learner declared once, every other table a view of it, and a new
learner is one declaration."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genoml_core import config, memory
from genoml_core.models import genome_learner, learners, registry
from genoml_core.tuning import net_spaces, search, tune
from genoml_core.errors import ConfigError
from genoml_core.models.registry import REGISTRY, Learner

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"task": "binary", "data": {"genotypes": "g", "phenotype": "p.tsv", "phenotype_column": "y"}}


def _cfg(task: str = "binary", **train: object) -> dict:
    return config.validate_config({**MINIMAL, "task": task, "train": train})


# ----------------------------------------------------------------------------- declarations
@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_learner_declares_every_field(name: str) -> None:
    spec = REGISTRY[name]
    assert spec.name == name
    assert spec.tasks and spec.tasks <= set(registry.TASKS)
    assert spec.kind in registry.KINDS
    assert spec.feature_set in registry.FEATURE_SETS
    assert spec.explainer in registry.EXPLAINERS
    assert isinstance(spec.default, bool) and isinstance(spec.self_tuning, bool)
    assert spec.description and "\n" not in spec.description
    # the builder imports and is a function; classical builders make an estimator with get_params
    build = registry.builder(name)
    assert callable(build)
    if spec.kind in registry.CLASSICAL_KINDS:
        task = sorted(spec.tasks)[0]
        base = build(task, 0, 1, None)
        assert hasattr(base, "get_params")
        assert spec.fixed <= set(base.get_params(deep=False)) | {"probability"}  # SVC's old switch
        assert registry.wrapper(name) is None or callable(registry.wrapper(name))
    else:
        assert build.__name__ == "make_net" and spec.explainer == "gradient"
    # a valid default space (rrfcn's comes from the config)
    space = registry.default_space(name, _cfg())
    assert space
    search.validate_space(name, space)
    # a measured memory estimate exactly for the learners that hold their rows in memory
    in_memory = spec.kind == "classical" and spec.feature_set == "compact"
    assert (spec.fit_bytes_per_value is not None) == in_memory
    if in_memory:
        assert spec.fit_bytes_per_value >= 4.0  # at least the float32 rows
    assert registry.memory_extra_bytes(name, 100, 10, {}) >= 0


def test_declarations_are_checked() -> None:
    good = REGISTRY["ridge"]
    for change, match in [
        ({"kind": "boosted"}, "kind must be one of"),
        ({"feature_set": "all"}, "feature_set must be one of"),
        ({"explainer": "shap"}, "explainer must be one of"),
        ({"tasks": {"survival"}}, "tasks must be"),
        ({"name": "Ridge-2"}, "lower-case"),
        ({"fit_bytes_per_value": None}, "give it"),
        ({"kind": "streaming"}, "None for a learner that streams"),
        ({"builder": "no_colon"}, "builder must be"),
        ({"description": ""}, "description"),
    ]:
        with pytest.raises(ConfigError, match=match):
            dataclasses.replace(good, **change)


def test_registry_module_is_light() -> None:
    # the Snakefile reads the registry and validates the config while parsing: no scikit-learn, torch
    # or XGBoost for that (and the registry itself not even NumPy)
    code = (
        "import sys; from genoml_core.models import registry; assert 'numpy' not in sys.modules, 'numpy'; "
        "from genoml_core import config; "
        f"cfg = config.load_config({str(REPO / 'config' / 'config.yaml')!r}); "
        "[config.learner_space(cfg, n) for n in registry.REGISTRY]; "
        "[config.learner_n_trials(cfg, n) for n in registry.REGISTRY]; "
        "heavy = sorted(m for m in ('sklearn', 'torch', 'xgboost') if m in sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ----------------------------------------------------------------------------- views
def test_views_agree_with_the_registry() -> None:
    classical = [n for n, s in REGISTRY.items() if s.kind in registry.CLASSICAL_KINDS]
    assert list(learners.LEARNERS) == classical
    for name, spec in learners.LEARNERS.items():
        decl = REGISTRY[name]
        assert (spec.tasks, spec.fixed, spec.description, spec.default, spec.feature_set) == (
            decl.tasks, decl.fixed, decl.description, decl.default, decl.feature_set)
        assert spec.streaming == (decl.kind == "streaming")
        assert spec.build is registry.builder(name) and spec.wrap is registry.wrapper(name)
    assert list(search.DEFAULT_SPACES) == classical
    assert all(search.DEFAULT_SPACES[n] == REGISTRY[n].space for n in classical)
    assert dict(memory.FIT_BYTES_PER_VALUE) == {
        n: s.fit_bytes_per_value for n, s in REGISTRY.items() if s.fit_bytes_per_value is not None}
    assert config.NET_LEARNERS == tuple(n for n, s in REGISTRY.items() if s.kind in ("net", "searched_net"))
    assert config.NET_LEARNERS == ("mlp", "rfcn_resnet", "rfcn_densenet", "tabm", "rrfcn")
    assert config.STREAMING_LEARNERS == ("logistic_l1_sgd", "logistic_l2_sgd", "linear_sgd")
    assert config.SELF_TUNING_LEARNERS == ("penalized_glm",)
    assert tune.NET_LEARNERS == config.NET_LEARNERS
    assert genome_learner.GENOME_LEARNERS == ("penalized_glm",)
    for task in registry.TASKS:
        assert learners.available_learners(task) == [n for n in registry.available(task) if n in classical]
    # the nets' spaces are net_spaces' (computed there, referenced from the registry)
    for name in ("mlp", "rfcn_resnet", "rfcn_densenet"):
        assert registry.default_space(name) == net_spaces.NET_SPACES[name]
    # views are read-only
    with pytest.raises(TypeError):
        search.DEFAULT_SPACES["x"] = {}  # type: ignore[index]
    with pytest.raises(KeyError):
        memory.FIT_BYTES_PER_VALUE["linear_sgd"]


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items()
                                  if s.kind in registry.CLASSICAL_KINDS and s.feature_set == "compact"])
def test_declared_explainer_is_the_one_explain_picks_for_the_fitted_model(name: str) -> None:
    from genoml_core import explain

    task = "binary" if "binary" in REGISTRY[name].tasks else "continuous"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) if task == "binary" else X[:, 0] + 0.1 * rng.standard_normal(120)
    params = {"n_estimators": 10} if "n_estimators" in REGISTRY[name].space else {}
    est = learners.make_learner(name, params, task=task, random_state=0)
    learners.fit_learner(est, X, y, task=task)
    family = explain.model_family(est)
    assert {"torch": "gradient", "tree": "tree", "linear": "linear", "other": "permutation"}[family] == \
        registry.explainer(name)


def test_net_archs_are_the_registry_nets() -> None:
    from genoml_core.models import estimators

    assert estimators.NET_ARCHS == registry.names(kinds="net")
    assert estimators.SEARCHED_ARCHS == registry.names(kinds="searched_net") == ("rrfcn",)


def test_lookups() -> None:
    assert [registry.explainer(n) for n in ("logistic_l2", "xgboost", "knn", "mlp", "penalized_glm")] == [
        "linear", "tree", "permutation", "gradient", "linear"]
    with pytest.raises(ConfigError, match="unknown learner 'catboost'"):
        registry.explainer("catboost")
    assert registry.kind("rrfcn") == "searched_net" and registry.kind("linear_sgd") == "streaming"
    assert registry.is_net("rrfcn") and not registry.is_net("xgboost") and not registry.is_net("nope")
    assert registry.streams("mlp") and registry.streams("linear_sgd") and not registry.streams("penalized_glm")
    assert registry.feature_set("penalized_glm") == "genome" and registry.feature_set("nope") == "compact"
    hint = "logistic_l1_sgd / logistic_l2_sgd (binary, multiclass) or linear_sgd (continuous)"
    assert registry.out_of_core_hint() == hint
    # default_space hands out copies; rrfcn's needs the config
    registry.default_space("xgboost")["max_depth"]["high"] = 99
    assert REGISTRY["xgboost"].space["max_depth"]["high"] == 6
    with pytest.raises(ConfigError, match="nas.retrain"):
        registry.default_space("rrfcn")
    cfg = _cfg(learners=["rrfcn"])
    assert config.learner_n_trials(cfg, "rrfcn") == cfg["nas"]["top_k"]
    assert set(config.learner_space(cfg, "rrfcn")) == set(cfg["nas"]["retrain"])
    assert config.learner_n_trials(_cfg(), "penalized_glm") == 1
    assert config.learner_n_trials(_cfg(n_trials_per_learner={"xgboost": 7}), "xgboost") == 7


def test_memory_terms_declared_per_learner() -> None:
    base, n, p = memory.BASE_BYTES, 1000, 2000
    assert memory.estimate_fit_bytes("lda", n, p) == base + 16 * n * p + 24 * p * p
    assert memory.estimate_fit_bytes("svr", n, p) == base + 26 * n * p + 500 * 2**20
    trees = memory.estimate_fit_bytes("extra_trees", n, p, params={"n_estimators": 50})
    assert trees == base + 8 * n * p + 50 * n * 160
    assert memory.estimate_fit_bytes("ridge", n, p) == base + 12 * n * p
    assert memory.estimate_fit_bytes("penalized_glm", n, p) is None


# ----------------------------------------------------------------------------- one declaration
def _toy_builder(task: str, random_state: int, n_jobs: int, class_weight: str | None):
    from sklearn.linear_model import Ridge

    return Ridge(alpha=3.0, random_state=random_state)


def _toy(**change: object) -> Learner:
    fields = dict(
        name="toy_ridge", tasks={"continuous"}, kind="classical", feature_set="compact", builder=_toy_builder,
        space={"alpha": {"type": "float", "low": 0.1, "high": 10.0, "log": True, "default": 3.0}},
        fit_bytes_per_value=10.0, memory_extra=lambda n, p, params: 1000.0, explainer="linear",
        default=True, self_tuning=False, description="a toy learner declared in a test",
    )
    return Learner(**{**fields, **change})  # type: ignore[arg-type]


def test_a_new_learner_is_one_declaration(monkeypatch) -> None:
    monkeypatch.setitem(REGISTRY, "toy_ridge", _toy())

    # the config: a default for its task, listed explicitly, its space, its trials
    cfg = _cfg("continuous", n_trials=3)
    assert "toy_ridge" in config.resolve_learners(cfg)
    assert "toy_ridge" not in config.resolve_learners(_cfg("binary"))
    with pytest.raises(ConfigError, match="'toy_ridge' cannot be trained for task 'binary'"):
        _cfg("binary", learners=["toy_ridge"])
    cfg = _cfg("continuous", learners=["toy_ridge", "ridge"], n_trials=3)
    assert config.learner_space(cfg, "toy_ridge") == REGISTRY["toy_ridge"].space
    assert config.learner_n_trials(cfg, "toy_ridge") == 3
    # the views
    assert "toy_ridge" in learners.LEARNERS and "toy_ridge" in search.DEFAULT_SPACES
    assert learners.available_learners("continuous", defaults_only=True)[-1] == "toy_ridge"
    # memory: its bytes per value and its own term
    assert memory.FIT_BYTES_PER_VALUE["toy_ridge"] == 10.0
    assert memory.estimate_fit_bytes("toy_ridge", 100, 50) == memory.BASE_BYTES + 10 * 100 * 50 + 1000
    # built, fitted and scored like any learner; explained as declared
    params = search.sample_params(config.learner_space(cfg, "toy_ridge"), seed=1, arch="toy_ridge", trial=2)
    est = tune.build_estimator("toy_ridge", params, task="continuous", random_state=0, threads=1,
                               class_weight="balanced")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = X[:, 0] * 2 + rng.standard_normal(60) * 0.1
    learners.fit_learner(est, X, y, task="continuous")
    assert learners.predict_scores(est, X, task="continuous").shape == (60,)
    assert registry.explainer("toy_ridge") == "linear"

    # self-tuning: one trial, without touching the config module
    monkeypatch.setitem(REGISTRY, "toy_ridge", _toy(self_tuning=True))
    assert config.learner_n_trials(cfg, "toy_ridge") == 1
    # gone again with the declaration
    monkeypatch.delitem(REGISTRY, "toy_ridge")
    assert "toy_ridge" not in learners.LEARNERS and "toy_ridge" not in search.DEFAULT_SPACES
    assert memory.estimate_fit_bytes("toy_ridge", 100, 50) is None
