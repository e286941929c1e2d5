"""Solver choice for the genome-wide penalized GLM: time, peak memory and test AUC per candidate.

One simulated cohort (``genoml_core.simulate.simulate_cohort``: LD blocks, two populations,
``n_causal`` causal SNPs, liability-threshold case/control with h2 0.5, sex and age covariates)
of ``n_train + n_test`` people; the first ``n_train`` (after a seeded shuffle) train, the other
``n_test`` are the independent test set. Variant QC on the training rows keeps SNPs with MAF >=
0.01 and missingness <= 0.05. Every candidate gets the same rows, SNPs and covariates (sex, age)
and is fitted once, in a fresh process (so its peak RSS, ``VmHWM``, is its own), with
``--threads`` threads:

* ``adelie CMSA, alpha grid``: :class:`genoml_core.models.penalized.GenomeWideGLM` as the workflow
  will run it: alphas 1, 0.5, 0.1, 0.01, 5 inner folds, 100 lambdas with validation early stop,
  the 5 fold models averaged; int8 genotypes, covariates unpenalized.
* ``adelie CMSA, lasso``: the same with alpha 1 only (the like-for-like row).
* ``skglm``: L1 logistic (``GeneralizedLinearEstimator`` + ``WeightedL1``, covariates weight 0,
  Anderson CD with warm starts) over ``--n-lambdas`` lambdas from lambda_max down to
  ``--lambda-min-ratio`` x lambda_max, 5 stratified folds, best mean validation deviance,
  refitted on all training rows; standardized float64 SNP matrix.
* ``glum``: ``GeneralizedLinearRegressorCV`` (binomial, l1_ratio 1, covariates P1 = 0) over the
  same lambdas and folds, float32 SNP matrix (glum's supported compact dtype).
* ``scikit-learn``: ``LogisticRegressionCV`` (L1, liblinear; the usual baseline) over the same
  lambdas (``C = 1 / (n_fold_train * lambda)``) and folds, neg. log-loss, refit; float64 matrix;
  the covariates are penalized like the SNPs (scikit-learn has no penalty factors).

The oracle is the AUC of the noise-free liability (genetic value + covariate and ancestry
effects) on the same test people.

    .venv/bin/python bench/bench_penalized.py                 # all solvers, writes BENCHMARKS.md
    .venv/bin/python bench/bench_penalized.py --solvers adelie_lasso sklearn --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SOLVERS = {
    "adelie_grid": "adelie CMSA, alpha grid (1, 0.5, 0.1, 0.01)",
    "adelie_lasso": "adelie CMSA, lasso",
    "skglm": "skglm (Anderson CD), lasso, CV + refit",
    "glum": "glum GeneralizedLinearRegressorCV, lasso, CV + refit",
    "sklearn": "scikit-learn LogisticRegressionCV (liblinear, L1), CV + refit",
}
ALPHAS = (1.0, 0.5, 0.1, 0.01)
N_FOLDS = 5
SEED = 7


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_rss_mb(pid: int, cpu: dict[int, float] | None = None) -> float:
    """Summed VmRSS of ``pid`` and all its descendants (joblib/loky workers included); records
    each process's user + system CPU seconds in ``cpu``."""
    total, todo = 0.0, [pid]
    while todo:
        q = todo.pop()
        try:
            for line in Path(f"/proc/{q}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            if cpu is not None:
                fields = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()
                cpu[q] = max(cpu.get(q, 0.0), (int(fields[11]) + int(fields[12])) / _TICK)
            for t in Path(f"/proc/{q}/task").iterdir():
                todo += [int(c) for c in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _run_sampled(cmd: list[str], env: dict, timeout: float) -> tuple[int, str, str, float, float]:
    """Run ``cmd``; return (rc, stdout, stderr, peak summed RSS of its process tree in MB, CPU
    seconds of the tree as last sampled)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        peak, t0, cpu = 0.0, time.perf_counter(), {}
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid, cpu))
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(cmd, timeout)
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), peak, sum(cpu.values())


# ----------------------------------------------------------------------------- data
def make_data(work: Path, n_train: int, n_test: int, n_snps: int, n_causal: int, h2: float, seed: int) -> dict:
    """Simulate (or reuse) the cohort; write the split, QC'd matrices under ``work``."""
    import pandas as pd

    from genoml_core.io import read_genotypes
    from genoml_core.simulate import SimulationSpec, simulate_cohort

    out = work / "data"
    meta_path = out / "meta.json"
    params = dict(n_train=n_train, n_test=n_test, n_snps=n_snps, n_causal=n_causal, h2=h2, seed=seed)
    if meta_path.exists() and json.loads(meta_path.read_text())["params"] == params:
        return json.loads(meta_path.read_text())
    sim = work / "sim"
    t0 = time.perf_counter()
    spec = SimulationSpec(n_samples=n_train + n_test, n_snps=n_snps, n_new=0, n_causal=n_causal, h2=h2, seed=seed,
                          n_bad_samples=0, n_bad_snps=0, case_missing_rate=0.0)
    simulate_cohort(sim, spec)
    G = read_genotypes(sim / "cohort")
    ids = {"FID": str, "IID": str}
    pheno = pd.read_csv(sim / "phenotype.tsv", sep="\t", dtype=ids)
    cov = pd.read_csv(sim / "covariates.tsv", sep="\t", dtype=ids)
    oracle = pd.read_csv(sim / "oracle.tsv", sep="\t", dtype=ids)
    order = np.random.default_rng(seed).permutation(len(pheno))
    tr, te = order[:n_train], order[n_train : n_train + n_test]
    gt = G[tr]
    obs = gt >= 0
    miss = 1 - obs.mean(axis=0)
    af = np.where(obs, gt, 0).sum(axis=0) / np.maximum(obs.sum(axis=0), 1) / 2
    keep = (np.minimum(af, 1 - af) >= 0.01) & (miss <= 0.05)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "G_train.npy", np.ascontiguousarray(G[tr][:, keep]))
    np.save(out / "G_test.npy", np.ascontiguousarray(G[te][:, keep]))
    C = cov[["sex", "age"]].to_numpy(dtype=np.float64)
    y = pheno.case_control.to_numpy(dtype=np.int64)
    np.savez(out / "rest.npz", C_train=C[tr], C_test=C[te], y_train=y[tr], y_test=y[te],
             oracle_test=oracle.case_control_liability.to_numpy()[te])
    meta = {"params": params, "n_snps_qc": int(keep.sum()), "case_fraction_train": float(y[tr].mean()),
            "simulate_s": time.perf_counter() - t0}
    meta_path.write_text(json.dumps(meta))
    return meta


# ----------------------------------------------------------------------------- children
def _standardized(G: np.ndarray, center: np.ndarray, scale: np.ndarray, dtype: type) -> np.ndarray:
    """Float matrix of standardized dosages (missing -> 0), filled in column blocks."""
    X = np.empty(G.shape, dtype=dtype)
    for j in range(0, G.shape[1], 2000):
        g = G[:, j : j + 2000]
        x = (g.astype(dtype) - center[j : j + 2000].astype(dtype)) / scale[j : j + 2000].astype(dtype)
        x[g < 0] = 0
        X[:, j : j + 2000] = x
    return X


def _lambda_grid(X: np.ndarray, y: np.ndarray, n_lambdas: int, min_ratio: float) -> np.ndarray:
    lmax = np.abs(X.T @ (y - y.mean())).max() / len(y)
    return lmax * np.logspace(0, np.log10(min_ratio), n_lambdas)


def child(solver: str, data: Path, threads: int, n_lambdas: int, min_ratio: float) -> dict:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from genoml_core.models.penalized import genotype_stats

    # the solver's imports (adelie pulls in IPython and matplotlib) are a fixed cost, not fit memory
    if solver.startswith("adelie"):
        from genoml_core.models.penalized.solver import _adelie

        _adelie()
    else:
        __import__({"sklearn": "sklearn.linear_model", "skglm": "skglm.solvers", "glum": "glum"}[solver])
    Gtr, Gte = np.load(data / "G_train.npy"), np.load(data / "G_test.npy")
    rest = np.load(data / "rest.npz")
    Ctr, Cte, ytr, yte = rest["C_train"], rest["C_test"], rest["y_train"], rest["y_test"]
    rss0 = _status_mb("VmRSS")
    t0 = time.perf_counter()
    info: dict = {}
    if solver.startswith("adelie"):
        from genoml_core.models.penalized import GenomeWideGLM

        est = GenomeWideGLM("binary", alphas=ALPHAS if solver == "adelie_grid" else (1.0,), n_inner_folds=N_FOLDS,
                            n_threads=threads, random_state=SEED).fit(Gtr, ytr, Ctr)
        fit_s = time.perf_counter() - t0
        score = est.decision_function(Gte, Cte)
        info = {"alpha": est.alpha_, "n_nonzero": est.n_nonzero_,
                "lambda_index": est.fold_lambda_index_.tolist(),
                "alpha_s": [round(float(x), 1) for x in est.cv_results_["fit_seconds"]]}
    else:
        st = genotype_stats(Gtr)
        dtype = np.float32 if solver == "glum" else np.float64
        cm, cs = Ctr.mean(axis=0), Ctr.std(axis=0)
        Xtr = np.hstack([_standardized(Gtr, st.center, st.scale, dtype), ((Ctr - cm) / cs).astype(dtype)])
        Xte = np.hstack([_standardized(Gte, st.center, st.scale, dtype), ((Cte - cm) / cs).astype(dtype)])
        p, q = Gtr.shape[1], Ctr.shape[1]
        lams = _lambda_grid(Xtr[:, :p], ytr.astype(np.float64), n_lambdas, min_ratio)
        folds = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=SEED).split(Xtr, ytr))
        pen = np.r_[np.ones(p), np.zeros(q)]
        if solver == "sklearn":
            from sklearn.linear_model import LogisticRegressionCV

            n_fold_train = len(ytr) * (N_FOLDS - 1) / N_FOLDS
            m = LogisticRegressionCV(Cs=1.0 / (n_fold_train * lams), l1_ratios=(1.0,), solver="liblinear", cv=folds,
                                     scoring="neg_log_loss", n_jobs=threads, random_state=SEED,
                                     use_legacy_attributes=False, tol=1e-4).fit(Xtr, ytr)
            fit_s = time.perf_counter() - t0
            score = m.decision_function(Xte)
            info = {"C": float(np.ravel(m.C_)[0]), "n_nonzero": int((m.coef_[0, :p] != 0).sum())}
        elif solver == "skglm":
            from skglm.datafits import Logistic
            from skglm.penalties import WeightedL1
            from skglm.solvers import AndersonCD

            ypm = np.where(ytr == 1, 1.0, -1.0)

            def path(X: np.ndarray, y: np.ndarray, lam_list: np.ndarray) -> list[np.ndarray]:
                df = Logistic()
                df.initialize(X, y)
                solver_ = AndersonCD(fit_intercept=True, tol=1e-6, warm_start=True)
                w = np.zeros(X.shape[1] + 1)
                out = []
                for lam in lam_list:  # warm start: skglm needs X @ w with w (it assumes 0 otherwise)
                    w = solver_.solve(X, y, df, WeightedL1(float(lam), pen), w_init=w.copy(),
                                      Xw_init=X @ w[:-1] + w[-1])[0]
                    out.append(w.copy())
                return out

            dev = np.zeros((N_FOLDS, lams.size))
            for k, (a, b) in enumerate(folds):
                Xa = np.asfortranarray(Xtr[a])
                for i, w in enumerate(path(Xa, ypm[a], lams)):
                    eta = Xtr[b] @ w[:-1] + w[-1]
                    dev[k, i] = np.mean(2 * (np.logaddexp(0, eta) - ytr[b] * eta))
                del Xa
            best = int(dev.mean(axis=0).argmin())
            w = path(np.asfortranarray(Xtr), ypm, lams[: best + 1])[-1]
            fit_s = time.perf_counter() - t0
            score = Xte @ w[:-1] + w[-1]
            info = {"lambda_index": best, "n_nonzero": int((w[:p] != 0).sum())}
        elif solver == "glum":
            from glum import GeneralizedLinearRegressorCV

            m = GeneralizedLinearRegressorCV(family="binomial", l1_ratio=1.0, alphas=lams, P1=pen.astype(dtype),
                                             P2=np.zeros(p + q, dtype=dtype),
                                             cv=folds, fit_intercept=True, n_jobs=threads,
                                             gradient_tol=1e-6).fit(Xtr, ytr.astype(np.float64))
            fit_s = time.perf_counter() - t0
            score = m.linear_predictor(Xte)
            info = {"alpha": float(m.alpha_), "n_nonzero": int((m.coef_[:p] != 0).sum())}
        else:
            raise ValueError(solver)
    auc = float(roc_auc_score(yte, score))
    return {"solver": solver, "fit_s": fit_s, "peak_mb": _status_mb("VmHWM"), "data_mb": rss0, "auc": auc, **info}


