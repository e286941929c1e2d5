"""SLURM vs local, and the memory behind every rule's mem_mb (run by hand, not in CI).

Two measurements:

``search``: one hyperparameter search of 40 trial jobs (4 learners x 10 trials) on a small
    simulated cohort, run three ways from the same finished munge stage: locally with
    ``--cores 1``, locally with ``--cores 2``, and through SLURM with ``--jobs 2`` (two job slots;
    ``--profile profiles/slurm --profile profiles/ci-local``). Reports the wall time and the
    scheduler overhead per job: (wall x slots - sum of the jobs' own run times) / jobs, where a
    job's own run time is its Snakemake benchmark ``s`` (the rule's script, timed inside the job).
    For SLURM it also splits the overhead with ``sacct``: queue wait (Submit -> Start), the job's
    start-up inside the allocation (Elapsed - script time: ``python -m snakemake`` for the job
    step) and the rest (status polling by the executor plugin). Needs a running cluster
    (``.ci/slurm/start_cluster.sh``).

``memory``: the peak resident memory of every rule on cohorts of several sizes, sampled every
    0.1 s over each job's whole process tree (the script and its plink2 child), with the sizes the
    rules' ``mem_mb`` functions read (``.bed`` bytes; the fold's ``genotypes.npy`` bytes; model
    files). These are the figures behind the formulas in ``genoml_core/resources.py``.

Usage:
    .ci/slurm/start_cluster.sh && export SLURM_CONF=/var/tmp/genoml-slurm/etc/slurm.conf
    .venv/bin/python bench/bench_slurm.py search --out /tmp/bench_slurm --write-md BENCHMARKS.md
    .venv/bin/python bench/bench_slurm.py memory --out /tmp/bench_mem --write-md BENCHMARKS.md
    .ci/slurm/stop_cluster.sh
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genoml_core.simulate import SimulationSpec, simulate_cohort  # noqa: E402
from genoml_core import layout  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SEARCH_LEARNERS = ["logistic_l1", "logistic_l2", "lda", "knn"]
MEMORY_LEARNERS = ["logistic_l1", "random_forest", "xgboost", "svm_rbf", "knn", "lda", "mlp"]
# (n_samples, n_snps, assoc top_k)
MEMORY_SIZES = [(1000, 10000, 1000), (4000, 10000, 1000), (1000, 40000, 1000), (4000, 40000, 4000),
                (16000, 20000, 1000), (8000, 80000, 4000)]
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)?\.?$")


def log(msg: str) -> None:
    print(f"[bench_slurm {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_md_block(path: Path, marker: str, body: str) -> None:
    """Put ``body`` between the markers of ``marker`` in the '## SLURM vs local' section of ``path``."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        if "## SLURM vs local" not in text:
            text = text.rstrip() + "\n\n## SLURM vs local\n\n"
        head, _, tail = text.partition("## SLURM vs local")
        # append at the end of the section (before the next "## " heading, if any)
        nxt = re.search(r"^## ", tail[1:], flags=re.M)
        cut = nxt.start() + 1 if nxt else len(tail)
        section = tail[:cut].rstrip() + "\n\n" + block + "\n"
        text = head + "## SLURM vs local" + section + ("\n" + tail[cut:] if nxt else "")
    path.write_text(text.rstrip() + "\n")


def machine() -> str:
    return f"{platform.platform()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"


