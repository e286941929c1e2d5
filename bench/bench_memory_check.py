"""The memory check of in-memory learners on a biobank-size store: how fast and how clearly a
train job that cannot fit stops (run after bench_scale.py, on its workflow's feature store).

    .venv/bin/python bench/bench_memory_check.py /tmp/bench_scale/pipeline_50000x100000/results/munge/fold0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genoml_core.tuning import search, tune  # noqa: E402
from genoml_core.memory import MemoryBudgetError, job_memory_budget  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", help="a munge output folder (recipe.json, genotypes.npy)")
    ap.add_argument("--learners", nargs="+", default=["logistic_l1", "xgboost", "svm_linear"])
    args = ap.parse_args()
    limit, source = job_memory_budget()
    print(f"budget {limit / 2**30:.2f} GiB ({source})")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.learners:
            t = time.perf_counter()
            try:
                tune.run_trial({"fold0": args.store}, learner=name, trial=0, space=search.DEFAULT_SPACES[name], seed=42,
                               task="binary", class_weight="balanced", threads=1,
                               model_paths={"fold0": Path(tmp) / f"{name}.zip"})
                print(f"| {name} | fitted (the estimate was within the budget) | {time.perf_counter() - t:.1f} |")
            except MemoryBudgetError as e:
                hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
                print(f"| {name} | {e} | {time.perf_counter() - t:.2f} | {hwm // 1024} |")


if __name__ == "__main__":
    main()
