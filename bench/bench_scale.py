"""Biobank scale: munging and the whole workflow as cohorts grow (run by hand, not in CI).

Measures, in one run, on cohorts made by the project's simulator (genoml-simulate, no new cohort):
  * munge scaling: build_feature_store alone on every SNP of the .bim (no QC, no pruning, an
    8:1:1 holdout split), in a fresh process per (size, engine), for both .bed decoders
    (pandas-plink, lut): wall time and peak RSS (the child's rusage, taken by a small launcher
    process so that this one's memory does not leak into the figure). Bytes per
    genotype = (peak - base) / genotypes, the base being a process that imports
    genoml_core.store (and the engine's library) and reads the .fam, .bim, split and covariates;
    also a least-squares line peak = intercept + slope x genotypes across sizes, and the slope of
    log(time) against log(genotypes) (1 = linear growth);
  * decode throughput against a plain read: the .bed read sequentially from the page cache in
    16 MiB readinto() chunks (best of 3), each engine's io.iter_genotype_chunks over every
    variant and sample, and the munge call, in genotypes/s, with their ratios to the read;
  * the real workflow at one size (Snakemake, holdout, QC, LD pruning, the association filter
    keeping every pruned SNP by default, munging, 1 trial of each learner, leaderboard and
    evaluation; no explain/report/predict/embed): every job's wall time and peak RSS from
    Snakemake's benchmark files, the whole run, SNPs after each stage, and each learner's
    validation/test ROC AUC beside the simulator's oracle AUC.

Cohorts are kept in --work (one folder per size, reused while their stamp file matches); munge
stores are deleted after each measurement (50,000 x 100,000 is a 5 GB store).

Usage:
    .venv/bin/python bench/bench_scale.py                     # 2k/10k/25k/50k x 100k; workflow at 50k
    .venv/bin/python bench/bench_scale.py --quick --no-write  # 1k-4k x 5k, workflow at 3k: a few minutes
    .venv/bin/python bench/bench_scale.py --quick --no-write --learners logistic_l1 rfcn_resnet
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import markers, write_section  # noqa: E402
from genoml_core import __version__ as GENOML_CORE_VERSION  # noqa: E402
from genoml_core import layout  # noqa: E402

SECTION = "bench_scale"
MARK_START, MARK_END = markers(SECTION)
ENGINES = ("pandas-plink", "lut")
READ_CHUNK = 16 << 20
PLOT = REPO / "docs" / "bench" / "scale_munge.png"
DEFAULT_LEARNERS = ["logistic_l1_sgd", "logistic_l2_sgd", "rfcn_resnet"]
TARGETS = [layout.QC_SUMMARY, layout.LEADERBOARD, layout.EVALUATE_METRICS]
MB = 2**20


# ----------------------------------------------------------------------------- running children
class CommandFailed(RuntimeError):
    pass


@dataclass
class Measured:
    wall_s: float
    max_rss_kb: int
    stdout: str


def _tail(path: Path, n: int = 60) -> str:
    if not path.exists():
        return "(no output)"
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-n:]) or "(empty)"


# A small interpreter forks and waits for the measured command: a child's peak RSS (ru_maxrss)
# starts at its parent's at fork time (Linux keeps the forked image's high-water mark across
# exec), so forking it from this process (pandas, numpy, ~250 MB) would floor every figure there.
_LAUNCHER = """
import json, os, sys, traceback
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except BaseException:
        traceback.print_exc()
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    json.dump({"maxrss_kb": ru.ru_maxrss}, fh)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(cmd: Sequence[str], log_dir: Path, name: str, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` with stdout/stderr in ``log_dir/name.{out,err}``; its wall time and the peak RSS
    of that process (or of the largest of the descendants it waited for). Raises CommandFailed
    with the command and its output's tail on a non-zero exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_p, err_p, ru_p = (log_dir / f"{name}.{ext}" for ext in ("out", "err", "rusage.json"))
    ru_p.unlink(missing_ok=True)
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(ru_p), *map(str, cmd)],
                            stdout=out, stderr=err, cwd=cwd).returncode
        wall = time.perf_counter() - t0
    if rc != 0 or not ru_p.exists():
        pretty = shlex.join(map(str, cmd))
        if len(pretty) > 600:
            pretty = pretty[:600] + " ..."
        msg = [f"command failed (exit {rc}) after {wall:.1f} s: {pretty}",
               f"--- stderr ({err_p}), last lines:", _tail(err_p),
               f"--- stdout ({out_p}), last lines:", _tail(out_p, 20)]
        # Snakemake: the failed jobs' own logs (the "log:" line of each "Error in rule" block)
        for log in dict.fromkeys(re.findall(r"^Error in rule .*?\n(?:\s+\w+: .*\n)*?\s+log: (\S+)",
                                            err_p.read_text(errors="replace"), re.M)):
            log = log.rstrip(",")
            path = Path(log) if Path(log).is_absolute() else (cwd or Path.cwd()) / log
            if path.is_file():
                msg += [f"--- failed job's log {path}, last lines:", _tail(path, 40)]
        raise CommandFailed("\n".join(msg))
    return Measured(wall, int(json.loads(ru_p.read_text())["maxrss_kb"]), out_p.read_text(errors="replace"))


def run_python(code: str, cfg: dict[str, Any], log_dir: Path, name: str) -> tuple[Measured, dict[str, Any]]:
    """Run ``code`` in a fresh interpreter (``sys.argv[1]`` = ``cfg`` as JSON); it prints
    ``RESULT <json>`` as its last line."""
    m = run_measured([sys.executable, "-c", code, json.dumps(cfg)], log_dir, name)
    lines = [ln for ln in m.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        out_p = log_dir / f"{name}.out"
        raise CommandFailed(f"{name}: no RESULT line in its output ({out_p}):\n{_tail(out_p)}")
    return m, json.loads(lines[-1].removeprefix("RESULT "))


_CHILD_HEAD = f"""
import json, sys, time
t_start = time.perf_counter()
sys.path.insert(0, {str(REPO)!r})
cfg = json.loads(sys.argv[1])
"""

# The fixed base: interpreter, genoml_core.store, the engine's library, .fam, .bim, split, covariates.
_BASE_CHILD = _CHILD_HEAD + """
import pandas as pd
from genoml_core import io
from genoml_core.inputs import load_covariates
import genoml_core.store
if cfg["engine"] == "pandas-plink":
    import pandas_plink
fam, bim = io.read_fam(cfg["bfile"]), io.read_bim(cfg["bfile"])
split = pd.read_csv(cfg["split"], sep="\\t", dtype={"FID": str, "IID": str, "part": str})
cov = load_covariates(cfg["data"])
print("RESULT " + json.dumps({"n_fam": len(fam), "n_bim": len(bim)}))
"""

_MUNGE_CHILD = _CHILD_HEAD + """
import pandas as pd
from genoml_core.inputs import load_covariates
from genoml_core.store import build_feature_store
split = pd.read_csv(cfg["split"], sep="\\t", dtype={"FID": str, "IID": str, "part": str})
cov = load_covariates(cfg["data"])
t0 = time.perf_counter()
summary = build_feature_store(cfg["bfile"], cfg["snplist"], split, cfg["out"], fold="fold0", method="holdout",
                              task="binary", class_names=["control", "case"], covariates=cov,
                              chunk_variants=cfg["chunk_variants"], engine=cfg["engine"])
t1 = time.perf_counter()
print("RESULT " + json.dumps({"munge_s": t1 - t0, "setup_s": t0 - t_start, "summary": summary}))
"""

_DECODE_CHILD = _CHILD_HEAD + """
import numpy as np
from genoml_core import io
n, m = cfg["n_samples"], cfg["n_variants"]
t0 = time.perf_counter()
cols = 0
for start, block in io.iter_genotype_chunks(cfg["bfile"], np.arange(m), None, n_samples=n,
                                             chunk_variants=cfg["chunk_variants"], engine=cfg["engine"]):
    assert block.shape[0] == n and block.dtype == np.int8
    cols += block.shape[1]
t1 = time.perf_counter()
assert cols == m, (cols, m)
print("RESULT " + json.dumps({"decode_s": t1 - t0}))
"""


# ----------------------------------------------------------------------------- cohorts
def cohort_dir(work: Path, n: int, m: int) -> Path:
    return work / f"cohort_{n}x{m}"


def ensure_cohort(work: Path, n: int, m: int, seed: int) -> tuple[Path, float | None]:
    """The simulated cohort n people x m SNPs; reused when its stamp matches. Returns (dir, seconds
    spent simulating, None when reused)."""
    d = cohort_dir(work, n, m)
    stamp = {"n_samples": n, "n_snps": m, "n_new": 0, "seed": seed, "genoml_core": GENOML_CORE_VERSION}
    stamp_p = d / "bench_scale_stamp.json"
    needed = [d / f"cohort.{ext}" for ext in ("bed", "bim", "fam")] + [d / "phenotype.tsv", d / "covariates.tsv"]
    if stamp_p.exists() and all(p.exists() for p in needed):
        try:
            if json.loads(stamp_p.read_text()) == stamp:
                print(f"cohort {n} x {m}: reusing {d}", flush=True)
                return d, None
        except json.JSONDecodeError:
            pass
    shutil.rmtree(d, ignore_errors=True)
    d.parent.mkdir(parents=True, exist_ok=True)
    print(f"cohort {n} x {m}: simulating into {d} ...", flush=True)
    cmd = [sys.executable, "-m", "genoml_core.simulate", "--out", d, "--n-samples", n, "--n-snps", m,
           "--n-new", 0, "--seed", seed, "-q"]
    meas = run_measured(cmd, work / "logs", f"simulate_{n}x{m}", cwd=REPO)
    stamp_p.write_text(json.dumps(stamp) + "\n")
    print(f"cohort {n} x {m}: simulated in {meas.wall_s:.1f} s (peak RSS {meas.max_rss_kb / 1024:.0f} MB)", flush=True)
    return d, meas.wall_s


def write_split_table(cohort: Path, out: Path, seed: int) -> pd.DataFrame:
    """An 8:1:1 stratified holdout split of the people with a phenotype (genoml_core.genotypes.split)."""
    from genoml_core.genotypes.split import make_split

    ph = pd.read_csv(cohort / "phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    ph = ph.dropna(subset=["case_control"])
    samples = pd.DataFrame({"FID": ph.FID, "IID": ph.IID, "label": ph.case_control.astype(int)})
    split = make_split(samples, task="binary", method="holdout", valid_fraction=0.1, test_fraction=0.1,
                       n_folds=5, seed=seed)
    split.to_csv(out, sep="\t", index=False)
    return split


def warm(path: Path) -> None:
    buf = bytearray(READ_CHUNK)
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass


def read_throughput(path: Path, repeats: int = 3, min_total_s: float = 0.5) -> float:
    """Best seconds of at least ``repeats`` sequential reads of ``path`` from the page cache (16 MiB
    readinto() into one reusable buffer), repeated until ``min_total_s`` have passed, after a
    warming read."""
    warm(path)
    buf = memoryview(bytearray(READ_CHUNK))
    size = path.stat().st_size
    best, total, i = math.inf, 0.0, 0
    while i < repeats or total < min_total_s:
        i += 1
        got = 0
        t0 = time.perf_counter()
        with open(path, "rb", buffering=0) as fh:
            while k := fh.readinto(buf):
                got += k
        dt = time.perf_counter() - t0
        best, total = min(best, dt), total + dt
        assert got == size, (got, size)
    return best


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


# ----------------------------------------------------------------------------- munge scaling
def measure_size(work: Path, n: int, m: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    cohort, sim_s = ensure_cohort(work, n, m, args.seed)
    bfile = cohort / "cohort"
    bed = cohort / "cohort.bed"
    n_fam, n_bim = count_lines(cohort / "cohort.fam"), count_lines(cohort / "cohort.bim")
    scratch = work / "munge" / f"{n}x{m}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    snplist = scratch / "all.snplist"
    snplist.write_text("\n".join(pd.read_csv(cohort / "cohort.bim", sep="\t", header=None, usecols=[1])[1]) + "\n")
    split_p = scratch / "split.tsv"
    split = write_split_table(cohort, split_p, args.seed)
    data = {"covariates": str(cohort / "covariates.tsv"), "covariate_columns": None,
            "missing_values": ["NA", "NaN", "nan", ""]}
    logs = work / "logs"
    geno_file = n_fam * n_bim  # genotypes in the .bed
    geno_store = len(split) * n_bim  # genotypes in the store (people with a phenotype)
    read_s = read_throughput(bed)
    bed_bytes = bed.stat().st_size
    rows = []
    for engine in args.engines:
        if engine == "pandas-plink" and args.baseline_max_people and n > args.baseline_max_people:
            print(f"  {n:>6} x {n_bim} pandas-plink skipped (--baseline-max-people {args.baseline_max_people})",
                  flush=True)
            continue
        tag = f"{n}x{m}_{engine}"
        warm(bed)
        dec_m, dec = run_python(_DECODE_CHILD, {"bfile": str(bfile), "n_samples": n_fam, "n_variants": n_bim,
                                                "chunk_variants": args.chunk_variants, "engine": engine},
                                logs, f"decode_{tag}")
        base_m, _ = run_python(_BASE_CHILD, {"bfile": str(bfile), "split": str(split_p), "data": data,
                                             "engine": engine}, logs, f"base_{tag}")
        out = scratch / f"store_{engine}"
        warm(bed)
        mun_m, mun = run_python(_MUNGE_CHILD, {"bfile": str(bfile), "snplist": str(snplist), "split": str(split_p),
                                               "data": data, "out": str(out), "chunk_variants": args.chunk_variants,
                                               "engine": engine}, logs, f"munge_{tag}")
        store_bytes = mun["summary"]["store_bytes"]
        shutil.rmtree(out, ignore_errors=True)  # 50k x 100k is 5 GB
        peak_mb, base_mb = mun_m.max_rss_kb / 1024, base_m.max_rss_kb / 1024
        row = {
            "people": n, "snps": n_bim, "fam": n_fam, "store_rows": len(split), "genotypes": geno_store,
            "bed_genotypes": geno_file, "bed_bytes": bed_bytes, "engine": engine, "simulate_s": sim_s,
            "wall_s": mun_m.wall_s, "munge_s": mun["munge_s"], "peak_rss_mb": peak_mb, "base_rss_mb": base_mb,
            "bytes_per_genotype": (peak_mb - base_mb) * MB / geno_store, "munge_gps": geno_store / mun["munge_s"],
            "store_bytes": store_bytes, "read_s": read_s, "read_Bps": bed_bytes / read_s,
            "read_gps": geno_file / read_s, "decode_s": dec["decode_s"], "decode_gps": geno_file / dec["decode_s"],
            "decode_rss_mb": dec_m.max_rss_kb / 1024,
        }
        rows.append(row)
        print(f"  {n:>6} x {n_bim} {engine:<12} munge {row['wall_s']:7.1f} s (call {row['munge_s']:6.1f} s) "
              f"peak {peak_mb:7.0f} MB base {base_mb:5.0f} MB {row['bytes_per_genotype']:5.2f} B/genotype | "
              f"read {row['read_gps'] / 1e9:6.2f} G/s decode {row['decode_gps'] / 1e9:6.3f} G/s "
              f"munge {row['munge_gps'] / 1e9:6.3f} G genotypes/s", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return rows


def fits(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per engine: slopes of log(time) on log(genotypes) and the line peak RSS = a + b x genotypes."""
    out = {}
    for engine, sub in df.groupby("engine", sort=False):
        if sub.genotypes.nunique() < 2:
            continue
        x = sub.genotypes.to_numpy(float)
        lx = np.log(x)
        b, a = np.polyfit(x, sub.peak_rss_mb.to_numpy() * MB, 1)
        out[engine] = {
            "slope_munge_s": float(np.polyfit(lx, np.log(sub.munge_s.to_numpy()), 1)[0]),
            "slope_wall_s": float(np.polyfit(lx, np.log(sub.wall_s.to_numpy()), 1)[0]),
            "slope_peak_rss": float(np.polyfit(lx, np.log(sub.peak_rss_mb.to_numpy()), 1)[0]),
            "rss_bytes_per_genotype": float(b), "rss_intercept_mb": float(a / MB),
        }
    return out


def plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4), dpi=90)
    for ax, col, label in ((axes[0], "wall_s", "munge time (s)"), (axes[1], "peak_rss_mb", "munge peak RSS (MB)")):
        for i, (engine, sub) in enumerate(df.groupby("engine", sort=False)):
            sub = sub.sort_values("genotypes")
            name = f"{engine} (process)" if col == "wall_s" else engine
            ax.plot(sub.genotypes, sub[col], "o-", color=f"C{i}", label=name)
            if col == "wall_s":
                ax.plot(sub.genotypes, sub.munge_s, "s:", color=f"C{i}", ms=4, label=f"{engine} (call)")
        g = np.sort(df.genotypes.unique()).astype(float)
        ref_y = df.loc[df.genotypes == g[-1], col].max()  # the line ends at the largest point
        ax.plot(g, ref_y * g / g[-1], "k--", lw=0.8, label="slope 1 (linear)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # plain numbers, labelled minor ticks too (the range may lie within one decade)
        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(1.5, 2, 3, 5, 7)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        # x: the measured sizes only (minor log ticks' labels collide)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xticks(g)
        ax.set_xticklabels([f"{v:.1e}".replace("e+0", "e") for v in g], fontsize=7)
        ax.set_xlabel("genotypes in the store (people x SNPs)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
    axes[0].legend(fontsize=7)
    snps = ", ".join(f"{s:,}" for s in sorted(df.snps.unique()))
    fig.suptitle(f"munging every SNP ({snps} SNPs), fresh process per point", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------------- the workflow
def net_space(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The net's built-in space with max_epochs, patience (and batch_size) pinned: 1 trial = defaults."""
    from genoml_core.tuning.net_spaces import space_for

    space = space_for(name)
    pins = {"max_epochs": args.net_epochs, "patience": args.net_patience, "batch_size": args.net_batch_size}
    for key, value in pins.items():
        if value is not None:
            space[key] = {"type": "categorical", "values": [value], "default": value}
    return space


def pipeline_config(cohort: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    from genoml_core.config import NET_LEARNERS

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    c = str(cohort) if cohort is not None else "/nonexistent"
    cfg["data"].update(genotypes=f"{c}/cohort", phenotype=f"{c}/phenotype.tsv", covariates=f"{c}/covariates.tsv",
                       groups=None)
    # enabled needs p_threshold or top_k: top_k = every SNP of the cohort keeps every pruned SNP
    # (the --glm still runs, so its cost is measured)
    top_k = args.assoc_top_k if args.assoc_top_k is not None else args.snps
    cfg["assoc_filter"].update(enabled=not args.no_assoc, p_threshold=None, top_k=top_k)
    cfg["split"]["method"] = "holdout"  # one fit per learner at this size (k folds would be k fits)
    cfg["munge"]["engine"] = args.pipeline_engine
    cfg["munge"]["chunk_variants"] = args.chunk_variants
    cfg["train"].update(learners=list(args.learners), n_trials=1, n_trials_per_learner={},
                        search_spaces={n: net_space(n, args) for n in args.learners
                                       if n in NET_LEARNERS and n != "rrfcn"})
    if args.relatedness:
        cfg["relatedness"]["policy"] = args.relatedness
    if args.glm_alphas and "penalized_glm" in args.learners:
        cfg["train"]["search_spaces"]["penalized_glm"] = {
            "n_inner_folds": {"type": "categorical", "values": [5], "default": 5},
            "lambda_choice": {"type": "categorical", "values": ["fold"], "default": "fold"},
            "alphas": {"type": "categorical", "values": [args.glm_alphas], "default": args.glm_alphas}}
    cfg["explain"]["truth"] = None
    cfg["predict"]["cohorts"] = None
    cfg["embed"]["enabled"] = False
    return cfg


def check_config(args: argparse.Namespace) -> None:
    """Fail before any simulation when the workflow config would be refused (e.g. a learner that
    does not exist yet)."""
    from genoml_core.config import validate_config

    validate_config(pipeline_config(None, args))


def stage_counts(work: Path, cohort: Path) -> dict[str, Any]:
    store_npy = work / layout.store_file("compact", "genotypes", fold="fold0")
    store = np.load(store_npy, mmap_mode="r")
    split = pd.read_csv(work / layout.SPLIT_TABLE, sep="\t", dtype={"FID": str, "IID": str, "part": str})
    return {
        "fam": count_lines(cohort / "cohort.fam"),
        "bim": count_lines(cohort / "cohort.bim"),
        "bed_bytes": (cohort / "cohort.bed").stat().st_size,
        "qc_samples": count_lines(work / layout.QC_KEEP),
        "train": int((split.part == "train").sum()),
        "valid": int((split.part == "valid").sum()),
        "test": int((split.part == "test").sum()),
        "variant_qc": count_lines(work / layout.VARIANTS_SNPLIST.format(fold="fold0")),
        "ld_prune": count_lines(work / layout.PRUNED_SNPLIST.format(fold="fold0")),
        "assoc": count_lines(work / layout.ASSOC_SNPLIST.format(fold="fold0")),
        "store_shape": [int(s) for s in store.shape],
        "store_bytes": store_npy.stat().st_size,
    }


def job_genotypes(stage: str, c: dict[str, Any]) -> int | None:
    """Genotypes a job works on: samples it uses x variants it reads (None: no genotypes)."""
    store = c["store_shape"][0] * c["store_shape"][1]
    return {
        "qc_samples": c["fam"] * c["bim"],
        "qc_variants": c["train"] * c["bim"],
        "ld_prune": c["train"] * c["variant_qc"],
        "assoc_filter": c["train"] * c["ld_prune"],
        "munge": store, "train": store, "leaderboard": store, "evaluate": store,
    }.get(stage)


def job_table(work: Path, counts: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for f in sorted((work / layout.BENCHMARKS).rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t")
        job = str(f.relative_to(work / layout.BENCHMARKS).with_suffix(""))
        stage = job.split("/")[0]
        s = float(pd.to_numeric(b["s"], errors="coerce").iloc[-1])
        rss = float(pd.to_numeric(b["max_rss"], errors="coerce").iloc[-1])
        g = job_genotypes(stage, counts)
        rows.append({"stage": stage, "job": job, "s": s, "max_rss_mb": rss, "genotypes": g,
                     # Snakemake samples RSS periodically: a sub-second job may show ~0 MB
                     "bytes_per_genotype": rss * MB / g if g and rss >= 1 else math.nan})
    order = ["check_inputs", "qc_samples", "split_samples", "qc_variants", "ld_prune", "assoc_filter", "munge",
             "train", "leaderboard", "evaluate"]
    df = pd.DataFrame(rows)
    df["_o"] = df.stage.map(lambda s: order.index(s) if s in order else len(order))
    return df.sort_values(["_o", "job"]).drop(columns="_o").reset_index(drop=True)


def run_pipeline(work: Path, n: int, m: int, args: argparse.Namespace) -> dict[str, Any]:
    cohort, _ = ensure_cohort(work, n, m, args.seed)
    pw = work / f"pipeline_{n}x{m}"
    pw.mkdir(parents=True, exist_ok=True)
    for d in (layout.RESULTS, layout.LOGS, layout.BENCHMARKS, ".snakemake", "bench_logs"):
        shutil.rmtree(pw / d, ignore_errors=True)
    cfg = pipeline_config(cohort, args)
    (pw / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [snakemake, "-s", REPO / "Snakefile", "--directory", pw, "--configfile", pw / "config.yaml",
           "--cores", args.cores, *TARGETS]
    print(f"workflow {n} x {m}: {shlex.join(map(str, cmd))}", flush=True)
    warm(cohort / "cohort.bed")
    meas = run_measured(cmd, pw / "bench_logs", "snakemake", cwd=pw)
    counts = stage_counts(pw, cohort)
    jobs = job_table(pw, counts)
    board = pd.read_csv(pw / layout.LEADERBOARD, sep="\t")
    ev = json.loads((pw / layout.EVALUATE_METRICS).read_text())
    truth = json.loads((cohort / "truth.json").read_text())
    oracle = truth.get("case_control", {}).get("oracle_auc", {}).get("training")
    print(f"workflow {n} x {m}: {meas.wall_s:.1f} s, peak RSS of any process {meas.max_rss_kb / 1024:.0f} MB",
          flush=True)
    return {"people": n, "snps": m, "wall_s": meas.wall_s, "peak_rss_mb": meas.max_rss_kb / 1024,
            "counts": counts, "jobs": jobs, "board": board, "evaluate": ev, "oracle_auc": oracle,
            "command": shlex.join(map(str, cmd))}


# ----------------------------------------------------------------------------- report
def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, {platform.machine()}, "
            f"Python {platform.python_version()}, genoml_core {GENOML_CORE_VERSION}")


def _g(x: float) -> str:
    """Genotype counts: 2.0e8 style for big ones."""
    return f"{x:.2e}" if x >= 1e6 else f"{x:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:.3g} (1/{1 / x:,.0f})" if 0 < x < 1 else f"{x:.3g}"


def _f(x: Any, fmt: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def render(args: argparse.Namespace, command: str, df: pd.DataFrame, fit: dict, pipe: dict | None,
           plot_rel: str | None) -> str:
    sizes = sorted(df.people.unique()) if len(df) else []
    snps = sorted(df.snps.unique()) if len(df) else []
    title = "Biobank scale"
    if len(df):
        title += f": munging {sizes[0]:,}-{sizes[-1]:,} people x {', '.join(f'{s:,}' for s in snps)} SNPs"
    if pipe:
        title += f"; the workflow at {pipe['people']:,} x {pipe['snps']:,}"
    L = [MARK_START, f"## {title}", "",
         f"Command: `{command}` ({machine()}; {time.strftime('%Y-%m-%d')}). Cohorts from `genoml-simulate` "
         f"(seed {args.seed}, no new cohort); every measured process starts fresh with the .bed in the page cache.",
         ""]
    if len(df):
        L += ["### Munging alone, every SNP (no QC, no pruning, 8:1:1 holdout split)", "",
              "`build_feature_store` on the whole .bim, one fresh process per point. *wall* = the process "
              "(imports, tables, the call); *call* = `build_feature_store` alone. Peak RSS from the child's "
              "rusage; *base* = a process that imports `genoml_core.store` (and the engine's library) and "
              "reads the .fam, .bim, split and covariates; B/genotype = (peak - base) / store genotypes; "
              f"chunk_variants {args.chunk_variants}."
              + (f" pandas-plink (the baseline decoder) is measured up to {args.baseline_max_people:,} people: "
                 "its throughput falls as cohorts grow, so larger sizes would take hours."
                 if args.baseline_max_people and "pandas-plink" in args.engines else ""), "",
              "| people | store rows | SNPs | genotypes | engine | wall s | call s | peak RSS MB | base MB | "
              "B/genotype | genotypes/s (call) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in df.itertuples():
            L.append(f"| {r.fam:,} | {r.store_rows:,} | {r.snps:,} | {_g(r.genotypes)} | {r.engine} | {r.wall_s:.1f} | "
                     f"{r.munge_s:.1f} | {r.peak_rss_mb:.0f} | {r.base_rss_mb:.0f} | {r.bytes_per_genotype:.2f} | "
                     f"{r.munge_gps:.3g} |")
        L.append("")
        for engine, f in fit.items():
            L.append(f"- **{engine}**: slope of log(time) on log(genotypes) **{f['slope_munge_s']:.2f}** for the "
                     f"call, {f['slope_wall_s']:.2f} for the process (1 = linear growth); peak RSS = "
                     f"{f['rss_intercept_mb']:.0f} MB + **{f['rss_bytes_per_genotype']:.2f} B/genotype** "
                     f"(least squares across sizes; log-log slope {f['slope_peak_rss']:.2f}).")
        if plot_rel:
            L += ["", f"![munge time and peak RSS against genotypes, log-log]({plot_rel})"]
        L += ["", "### Decoding against a plain read of the .bed", "",
              "*read*: the .bed read sequentially from the page cache in 16 MiB `readinto()` chunks into one "
              "buffer (the best of repeated reads); genotypes/s counts the people x SNPs of the .bed (its bytes hold "
              "4 genotypes each, each SNP padded to a multiple of 4 people). *decode*: "
              "`io.iter_genotype_chunks` over every SNP and person (a fresh process, the reader's setup "
              "included). *munge*: the call above, over the store's genotypes. A .bed of a few MB is read "
              "from the CPU caches, so the read rate of the small cohorts is not a memory-bandwidth figure.", "",
              "| people | SNPs | .bed MB | read GB/s | read genotypes/s | engine | decode genotypes/s | "
              "decode/read | munge genotypes/s | munge/read |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in df.itertuples():
            L.append(f"| {r.fam:,} | {r.snps:,} | {r.bed_bytes / MB:.0f} | {r.read_Bps / 1e9:.2f} | "
                     f"{r.read_gps:.3g} | {r.engine} | {r.decode_gps:.3g} | {_ratio(r.decode_gps / r.read_gps)} | "
                     f"{r.munge_gps:.3g} | {_ratio(r.munge_gps / r.read_gps)} |")
        sims = df.drop_duplicates("people").dropna(subset=["simulate_s"])
        if len(sims):
            L += ["", "Simulating the cohorts took " + ", ".join(
                f"{s.simulate_s:.0f} s ({s.people:,} x {s.snps:,})" for s in sims.itertuples()) + "."]
    if pipe:
        c = pipe["counts"]
        if args.no_assoc:
            assoc = "association filter off"
        elif args.assoc_top_k is None:
            assoc = f"association filter with top_k {args.snps:,}: every pruned SNP kept"
        else:
            assoc = f"association filter keeping at most {args.assoc_top_k:,} SNPs"
        L += ["", f"### The workflow at {pipe['people']:,} people x {pipe['snps']:,} SNPs", "",
              f"`snakemake --cores {args.cores}` on `{' '.join(TARGETS)}` (QC, holdout split, LD pruning, "
              f"{assoc}, "
              f"munging with `{args.pipeline_engine}`, learners {', '.join(f'`{x}`' for x in args.learners)} "
              f"with 1 trial each; nets: max_epochs {args.net_epochs}, patience {args.net_patience}"
              f"{'' if args.net_batch_size is None else f', batch_size {args.net_batch_size}'}; no explain, "
              "report, predict, embed or NAS).", "",
              f"- **Whole run: {pipe['wall_s']:.1f} s** wall; peak RSS of any one process "
              f"{pipe['peak_rss_mb']:.0f} MB.",
              f"- .bed {c['bed_bytes'] / MB:,.0f} MB ({c['fam']:,} people x {c['bim']:,} SNPs); "
              f"{c['qc_samples']:,} people pass sample QC (train {c['train']:,} / valid {c['valid']:,} / "
              f"test {c['test']:,}); SNPs: {c['bim']:,} -> variant QC {c['variant_qc']:,} -> LD pruning "
              f"{c['ld_prune']:,} -> association filter {c['assoc']:,}; feature store "
              f"{c['store_shape'][0]:,} x {c['store_shape'][1]:,} int8 ({c['store_bytes'] / MB:,.0f} MB).",
              "", "| stage | job | s | peak RSS MB | genotypes | B/genotype |", "| --- | --- | --- | --- | --- | --- |"]
        for r in pipe["jobs"].itertuples():
            L.append(f"| {r.stage} | {r.job} | {r.s:.1f} | {_f(r.max_rss_mb, '.0f')} | "
                     f"{'-' if r.genotypes is None or pd.isna(r.genotypes) else _g(r.genotypes)} | "
                     f"{_f(r.bytes_per_genotype, '.2f')} |")
        L += ["", "*genotypes*: people the job uses x SNPs it reads (sample QC: the .bed; variant QC, pruning, "
              "association: training people; munge, train, leaderboard, evaluate: the store). B/genotype = "
              "the job's whole peak RSS over them (no base subtracted). Snakemake samples a job's memory "
              "periodically, so jobs of about a second or less may show little or none.", "",
              "| learner | OOF ROC AUC (validation people) | fit s |", "| --- | --- | --- |"]
        for r in pipe["board"].itertuples():
            oof = getattr(r, "oof_roc_auc", getattr(r, "valid_roc_auc", None))
            L.append(f"| {r.learner} | {_f(oof, '.3f')} | {_f(getattr(r, 'fit_seconds', None), '.1f')} |")
        ev = pipe["evaluate"]
        ci = ev.get("test_ci95", {}).get("roc_auc")
        L += ["", f"Evaluation (the final model, `{ev.get('learner')}`, n = {ev.get('n_test')} test "
              f"people): ROC AUC **{_f(ev.get('test', {}).get('roc_auc'), '.3f')}**"
              + (f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else "")
              + (f"; the simulator's oracle AUC (noise-free liability, whole cohort): {pipe['oracle_auc']:.3f}."
                 if pipe["oracle_auc"] is not None else ".")]
    L += ["", MARK_END]
    return "\n".join(L)


# ----------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, nargs="+", default=None,
                    help="cohort sizes (default 2000 10000 25000 50000; --quick: 1000 2000 3000 4000)")
    ap.add_argument("--snps", type=int, default=None, help="SNPs of every cohort (default 100000; --quick: 5000)")
    ap.add_argument("--work", type=Path, default=None,
                    help="cohorts and runs (default /tmp/bench_scale; --quick: /tmp/bench_scale_quick)")
    ap.add_argument("--quick", action="store_true", help="small sizes, a few minutes in all")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--baseline-max-people", type=int, default=10000,
                    help="measure the pandas-plink engine only up to this many people (0 = always): its "
                         "decoding slows down as cohorts grow (~2 min at 10,000 x 100,000; far longer above)")
    ap.add_argument("--chunk-variants", type=int, default=2048, help="munge.chunk_variants (config default 2048)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-munge", action="store_true", help="skip the munge/decode measurements")
    ap.add_argument("--pipeline-people", type=int, default=None,
                    help="people of the workflow run (default the largest --people; 0 = no workflow run)")
    ap.add_argument("--learners", nargs="+", default=DEFAULT_LEARNERS)
    ap.add_argument("--net-epochs", type=int, default=3, help="max_epochs of the nets' single trial")
    ap.add_argument("--net-patience", type=int, default=2, help="patience of the nets' single trial")
    ap.add_argument("--net-batch-size", type=int, default=None, help="batch_size of the nets (default: the space's)")
    ap.add_argument("--assoc-top-k", type=int, default=None,
                    help="association filter top_k (default: --snps, i.e. every pruned SNP is kept)")
    ap.add_argument("--no-assoc", action="store_true", help="switch the association filter off")
    ap.add_argument("--pipeline-engine", choices=ENGINES, default="lut", help="munge.engine of the workflow (default lut, the workflow default)")
    ap.add_argument("--relatedness", choices=["group", "drop", "ignore"], default=None,
                    help="relatedness.policy of the workflow run (default: the config's; KING grows with people^2)")
    ap.add_argument("--glm-alphas", default=None,
                    help='penalized_glm alpha grid, e.g. "1" or "1,0.5" (default: the registry default)')
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-write", action="store_true",
                    help="print only: leave BENCHMARKS.md and docs/bench/ alone (the plot goes to --work)")
    ap.add_argument("--md", type=Path, default=REPO / "BENCHMARKS.md")
    args = ap.parse_args(argv)
    if args.people is None:
        args.people = [1000, 2000, 3000, 4000] if args.quick else [2000, 10000, 25000, 50000]
    if args.snps is None:
        args.snps = 5000 if args.quick else 100000
    if args.work is None:
        args.work = Path("/tmp/bench_scale_quick" if args.quick else "/tmp/bench_scale")
    if args.pipeline_people is None:
        args.pipeline_people = 3000 if args.quick else max(args.people)
    args.people = sorted(set(args.people))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = ".venv/bin/python bench/bench_scale.py" + ("" if len(sys.argv) < 2 else " " + shlex.join(sys.argv[1:]))
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    print(f"bench_scale: {machine()}\nwork dir {work}", flush=True)
    if args.pipeline_people:
        from genoml_core.errors import ConfigError

        try:
            check_config(args)
        except ConfigError as err:
            print(f"bench_scale: the workflow config would be refused: {err}", file=sys.stderr)
            return 2
    try:
        rows: list[dict[str, Any]] = []
        if not args.no_munge:
            print(f"munge scaling: people {args.people} x {args.snps} SNPs, engines {args.engines}", flush=True)
            for n in args.people:
                rows += measure_size(work, n, args.snps, args)
        pipe = run_pipeline(work, args.pipeline_people, args.snps, args) if args.pipeline_people else None
    except CommandFailed as err:
        print(f"\nbench_scale FAILED\n{err}", file=sys.stderr, flush=True)
        return 1
    df = pd.DataFrame(rows)
    fit = fits(df) if len(df) else {}
    plot_rel = None
    if len(df):
        plot_path = work / "scale_munge.png" if args.no_write else PLOT
        plot(df, plot_path)
        print(f"plot: {plot_path} ({plot_path.stat().st_size / 1024:.0f} KB)")
        plot_rel = None if args.no_write else os.path.relpath(PLOT, args.md.resolve().parent)
        (work / "munge_scaling.tsv").write_text(df.to_csv(sep="\t", index=False))
    if pipe:
        pipe["jobs"].to_csv(work / "pipeline_jobs.tsv", sep="\t", index=False)
    section = render(args, command, df, fit, pipe, plot_rel)
    print()
    print(section)
    print(f"\nbench_scale: {time.perf_counter() - t_all:.0f} s in all", flush=True)
    if not args.no_write:
        write_section(args.md, SECTION, section)
        print(f"wrote the {SECTION!r} section of {args.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