def write_config(work: Path, cohort: Path, *, learners: list[str], n_trials: int, top_k: int) -> None:
    cfg = {
        "seed": 11,
        "task": "binary",
        "data": {
            "genotypes": str(cohort / "cohort"),
            "phenotype": str(cohort / "phenotype.tsv"),
            "phenotype_column": "case_control",
            "covariates": str(cohort / "covariates.tsv"),
        },
        "split": {"valid_fraction": 0.2, "test_fraction": 0.2},
        "assoc_filter": {"top_k": top_k},
        "train": {"learners": learners, "n_trials": n_trials},
        "evaluate": {"n_bootstrap": 100},
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


def snakemake_cmd(work: Path, *args: str, targets: list[str] | tuple[str, ...] = ()) -> list[str]:
    # targets first: options such as --configfile and --quiet take several values
    return [SNAKEMAKE, *targets, "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--configfile", str(work / "config.yaml"), *args]


# --------------------------------------------------------------------------------------- search
def slurm_conf_env() -> dict[str, str]:
    env = dict(os.environ)
    default = Path(os.environ.get("GENOML_SLURM_DIR", "/var/tmp/genoml-slurm")) / "etc/slurm.conf"
    if "SLURM_CONF" not in env and default.exists():
        env["SLURM_CONF"] = str(default)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def sacct_jobs(ids: list[str], env: dict[str, str]) -> pd.DataFrame:
    out = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-j", ",".join(ids), "-o", "JobID,State,Partition,Submit,Start,End,Elapsed"],
        capture_output=True, text=True, check=True, env=env, timeout=60,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    df = pd.DataFrame(rows, columns=["job", "state", "partition", "submit", "start", "end", "elapsed"])
    for col in ("submit", "start", "end"):
        df[col] = pd.to_datetime(df[col])
    return df


def job_seconds(work: Path) -> list[float]:
    """Each trial job's own run time (Snakemake benchmark ``s``: the script, timed in the job)."""
    return [float(pd.read_csv(p, sep="\t")["s"].iloc[0]) for p in sorted((work / "benchmarks/train").rglob("*.tsv"))]


def run_mode(base: Path, out: Path, name: str, args: list[str], targets: list[str], env: dict[str, str],
             slots: int, timeout: int) -> dict[str, Any]:
    work = out / name
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work, symlinks=True)  # copy2 keeps mtimes: nothing upstream reruns
    cmd = ["timeout", "--foreground", "-s", "INT", "-k", "60", str(timeout),
           *snakemake_cmd(work, *args, targets=targets)]
    log(f"{name}: {' '.join(cmd[7:])}")
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    (work / "snakemake.out").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}); see {work / 'snakemake.out'}")
    secs = job_seconds(work)
    n = len(secs)
    res: dict[str, Any] = {
        "mode": name, "slots": slots, "jobs": n, "wall_s": round(wall, 1),
        "sum_job_s": round(sum(secs), 1), "mean_job_s": round(sum(secs) / n, 2),
        "overhead_per_job_s": round((wall * slots - sum(secs)) / n, 2),
        "command": " ".join(["snakemake", *args, "<40 trial targets>"]),
        "load_1min": f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}",
    }
    text = proc.stdout + proc.stderr
    ids = [m.group(1) for line in text.splitlines() if (m := SUBMITTED.search(line.strip()))]
    if ids:
        acct = sacct_jobs(ids, env)
        bench = {}
        for p in (work / "benchmarks/train").rglob("*.tsv"):
            bench[f"{p.parent.name}_{p.stem.removeprefix('trial_')}"] = float(pd.read_csv(p, sep="\t")["s"].iloc[0])
        elapsed = (acct["end"] - acct["start"]).dt.total_seconds()
        res.update({
            "slurm_jobs": len(ids),
            "all_completed": bool((acct["state"] == "COMPLETED").all()),
            "queue_wait_mean_s": round(float((acct["start"] - acct["submit"]).dt.total_seconds().mean()), 2),
            "slurm_elapsed_mean_s": round(float(elapsed.mean()), 2),
            "in_job_startup_mean_s": round(float(elapsed.mean()) - sum(secs) / n, 2),
        })
        res["polling_mean_s"] = round(
            res["overhead_per_job_s"] - res["queue_wait_mean_s"] - res["in_job_startup_mean_s"], 2)
    log(f"{name}: {res}")
    return res


