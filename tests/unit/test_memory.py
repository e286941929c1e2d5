"""Memory estimates before in-memory fits: a clear early error instead of the OOM killer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from genoml_core import memory
from genoml_core.tuning import search, tune
from genoml_core.memory import MemoryBudgetError, check_fit_memory, estimate_fit_bytes


def test_estimate_is_linear_in_values_and_none_for_streaming_learners():
    a = estimate_fit_bytes("logistic_l2", 1000, 1000)
    b = estimate_fit_bytes("logistic_l2", 2000, 1000)
    c = estimate_fit_bytes("logistic_l2", 2000, 2000)
    assert (b - a) / 1e6 == pytest.approx((c - b) / 2e6, rel=1e-9) and b > a  # bytes per added value
    assert estimate_fit_bytes("lda", 1000, 4000) > estimate_fit_bytes("lda", 4000, 1000)  # p^2 covariance
    for name in ("logistic_l1_sgd", "logistic_l2_sgd", "linear_sgd", "mlp", "rfcn_resnet"):
        assert estimate_fit_bytes(name, 10**6, 10**6) is None
        assert check_fit_memory(name, 10**6, 10**6, budget=(1, "test")) is None


def test_over_budget_fails_naming_the_settings_to_change():
    with pytest.raises(MemoryBudgetError) as err:
        check_fit_memory("xgboost", 40_000, 50_000, budget=(16 * 2**30, "the job's cgroup memory limit"))
    msg = str(err.value)
    assert "'xgboost'" in msg and "40,000 training samples x 50,000 features" in msg
    assert "assoc_filter.top_k" in msg and "logistic_l1_sgd" in msg and "cgroup" in msg
    # the suggested cap does fit
    k = int(msg.split("top_k to at most ")[1].split(" ")[0].replace(",", ""))
    assert 0 < k < 50_000
    assert check_fit_memory("xgboost", 40_000, k, budget=(16 * 2**30, "x")) <= 16 * 2**30
    assert check_fit_memory("xgboost", 400, 1000, budget=(16 * 2**30, "x")) is not None


def test_budget_honours_the_environment_and_real_memory(monkeypatch):
    monkeypatch.setenv("GENOML_MEM_MB", "1234")
    limit, source = memory.job_memory_budget()
    assert limit == 1234 * 2**20 and "GENOML_MEM_MB" in source
    monkeypatch.delenv("GENOML_MEM_MB")
    limit, source = memory.job_memory_budget()
    assert 0 < limit < 1 << 50 and source


def test_trial_stops_before_loading_data_and_writes_nothing(tmp_path, monkeypatch):
    from tests.unit.test_outofcore import _store

    st = _store(tmp_path, n=300, m=50)
    monkeypatch.setenv("GENOML_MEM_MB", "100")  # below the 600 MB base of any in-memory fit

    def no_rows(*a, **k):
        raise AssertionError("the store's rows were loaded before the memory check")

    monkeypatch.setattr(type(st), "rows", no_rows)
    out = tmp_path / "trial"
    with pytest.raises(MemoryBudgetError, match="logistic_l2.*assoc_filter.top_k"):
        tune.run_trial({"fold0": st.directory}, learner="logistic_l2", trial=0,
                       space=search.DEFAULT_SPACES["logistic_l2"], seed=1, task="binary", class_weight="balanced",
                       threads=1, model_paths={"fold0": out / "model_fold0.zip"}, metrics_path=out / "metrics.json")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("name", ["logistic_l1", "ridge"])
def test_estimate_is_not_below_the_measured_peak(name):
    """A real fit in a fresh process peaks below the estimate (bench/bench_fit_memory.py has all)."""
    child = textwrap.dedent(f"""
        import json
        import numpy as np
        from genoml_core.models import learners
        from genoml_core.memory import estimate_fit_bytes
        n, p, task = 1500, 4000, {"'continuous'" if name == "ridge" else "'binary'"}
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p), dtype=np.float32)
        y = X[:, 0] + rng.standard_normal(n)
        y = y if task == "continuous" else (y > 0).astype(np.int64)
        est = learners.make_learner({name!r}, {{}}, task=task, random_state=0)
        learners.fit_learner(est, X, y, task=task)
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
        hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
        print(json.dumps({{"peak": hwm,
                          "estimate": estimate_fit_bytes({name!r}, n, p)}}))
    """)
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["peak"] <= r["estimate"], r
