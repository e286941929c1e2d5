"""Benchmark the ancestry-PC fit: genoml_core's own decomposition (``pca.engine: numpy``) against
``plink2 --pca`` (``pca.engine: plink2``), on the same training people and SNPs (run by hand, not in
CI).

Each engine runs in its own process (wall time; peak RSS of that process or of plink2, its child). The weights are
compared SNP by SNP (|correlation| per PC, signs aside), with the eigenvalues; the ancestry axis
(PC1) is what the workflow depends on, the later PCs of a one- or two-population cohort are noise
directions whose order any solver may permute.

Usage (a fold of a finished workflow run, e.g. the example's):
    .venv/bin/python bench/bench_pca.py --bfile resources/example/cohort \
        --keep results/split/fold0/train.keep --snplist results/ld_prune/fold0/pruned.snplist \
        [--approx auto] [--n-pcs 10] [--engines numpy plink2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from genoml_core.genotypes import pca
t = time.perf_counter()
fit = pca.fit_pca({bfile!r}, {keep!r}, {snplist!r}, n_pcs={n_pcs}, approx={approx!r}, engine={engine!r}, threads=1)
secs = time.perf_counter() - t
fit.weights.to_csv({out!r}, sep="\\t", index=False)
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({{"seconds": secs, "peak_rss_mb": peak / 1024,
                  "summary": fit.summary}}))
"""


def _approx(value: str) -> str | bool:
    return {"true": True, "false": False}.get(value, value)


def run_engine(engine: str, args: argparse.Namespace, out: Path) -> dict:
    code = _CHILD.format(repo=str(REPO), bfile=args.bfile, keep=str(args.keep), snplist=str(args.snplist),
                         n_pcs=args.n_pcs, approx=_approx(args.approx), engine=engine, out=str(out))
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bfile", required=True)
    ap.add_argument("--keep", type=Path, required=True)
    ap.add_argument("--snplist", type=Path, required=True)
    ap.add_argument("--n-pcs", type=int, default=10)
    ap.add_argument("--approx", default="auto", choices=["auto", "true", "false"])
    ap.add_argument("--engines", nargs="+", default=["numpy", "plink2"])
    ap.add_argument("--compare-to", type=Path, default=None,
                    help="a weights.tsv of another fit (e.g. plink2's, saved by --save-weights) to compare the first engine with")
    ap.add_argument("--save-weights", type=Path, default=None, help="keep each engine's weights here (ENGINE.tsv)")
    args = ap.parse_args()
    results, weights = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_pca_") as tmp:
        keep_dir = args.save_weights or Path(tmp)
        keep_dir.mkdir(parents=True, exist_ok=True)
        for engine in args.engines:
            out = keep_dir / f"{engine}.tsv"
            results[engine] = run_engine(engine, args, out)
            weights[engine] = pd.read_csv(out, sep="\t", dtype={"SNP": str})
            s = results[engine]
            print(f"{engine}: {s['seconds']:.1f} s, peak RSS {s['peak_rss_mb']:.0f} MB, "
                  f"{s['summary']['n_train']} people x {s['summary']['n_snps']} SNPs, approx {s['summary']['approx']}",
                  flush=True)
    lines = []
    names = list(args.engines)
    if args.compare_to is not None:
        weights["given"] = pd.read_csv(args.compare_to, sep="\t", dtype={"SNP": str})
        names = [args.engines[0], "given"]
    if len(names) == 2:
        a, b = (weights[e] for e in names)
        if list(a.SNP) != list(b.SNP):
            raise SystemExit("the engines weighted different SNPs")
        pcs = [c for c in a.columns if c.startswith("ancestry_PC")]
        corr = [abs(float(np.corrcoef(a[c], b[c])[0, 1])) for c in pcs]
        lines.append(f"weights |r| per PC ({names[0]} vs {names[1]}): " + ", ".join(f"{c:.4f}" for c in corr))
        if all(e in results for e in names):
            ea, eb = (np.asarray(results[e]["summary"]["eigenvalues"]) for e in names)
            lines.append("eigenvalues: " + "; ".join(f"{e} " + ", ".join(f"{v:.3f}" for v in results[e]["summary"]
                                                                           ["eigenvalues"][:3]) + " ..."
                                                   for e in names) + f" (PC1 ratio {ea[0] / eb[0]:.4f})")
        for line in lines:
            print(line)

if __name__ == "__main__":
    main()