# ----------------------------------------------------------------------------- parent
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-train", type=int, default=2000)
    ap.add_argument("--n-test", type=int, default=600)
    ap.add_argument("--n-snps", type=int, default=20000)
    ap.add_argument("--n-causal", type=int, default=150)
    ap.add_argument("--h2", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-lambdas", type=int, default=20, help="lambda grid of skglm, glum and scikit-learn")
    ap.add_argument("--lambda-min-ratio", type=float, default=0.1)
    ap.add_argument("--timeout", type=int, default=900, help="seconds per solver")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "genoml_bench_penalized"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--section", default="bench_penalized", help="BENCHMARKS.md section name")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir)
    if args.child:
        res = child(args.child, work / "data", args.threads, args.n_lambdas, args.lambda_min_ratio)
        print("RESULT " + json.dumps(res), flush=True)
        return
    t_all = time.perf_counter()
    meta = make_data(work, args.n_train, args.n_test, args.n_snps, args.n_causal, args.h2, args.seed)
    from sklearn.metrics import roc_auc_score

    rest = np.load(work / "data" / "rest.npz")
    oracle = float(roc_auc_score(rest["y_test"], rest["oracle_test"]))
    print(f"data: {args.n_train} train + {args.n_test} test x {meta['n_snps_qc']} SNPs after QC; "
          f"oracle test AUC {oracle:.3f}", flush=True)
    env = {**os.environ, **{k: str(args.threads) for k in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}}
    rows = []
    for s in args.solvers:
        cmd = [sys.executable, __file__, "--child", s, "--workdir", str(work), "--threads", str(args.threads),
               "--n-lambdas", str(args.n_lambdas), "--lambda-min-ratio", str(args.lambda_min_ratio)]
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            rc, stdout, stderr, tree_mb, tree_cpu = _run_sampled(cmd, env, args.timeout)
        except subprocess.TimeoutExpired:
            rows.append({"solver": s, "error": f"timeout after {args.timeout} s"})
            print(f"{s}: timeout", flush=True)
            continue
        line = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
        if rc or not line:
            rows.append({"solver": s, "error": (stderr.strip().splitlines() or ["?"])[-1][:200]})
            print(f"{s}: failed\n{stderr[-3000:]}", flush=True)
            continue
        r = json.loads(line[0][7:])
        r["wall_s"] = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # reaped descendants (rusage) or the sampled process tree (workers that were never reaped)
        r["cpu_s"] = max((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), tree_cpu)
        r["load"] = os.getloadavg()[0]
        r["tree_mb"] = max(tree_mb, r["peak_mb"])
        rows.append(r)
        print(f"{s}: fit {r['fit_s']:.1f} s, process CPU {r['cpu_s']:.0f} s, load {r['load']:.1f}, peak RSS "
              f"{r['peak_mb']:.0f} MB, with workers {r['tree_mb']:.0f} MB (data {r['data_mb']:.0f} MB), "
              f"test AUC {r['auc']:.3f}, {r.get('n_nonzero')} SNPs", flush=True)
    if args.no_write:
        return
    from _markdown import markers, write_section

    n_calls = args.n_train * meta["n_snps_qc"]
    cmd = "`.venv/bin/python " + " ".join(["bench/bench_penalized.py", *sys.argv[1:]]) + "`"
    lines = [
        f"Command: {cmd} ({time.strftime('%Y-%m-%d')}, {platform.platform()}, {os.cpu_count()} CPUs shared "
        f"with other work, {args.threads} threads per solver; whole run {time.perf_counter() - t_all:.0f} s). "
        f"Cohort: `simulate_cohort` (seed {args.seed}, h2 {args.h2}, {args.n_causal} causal SNPs, case fraction "
        f"{meta['case_fraction_train']:.2f}), {args.n_train:,} training and {args.n_test} independent test people "
        f"x {meta['n_snps_qc']:,} SNPs after QC (MAF >= 0.01, missingness <= 0.05 on the training rows), "
        f"covariates sex and age. Each solver fitted once in a fresh process; *process CPU s*: user + system "
        f"CPU of the process and its workers (imports and data loading included; from rusage, or from "
        f"/proc samples every 0.1 s for workers that are never reaped, whichever is larger); *load*: the "
        f"machine's 1-minute load average when the solver finished (wall times stretch with it); *peak RSS*: "
        f"the largest summed RSS of the process and its worker processes (joblib, sampled every 0.1 s) or the "
        f"process's own VmHWM if larger; *fit B/call* = (peak - the RSS after importing the solver and loading the int8"
        f" train/test matrices) / ({args.n_train:,} x {meta['n_snps_qc']:,} training calls). skglm, glum and "
        f"scikit-learn get "
        f"{args.n_lambdas} lambdas from lambda_max to {args.lambda_min_ratio} x lambda_max and 5 stratified folds; "
        f"adelie rows use `GenomeWideGLM` defaults (100 lambdas to 1e-3 x lambda_max, early stop on the "
        f"validation deviance, 5 inner folds, CMSA; *alpha_s*: seconds per alpha). *chosen*: the lambda "
        f"index (of 100) of each fold model, or scikit-learn's C (C = 1 / (n_fold_train x lambda)).",
        "",
        "| solver | fit s (wall) | process CPU s | load (1 min) | peak RSS MB | fit B/call | test ROC AUC "
        "| nonzero SNPs | chosen |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {SOLVERS[r['solver']]} | - | - | - | - | - | - | - | {r['error']} |")
            continue
        chosen = ", ".join(f"{k} {v if not isinstance(v, float) else f'{v:.3g}'}" for k, v in r.items()
                           if k in ("alpha", "C", "lambda_index", "alpha_s"))
        lines.append(f"| {SOLVERS[r['solver']]} | {r['fit_s']:.1f} | {r['cpu_s']:.0f} | {r['load']:.1f} | "
                     f"{r['tree_mb']:.0f} | "
                     f"{(r['tree_mb'] - r['data_mb']) * 2**20 / n_calls:.1f} | {r['auc']:.3f} | "
                     f"{r.get('n_nonzero', '-')} | {chosen} |")
    lines.append(f"| oracle (noise-free liability) | - | - | - | - | - | {oracle:.3f} | - | - |")
    start, end = markers(args.section)
    title = f"## Genome-wide penalized GLM: solvers ({args.n_train:,} + {args.n_test} x {meta['n_snps_qc']:,} SNPs)"
    section = "\n".join([start, title, "", *lines, end])
    write_section(ROOT / "BENCHMARKS.md", args.section, section)


if __name__ == "__main__":
    main()
