"""Shared fixtures: small simulated cohorts (made once per session) and a Snakemake runner."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genoml_core import io  # noqa: E402
from genoml_core.simulate import SimulationSpec, simulate_cohort  # noqa: E402

needs_plink = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not on PATH")


_NO_SLURM_DIR: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Every Snakemake start (the CLI, or importing ``snakemake.api``/``snakemake.cli``) loads
    snakemake-executor-plugin-slurm, which runs ``scontrol show config`` (for MinJobAge, 10 s
    timeout) whatever the executor. Where SLURM's client is installed and no controller runs (a
    machine after the CI's SLURM step: /etc/slurm/slurm.conf stays), each start waits ~9 s for it.
    The tests run Snakemake locally, so their SLURM client reads a config whose controller refuses
    at once. Not in the SLURM run (GENOML_SLURM_TESTS=1: tests/slurm starts a real cluster)."""
    global _NO_SLURM_DIR
    if os.environ.get("GENOML_SLURM_TESTS") == "1":
        return
    _NO_SLURM_DIR = tempfile.mkdtemp(prefix="genoml_no_slurm_")
    conf = Path(_NO_SLURM_DIR) / "slurm.conf"
    conf.write_text("ClusterName=none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=9\nMessageTimeout=1\n")
    os.environ["SLURM_CONF"] = str(conf)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _NO_SLURM_DIR is not None:
        shutil.rmtree(_NO_SLURM_DIR, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """For pytest-xdist (`make test`: ``-n 2 --dist loadgroup``).

    A test that uses a module-scoped fixture (a workflow run that several tests read) is marked
    ``xdist_group(<its module>)``: the module's tests that share it run on one worker, in file order,
    so the fixture is built once, not once per worker. The tests of the session-scoped
    ``binary_run`` (test_api.py's, test_predict.py's, then test_workflow.py's) are one group, for
    the same reason. (Tests that edit ``binary_run``'s config put it back.)

    On a worker, the workflow and rule tests (minutes each) are handed out first, the unit tests
    (seconds) after them, so the workers finish together rather than one waiting on a late long run;
    the order within each part stays that of the files. Without xdist nothing is reordered."""
    for item in items:
        fixturedefs = getattr(item, "_fixtureinfo", None)
        defs = fixturedefs.name2fixturedefs.values() if fixturedefs is not None else ()
        if "binary_run" in getattr(item, "fixturenames", ()):  # the session run three modules share
            item.add_marker(pytest.mark.xdist_group("binary_run"))
        elif any(fd.scope == "module" for seq in defs for fd in seq):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if hasattr(config, "workerinput") and config.getvalue("loadgroup"):
        _group_suffix(items)
    if hasattr(config, "workerinput"):
        heavy = (REPO / "tests" / "workflow", REPO / "tests" / "rules")
        items.sort(key=lambda it: 0 if any(Path(str(it.path)).is_relative_to(d) for d in heavy) else 1)


def _group_suffix(items: list[pytest.Item]) -> None:
    """pytest-xdist 3.8 tells its loadgroup scheduler an item's group by appending ``@<group>`` to
    ``item._nodeid``, which pytest >= 9.2 no longer reads (node ids are structured, ``item._id``):
    the marks are then silently ignored (pytest-dev/pytest-xdist#1386). Set the suffix where pytest
    reads it; with an older pytest (no ``_id``) xdist's own suffix works and this does nothing."""
    try:
        from _pytest.nodeid import NodeId
    except ImportError:
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 people x 3000 SNPs (+100 new): enough for every stage, quick to run."""
    out = tmp_path_factory.mktemp("cohort_small")
    simulate_cohort(out, SimulationSpec(n_samples=400, n_snps=3000, n_chromosomes=3, n_new=100, seed=7))
    return out


def training_coded_copy(cohort: Path, out: Path) -> Path:
    """The new cohort's people coded exactly like the training data: training .bim (order and
    alleles), swaps undone from truth.json, absent SNPs present but missing (-> training value)."""
    truth = json.loads((cohort / "truth.json").read_text())["new_cohort"]
    train_bim = io.read_bim(cohort / "cohort")
    new_bim = io.read_bim(cohort / "new_cohort")
    g_new = io.read_genotypes(cohort / "new_cohort")
    col = pd.Series(np.arange(len(new_bim)), index=new_bim.SNP)
    swapped = set(truth["swapped_snps"])
    g = np.full((g_new.shape[0], len(train_bim)), -1, dtype=np.int8)
    for j, snp in enumerate(train_bim.SNP):
        if snp in col.index:
            v = g_new[:, col[snp]]
            g[:, j] = np.where(v >= 0, 2 - v, -1) if snp in swapped else v
    assert set(train_bim.SNP[(g == -1).all(axis=0)]) >= set(truth["absent_snps"])
    io.write_bed(out, g, train_bim, io.read_fam(cohort / "new_cohort"))
    return out


def cohort_entry(cohort: Path, genotypes: Path | str) -> dict:
    return {"genotypes": str(genotypes), "covariates": str(cohort / "new_cohort_covariates.tsv"),
            "phenotype": str(cohort / "new_cohort_phenotype.tsv")}


@pytest.fixture(scope="session")
def binary_run(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default test run (write_config's: binary, holdout, logistic_l1 + random_forest), which
    also predicts three new cohorts: the simulated new cohort (``new``), its people coded exactly
    like the training data (``copy``) and its genotypes alone (``bare``). test_workflow.py and
    test_predict.py read it (one xdist group with test_api.py: one run, on one worker); tests that edit its
    config.yaml put it back. test_api.py runs its config again through the API and compares the
    results file by file: the suite's check that the same config and seed give the same results."""
    work = tmp_path_factory.mktemp("wf_binary")
    copy = training_coded_copy(small_cohort, work / "data" / "copy")
    write_config(work, small_cohort, predict={"cohorts": {
        "new": cohort_entry(small_cohort, small_cohort / "new_cohort"),
        "copy": cohort_entry(small_cohort, copy),
        "bare": {"genotypes": str(small_cohort / "new_cohort")},  # no covariates, no phenotype
    }})
    run_snakemake(work)
    return work


