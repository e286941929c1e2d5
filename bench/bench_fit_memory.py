"""Peak memory of each in-memory classical learner's fit, against genoml_core.memory's estimate.

Each (learner, size) is fitted in a fresh subprocess on standardized dosage-like float32 rows
(as ``FeatureStore.rows`` gives them) with a binary phenotype (a continuous one for the
regressors); the process's own peak RSS (``VmHWM``) is compared with
``genoml_core.memory.estimate_fit_bytes``. The learner's bytes per value is the slope of the
peak between two sizes (the fixed base cancels), the number the estimate's table should not be
below.

    .venv/bin/python bench/bench_fit_memory.py                      # writes BENCHMARKS.md
    .venv/bin/python bench/bench_fit_memory.py --no-write --learners logistic_l1 ridge
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import json, sys, time
import numpy as np
from genoml_core.models import learners
name, task, n, p = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
X = np.empty((n, p), dtype=np.float32)  # filled in blocks: no float64 temporary of all values
for j in range(0, p, 500):
    block = X[:, j : j + 500]
    block[:] = rng.binomial(2, 0.3, size=block.shape)
    block -= 0.6
    block /= 0.648
lin = X[:, :20].astype(np.float64).sum(axis=1) * 0.3
y = lin + rng.normal(size=n) if task == "continuous" else (lin + rng.logistic(size=n) > 0).astype(np.int64)
params = {"n_estimators": 100} if name in ("random_forest", "extra_trees", "xgboost") else {}
est = learners.make_learner(name, params, task=task, random_state=0, n_jobs=1)
Xv, yv = X[: n // 8], y[: n // 8]
t = time.perf_counter()
learners.fit_learner(est, X, y, task=task, X_valid=Xv, y_valid=yv)
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
print(json.dumps({"peak": hwm,
                  "fit_s": time.perf_counter() - t}))
"""


def _run(name: str, task: str, n: int, p: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, task, str(n), str(p)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT,
    )
    if out.returncode:
        raise SystemExit(f"{name} n={n} p={p} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from genoml_core.memory import FIT_BYTES_PER_VALUE, estimate_fit_bytes

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learners", nargs="*", default=list(FIT_BYTES_PER_VALUE))
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--features", type=int, nargs=2, default=[2000, 8000])
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    regressors = {"ridge", "lasso", "elastic_net", "svr", "svr_linear"}
    n = args.rows
    p1, p2 = args.features
    rows = []
    t0 = time.perf_counter()
    for name in args.learners:
        task = "continuous" if name in regressors else "binary"
        a, b = _run(name, task, n, p1), _run(name, task, n, p2)
        slope = (b["peak"] - a["peak"]) / (n * (p2 - p1))
        params = {"n_estimators": 100} if name in ("random_forest", "extra_trees", "xgboost") else {}
        n_rows = n + (n // 8 if name == "xgboost" else 0)
        est = estimate_fit_bytes(name, n_rows, p2, params=params)
        rows.append({"learner": name, "measured_bpv": slope, "table_bpv": FIT_BYTES_PER_VALUE[name],
                     "peak_mb": b["peak"] / 2**20, "estimate_mb": est / 2**20, "fit_s": b["fit_s"],
                     "ok": est >= b["peak"]})
        r = rows[-1]
        print(f"{name:20s} measured {slope:6.1f} B/value (table {r['table_bpv']:4.0f}); n={n} p={p2}: "
              f"peak {r['peak_mb']:7.0f} MB, estimate {r['estimate_mb']:7.0f} MB, fit {r['fit_s']:.1f} s "
              f"{'ok' if r['ok'] else 'UNDER-ESTIMATE'}", flush=True)
    if args.no_write:
        return
    from _markdown import markers, write_section

    cmd = "`.venv/bin/python bench/bench_fit_memory.py`"
    lines = [
        f"Command: {cmd} ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"{time.perf_counter() - t0:.0f} s). Each fit runs in a fresh process on {n:,} rows of standardized "
        f"dosages (float32, as the feature store gives them), at {p1:,} and {p2:,} features; *measured* is the "
        f"slope of the peak RSS between the two sizes in bytes per value (rows x features), *table* the figure "
        f"`genoml_core.memory` uses; *estimate* its whole-job estimate (600 MB base + table x values + "
        f"learner terms) at {p2:,} features, which must not be below the measured peak. Tree ensembles use "
        f"100 trees here.",
        "",
        "| learner | measured B/value | table B/value | peak RSS MB | estimate MB | fit s | estimate >= peak |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['learner']} | {r['measured_bpv']:.1f} | {r['table_bpv']:.0f} | {r['peak_mb']:.0f} | "
                     f"{r['estimate_mb']:.0f} | {r['fit_s']:.1f} | {'yes' if r['ok'] else '**no**'} |")
    start, end = markers("bench_fit_memory")
    section = "\n".join([start, "## Memory estimates of in-memory learners", "", *lines, end])
    write_section(ROOT / "BENCHMARKS.md", "bench_fit_memory", section)


if __name__ == "__main__":
    main()
