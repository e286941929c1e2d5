# Validation, named helpers and constants shared by every rule.
import sys
from pathlib import Path

# conda jobs ignore PYTHONPATH: make the repo's genoml_core importable wherever the Snakefile is
sys.path.insert(0, str(Path(workflow.basedir)))

from genoml_core import __version__ as GENOML_CORE_VERSION
from genoml_core import registry as learner_registry
from genoml_core.config import (
    check_input_paths,
    genotype_conversions,
    learner_n_trials,
    learner_space,
    resolve_learners,
    validate_config,
)
from genoml_core.layout import PLOT_FILES, fold_names

# Validate before any job: unknown keys, wrong types, impossible values, missing files.
_validated = validate_config(config)
config.clear()
config.update(_validated)
check_input_paths(config)
# PLINK 2, VCF/BCF and BGEN inputs (and data.keep / data.extract) are converted once by plink2
# into PLINK 1 filesets under results/inputs/ (rules convert_genotypes, convert_cohort); from
# here on data.genotypes and every cohort's genotypes name PLINK 1 prefixes
GENOTYPE_CONVERSIONS = genotype_conversions(config)

TASK = config["task"]
FOLDS = fold_names(config["split"]["method"], config["split"]["n_folds"])
# final.refit_full: the learners' best trials are refitted on every development person (the
# "full" pseudo-fold: its own QC, pruning, filter and stores) and those models score test and new
# people; the folds above still give the out-of-fold predictions everything is chosen on
REFIT = bool(config["final"]["refit_full"])
PREP_FOLDS = fold_names(
    config["split"]["method"], config["split"]["n_folds"], refit_full=REFIT
)
LEARNERS = resolve_learners(config)
# what each learner is (its kind, feature set, ...) is declared in genoml_core/registry.py
CLASSICAL = [name for name in LEARNERS if not learner_registry.is_net(name)]
# rrfcn (kind searched_net) is a net too, but its trials are train_rrfcn jobs (nas.smk) that read
# the search's output
NETS = [name for name in LEARNERS if learner_registry.kind(name) == "net"]
# every net, rrfcn included (its refit is a net job like the others)
ALL_NETS = [name for name in LEARNERS if learner_registry.is_net(name)]
BFILE = config["data"]["genotypes"]
EVALUATION_PLOTS = [f"results/evaluate/{name}" for name in PLOT_FILES[TASK].values()]


wildcard_constraints:
    fold=r"fold\d+|full",
    learner=r"[a-z][a-z0-9_]*",
    trial=r"\d+",


def genotype_files():
    """The PLINK fileset, or nothing in a matrix-only run (data.genotypes: null)."""
    return multiext(BFILE, ".bed", ".bim", ".fam") if BFILE else []


def qc_keep_file():
    """Samples passing sample QC; a matrix-only run has no PLINK QC."""
    return "results/qc/samples.keep" if BFILE else []


def related_pairs_file():
    """KING pairs above the threshold; a matrix-only run has none (FID families still group)."""
    return "results/individual/qc/related_pairs.tsv" if BFILE else []


def selected_snps(wildcards):
    """The SNPs a fold's feature store holds (none in a matrix-only run)."""
    return f"results/assoc/{wildcards.fold}/selected.snplist" if BFILE else []


PCA = bool(BFILE) and int(config.get("pca", {}).get("n_pcs", 0)) > 0


def pca_inputs(wildcards):
    """A fold's ancestry PCs and their weights, for its feature stores (none when pca.n_pcs is 0)."""
    if not PCA:
        return {}
    return {
        "pcs": f"results/individual/pca/{wildcards.fold}/pcs.tsv",
        "pca_weights": f"results/pca/{wildcards.fold}/weights.tsv",
    }


def per_fold_summaries(stage, name):
    return expand(f"results/{stage}/{{fold}}/{name}", fold=FOLDS) if BFILE else []


def optional_table(key):
    """The data.<key> file as a list (empty when not configured), for rule inputs."""
    path = config["data"].get(key)
    return [path] if path else []


def trial_ids(learner):
    return [str(t) for t in range(learner_n_trials(config, learner))]


def default_net_space(name):
    from genoml_core.net_spaces import space_for

    return space_for(name)


def space_of(wildcards):
    return learner_space(config, wildcards.learner)