#: The committed test config and data (.test/README.md): `snakemake -n --directory .test` dry-runs it.
TEST_DIR = REPO / ".test"


def copy_test_config(workdir: Path) -> Path:
    """.test's data and config in ``workdir`` (config.yaml; its data paths are relative, so they
    resolve there), for tests that edit the config or run jobs; returns the config path."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEST_DIR / "data", workdir / "data")
    return Path(shutil.copy(TEST_DIR / "config" / "config.yaml", workdir / "config.yaml"))


def snakemake_bin() -> str:
    exe = Path(sys.executable).with_name("snakemake")
    return str(exe) if exe.exists() else "snakemake"


def write_config(workdir: Path, cohort: Path, **overrides: Any) -> Path:
    """A config for ``cohort`` with small, fast settings; nested overrides via dicts."""
    cfg: dict[str, Any] = {
        "seed": 11,
        "task": "binary",
        "data": {
            "genotypes": str(cohort / "cohort"),
            "phenotype": str(cohort / "phenotype.tsv"),
            "phenotype_column": "case_control",
            "covariates": str(cohort / "covariates.tsv"),
        },
        "split": {"method": "holdout", "valid_fraction": 0.2, "test_fraction": 0.2},
        "assoc_filter": {"top_k": 300},
        "train": {"learners": ["logistic_l1", "random_forest"], "n_trials": 2},
        "evaluate": {"n_bootstrap": 100},
        # the refit on every development person (default true) adds a pseudo-fold of QC, stores and
        # fits to every run; test_kfold and the example run test it, the others score with folds
        "final": {"refit_full": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    path = workdir / "config.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


@contextlib.contextmanager
def edited_config(workdir: Path, edit: Callable[[dict], None]) -> Iterator[None]:
    """``workdir``'s config.yaml changed by ``edit`` (which changes the dict in place) for the
    ``with`` block, then put back byte for byte, even when the block fails: the later tests of a
    shared run (``binary_run``: e.g. the nothing-to-do dry run) read the original."""
    path = workdir / "config.yaml"
    original = path.read_text()
    cfg = yaml.safe_load(original)
    edit(cfg)
    path.write_text(yaml.safe_dump(cfg))
    try:
        yield
    finally:
        path.write_text(original)


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the repo's Snakefile with ``workdir`` as working directory and its config.yaml."""
    cmd = [
        snakemake_bin(),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc
