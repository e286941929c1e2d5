"""Benchmark: prediction on the example new cohort vs the same model on its own test split vs the oracle.

Runs the default configuration (``config/config.yaml``, whose ``predict.cohorts.example_new`` is
the simulated new cohort) in a separate working directory, then reports:

* ROC AUC of ``predict`` on the new cohort (other people; SNP order shuffled, ~10% of SNPs with
  A1/A2 swapped, ~2% absent), with its bootstrap 95% CI;
* ROC AUC of the same model on its own test split (``results/evaluate/metrics.json``);
* the oracle AUC (noise-free liability from ``new_cohort_oracle.tsv`` / ``oracle.tsv``) for
  exactly the people scored in each case;
* the harmonization counts and coverage, the time of the predict job, and two counterfactuals on
  the same model: the swap logic switched off (stored counts used as they are), and strand-
  ambiguous SNPs kept instead of dropped.

Usage (from the repository root, after ``.venv/bin/python -m genoml_core.simulate --out resources/example -q``)::

    .venv/bin/python bench/bench_predict.py --cores 2 [--workdir /tmp/genoml_bench_predict] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genoml_core.predict import Cohort, PredictOptions, final_model_from_results, run_prediction  # noqa: E402
from genoml_core import layout  # noqa: E402

ID = {"FID": str, "IID": str}


def _oracle_auc(predictions: pd.DataFrame, oracle: pd.DataFrame) -> tuple[float, int]:
    """AUC of the noise-free liability for the people with an observed class in ``predictions``."""
    p = predictions[predictions.observed.notna()].merge(oracle, on=["FID", "IID"], how="left")
    assert p.case_control_liability.notna().all()
    return float(roc_auc_score(p.observed == "case", p.case_control_liability)), len(p)


def _counterfactual(results: Path, cohort: Cohort, *, swap_alleles: bool = True, ambiguous: str = "drop") -> float:
    """ROC AUC on the new cohort of the same final model, predicted with other harmonization settings."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        r = run_prediction(final_model_from_results(results), cohort,
                           PredictOptions(n_bootstrap=0, ambiguous_snps=ambiguous), predictions_path=t / "p.tsv",
                           report_path=t / "r.json", metrics_path=t / "m.json", plots_dir=t / "plots",
                           swap_alleles=swap_alleles)
        return float(r["metrics"]["roc_auc"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "genoml_bench_predict"))
    ap.add_argument("--reuse", action="store_true", help="reuse a finished run in --workdir (no snakemake run)")
    args = ap.parse_args()
    example = REPO / "resources" / "example"
    if not (example / "new_cohort.bed").exists():
        ap.error(f"{example} has no new cohort; run: .venv/bin/python -m genoml_core.simulate --out {example} -q")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "resources").exists():
        (work / "resources").symlink_to(REPO / "resources")
    wall = None
    if not args.reuse:
        for d in (layout.RESULTS, layout.LOGS, layout.BENCHMARKS, ".snakemake"):
            shutil.rmtree(work / d, ignore_errors=True)
        snakemake = Path(sys.executable).with_name("snakemake")
        cmd = [str(snakemake), "-s", str(REPO / "Snakefile"), "--directory", str(work), "--configfile",
               str(REPO / "config" / "config.yaml"), "--cores", str(args.cores), "-q"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=work, env={**os.environ, "PYTHONHASHSEED": "0"})
        wall = time.perf_counter() - t0
    res = work / layout.RESULTS
    cohort_name = "example_new"  # the new cohort of config/config.yaml (predict.cohorts)
    pm = json.loads((work / layout.PREDICT_METRICS.format(cohort=cohort_name)).read_text())
    rep = json.loads((work / layout.PREDICT_REPORT.format(cohort=cohort_name)).read_text())
    ev = json.loads((work / layout.EVALUATE_METRICS).read_text())
    new_pred = pd.read_csv(work / layout.PREDICT_PREDICTIONS.format(cohort=cohort_name), sep="\t", dtype=ID)
    test_pred = pd.read_csv(work / layout.EVALUATE_PREDICTIONS, sep="\t", dtype=ID)
    oracle_new, n_new = _oracle_auc(new_pred, pd.read_csv(example / "new_cohort_oracle.tsv", sep="\t", dtype=ID))
    oracle_test, n_test = _oracle_auc(test_pred, pd.read_csv(example / "oracle.tsv", sep="\t", dtype=ID))
    bench = pd.read_csv(work / "benchmarks/predict/example_new.tsv", sep="\t")
    cohort = Cohort(name="example_new", genotypes=str(example / "new_cohort"),
                    covariates=str(example / "new_cohort_covariates.tsv"),
                    phenotype=str(example / "new_cohort_phenotype.tsv"), phenotype_column="case_control")
    auc_noswap = _counterfactual(res, cohort, swap_alleles=False)
    auc_keep = _counterfactual(res, cohort, ambiguous="keep")
    c = rep["folds"]["fold0"]["snps"]
    ci_new, ci_test = pm["ci95"]["roc_auc"], ev["test_ci95"]["roc_auc"]
    print(f"model: {pm['learner']} trial {pm['best_trial']} ({len(pm['folds'])} fold(s)); "
          f"{rep['n_samples']} new people x {rep['n_variants']} variants; {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}" + (f"; whole run {wall:.0f} s" if wall else ""))
    print(f"harmonized {c['total']} recipe SNPs: {c['direct']} direct, {c['swapped']} swapped, "
          f"{c['ambiguous_dropped']} strand-ambiguous dropped, {c['absent']} absent, {c['allele_mismatch']} "
          f"allele mismatch; coverage {rep['coverage']:.3f} ({rep['importance_source']})")
    print(f"predict job: {float(bench.s.iloc[0]):.1f} s, max RSS {float(bench.max_rss.iloc[0]):.0f} MB")
    print()
    print("| people | n | model ROC AUC (95% CI) | oracle ROC AUC |")
    print("| --- | --- | --- | --- |")
    print(f"| new cohort (`predict`) | {n_new} | {pm['metrics']['roc_auc']:.3f} ({ci_new[0]:.3f}-{ci_new[1]:.3f}) "
          f"| {oracle_new:.3f} |")
    print(f"| own test split (`evaluate`) | {n_test} | {ev['test']['roc_auc']:.3f} ({ci_test[0]:.3f}-{ci_test[1]:.3f}) "
          f"| {oracle_test:.3f} |")
    print(f"| new cohort, swap logic off | {n_new} | {auc_noswap:.3f} | {oracle_new:.3f} |")
    print(f"| new cohort, ambiguous_snps: keep | {n_new} | {auc_keep:.3f} | {oracle_new:.3f} |")
    assert np.isfinite([pm["metrics"]["roc_auc"], ev["test"]["roc_auc"]]).all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
