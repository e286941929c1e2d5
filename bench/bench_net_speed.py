"""Training throughput of every torch net (samples/s), on the CPU and, when torch sees one, the GPU.

Each net is trained with its search space's defaults (the workflow's trial 0) for a fixed number
of epochs (no early stopping) on a synthetic standardized genotype matrix, through the same
estimators and training loop as the workflow (``genoml_core.models.estimators.make_net``). The figure is
the median over epochs of the loop's own ``samples_per_s`` (training rows per second of the
epoch's optimisation, validation excluded), so the first epoch's warm-up does not count. Res-VAE
(the embed stage) is measured the same way.

Usage:
    .venv/bin/python bench/bench_net_speed.py --out /tmp/net_speed [--devices cpu cuda] [--n 10000 --p 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genoml_core.models.estimators import NET_ARCHS, ResVAEEmbedder, make_net  # noqa: E402

NETS = [a for a in NET_ARCHS] + ["res_vae"]


def _data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.5, size=p)
    g = rng.binomial(2, freq, size=(n, p)).astype(np.float32)
    X = (g - 2 * freq) / np.sqrt(2 * freq * (1 - freq))
    beta = np.zeros(p)
    beta[: max(1, p // 50)] = rng.normal(size=max(1, p // 50))
    y = (X @ beta + rng.normal(size=n) > 0).astype(int)
    return X.astype(np.float32), y


def measure(arch: str, device: str, X: np.ndarray, y: np.ndarray, epochs: int, threads: int) -> dict[str, Any]:
    fixed = {"max_epochs": epochs, "patience": epochs + 1}
    t0 = time.perf_counter()
    if arch == "res_vae":
        est: Any = ResVAEEmbedder(params={**fixed, "kl_warmup_epochs": 0}, random_state=0, n_threads=threads,
                                  device=device).fit(X)
    else:
        est = make_net(arch, fixed, task="binary", random_state=0, n_threads=threads, device=device).fit(X, y)
    wall = time.perf_counter() - t0
    rates = [h["samples_per_s"] for h in est.history_ if "samples_per_s" in h]
    return {"net": arch, "device": str(est.device_), "samples_per_s": float(np.median(rates[1:] or rates)),
            "epochs": len(est.history_), "wall_s": wall, "n_params": int(sum(p.numel() for p in est.module_.parameters()))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"], choices=["cpu", "cuda"])
    ap.add_argument("--nets", nargs="+", default=NETS, choices=NETS)
    ap.add_argument("--n", type=int, default=10_000, help="training rows (10%% more are held out for validation)")
    ap.add_argument("--p", type=int, default=1_000, help="features (the compact set's size)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    X, y = _data(args.n, args.p, seed=0)
    rows = []
    for device in args.devices:
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: torch sees no GPU; skipped", flush=True)
            continue
        for arch in args.nets:
            if arch == "rrfcn":
                continue  # its wiring comes from the architecture search (bench_rrfcn.py)
            r = measure(arch, device, X, y, args.epochs, args.threads)
            rows.append(r)
            print(f"{r['net']:>14} {r['device']:>6}: {r['samples_per_s']:>12,.0f} samples/s "
                  f"({r['n_params']:,} parameters, {r['wall_s']:.1f} s for {r['epochs']} epochs)", flush=True)
    info = {"n": args.n, "p": args.p, "epochs": args.epochs, "threads": args.threads, "python": platform.python_version(),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "command": " ".join(["bench/bench_net_speed.py", *(argv if argv is not None else sys.argv[1:])])}
    (args.out / "net_speed.json").write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    lines = ["| net | device | samples/s | parameters |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['net']} | {r['device']} | {r['samples_per_s']:,.0f} | {r['n_params']:,} |" for r in rows]
    (args.out / "net_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