def cmd_search(ns: argparse.Namespace) -> None:
    if ns.json:  # render an earlier run's search.json
        results = json.loads(ns.json.read_text())
        print(search_markdown(results, ns))
        if ns.write_md:
            write_md_block(ns.write_md, "bench_slurm_search", search_markdown(results, ns))
        return
    out = ns.out.resolve()
    env = slurm_conf_env()
    if subprocess.run(["sinfo", "-h"], capture_output=True, env=env, timeout=30).returncode != 0:
        raise SystemExit("sinfo cannot reach slurmctld: start the cluster (.ci/slurm/start_cluster.sh) first")
    out.mkdir(parents=True, exist_ok=True)
    cohort = out / "cohort"
    if not (cohort / "cohort.bed").exists():
        simulate_cohort(cohort, SimulationSpec(n_samples=ns.n_samples, n_snps=ns.n_snps, n_chromosomes=3, n_new=20,
                                               seed=5))
    base = out / "base"
    write_config(base, cohort, learners=SEARCH_LEARNERS, n_trials=ns.n_trials, top_k=ns.top_k)
    log("munge stage, locally (shared by every mode)")
    munged = layout.store_file("compact", fold="fold0")
    subprocess.run(snakemake_cmd(base, "--cores", "2", "--quiet", "all", targets=[munged]),
                   check=True, cwd=base, env=env, capture_output=True)
    targets = [layout.SELECTION.format(learner=name) for name in SEARCH_LEARNERS]
    modes = [
        ("local_cores1", ["--cores", "1"], 1),
        ("local_cores2", ["--cores", "2"], 2),
        ("slurm_jobs2", ["--profile", str(REPO / "profiles/slurm"), "--profile", str(REPO / "profiles/ci-local"),
                         "--jobs", "2"], 2),
    ]
    results = [run_mode(base, out, name, args, targets, env, slots, ns.timeout) for name, args, slots in modes]
    (out / "search.json").write_text(json.dumps(results, indent=2))
    if ns.write_md:
        write_md_block(ns.write_md, "bench_slurm_search", search_markdown(results, ns))
        log(f"wrote {ns.write_md}")


