"""bench/gpu_check.sh, the GPU check that CI (CPU-only) cannot run: what a CPU machine can check of
it. It refuses at once, with the fix, where torch sees no GPU; its throughput half
(bench/bench_net_speed.py) measures every net and skips a device torch does not see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def test_the_script_parses():
    assert subprocess.run(["bash", "-n", str(REPO / "bench/gpu_check.sh")]).returncode == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: run bench/gpu_check.sh itself")
def test_without_a_gpu_it_stops_before_any_test_and_says_what_to_install(tmp_path):
    out = tmp_path / "gpu_out"
    proc = subprocess.run(["bash", str(REPO / "bench/gpu_check.sh")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHON": sys.executable, "OUT": str(out)})
    assert proc.returncode != 0
    assert "sees no CUDA GPU" in proc.stderr and "install a CUDA build of torch" in proc.stderr, proc.stderr
    assert "CUDA-only tests" not in proc.stdout  # stopped at the device check
    assert sorted(p.name for p in out.iterdir()) == ["device.txt"]


def test_the_throughput_half_measures_every_net_and_skips_a_missing_gpu(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_net_speed.py"), "--out", str(tmp_path), "--devices", "cpu", "cuda",
         "--n", "96", "--p", "12", "--epochs", "2", "--threads", "1"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "net_speed.json").read_text())
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_net_speed
    finally:
        sys.path.remove(str(REPO / "bench"))
    expected = [n for n in bench_net_speed.NETS if n != "rrfcn"]  # rrfcn's wiring comes from the search
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    assert [(r["net"], r["device"].split(":")[0]) for r in result["rows"]] == [(n, d) for d in devices for n in expected]
    assert all(r["samples_per_s"] > 0 and r["epochs"] == 2 for r in result["rows"])
    if not torch.cuda.is_available():
        assert "cuda: torch sees no GPU; skipped" in proc.stdout
    assert (tmp_path / "net_speed.md").read_text().count("\n") == len(expected) * len(devices) + 2
