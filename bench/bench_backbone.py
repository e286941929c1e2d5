"""Benchmark the default workflow on a simulated 2,000 x 20,000 cohort (run by hand, not in CI).

Measures, in one run:
  * wall time and peak RSS of every stage (Snakemake's benchmark files) and of the whole run;
  * munging memory per genotype: peak RSS of build_feature_store on the QC'd SNP set (no
    pruning, no association filter: the largest store this cohort gives) minus the same call on
    10 SNPs (the fixed base: interpreter, libraries, sample tables), over the genotype count;
  * held-out AUC of the workflow's best model, next to the oracle AUC (noise-free liability of
    the same test people) and a plain L1-logistic baseline (trial-0 defaults, no pruning, no
    association filter, every QC'd SNP + covariates) fitted on the same split.

Usage:
    .venv/bin/python bench/bench_backbone.py --out /tmp/bench_backbone [--write-md BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from genoml_core import layout  # noqa: E402
from genoml_core.models import learners  # noqa: E402
from genoml_core.evaluation import metrics  # noqa: E402
from genoml_core.store import FeatureStore  # noqa: E402
from genoml_core.simulate import SimulationSpec, simulate_cohort  # noqa: E402

MARK_START, MARK_END = markers("bench_backbone")

_MUNGE_CHILD = """
import json, resource, sys
import pandas as pd
sys.path.insert(0, {repo!r})
from genoml_core.inputs import load_covariates
from genoml_core.store import build_feature_store
cfg = json.loads({cfg!r})
split = pd.read_csv(cfg["split"], sep="\\t", dtype={{"FID": str, "IID": str}})
build_feature_store(cfg["bfile"], cfg["snplist"], split, cfg["out"], fold="fold0", method="holdout",
                    task="binary", class_names=["control", "case"], covariates=load_covariates(cfg["data"]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _munge_peak_kb(bfile: str, snplist: Path, split: Path, data: dict, out: Path) -> int:
    cfg = json.dumps({"bfile": bfile, "snplist": str(snplist), "split": str(split), "data": data, "out": str(out)})
    code = _MUNGE_CHILD.format(repo=str(REPO), cfg=cfg)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(proc.stdout.strip().splitlines()[-1])


def _stage_table(work: Path) -> pd.DataFrame:
    rows = []
    for f in sorted((work / layout.BENCHMARKS).rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t")
        stage = f.relative_to(work / layout.BENCHMARKS).parts[0].removesuffix(".tsv")
        rows.append({"stage": stage, "s": float(b["s"].iloc[-1]), "max_rss_mb": float(b["max_rss"].iloc[-1])})
    df = pd.DataFrame(rows)
    return df.groupby("stage").agg(jobs=("s", "size"), total_s=("s", "sum"), max_s=("s", "max"),
                                    peak_rss_mb=("max_rss_mb", "max")).reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--n-snps", type=int, default=20000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--write-md", type=Path, default=None, help="update this Markdown file's backbone section")
    args = ap.parse_args()

    out = args.out.resolve()
    cohort = out / "cohort"
    if not (cohort / "cohort.bed").exists():
        simulate_cohort(cohort, SimulationSpec(n_samples=args.n_samples, n_snps=args.n_snps, seed=args.seed))
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    # the default config, every example path pointed at this cohort (predict, explain, groups too)
    def repoint(node):
        if isinstance(node, dict):
            return {k: repoint(v) for k, v in node.items()}
        if isinstance(node, list):
            return [repoint(v) for v in node]
        if isinstance(node, str) and node.startswith("resources/example/"):
            return str(cohort / node.removeprefix("resources/example/"))
        return node

    cfg = repoint(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    for d in (layout.RESULTS, layout.LOGS, layout.BENCHMARKS, ".snakemake"):
        subprocess.run(["rm", "-rf", str(work / d)], check=True)

    snakemake = str(Path(sys.executable).with_name("snakemake"))
    cmd = [snakemake, "-s", str(REPO / "Snakefile"), "--directory", str(work), "--configfile",
           str(work / "config.yaml"), "--cores", str(args.cores), "--quiet", "all"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=work)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stages = _stage_table(work)

    # --- munging memory per genotype: peak RSS at three store sizes in the same run. The slope
    # between the half and the full QC'd SNP set is the per-genotype cost; the 10-SNP call is the
    # fixed base (interpreter, libraries, sample tables).
    qc_snps = work / layout.VARIANTS_SNPLIST.format(fold="fold0")
    all_snps = qc_snps.read_text().split()
    tiny, half = out / "tiny.snplist", out / "half.snplist"
    tiny.write_text("\n".join(all_snps[:10]) + "\n")
    half.write_text("\n".join(all_snps[: len(all_snps) // 2]) + "\n")
    data = cfg["data"]
    split_tsv = work / layout.SPLIT_TABLE
    base_kb = _munge_peak_kb(data["genotypes"], tiny, split_tsv, data, out / "store_tiny")
    half_kb = _munge_peak_kb(data["genotypes"], half, split_tsv, data, out / "store_half")
    full_kb = _munge_peak_kb(data["genotypes"], qc_snps, split_tsv, data, out / "store_full")
    full = FeatureStore(out / "store_full")
    n_geno = full.genotypes.shape[0] * full.genotypes.shape[1]
    n_half = full.genotypes.shape[0] * (len(all_snps) // 2)
    slope = (full_kb - half_kb) * 1024 / (n_geno - n_half)
    bytes_per_genotype = (full_kb - base_kb) * 1024 / n_geno

    # --- baseline: plain L1 logistic on every QC'd SNP + covariates, same split
    tr, te = full.index("train"), full.index("test")
    est = learners.make_learner("logistic_l1", {"C": 0.1}, task="binary", random_state=args.seed)
    tb = time.perf_counter()
    est = learners.fit_learner(est, full.rows(tr), full.labels(tr), task="binary")
    base_fit_s = time.perf_counter() - tb
    base_scores = learners.predict_scores(est, full.rows(te), task="binary")
    base_auc = metrics.compute_metrics("binary", full.labels(te), base_scores)["roc_auc"]

    # --- the workflow's best model and the oracle on the same test people
    result = json.loads((work / layout.EVALUATE_METRICS).read_text())
    pred = pd.read_csv(work / layout.EVALUATE_PREDICTIONS, sep="\t", dtype={"FID": str, "IID": str})
    oracle = pd.read_csv(cohort / "oracle.tsv", sep="\t", dtype={"FID": str, "IID": str})
    both = pred.merge(oracle, on=["FID", "IID"])
    y = (both.observed == "case").astype(int).to_numpy()
    oracle_auc = metrics.compute_metrics("binary", y, 1 / (1 + np.exp(-both.case_control_liability.to_numpy())))[
        "roc_auc"]
    best_auc = result["test"]["roc_auc"]

    lines = [
        MARK_START,
        "## Backbone: the default run on a 2,000 x 20,000 cohort",
        "",
        f"Command: `.venv/bin/python bench/bench_backbone.py --out {args.out} --n-samples {args.n_samples} "
        f"--n-snps {args.n_snps} --cores {args.cores}` "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}). The default `config/config.yaml` (10 classical learners x 4 trials, then "
        "explain, subgroups, report and prediction of the example new cohort), paths pointed at this cohort.",
        "",
        f"- **Whole default run: {wall:.1f} s** wall (target: 150 s); peak RSS of any one process "
        f"{peak_kb / 1024:.0f} MB.",
        f"- **Munging: {slope:.2f} bytes of RAM per genotype** (target: < 2, plus a fixed base): peak RSS "
        f"{base_kb / 1024:.0f} MB with 10 SNPs (the base), {half_kb / 1024:.0f} MB with {len(all_snps) // 2} SNPs, "
        f"{full_kb / 1024:.0f} MB with all {full.genotypes.shape[1]} QC'd SNPs x {full.genotypes.shape[0]} samples "
        f"({n_geno / 1e6:.1f} M genotypes). Slope between the last two: {slope:.2f} B/genotype; everything above "
        f"the base divided by all genotypes (chunk buffers included): {bytes_per_genotype:.2f} B/genotype.",
        f"- **Held-out AUC** (n = {result['n_test']} test people): best model `{result['learner']}` "
        f"**{best_auc:.3f}** (95% CI {result['test_ci95']['roc_auc'][0]:.3f}-{result['test_ci95']['roc_auc'][1]:.3f}); "
        f"plain L1-logistic baseline on all {full.n_features} QC'd features, same split: **{base_auc:.3f}** "
        f"(fit {base_fit_s:.1f} s); oracle (true noise-free liability of the same people): **{oracle_auc:.3f}**.",
        f"- Best >= baseline: {'yes' if best_auc >= base_auc else 'NO'}.",
        "",
        "| stage | jobs | total s | slowest job s | peak RSS MB |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in stages.itertuples():
        lines.append(f"| {r.stage} | {r.jobs} | {r.total_s:.1f} | {r.max_s:.1f} | {r.peak_rss_mb:.0f} |")
    lines += ["", MARK_END]
    section = "\n".join(lines)
    print(section)
    if args.write_md:
        write_section(args.write_md, "bench_backbone", section)


if __name__ == "__main__":
    main()