def trial_metrics_of(wildcards):
    return expand(
        "results/train/{learner}/trial_{trial}/metrics.json",
        learner=wildcards.learner,
        trial=trial_ids(wildcards.learner),
    )


def all_trial_metrics():
    return [
        f"results/train/{name}/trial_{t}/metrics.json"
        for name in LEARNERS
        for t in trial_ids(name)
    ]


def all_trial_oofs():
    return [
        f"results/individual/train/{name}/trial_{t}/oof.tsv"
        for name in LEARNERS
        for t in trial_ids(name)
    ]


def all_trial_models():
    return [
        f"results/train/{name}/trial_{t}/model_{fold}.zip"
        for name in LEARNERS
        for t in trial_ids(name)
        for fold in FOLDS
    ]


STORES = expand("results/munge/{fold}/recipe.json", fold=FOLDS)
# which feature store each learner's models read: "compact" (pruned + filtered SNPs + covariates)
# or "genome" (every SNP that passed the fold's variant QC + covariates: penalized_glm). Without
# genotypes there is no SNP filter, so every learner reads the one (compact) store.
FEATURE_SETS = {
    name: (learner_registry.feature_set(name) if BFILE else "compact")
    for name in LEARNERS
}
GENOME_STORES = (
    expand("results/munge_genome/{fold}/recipe.json", fold=FOLDS)
    if "genome" in FEATURE_SETS.values()
    else []
)
# every store a model of the final model may read (evaluate, explain, predict)
ALL_STORES = STORES + GENOME_STORES


def threads_net(wildcards=None):
    """Threads of a torch job: train.net_threads (default 1), capped by --cores; the SLURM profile
    overrides them with set-threads (4), which is also the job's --cpus-per-task."""
    return int(config["train"]["net_threads"])


def threads_train(wildcards):
    """Threads of a training (or refit) job: the genome-wide GLM is multithreaded (adelie, OpenMP;
    capped by --cores locally), the nets use train.net_threads, the other in-memory learners run
    one job per core."""
    if learner_registry.is_net(wildcards.learner):
        return threads_net()
    return 4 if FEATURE_SETS.get(wildcards.learner) == "genome" else 1


def refit_store(learner):
    """The refit ("full") store of a learner's feature set."""
    stage = "munge_genome" if FEATURE_SETS.get(learner) == "genome" else "munge"
    return f"results/{stage}/full/recipe.json"


def refit_store_of(wildcards):
    return refit_store(wildcards.learner)


def final_model_files():
    """The models the final model may score with: the refits, or every trial's fold models."""
    if REFIT:
        return expand("results/train/{learner}/refit/model_full.zip", learner=LEARNERS)
    return all_trial_models()


FINAL_STORES = sorted({refit_store(name) for name in LEARNERS}) if REFIT else ALL_STORES


# the PCA weights the final model's stores name (new cohorts are projected with them)
FINAL_PCA = (
    sorted(
        {f"results/pca/{Path(store).parent.name}/weights.tsv" for store in FINAL_STORES}
    )
    if PCA
    else []
)


def stores_of(wildcards):
    """The fold stores a learner's trial trains on (its feature set)."""
    return GENOME_STORES if FEATURE_SETS.get(wildcards.learner) == "genome" else STORES


