"""The workflow's resource model: each job's ``mem_mb`` from its own input files, and runtimes.

Import-light (standard library; numpy only to read a store's ``.npy`` header), as the rule files
import it at parse time. ``workflow/rules/common.smk`` binds one :class:`JobMemory` to the
validated config and hands its methods to the rules (``mem_mb=mem_munge``);
``bench/bench_slurm.py`` and ``tests/unit/test_resources.py`` call the same methods.

Rules ask for portable resources only (threads, mem_mb, runtime, gpu); partitions, accounts and
GPU flags live in profiles/slurm. mem_mb comes from measured peaks: the resident
memory of each job's process tree (its script and plink2), sampled every 0.1 s by
`bench/bench_slurm.py memory` on cohorts of 1,000-16,000 samples x 10,000-80,000 SNPs with
top_k 1,000-4,000 (BENCHMARKS.md, "SLURM vs local"), plus what a SLURM job adds around the
script: two Snakemake processes (the job step and the job), each parsing this workflow, 620 MB
measured in tests/slurm. Each request is
    mem_mb = ceil_100(1.3 x (620 + script MB)) x attempt
with the script's MB from the job's own input files (Snakemake evaluates resources again when a
job is ready, so these are the real files; in a dry run, inputs not made yet count as empty):
  plink2 rules (qc_samples, qc_variants, ld_prune, assoc_filter), plink2 holds the .bed:
      120 + 1.15 x .bed MB
  pca (n training people, m SNPs, K PCs; :meth:`JobMemory.pca`): 150 + 24e-6 x n x chunk_variants
      + 16e-6 x n^2 (exact) or + 32e-6 x (n + m) x (K + 10) (randomized); plink2 engine:
      120 + 1.15 x .bed MB + 8e-6 x n^2 (approx: + 8e-6 x n x 40 x K)
  check_inputs, split_samples (tables read whole):  130 + 10 x MB of the inputs but the .bed
  munge (the .bim, then n samples x k selected SNPs, one chunk of SNPs at a time;
      n from the .fam, k from the snplist):       180 + 0.0012 x SNPs + 12e-6 x n x k
  train_classical (in-memory learners), embed_vae (one trial; libraries, then float copies of
      the int8 store genotypes.npy, n x k bytes): 500 + 20 x store MB  (lda: + 24e-6 x k^2)
      (the job itself checks genoml_core.memory's per-learner estimate against its real limit
      and stops before loading anything, naming assoc_filter.top_k, when it cannot fit)
  train_net and the out-of-core *_sgd learners (batches read from the store, never all of it):
                                                  800 + 0.1 x store MB + 0.02 x k
  leaderboard, evaluate (every fold's store in batches of rows, one model at a time):
      600 + 2 x store MB + 3 x largest model MB  (predict: + munge's terms for the new cohort)
  embed (floats of every row):                    600 + 20 x store MB + 3 x largest model MB
A job killed for memory (OUT_OF_MEMORY) or at its time limit (TIMEOUT) is retried once
(profiles/slurm: retries: 1) with twice the memory and twice the time.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from .layout import STORE_FILE_NAMES

__all__ = ["MEM_HEADROOM", "SLURM_JOB_MB", "STORE_FILES", "JobMemory", "request_mb", "runtime_min"]

MEM_HEADROOM = 1.3
SLURM_JOB_MB = 620
#: The big files of a feature store, beside its recipe.json.
STORE_FILES = (STORE_FILE_NAMES["genotypes"], STORE_FILE_NAMES["other"])
_MIB = 2**20


def _existing(paths: Any) -> list[str]:
    return [p for p in paths if os.path.exists(p)]


def _size_mb(paths: Any) -> float:
    return sum(os.path.getsize(p) for p in _existing(paths)) / _MIB


@functools.lru_cache(maxsize=256)
def _count_lines(path: str, mtime_ns: int, size: int) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def _lines(path: Any) -> int:
    """Lines of a text file (0 when it does not exist yet); cached per file version."""
    if not path or not os.path.exists(path):
        return 0
    st = os.stat(path)
    return _count_lines(str(path), st.st_mtime_ns, st.st_size)


def _files(input: Any, name: str) -> list[str]:
    """The input files named ``name`` (a list; empty when the rule has none)."""
    value = getattr(input, name, [])
    return [value] if isinstance(value, str) else list(value)


def _with_suffix(paths: list[str], suffix: str) -> list[str]:
    return [p for p in paths if str(p).endswith(suffix)]


def _first(paths: list[str], suffix: str) -> str | None:
    return next(iter(_with_suffix(paths, suffix)), None)


def _store_mb(input: Any) -> float:
    """The largest fold feature store (genotypes.npy + other.npy beside each recipe.json), in MB."""
    sizes = [
        _size_mb([os.path.join(os.path.dirname(recipe), name) for name in STORE_FILES])
        for recipe in _files(input, "stores") or _files(input, "store")
    ]
    return max(sizes, default=0.0)


def _store_width(input: Any) -> int:
    """Features k of the first fold's store, from the .npy header (0 when not made yet)."""
    for recipe in _files(input, "stores") or _files(input, "store"):
        path = os.path.join(os.path.dirname(recipe), STORE_FILE_NAMES["genotypes"])
        if os.path.exists(path):
            import numpy as np

            shape = np.load(path, mmap_mode="r").shape
            return int(shape[1]) if len(shape) == 2 else 0
    return 0


def request_mb(script_mb: float, attempt: int) -> int:
    """``ceil_100(MEM_HEADROOM x (SLURM_JOB_MB + script MB)) x attempt``."""
    mb = math.ceil(MEM_HEADROOM * (SLURM_JOB_MB + script_mb) / 100.0) * 100
    return int(mb) * attempt


