"""Benchmark the PyTorch nets against XGBoost and L2-logistic (run by hand, not in CI).

Three datasets, each one workflow run (same split for every learner, chosen on validation):
  * scanpy's pbmc68k_reduced (700 cells x 765 genes, 10 cell types), matrix-only, with the
    embed stage (Res-VAE vs PCA vs t-SNE, Davies-Bouldin on held-out cells);
  * scikit-survival's GSE7390 (198 tumours x 76 genes, ER status), matrix-only;
  * the simulated example genotype cohort (2,000 x 20,000 SNPs, case/control).
Reports held-out metrics of mlp, rfcn_resnet, rfcn_densenet, xgboost and logistic_l2, and the
nets' training throughput (median samples/s over epochs of the chosen trial; CPU here, or the
GPU when torch sees one).

Usage:
    .venv/bin/python bench/bench_nets.py --out /tmp/bench_nets [--trials 3] [--write-md BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import markers, write_section  # noqa: E402
from genoml_core import datasets, persist  # noqa: E402
from genoml_core.simulate import simulate_cohort  # noqa: E402

LEARNERS = ["mlp", "rfcn_resnet", "rfcn_densenet", "xgboost", "logistic_l2"]
NETS = LEARNERS[:3]
MARK_START, MARK_END = markers("bench_nets")


def _run(work: Path, cfg: dict, cores: int) -> float:
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(REPO / "Snakefile"), "--directory",
           str(work), "--configfile", str(work / "config.yaml"), "--cores", str(cores), "--quiet", "all"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=work)
    return time.perf_counter() - t0


def _throughput(work: Path, learner: str, trial: int) -> tuple[float, str]:
    est, _ = persist.load_model(work / f"results/train/{learner}/trial_{trial}/model_fold0.zip")
    rates = [h["samples_per_s"] for h in est.history_ if "samples_per_s" in h]
    return float(np.median(rates)), str(est.device_)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--write-md", type=Path, default=None)
    args = ap.parse_args()
    out = args.out.resolve()
    train = {"learners": LEARNERS, "n_trials": args.trials}
    runs: dict[str, tuple[str, dict]] = {}
    pb = datasets.export_pbmc68k(out / "data")
    runs["pbmc68k_reduced (10 cell types)"] = ("multiclass", {
        "data": {"genotypes": None, "omics": pb["matrix"], "phenotype": pb["labels"], "phenotype_column": pb["column"]},
        "embed": {"enabled": True, "n_trials": args.trials}})
    ge = datasets.export_gse7390(out / "data")
    runs["GSE7390 (ER status)"] = ("binary", {
        "data": {"genotypes": None, "omics": ge["matrix"], "phenotype": ge["labels"], "phenotype_column": ge["column"]}})
    cohort = out / "cohort"
    if not (cohort / "cohort.bed").exists():
        simulate_cohort(cohort, seed=args.seed)
    runs["example genotype cohort (case/control)"] = ("binary", {
        "data": {"genotypes": str(cohort / "cohort"), "phenotype": str(cohort / "phenotype.tsv"),
                 "phenotype_column": "case_control", "covariates": str(cohort / "covariates.tsv")}})

    lines = [MARK_START, "## Deep models vs XGBoost and L2-logistic", "",
             f"Command: `.venv/bin/python bench/bench_nets.py --out {args.out} --trials {args.trials} "
             f"--cores {args.cores}` ({platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}). "
             f"Each dataset is one workflow run: every learner gets {args.trials} trials, the same split, and is "
             "chosen on validation; the test columns are the held-out set, scored once per learner.", ""]
    embed_rows = []
    for name, (task, extra) in runs.items():
        work = out / name.split()[0].replace("/", "_")
        cfg = {"seed": args.seed, "task": task, "split": {"valid_fraction": 0.15, "test_fraction": 0.2},
               "train": train, "evaluate": {"n_bootstrap": 200}, **extra}
        wall = _run(work, cfg, args.cores)
        board = pd.read_csv(work / "results/leaderboard.tsv", sep="\t").set_index("learner")
        metric = "roc_auc" if task == "binary" else "accuracy"
        other = "pr_auc" if task == "binary" else "balanced_accuracy"
        n_test = json.loads((work / "results/evaluate/metrics.json").read_text())["n_test"]
        lines += [f"**{name}**: {n_test} test samples, whole run {wall:.0f} s.", "",
                  f"| learner | valid {metric} | test {metric} | test {other} | fit s | train samples/s |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for learner in LEARNERS:
            r = board.loc[learner]
            rate = ""
            if learner in NETS:
                sps, device = _throughput(work, learner, int(r.best_trial))
                rate = f"{sps:,.0f} ({device})"
            lines.append(f"| {learner} | {r[f'valid_{metric}']:.3f} | {r[f'test_{metric}']:.3f} | "
                         f"{r[f'test_{other}']:.3f} | {r.fit_seconds:.1f} | {rate} |")
        lines.append("")
        summary = work / "results/embed/summary.json"
        if summary.exists():
            for method, e in json.loads(summary.read_text())["methods"].items():
                embed_rows.append(f"| {name} | {method} | {e['d_latent']} | {e['davies_bouldin_heldout']:.2f} | "
                                  f"{e.get('recon_mse_heldout', float('nan')):.3f} |")
    lines += ["**Embeddings** (Davies-Bouldin index of the held-out cells' latent space against the cell types: "
              "lower is better separated; reconstruction MSE on standardised held-out values):", "",
              "| dataset | method | dims | Davies-Bouldin | reconstruction MSE |", "| --- | --- | --- | --- | --- |",
              *embed_rows, "", MARK_END]
    section = "\n".join(lines)
    print(section)
    if args.write_md:
        write_section(args.write_md, "bench_nets", section)


if __name__ == "__main__":
    main()