# ---------------------------------------------------------------------------------------------
# Resources. Rules ask for portable resources only (threads, mem_mb, runtime, gpu); partitions,
# accounts and GPU flags live in profiles/slurm. mem_mb comes from measured peaks: the resident
# memory of each job's process tree (its script and plink2), sampled every 0.1 s by
# `bench/bench_slurm.py memory` on cohorts of 1,000-16,000 samples x 10,000-80,000 SNPs with
# top_k 1,000-4,000 (BENCHMARKS.md, "SLURM vs local"), plus what a SLURM job adds around the
# script: two Snakemake processes (the job step and the job), each parsing this workflow, 620 MB
# measured in tests/slurm. Each request is
#     mem_mb = ceil_100(1.3 x (620 + script MB)) x attempt
# with the script's MB from the job's own input files (Snakemake evaluates resources again when a
# job is ready, so these are the real files; in a dry run, inputs not made yet count as empty):
#   plink2 rules (qc_samples, qc_variants, ld_prune, assoc_filter), plink2 holds the .bed:
#       120 + 1.15 x .bed MB
#   check_inputs, split_samples (tables read whole):  130 + 10 x MB of the inputs but the .bed
#   munge (the .bim, then n samples x k selected SNPs, one chunk of SNPs at a time;
#       n from the .fam, k from the snplist):       180 + 0.0012 x SNPs + 12e-6 x n x k
#   train_classical (in-memory learners), embed_vae (one trial; libraries, then float copies of
#       the int8 store genotypes.npy, n x k bytes): 500 + 20 x store MB  (lda: + 24e-6 x k^2)
#       (the job itself checks genoml_core.memory's per-learner estimate against its real limit
#       and stops before loading anything, naming assoc_filter.top_k, when it cannot fit)
#   train_net and the out-of-core *_sgd learners (batches read from the store, never all of it):
#                                                   800 + 0.1 x store MB + 0.02 x k
#   leaderboard, evaluate (every fold's store in batches of rows, one model at a time):
#       600 + 2 x store MB + 3 x largest model MB  (predict: + munge's terms for the new cohort)
#   embed (floats of every row):                    600 + 20 x store MB + 3 x largest model MB
# A job killed for memory (OUT_OF_MEMORY) or at its time limit (TIMEOUT) is retried once
# (profiles/slurm: retries: 1) with twice the memory and twice the time.
import functools  # noqa: E402  (this section's own imports: it is appended to the file)
import math  # noqa: E402
import os  # noqa: E402

MEM_HEADROOM = 1.3
SLURM_JOB_MB = 620
STORE_FILES = ("genotypes.npy", "other.npy")
_MIB = 2**20


def _existing(paths):
    return [p for p in paths if os.path.exists(p)]


def _size_mb(paths):
    return sum(os.path.getsize(p) for p in _existing(paths)) / _MIB


@functools.lru_cache(maxsize=256)
def _count_lines(path, mtime_ns, size):
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def _lines(path):
    """Lines of a text file (0 when it does not exist yet); cached per file version."""
    if not path or not os.path.exists(path):
        return 0
    st = os.stat(path)
    return _count_lines(str(path), st.st_mtime_ns, st.st_size)


def _files(input, name):
    """The input files named ``name`` (a list; empty when the rule has none)."""
    value = getattr(input, name, [])
    return [value] if isinstance(value, str) else list(value)


def _with_suffix(paths, suffix):
    return [p for p in paths if str(p).endswith(suffix)]


def _store_mb(input):
    """The largest fold feature store (genotypes.npy + other.npy beside each recipe.json), in MB."""
    sizes = [
        _size_mb([os.path.join(os.path.dirname(recipe), name) for name in STORE_FILES])
        for recipe in _files(input, "stores") or _files(input, "store")
    ]
    return max(sizes, default=0.0)


def _store_width(input):
    """Features k of the first fold's store, from the .npy header (0 when not made yet)."""
    for recipe in _files(input, "stores") or _files(input, "store"):
        path = os.path.join(os.path.dirname(recipe), "genotypes.npy")
        if os.path.exists(path):
            import numpy as np

            shape = np.load(path, mmap_mode="r").shape
            return shape[1] if len(shape) == 2 else 0
    return 0


def _request(script_mb, attempt):
    mb = math.ceil(MEM_HEADROOM * (SLURM_JOB_MB + script_mb) / 100.0) * 100
    return int(mb) * attempt


def mem_plink(wildcards, input, attempt):
    bed = _with_suffix(_files(input, "genotypes"), ".bed")
    return _request(120 + 1.15 * _size_mb(bed), attempt)


