#!/usr/bin/env bash
# GPU check, ready to run as it is on any machine whose torch sees a CUDA GPU (CI never has one):
#   1. every CUDA-only test (pytest marker `gpu`: nets on cuda, mixed precision, TabM, RRFCN,
#      device choice), which are skipped on CPU-only machines;
#   2. every torch net's training throughput (samples/s) on the GPU and on the CPU of the same
#      machine, through the workflow's own estimators (bench/bench_net_speed.py).
#
# Usage (from anywhere; results under $OUT, default ./gpu_check_out):
#   bench/gpu_check.sh                    # uses .venv/bin/python (make setup), else python3
#   PYTHON=/path/to/python OUT=/tmp/gpu bench/gpu_check.sh
#   SPEED_ARGS="--n 50000 --p 2000" bench/gpu_check.sh
# Exit status: 0 when CUDA was found and every GPU test passed; non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [[ -z "${PY}" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
OUT="${OUT:-gpu_check_out}"
mkdir -p "${OUT}"

"${PY}" - <<'EOF' | tee "${OUT}/device.txt"
import torch
if not torch.cuda.is_available():
    raise SystemExit(f"torch {torch.__version__} sees no CUDA GPU (CUDA build: {torch.version.cuda}); "
                     "install a CUDA build of torch, or run on a GPU node")
p = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): {p.name}, "
      f"{p.total_memory / 2**30:.0f} GiB, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
EOF

echo "== CUDA-only tests (pytest -m gpu)"
"${PY}" -m pytest -q -m gpu -p no:cacheprovider --junitxml="${OUT}/gpu_tests.xml" tests/unit 2>&1 | tee "${OUT}/gpu_tests.log"
status=${PIPESTATUS[0]}

echo "== training throughput, GPU and CPU"
# shellcheck disable=SC2086  # SPEED_ARGS is a list of options
"${PY}" bench/bench_net_speed.py --out "${OUT}" --devices cuda cpu ${SPEED_ARGS:-} 2>&1 | tee "${OUT}/net_speed.log"

echo "== results in ${OUT}: device.txt gpu_tests.xml gpu_tests.log net_speed.json net_speed.md"
exit "${status}"