def runtime_min(minutes: int) -> Callable[..., int]:
    """A wall-clock limit in minutes that doubles on each retry (a job killed at its limit)."""

    def runtime(wildcards: Any, attempt: int) -> int:
        return minutes * attempt

    return runtime


class JobMemory:
    """``mem_mb`` of each rule group, as Snakemake resource functions ``(wildcards, input, attempt)``.

    Args:
        config: The validated workflow config (``pca`` and ``munge`` sections are read).
        feature_set: A learner's feature set (``genome`` or ``compact``) in this run.
        streams: Whether a learner reads its store in batches (nets, out-of-core learners).
    """

    def __init__(self, config: Mapping[str, Any], feature_set: Callable[[str], str | None],
                 streams: Callable[[str], bool]) -> None:
        self.config = config
        self.feature_set = feature_set
        self.streams = streams

    def plink(self, wildcards: Any, input: Any, attempt: int) -> int:
        bed = _with_suffix(_files(input, "genotypes"), ".bed")
        return request_mb(120 + 1.15 * _size_mb(bed), attempt)

    def pca(self, wildcards: Any, input: Any, attempt: int) -> int:
        """pca.engine numpy (the default) streams int8 chunks of the training genotypes: in exact
        mode (at most 5,000 training people with pca.approx auto) it holds the n x n relationship
        matrix and its eigensolver's copy (16 bytes a cell: 400 MB at 5,000); in approx mode an
        (n + m) x (K + 10) basis a few times; a few float32 n x chunk_variants blocks either way.
        plink2 --pca (pca.engine plink2) holds the .bed, and in exact mode the n x n matrix; approx
        mode works on n x (a few K) blocks. The projection adds one int8 chunk."""
        pca = self.config["pca"]
        bed = _with_suffix(_files(input, "genotypes"), ".bed")
        train, snplist = _files(input, "train"), _files(input, "snplist")
        n = _lines(train[0]) if train else 0
        m = _lines(snplist[0]) if snplist else 0
        exact = (n <= 5000) if pca["approx"] == "auto" else not pca["approx"]
        k = int(pca["n_pcs"])
        if pca.get("engine", "numpy") == "plink2":
            extra = 8e-6 * n * n if exact else 8e-6 * n * 40 * max(k, 1)
            return request_mb(120 + 1.15 * _size_mb(bed) + extra, attempt)
        blocks = 24e-6 * n * int(self.config["munge"]["chunk_variants"])
        extra = 16e-6 * n * n if exact else 8e-6 * (n + m) * (k + 10) * 4
        return request_mb(150 + blocks + extra, attempt)

    def convert(self, wildcards: Any, input: Any, attempt: int) -> int:
        """plink2 converting to PLINK 1: its workspace, not the input, bounds memory (it streams
        the source; about 1 GB for the 50,000-sample .bed measured); half the input size as
        headroom."""
        return request_mb(1000 + 0.5 * _size_mb(list(input)), attempt)

    def tables(self, wildcards: Any, input: Any, attempt: int) -> int:
        tables = [p for p in input if not str(p).endswith(".bed")]
        return request_mb(130 + 10 * _size_mb(tables), attempt)

    def munge(self, wildcards: Any, input: Any, attempt: int) -> int:
        geno = _files(input, "genotypes")
        n = _lines(_first(geno, ".fam"))
        snps = _lines(_first(geno, ".bim"))
        k = _lines(next(iter(_files(input, "snplist")), None))
        tables = _files(input, "covariates") + _files(input, "omics")
        return request_mb(180 + 0.0012 * snps + 12e-6 * n * k + 10 * _size_mb(tables), attempt)

    def train(self, wildcards: Any, input: Any, attempt: int) -> int:
        learner = wildcards.get("learner")
        if self.feature_set(learner) == "genome":
            # penalized_glm: the int8 store (page cache, not copied) + adelie's sparse copy of it
            # (~0.7 bytes per call) + the K fold models' paths of coefficients
            return request_mb(800 + 1.5 * _store_mb(input), attempt)
        if self.streams(learner):
            # nets and out-of-core learners: streamed batches from the int8 store (pread, not
            # held): the model and a few batches
            return request_mb(800 + 0.1 * _store_mb(input) + 0.02 * _store_width(input), attempt)
        mb = 500 + 20 * _store_mb(input)
        if learner == "lda":
            mb += 24e-6 * _store_width(input) ** 2
        return request_mb(mb, attempt)

    @staticmethod
    def _models_mb(input: Any, whole_store: bool = False) -> float:
        models = _existing(_files(input, "models"))
        largest = max((os.path.getsize(p) for p in models), default=0) / _MIB
        # predictions go through the store in batches of rows; the embedding rules hold floats of all
        return 600 + (20 if whole_store else 2) * _store_mb(input) + 3 * largest

    def models(self, wildcards: Any, input: Any, attempt: int) -> int:
        return request_mb(self._models_mb(input), attempt)

    def embed(self, wildcards: Any, input: Any, attempt: int) -> int:
        return request_mb(self._models_mb(input, whole_store=True), attempt)

    def predict(self, wildcards: Any, input: Any, attempt: int) -> int:
        """models, plus the new cohort's genotypes decoded as in munge (k = the store's width)."""
        geno = _files(input, "genotypes")
        n = _lines(_first(geno, ".fam"))
        snps = _lines(_first(geno, ".bim"))
        tables = _files(input, "covariates") + _files(input, "omics")
        decode = 0.0012 * snps + 12e-6 * n * _store_width(input) + 10 * _size_mb(tables)
        return request_mb(self._models_mb(input) + decode, attempt)