def mem_pca(wildcards, input, attempt):
    """pca.engine numpy (the default) streams int8 chunks of the training genotypes: in exact mode
    (at most 5,000 training people with pca.approx auto) it holds the n x n relationship matrix
    and its eigensolver's copy (16 bytes a cell: 400 MB at 5,000); in approx mode an (n + m) x
    (K + 10) basis a few times; three float64 n x chunk_variants blocks either way. plink2 --pca
    (pca.engine plink2) holds the .bed, and in exact mode the n x n matrix; approx mode works on
    n x (a few K) blocks. The projection adds one int8 chunk."""
    bed = _with_suffix(_files(input, "genotypes"), ".bed")
    train = _files(input, "train")
    snplist = _files(input, "snplist")
    n = _lines(train[0]) if train else 0
    m = _lines(snplist[0]) if snplist else 0
    approx = config["pca"]["approx"]
    exact = (n <= 5000) if approx == "auto" else not approx
    k = int(config["pca"]["n_pcs"])
    if config["pca"].get("engine", "numpy") == "plink2":
        extra = 8e-6 * n * n if exact else 8e-6 * n * 40 * max(k, 1)
        return _request(120 + 1.15 * _size_mb(bed) + extra, attempt)
    blocks = 24e-6 * n * int(config["munge"]["chunk_variants"])
    extra = 16e-6 * n * n if exact else 8e-6 * (n + m) * (k + 10) * 4
    return _request(150 + blocks + extra, attempt)


def mem_convert(wildcards, input, attempt):
    """plink2 converting to PLINK 1: its workspace, not the input, bounds memory (it streams the
    source; about 1 GB for the 50,000-sample .bed measured); half the input size as headroom.
    """
    return _request(1000 + 0.5 * _size_mb(list(input)), attempt)


def mem_tables(wildcards, input, attempt):
    tables = [p for p in input if not str(p).endswith(".bed")]
    return _request(130 + 10 * _size_mb(tables), attempt)


def mem_munge(wildcards, input, attempt):
    geno = _files(input, "genotypes")
    n = _lines(next(iter(_with_suffix(geno, ".fam")), None))
    snps = _lines(next(iter(_with_suffix(geno, ".bim")), None))
    k = _lines(next(iter(_files(input, "snplist")), None))
    tables = _files(input, "covariates") + _files(input, "omics")
    script_mb = 180 + 0.0012 * snps + 12e-6 * n * k + 10 * _size_mb(tables)
    return _request(script_mb, attempt)


def mem_train(wildcards, input, attempt):
    learner = wildcards.get("learner")
    if FEATURE_SETS.get(learner) == "genome":
        # penalized_glm: the int8 store (page cache, not copied) + adelie's sparse copy of it
        # (~0.7 bytes per call) + the K fold models' paths of coefficients
        return _request(800 + 1.5 * _store_mb(input), attempt)
    if learner_registry.streams(learner):
        # nets and out-of-core learners: streamed batches from the int8 store (pread, not
        # held): the model and a few batches
        return _request(
            800 + 0.1 * _store_mb(input) + 0.02 * _store_width(input), attempt
        )
    mb = 500 + 20 * _store_mb(input)
    if learner == "lda":
        mb += 24e-6 * _store_width(input) ** 2
    return _request(mb, attempt)


def _models_mb(input, whole_store=False):
    models = _existing(_files(input, "models"))
    largest = max((os.path.getsize(p) for p in models), default=0) / _MIB
    # predictions go through the store in batches of rows; the embedding rules hold floats of all
    return 600 + (20 if whole_store else 2) * _store_mb(input) + 3 * largest


def mem_models(wildcards, input, attempt):
    return _request(_models_mb(input), attempt)


def mem_embed(wildcards, input, attempt):
    return _request(_models_mb(input, whole_store=True), attempt)


def mem_predict(wildcards, input, attempt):
    """mem_models, plus the new cohort's genotypes decoded as in munge (k = the store's width)."""
    geno = _files(input, "genotypes")
    n = _lines(next(iter(_with_suffix(geno, ".fam")), None))
    snps = _lines(next(iter(_with_suffix(geno, ".bim")), None))
    tables = _files(input, "covariates") + _files(input, "omics")
    decode = 0.0012 * snps + 12e-6 * n * _store_width(input) + 10 * _size_mb(tables)
    return _request(_models_mb(input) + decode, attempt)


def runtime_min(minutes):
    """A wall-clock limit in minutes that doubles on each retry (a job killed at its limit)."""

    def runtime(wildcards, attempt):
        return minutes * attempt

    return runtime


# Conda environments per rule group, for `--software-deployment-method conda` (profiles/slurm).
# The rules that load every learner's model files need torch only when a net is configured.
MODEL_ENV = (
    "../../envs/torch.yaml"
    if any(learner_registry.is_net(name) for name in LEARNERS)
    else "../../envs/classical.yaml"
)
