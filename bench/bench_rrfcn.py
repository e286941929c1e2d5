"""Benchmark the RRFCN architecture search against RFCN-ResNet and XGBoost (run by hand, not in CI).

One run, three datasets, each with one fixed stratified train/valid/test split:

* ``pbmc68k_reduced``: scanpy's bundled 700 cells x 765 genes, 10 ``bulk_labels`` classes
  (multiclass, macro one-vs-rest ROC AUC);
* ``GSE7390``: scikit-survival's bundled breast-cancer expression set, 198 tumours x 76 genes,
  label = ER status (binary ROC AUC);
* ``example_cohort``: the workflow's example genotypes (``resources/example``; simulated with
  ``genoml-simulate --seed 42`` when absent), 2,000 people; the 1,000 SNPs most correlated with
  case status in the TRAINING rows plus sex and age (no PLINK QC or LD pruning here).

Features are standardised with training statistics only. Methods, each choosing among 5 trained
candidates on validation and scored once on test:

* ``rrfcn_controller``: search with the ENAS controller (workflow defaults of ``nas:``, except
  ``supernet_epochs`` raised so the shared weights get at least 100 SGD steps), then the top 5
  architectures retrained from scratch (``nas.retrain`` defaults);
* ``rrfcn_random``: the same with the uniform sampler;
* ``rfcn_resnet``: trials 0-4 of its default search space;
* ``xgboost``: trials 0-4 of its default search space (early stopping on validation).

For both searches it also reports Kendall's tau between the supernet scores of the top 5 and
their retrained validation scores. Data are read from the installed packages (never copied).

Usage:
    .venv/bin/pip install scanpy scikit-survival      # the expression data sets ship in these wheels
    .venv/bin/python bench/bench_rrfcn.py --out /tmp/bench_rrfcn [--write-md BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau
from sklearn.model_selection import train_test_split

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genoml_core.models import learners  # noqa: E402
from genoml_core.evaluation import metrics  # noqa: E402
from genoml_core.tuning import search  # noqa: E402
from genoml_core.models.estimators import make_net  # noqa: E402
from genoml_core.models.nas import NASConfig, run_search  # noqa: E402
from genoml_core.tuning.net_spaces import NET_SPACES  # noqa: E402
from genoml_core.runtime import resolve_device, set_threads  # noqa: E402
from genoml_core.tuning.tune import trial_random_state  # noqa: E402

log = logging.getLogger("bench_rrfcn")
MARK_START = "<!-- bench_rrfcn:start -->"
MARK_END = "<!-- bench_rrfcn:end -->"
N_CANDIDATES = 5
METHODS = ("rrfcn_controller", "rrfcn_random", "rfcn_resnet", "xgboost")


# ----------------------------------------------------------------------------- data
def load_pbmc() -> dict[str, Any]:
    import scanpy as sc

    adata = sc.datasets.pbmc68k_reduced()
    labels = adata.obs["bulk_labels"].astype(str).to_numpy()
    classes, y = np.unique(labels, return_inverse=True)
    return {"task": "multiclass", "X": np.asarray(adata.X, dtype=np.float32), "y": y, "classes": classes.tolist(),
            "source": f"scanpy {sc.__version__} datasets.pbmc68k_reduced(), label bulk_labels (its X ships "
                      "already scaled over all 700 cells; re-standardised on training rows here)"}  # fmt: skip


def load_gse7390() -> dict[str, Any]:
    import sksurv
    from sksurv.datasets import load_breast_cancer

    X, _ = load_breast_cancer()
    y = (X["er"].astype(str) == "positive").astype(int).to_numpy()
    genes = [c for c in X.columns if c not in ("age", "er", "grade", "size")]
    return {"task": "binary", "X": X[genes].to_numpy(dtype=np.float32), "y": y, "classes": ["negative", "positive"],
            "source": f"scikit-survival {sksurv.__version__} datasets.load_breast_cancer() (GSE7390), "
                      "76 genes, label er"}  # fmt: skip


def load_example_cohort(out: Path, n_snps: int = 1000) -> dict[str, Any]:
    from genoml_core import io
    from genoml_core.simulate import SimulationSpec, simulate_cohort

    root = REPO / "resources" / "example"
    if not (root / "cohort.bed").exists():
        root = out / "example"
        if not (root / "cohort.bed").exists():
            simulate_cohort(root, SimulationSpec(seed=42))
    fam = io.read_fam(root / "cohort")
    pheno = pd.read_csv(root / "phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    covar = pd.read_csv(root / "covariates.tsv", sep="\t", dtype={"FID": str, "IID": str})
    table = fam[["FID", "IID"]].merge(pheno, on=["FID", "IID"], how="left").merge(covar, on=["FID", "IID"], how="left")
    keep = table["case_control"].notna().to_numpy()
    G = io.read_genotypes(root / "cohort", engine="lut")[keep]
    table = table[keep].reset_index(drop=True)
    return {"task": "binary", "G": G, "covariates": table[["sex", "age"]].to_numpy(dtype=np.float64),
            "y": table["case_control"].astype(int).to_numpy(), "classes": ["control", "case"], "n_snps": n_snps,
            "source": f"{root.relative_to(REPO) if root.is_relative_to(REPO) else root} (genoml_core.simulate, "
                      f"seed 42), top {n_snps} SNPs by training |r| with the label + sex, age"}  # fmt: skip


def split(y: np.ndarray, seed: int, valid: float, test: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(len(y))
    rest, te = train_test_split(idx, test_size=test, stratify=y, random_state=seed)
    tr, va = train_test_split(rest, test_size=valid / (1 - test), stratify=y[rest], random_state=seed)
    return np.sort(tr), np.sort(va), np.sort(te)


def standardise(X: np.ndarray, tr: np.ndarray) -> np.ndarray:
    mean, sd = X[tr].mean(0), X[tr].std(0)
    return ((X - mean) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def genotype_features(d: dict[str, Any], tr: np.ndarray) -> np.ndarray:
    """Train-only SNP selection (top |r| with the label) and scaling; missing calls -> training mean."""
    G, y = d["G"], d["y"]
    obs = G[tr] >= 0
    mean = np.where(obs, G[tr], 0).sum(0) / np.maximum(obs.sum(0), 1)
    Xtr = np.where(obs, G[tr], mean).astype(np.float64)
    sd = Xtr.std(0)
    r = np.abs(((Xtr - Xtr.mean(0)) * (y[tr] - y[tr].mean())[:, None]).mean(0) / np.where(sd > 0, sd, np.inf))
    cols = np.sort(np.argsort(-r, kind="stable")[: d["n_snps"]])
    X = np.where(G[:, cols] >= 0, G[:, cols], mean[cols]).astype(np.float64)
    return np.hstack([standardise(X, tr), standardise(d["covariates"], tr)])


# ----------------------------------------------------------------------------- methods
def _score(task: str, y: np.ndarray, scores: np.ndarray, k: int) -> float:
    return float(metrics.compute_metrics(task, y, scores, n_classes=k)[metrics.SELECTION_METRIC[task]])


def _fit_eval(est: Any, data: dict[str, Any], fit: Callable[[Any], Any]) -> dict[str, float]:
    t0 = time.perf_counter()
    fit(est)
    task, k, X, y = data["task"], data["k"], data["X"], data["y"]
    out = {"fit_seconds": time.perf_counter() - t0}
    for part in ("valid", "test"):
        idx = data[part]
        out[part] = _score(task, y[idx], learners.predict_scores(est, X[idx], task=task, n_classes=k), k)
    return out


def _net_fit(data: dict[str, Any]) -> Callable[[Any], Any]:
    X, y, tr, va = data["X"], data["y"], data["train"], data["valid"]
    return lambda est: est.fit(X[tr], y[tr], X[va], y[va])


def run_rrfcn(data: dict[str, Any], sampler: str, seed: int, threads: int) -> dict[str, Any]:
    X, y, tr, va = data["X"], data["y"], data["train"], data["valid"]
    base = NASConfig()
    epochs = max(base.supernet_epochs, math.ceil(100 / math.ceil(len(tr) / base.batch_size)))
    cfg = NASConfig(sampler=sampler, supernet_epochs=epochs)
    t0 = time.perf_counter()
    result = run_search(X[tr], y[tr], X_valid=X[va], y_valid=y[va], task=data["task"], config=cfg, seed=seed,
                        device=resolve_device("auto"), n_classes=data["k"])  # fmt: skip
    search_s = time.perf_counter() - t0
    trials = []
    for t, entry in enumerate(result.top):
        params = {"arch_json": json.dumps(entry["architecture"]), **cfg.retrain}
        est = make_net("rrfcn", params, task=data["task"], random_state=trial_random_state(seed, "rrfcn", t),
                       n_threads=threads)  # fmt: skip
        row = _fit_eval(est, data, _net_fit(data))
        trials.append({**row, "architecture": entry["describe"], "supernet_score": entry["supernet_score"],
                       "n_params": entry["n_params"]})  # fmt: skip
        log.info("%s %s trial %d %s: supernet %.4f valid %.4f test %.4f", data["name"], sampler, t,
                 entry["describe"], entry["supernet_score"], row["valid"], row["test"])  # fmt: skip
    tau = kendalltau([r["supernet_score"] for r in trials], [r["valid"] for r in trials])
    best = max(trials, key=lambda r: r["valid"])
    return {"valid": best["valid"], "test": best["test"], "winner": best["architecture"],
            "winner_params": best["n_params"], "seconds": search_s + sum(r["fit_seconds"] for r in trials),
            "search_seconds": search_s, "supernet_epochs": epochs, "budget": cfg.budget,
            "kendall_tau": None if math.isnan(tau.statistic) else float(tau.statistic),
            "kendall_p": None if math.isnan(tau.pvalue) else float(tau.pvalue), "trials": trials,
            "curve": [round(r["reward"], 4) for r in result.curve]}  # fmt: skip


def run_trials(data: dict[str, Any], name: str, seed: int, threads: int) -> dict[str, Any]:
    trials = []
    for t in range(N_CANDIDATES):
        rs = trial_random_state(seed, name, t)
        if name == "rfcn_resnet":
            params = search.sample_params(NET_SPACES[name], seed=seed, arch=name, trial=t)
            est = make_net(name, params, task=data["task"], random_state=rs, n_threads=threads)
            fit = _net_fit(data)
        else:
            params = search.sample_params(search.DEFAULT_SPACES[name], seed=seed, arch=name, trial=t)
            est = learners.make_learner(name, params, task=data["task"], random_state=rs, n_jobs=threads)
            X, y, tr, va = data["X"], data["y"], data["train"], data["valid"]

            def fit(e: Any) -> Any:
                return learners.fit_learner(e, X[tr], y[tr], task=data["task"], X_valid=X[va], y_valid=y[va])

        trials.append({**_fit_eval(est, data, fit), "params": params})
        log.info("%s %s trial %d: valid %.4f test %.4f", data["name"], name, t, trials[-1]["valid"], trials[-1]["test"])
    best = max(trials, key=lambda r: r["valid"])
    return {"valid": best["valid"], "test": best["test"], "seconds": sum(r["fit_seconds"] for r in trials),
            "trials": trials}  # fmt: skip


# ----------------------------------------------------------------------------- report
def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        MARK_START,
        "## RRFCN architecture search",
        "",
        f"`{report['command']}` on {env['machine']}, torch {env['torch']} ({env['device']}, "
        f"{env['threads']} threads), seed {report['seed']}, {report['seconds']:.0f} s in all. "
        "Each method picks the best of 5 trained candidates on validation; test is scored once. "
        "RRFCN: the workflow's `nas:` defaults (6 layers, widths 16-2048, budget 20, top 5), "
        "supernet epochs raised to >= 100 SGD steps; the 5 retrains use `nas.retrain` defaults.",
        "",
        "| dataset | n train/valid/test | features | metric | method | valid | test | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ds in report["datasets"].items():
        for method in METHODS:
            r = ds["methods"][method]
            lines.append(
                f"| {name} | {ds['n_train']}/{ds['n_valid']}/{ds['n_test']} | {ds['n_features']} | {ds['metric']} "
                f"| {method} | {r['valid']:.3f} | {r['test']:.3f} | {r['seconds']:.0f} |"
            )
    lines += [
        "",
        "Searches: the winner (best retrained architecture on validation; `width+skip inputs` per layer, "
        "node 0 = input) and Kendall's tau between the 5 supernet scores and the 5 retrained validation "
        "scores (the weight-sharing proxy's ranking quality; with n = 5, read the sign, not the p-value).",
        "",
        "| dataset | sampler | search s | winner | winner params | tau | p |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ds in report["datasets"].items():
        for method in ("rrfcn_controller", "rrfcn_random"):
            r = ds["methods"][method]
            tau = "n/a" if r["kendall_tau"] is None else f"{r['kendall_tau']:+.2f}"
            p = "n/a" if r["kendall_p"] is None else f"{r['kendall_p']:.2f}"
            lines.append(f"| {name} | {method.split('_')[1]} | {r['search_seconds']:.0f} | `{r['winner']}` "
                         f"| {r['winner_params']:,} | {tau} | {p} |")  # fmt: skip
    diffs = ", ".join(
        f"{n} {ds['methods']['rrfcn_controller']['test'] - ds['methods']['rrfcn_random']['test']:+.3f}"
        for n, ds in report["datasets"].items()
    )
    best = ", ".join(
        f"{n}: {max(METHODS, key=lambda m: ds['methods'][m]['test'])}" for n, ds in report["datasets"].items()
    )
    load = env.get("load_average")
    lines += [
        "",
        f"Controller minus random sampler, test: {diffs}. Best on test: {best}. One seed and test sets of "
        "40-198 samples: differences below about 0.03 AUC are within noise. Seconds are wall time on a shared "
        "machine" + (f" ({load})" if load else "") + "; they include the search and all 5 retrains.",
        "",
        "Data: " + "; ".join(f"{n}: {ds['source']}" for n, ds in report["datasets"].items()) + ".",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def write_md(path: Path, text: str) -> None:
    """Replace this benchmark's section (between its markers) or append it; other sections stay."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _markdown import write_section

    write_section(path, "bench_rrfcn", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json and the log")
    parser.add_argument("--seed", type=int, default=42, help="split, search and trial seed")
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1), help="torch/XGBoost threads")
    parser.add_argument("--datasets", nargs="+", default=["pbmc68k_reduced", "GSE7390", "example_cohort"])
    parser.add_argument("--write-md", type=Path, default=None, help="update this file's RRFCN section")
    parser.add_argument("--render", type=Path, default=None, help="only re-render the section from a results.json")
    args = parser.parse_args(argv)
    if args.render:
        text = markdown(json.loads(args.render.read_text()))
        print(text)
        if args.write_md:
            write_md(args.write_md, text)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "bench.log")])  # fmt: skip
    for name in ("genoml_core.models.training", "genoml_core.runtime"):
        logging.getLogger(name).setLevel(logging.WARNING)
    set_threads(args.threads)
    t_all = time.perf_counter()
    loaders = {"pbmc68k_reduced": load_pbmc, "GSE7390": load_gse7390,
               "example_cohort": lambda: load_example_cohort(args.out)}  # fmt: skip
    report: dict[str, Any] = {
        "command": "python bench/bench_rrfcn.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed,
        "environment": {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch": torch.__version__,
                        "device": str(resolve_device("auto")), "threads": args.threads,
                        "python": platform.python_version()},  # fmt: skip
        "datasets": {},
    }
    for name in args.datasets:
        d = loaders[name]()
        tr, va, te = split(d["y"], args.seed, valid=0.2 if name != "example_cohort" else 0.1,
                           test=0.2 if name != "example_cohort" else 0.1)  # fmt: skip
        X = genotype_features(d, tr) if "G" in d else standardise(d["X"], tr)
        k = len(d["classes"])
        data = {"name": name, "task": d["task"], "X": X, "y": d["y"], "k": k, "train": tr, "valid": va, "test": te}
        log.info("%s: %s, X %s, train/valid/test %d/%d/%d", name, d["task"], X.shape, len(tr), len(va), len(te))
        methods = {
            "rrfcn_controller": run_rrfcn(data, "controller", args.seed, args.threads),
            "rrfcn_random": run_rrfcn(data, "random", args.seed, args.threads),
            "rfcn_resnet": run_trials(data, "rfcn_resnet", args.seed, args.threads),
            "xgboost": run_trials(data, "xgboost", args.seed, args.threads),
        }
        report["datasets"][name] = {
            "task": d["task"], "metric": metrics.SELECTION_METRIC[d["task"]], "source": d["source"],
            "n_train": len(tr), "n_valid": len(va), "n_test": len(te), "n_features": X.shape[1], "methods": methods,
        }  # fmt: skip
        for m, r in methods.items():
            log.info("%s %s: valid %.4f test %.4f (%.0f s)", name, m, r["valid"], r["test"], r["seconds"])
        (args.out / "results.json").write_text(json.dumps(report, indent=2))
    report["seconds"] = time.perf_counter() - t_all
    report["environment"]["load_average"] = "1/5/15-min load average at the end: {:.1f}/{:.1f}/{:.1f}".format(
        *os.getloadavg()
    )
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (args.out / "section.md").write_text(text)
    print(text)
    if args.write_md:
        write_md(args.write_md, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