def search_markdown(results: list[dict[str, Any]], ns: argparse.Namespace) -> str:
    n = results[0]["jobs"]
    lines = [
        f"### The same search: {n} trial jobs, locally and through SLURM",
        "",
        f"{len(SEARCH_LEARNERS)} learners ({', '.join(SEARCH_LEARNERS)}) x {ns.n_trials} trials on a simulated "
        f"{ns.n_samples:,} x {ns.n_snps:,} cohort (assoc top_k {ns.top_k}), one trial per job, each mode starting "
        "from the same finished munge stage (targets: `results/select/<learner>.json`). SLURM: the one-node "
        "cluster of `.ci/slurm/start_cluster.sh` on the same machine (slurmdbd accounting, status via sacct), "
        "`--profile profiles/slurm --profile profiles/ci-local --jobs 2` (first status check 2 s after a "
        "submission, then every +10 s while nothing finishes: the plugin's back-off).",
        "",
        "| mode | job slots | wall time (s) | mean job run time (s) | overhead per job (s) | load (1 min, start -> end) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        mode = r["command"].replace(" <40 trial targets>", "").replace(str(REPO) + "/", "")
        lines.append(f"| `{mode}` | {r['slots']} | {r['wall_s']} | {r['mean_job_s']} | "
                     f"{r['overhead_per_job_s']} | {r['load_1min']} |")
    slurm = [r for r in results if "slurm_jobs" in r]
    for r in slurm:
        lines += [
            "",
            f"SLURM overhead per job, from `sacct` ({r['slurm_jobs']} jobs, all COMPLETED: {r['all_completed']}): "
            f"queue wait (Submit -> Start) {r['queue_wait_mean_s']} s; start-up inside the allocation "
            f"(Elapsed {r['slurm_elapsed_mean_s']} s - script {r['mean_job_s']} s) {r['in_job_startup_mean_s']} s; "
            f"the rest, {r['polling_mean_s']} s, is the executor's status polling (a finished job is noticed at "
            "the next `sacct` poll).",
        ]
    lines += [
        "",
        f"The machine ({os.cpu_count()} CPUs) was shared with other work during these runs (last column: the "
        "1-minute load average): with the CPUs already busy, two local jobs at a time each ran slower "
        "(mean job time above), so `--cores 2` gained little over `--cores 1`; on an idle machine expect it to "
        "halve the wall time. Of the SLURM overhead, the start-up inside the allocation is CPU work (slower under "
        "load); the polling share is waiting, whatever the load.",
        "",
        "Overhead per job = (wall time x job slots - sum of the jobs' own run times) / jobs; a job's own run "
        "time is its Snakemake benchmark `s` (the rule's script, timed inside the job, imports included). "
        "Reading: through SLURM each short trial job pays its queue wait, two Snakemake start-ups inside the "
        "allocation and the executor's polling; what SLURM buys is the number of nodes, not per-job latency. "
        "Trials of a few seconds are cheaper locally; on a cluster, give each job more work (fewer, longer "
        "trials).",
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python bench/bench_slurm.py search --out /tmp/bench_slurm "
        "--write-md BENCHMARKS.md` (cluster started with `.ci/slurm/start_cluster.sh`).",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- memory
class TreeSampler:
    """Sample, every ``interval`` s, the summed RSS of each child process tree of ``root_pid``.

    A Snakemake job run locally is one child of the Snakemake process (the script's python, which
    may start plink2); the job is named by the log file its script opens (``logs/<rule>/...``).
    """

    def __init__(self, root_pid: int, workdir: Path, interval: float = 0.1) -> None:
        self.root = psutil.Process(root_pid)
        self.workdir = str(workdir)
        self.interval = interval
        self.peak: dict[int, int] = {}
        self.name: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _job_name(self, tree: list[psutil.Process]) -> str | None:
        for p in tree:
            try:
                for f in p.open_files():
                    if f.path.startswith(f"{self.workdir}/{layout.LOGS}/") and f.path.endswith(".log"):
                        return f.path[len(self.workdir) + 1:]
            except psutil.Error:
                continue
        return None

    def _sample(self, child: psutil.Process) -> None:
        tree = [child, *child.children(recursive=True)]
        rss = 0
        for p in tree:
            try:
                rss += p.memory_info().rss
            except psutil.Error:  # a plink2 child that just exited
                continue
        self.peak[child.pid] = max(self.peak.get(child.pid, 0), rss)
        if child.pid not in self.name:
            name = self._job_name(tree)
            if name:
                self.name[child.pid] = name

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                children = self.root.children()
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    self._sample(child)
                except psutil.Error:  # the job ended between two calls
                    continue
            time.sleep(self.interval)

    def peaks_mb(self) -> dict[str, float]:
        return {self.name[pid]: rss / 2**20 for pid, rss in self.peak.items() if pid in self.name}


def rule_of(log_path: str) -> str:
    # logs/<rule>.log | logs/<rule>/<wildcards>.log; train logs are logs/train/<learner>/trial_N.log
    parts = Path(log_path).with_suffix("").parts[1:]
    if parts[0] == "train":
        return "train_net" if parts[1] == "mlp" else "train_classical"
    return {"select": "select_learner"}.get(parts[0], parts[0])


def cmd_memory(ns: argparse.Namespace) -> None:
    if ns.tsv:  # re-render earlier measurements (their work folders must still exist)
        df = pd.concat([pd.read_csv(p, sep="\t") for p in ns.tsv], ignore_index=True)
        df = df.drop_duplicates(subset=["cohort", "job"], keep="last")
        print(memory_markdown(df, ns.tsv))
        if ns.write_md:
            write_md_block(ns.write_md, "bench_slurm_memory", memory_markdown(df, ns.tsv))
            log(f"wrote {ns.write_md}")
        return
    out = ns.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n_samples, n_snps, top_k in ns.sizes:
        tag = f"{n_samples}x{n_snps}"
        cohort = out / f"cohort_{tag}"
        if not (cohort / "cohort.bed").exists():
            log(f"simulating {tag}")
            spec = SimulationSpec(n_samples=n_samples, n_snps=n_snps, n_chromosomes=4, n_new=20, seed=3)
            simulate_cohort(cohort, spec)
        work = out / f"work_{tag}"
        if work.exists():
            shutil.rmtree(work)
        write_config(work, cohort, learners=MEMORY_LEARNERS, n_trials=1, top_k=top_k)
        log(f"running the workflow on {tag} (top_k {top_k})")
        t0 = time.perf_counter()
        proc = subprocess.Popen(snakemake_cmd(work, "--cores", "1", "--quiet", "all"), cwd=work,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with TreeSampler(proc.pid, work) as sampler:
            text, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"workflow failed on {tag}:\n{text[-3000:]}")
        log(f"{tag}: {time.perf_counter() - t0:.0f} s")
        bed_mb = (cohort / "cohort.bed").stat().st_size / 1e6
        store_mb = (work / layout.store_file("compact", "genotypes", fold="fold0")).stat().st_size / 1e6
        models_mb = sum(p.stat().st_size for p in (work / "results/train").rglob("model_*")) / 1e6
        for job, peak in sorted(sampler.peaks_mb().items()):
            model = next((work / "results/train").glob(f"{Path(job).parent.name}/{Path(job).stem}/model_*"), None)
            rows.append({
                "cohort": tag, "n_samples": n_samples, "n_snps": n_snps, "top_k": top_k, "job": job,
                "work": str(work), "cohort_dir": str(cohort),
                "rule": rule_of(job), "peak_rss_mb": round(peak, 1), "bed_mb": round(bed_mb, 2),
                "store_mb": round(store_mb, 2), "models_mb": round(models_mb, 2),
                "model_mb": round(model.stat().st_size / 1e6, 2) if model and "train" in job else None,
            })
    df = pd.DataFrame(rows)
    df.to_csv(out / "memory.tsv", sep="\t", index=False)
    log(f"wrote {out / 'memory.tsv'}")
    print(df.to_string())
    if ns.write_md:
        write_md_block(ns.write_md, "bench_slurm_memory", memory_markdown(df, [out / "memory.tsv"]))
        log(f"wrote {ns.write_md}")


class _Input(list):
    """Stands in for a job's ``input``: named file lists, iterable like Snakemake's."""

    def __init__(self, **named: Any) -> None:
        super().__init__(str(p) for v in named.values() for p in (v if isinstance(v, list) else [v]))
        for key, value in named.items():
            setattr(self, key, [str(p) for p in value] if isinstance(value, list) else str(value))


def resource_helpers() -> dict[str, Any]:
    """The workflow's mem_* functions (genoml_core.resources), bound as common.smk binds them."""
    from genoml_core.models import registry
    from genoml_core.resources import JobMemory

    memory = JobMemory({}, feature_set=registry.feature_set, streams=registry.streams)
    return {f"mem_{name}": getattr(memory, name) for name in ("plink", "tables", "munge", "train", "models")}


def requested_mb(helpers: dict[str, Any], row: pd.Series) -> int | None:
    """mem_mb the workflow asks for this job (attempt 1), from the same files the job read."""
    work, cohort = Path(row.work), Path(row.cohort_dir)
    geno = [cohort / f"cohort{ext}" for ext in (".bed", ".bim", ".fam")]
    stores = [work / layout.store_file("compact", fold="fold0")]
    models = sorted(str(p) for p in (work / "results/train").rglob("model_*"))
    learner = Path(row.job).parent.name
    calls = {
        "check_inputs": ("mem_tables", _Input(genotypes=geno, phenotype=cohort / "phenotype.tsv",
                                               covariates=cohort / "covariates.tsv")),
        "split_samples": ("mem_tables", _Input(samples=work / layout.INPUT_SAMPLES,
                                               keep=work / layout.QC_KEEP)),
        "munge": ("mem_munge", _Input(genotypes=geno, snplist=work / layout.ASSOC_SNPLIST.format(fold="fold0"),
                                      covariates=[cohort / "covariates.tsv"])),
        "train_classical": ("mem_train", _Input(stores=stores)),
        "train_net": ("mem_train", _Input(stores=stores)),
        "leaderboard": ("mem_models", _Input(stores=stores, models=models)),
        "evaluate": ("mem_models", _Input(stores=stores, models=models)),
    }
    calls.update({r: ("mem_plink", _Input(genotypes=geno)) for r in ("qc_samples", "qc_variants", "ld_prune",
                                                                     "assoc_filter")})
    if row.rule not in calls:
        return None
    name, inputs = calls[row.rule]
    return int(helpers[name]({"learner": learner}, inputs, 1))


def memory_markdown(df: pd.DataFrame, sources: list[Path]) -> str:
    helpers = resource_helpers()
    overhead = helpers["SLURM_JOB_MB"]
    df = df[~df.rule.isin(["select_learner", "qc_summary"])].copy()  # local rules: never submitted
    df["request_mb"] = [requested_mb(helpers, row) for row in df.itertuples()]
    df["covered"] = df.request_mb >= df.peak_rss_mb + overhead
    order = df.drop_duplicates("cohort").sort_values(["n_samples", "n_snps"]).cohort.tolist()
    lines = [
        "### Memory per rule (the numbers behind `mem_mb`)",
        "",
        "Peak resident memory of each job's script (its process tree: the script and its plink2 child, sampled "
        "every 0.1 s) on simulated cohorts, run locally with `--cores 1`; learners "
        + ", ".join(MEMORY_LEARNERS) + " at their trial-0 defaults. Each cell: measured peak MB / the "
        f"`mem_mb` the rule asks for (attempt 1), which adds {overhead} MB for the two Snakemake processes of "
        "a SLURM job (measured around real jobs in `tests/slurm`) and 30% headroom "
        "(formulas: `genoml_core/resources.py`, README \"On a SLURM cluster\"). Train rows: the learner "
        "with the largest peak.",
        "",
        "| rule | " + " | ".join(f"{c} (top_k {int(df[df.cohort == c].top_k.iloc[0])})" for c in order) + " |",
        "| --- |" + " ---: |" * len(order),
        "| `.bed` / `genotypes.npy` MB | " + " | ".join(
            f"{df[df.cohort == c].bed_mb.iloc[0]:.1f} / {df[df.cohort == c].store_mb.iloc[0]:.1f}" for c in order)
        + " |",
    ]
    pipeline = ["check_inputs", "qc_samples", "split_samples", "qc_variants", "ld_prune", "assoc_filter", "munge",
                "train_classical", "train_net", "leaderboard", "evaluate"]
    for rule in sorted(dict.fromkeys(df.rule), key=lambda r: pipeline.index(r) if r in pipeline else 99):
        cells = []
        for c in order:
            sub = df[(df.cohort == c) & (df.rule == rule)]
            if sub.empty:
                cells.append("")
                continue
            top = sub.loc[sub.peak_rss_mb.idxmax()]
            who = f" ({Path(top.job).parent.name})" if rule.startswith("train") else ""
            cells.append(f"{top.peak_rss_mb:.0f}{who} / {top.request_mb}")
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    uncovered = df[~df.covered]
    lines += [
        "",
        f"Every job's request covers its measured peak plus {overhead} MB: "
        + ("yes." if uncovered.empty else f"NO for {', '.join(uncovered.job)}."),
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python bench/bench_slurm.py memory --out /tmp/bench_mem "
        "--write-md BENCHMARKS.md` (every job: `/tmp/bench_mem/memory.tsv`; `--tsv FILE...` renders this table "
        "again from earlier runs: here " + ", ".join(str(p) for p in sources) + ").",
    ]
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int, int]:
    parts = [int(x) for x in text.lower().split("x")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SAMPLESxSNPSxTOPK, e.g. 1000x10000x1000")
    return parts[0], parts[1], parts[2]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="40 trial jobs: --cores 1, --cores 2, SLURM with 2 job slots")
    s.add_argument("--out", type=Path, default=Path("/tmp/bench_slurm"))
    s.add_argument("--n-samples", type=int, default=1000)
    s.add_argument("--n-snps", type=int, default=5000)
    s.add_argument("--top-k", type=int, default=500)
    s.add_argument("--n-trials", type=int, default=10, help="trials per learner (4 learners)")
    s.add_argument("--timeout", type=int, default=1800, help="seconds per mode before SIGINT")
    s.add_argument("--write-md", type=Path, help="update this BENCHMARKS.md")
    s.add_argument("--json", type=Path, help="render an earlier run's search.json instead of running")
    m = sub.add_parser("memory", help="peak RSS of every rule on several cohort sizes")
    m.add_argument("--out", type=Path, default=Path("/tmp/bench_mem"))
    m.add_argument("--sizes", type=parse_size, nargs="+", default=MEMORY_SIZES,
                   help="SAMPLESxSNPSxTOPK ... (default: %(default)s)")
    m.add_argument("--write-md", type=Path, help="update this BENCHMARKS.md")
    m.add_argument("--tsv", type=Path, nargs="+", help="render earlier memory.tsv files instead of measuring")
    ns = ap.parse_args(argv)
    {"search": cmd_search, "memory": cmd_memory}[ns.command](ns)


if __name__ == "__main__":
    main()
