# Validation, named helpers and constants shared by every rule.
import sys
from pathlib import Path

# conda jobs ignore PYTHONPATH: make the repo's genoml_core importable wherever the Snakefile is
sys.path.insert(0, str(Path(workflow.basedir)))

from genoml_core import __version__ as GENOML_CORE_VERSION
from genoml_core.models import registry as learner_registry
from genoml_core.config import (
    check_input_paths,
    genotype_conversions,
    learner_n_trials,
    learner_space,
    resolve_learners,
    validate_config,
)
from genoml_core import layout
from genoml_core.layout import fold_names

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
# what each learner is (its kind, feature set, ...) is declared in genoml_core/models/registry/table.py
CLASSICAL = [name for name in LEARNERS if not learner_registry.is_net(name)]
# rrfcn (kind searched_net) is a net too, but its trials are train_rrfcn jobs (nas.smk) that read
# the search's output
NETS = [name for name in LEARNERS if learner_registry.kind(name) == "net"]
# every net, rrfcn included (its refit is a net job like the others)
ALL_NETS = [name for name in LEARNERS if learner_registry.is_net(name)]
BFILE = config["data"]["genotypes"]
EVALUATION_PLOTS = layout.evaluation_plots(TASK)


wildcard_constraints:
    fold=r"fold\d+|full",
    learner=r"[a-z][a-z0-9_]*",
    trial=r"\d+",


def bfile_prefix(wildcards, input):
    """The PLINK prefix of the job's genotype input, from the .bed it was given (None in a
    matrix-only run): the job reads the files Snakemake handed it, wherever they were staged.
    """
    beds = [str(p) for p in input.get("genotypes", []) if str(p).endswith(".bed")]
    return beds[0][: -len(".bed")] if beds else None


def genotype_files():
    """The PLINK fileset, or nothing in a matrix-only run (data.genotypes: null)."""
    return multiext(BFILE, ".bed", ".bim", ".fam") if BFILE else []


def qc_keep_file():
    """Samples passing sample QC; a matrix-only run has no PLINK QC."""
    return layout.QC_KEEP if BFILE else []


def related_pairs_file():
    """KING pairs above the threshold; a matrix-only run has none (FID families still group)."""
    return layout.RELATED_PAIRS if BFILE else []


def selected_snps(wildcards):
    """The SNPs a fold's feature store holds (none in a matrix-only run)."""
    return layout.ASSOC_SNPLIST.format(fold=wildcards.fold) if BFILE else []


PCA = bool(BFILE) and int(config.get("pca", {}).get("n_pcs", 0)) > 0


def pca_inputs(wildcards):
    """A fold's ancestry PCs and their weights, for its feature stores (none when pca.n_pcs is 0)."""
    if not PCA:
        return {}
    return {
        "pcs": layout.PCS.format(fold=wildcards.fold),
        "pca_weights": layout.PCA_WEIGHTS.format(fold=wildcards.fold),
    }


def per_fold_summaries(pattern):
    """A per-fold summary of every fold (none in a matrix-only run: no PLINK QC)."""
    return expand(pattern, fold=FOLDS) if BFILE else []


def optional_table(key):
    """The data.<key> file as a list (empty when not configured), for rule inputs."""
    path = config["data"].get(key)
    return [path] if path else []


def trial_ids(learner):
    return [str(t) for t in range(learner_n_trials(config, learner))]


def default_net_space(name):
    from genoml_core.tuning.net_spaces import space_for

    return space_for(name)


def space_of(wildcards):
    return learner_space(config, wildcards.learner)


def trial_metrics_of(wildcards):
    return expand(
        layout.TRIAL_METRICS,
        learner=wildcards.learner,
        trial=trial_ids(wildcards.learner),
    )


def all_trial_metrics():
    return [
        layout.TRIAL_METRICS.format(learner=name, trial=t)
        for name in LEARNERS
        for t in trial_ids(name)
    ]


def all_trial_oofs():
    return [
        layout.TRIAL_OOF.format(learner=name, trial=t)
        for name in LEARNERS
        for t in trial_ids(name)
    ]


def all_trial_models():
    return [
        layout.TRIAL_MODEL.format(learner=name, trial=t, fold=fold)
        for name in LEARNERS
        for t in trial_ids(name)
        for fold in FOLDS
    ]


STORES = expand(layout.store_file("compact"), fold=FOLDS)
# which feature store each learner's models read: "compact" (pruned + filtered SNPs + covariates)
# or "genome" (every SNP that passed the fold's variant QC + covariates: penalized_glm). Without
# genotypes there is no SNP filter, so every learner reads the one (compact) store.
FEATURE_SETS = {
    name: (learner_registry.feature_set(name) if BFILE else "compact")
    for name in LEARNERS
}
GENOME_STORES = (
    expand(layout.store_file("genome"), fold=FOLDS)
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
    feature_set = "genome" if FEATURE_SETS.get(learner) == "genome" else "compact"
    return layout.store_file(feature_set, fold=layout.REFIT_FOLD)


def refit_store_of(wildcards):
    return refit_store(wildcards.learner)


def final_model_files():
    """The models the final model may score with: the refits, or every trial's fold models."""
    if REFIT:
        return expand(layout.REFIT_MODEL, learner=LEARNERS)
    return all_trial_models()


FINAL_STORES = sorted({refit_store(name) for name in LEARNERS}) if REFIT else ALL_STORES


# the PCA weights the final model's stores name (new cohorts are projected with them)
FINAL_PCA = (
    sorted(
        {
            layout.PCA_WEIGHTS.format(fold=Path(store).parent.name)
            for store in FINAL_STORES
        }
    )
    if PCA
    else []
)


def stores_of(wildcards):
    """The fold stores a learner's trial trains on (its feature set)."""
    return GENOME_STORES if FEATURE_SETS.get(wildcards.learner) == "genome" else STORES


# ---------------------------------------------------------------------------------------------
# Resources: portable ones only (threads, mem_mb, runtime, gpu); partitions, accounts and GPU
# flags live in profiles/slurm. mem_mb comes from each job's own input files, by the measured
# formulas of genoml_core/resources.py (tested in tests/unit/test_resources.py).
from genoml_core.resources import JobMemory, runtime_min  # noqa: E402

_MEMORY = JobMemory(
    config, feature_set=FEATURE_SETS.get, streams=learner_registry.streams
)
mem_plink, mem_pca, mem_convert = _MEMORY.plink, _MEMORY.pca, _MEMORY.convert
mem_tables, mem_munge, mem_train = _MEMORY.tables, _MEMORY.munge, _MEMORY.train
mem_models, mem_embed, mem_predict = _MEMORY.models, _MEMORY.embed, _MEMORY.predict


# Conda environments per rule group, for `--software-deployment-method conda` (profiles/slurm).
# The rules that load every learner's model files need torch only when a net is configured.
MODEL_ENV = (
    "../../envs/torch.yaml"
    if any(learner_registry.is_net(name) for name in LEARNERS)
    else "../../envs/classical.yaml"
)


# ---------------------------------------------------------------------------------------------
# The stage rule files' input and parameter functions live here, so that each rule file holds
# rules only (snakemake --lint: no functions beside rules). Names they use (COHORTS, RUN_STARTED,
# SUBGROUP_FILES, ...) are the rule files' globals, read when a function runs.


# qc.smk: genotype conversions


def conversion_inputs(prefix):
    """The files plink2 reads to write ``prefix`` (the source, data.keep, data.extract)."""
    conv = GENOTYPE_CONVERSIONS[prefix]
    return [
        *conv["source"].files,
        *[conv["options"][k] for k in ("keep", "extract") if conv["options"].get(k)],
    ]


def conversion_params(prefix):
    conv = GENOTYPE_CONVERSIONS[prefix]
    return {
        "given": conv["source"].given,
        "sample": conv["source"].sample,
        "options": conv["options"],
        "what": conv["what"],
    }


def cohort_conversion_inputs(wildcards):
    return conversion_inputs(layout.CONVERTED_COHORT.format(cohort=wildcards.cohort))


def cohort_conversion_params(wildcards):
    return conversion_params(layout.CONVERTED_COHORT.format(cohort=wildcards.cohort))


# predict.smk: new cohorts


def cohort_inputs(wildcards):
    """The cohort's files as named rule inputs (absent tables are empty lists)."""
    c = COHORTS[wildcards.cohort]
    return {
        "genotypes": multiext(c["genotypes"], ".bed", ".bim", ".fam"),
        **{
            key: [c[key]] if c.get(key) else []
            for key in ("covariates", "omics", "phenotype")
        },
    }


def cohort_spec(wildcards):
    """The cohort as a plain dict; phenotype_column defaults to the training column name."""
    c = COHORTS[wildcards.cohort]
    column = c.get("phenotype_column") or config["data"]["phenotype_column"]
    return {
        "name": wildcards.cohort,
        "genotypes": c["genotypes"],
        "covariates": c.get("covariates"),
        "omics": c.get("omics"),
        "phenotype": c.get("phenotype"),
        "phenotype_column": column if c.get("phenotype") else None,
    }


# explain.smk: explain and report inputs


def explain_truth():
    """The truth file (simulated cohorts) as a list, empty when not configured."""
    truth = config["explain"]["truth"]
    return [truth] if truth else []


def explain_genotypes():
    """The genotypes, read for LD proxies of the true causal SNPs (only with a truth file)."""
    return genotype_files() if config["explain"]["truth"] else []


def report_optional_inputs(wildcards):
    """Per-group results when data.groups is set; the embedding results when embed runs
    (embed.enabled), the RRFCN search results when rrfcn is trained, and the ancestry PCs of the
    final model's fold (with the groups table to colour them) when pca.n_pcs > 0 on genotypes.
    """
    files = dict(layout.SUBGROUP_FILES) if config["data"]["groups"] else {}
    made = set(globals().get("EMBED_OUTPUTS", []))
    if "rrfcn" in LEARNERS:
        made.update(
            p for k, p in layout.OPTIONAL_INPUTS.items() if k.startswith("nas_")
        )
    files.update({k: p for k, p in layout.OPTIONAL_INPUTS.items() if p in made})
    if PCA:
        fold = layout.pca_report_fold(
            config["split"]["method"], config["split"]["n_folds"], refit_full=REFIT
        )
        files.update({k: p.format(fold=fold) for k, p in layout.PCA_INPUTS.items()})
        if config["data"]["groups"]:
            files["pca_groups"] = config["data"]["groups"]
    return files


# Snakefile: rule all


def all_outputs():
    """Rule all's targets, from the config: the QC summary, the leaderboard, the test evaluation
    (its plots follow the task), the score file, every new cohort's predictions (predict.cohorts),
    the embeddings (embed.enabled), the explanations, the subgroups (data.groups), the warnings
    and the report. The stage files' lists (PREDICT_OUTPUTS, ...) are read when rule all is
    parsed, after every include.
    """
    return [
        layout.QC_SUMMARY,
        layout.LEADERBOARD,
        layout.EVALUATE_METRICS,
        layout.EVALUATE_PREDICTIONS,
        *EVALUATION_PLOTS,
        layout.SCORE_DIR,
        *PREDICT_OUTPUTS,
        *EMBED_OUTPUTS,
        *EXPLAIN_OUTPUTS,
        *EXPLAIN_PLOTS,
        *SUBGROUP_OUTPUTS,
        layout.WARNINGS_FILE,
        layout.REPORT_HTML,
    ]


# embed.smk: the Res-VAE search space


def vae_space():
    return config["embed"]["search_space"] or default_net_space("res_vae")


# warnings.smk: the warnings file and the end-of-run summary


def warning_sources(wildcards):
    """Rule all's targets but the report and this rule's own output: every job runs first."""
    own = {
        str(p) for p in list(rules.report.output) + list(rules.collect_warnings.output)
    }
    return [str(p) for p in rules.all.input if str(p) not in own]


def print_warnings_summary(failed):
    """The end-of-run summary (Snakefile onsuccess / onerror): the warnings of this run's jobs
    and, on success, of every job behind rule all's targets (made by earlier runs too).
    """
    try:
        targets = None if failed else [str(p) for p in rules.all.input]
        collected = collect_warnings(SIDECAR_DIR, targets=targets, since=RUN_STARTED)
        fresh = (
            os.path.exists(layout.WARNINGS_FILE)
            and os.path.getmtime(layout.WARNINGS_FILE) >= RUN_STARTED
        )
        text = console_summary(
            collected,
            failed=failed,
            warnings_file=layout.WARNINGS_FILE if fresh else None,
        )
        if (
            not failed
        ):  # the final model, its test metric with CI, the warnings, the report
            done = results_summary(
                layout.RESULTS, n_warnings=int(collected.get("n_warnings", 0))
            )
            text = f"{done}\n{text}" if done else text
    except Exception as err:  # the summary must never change how the run ends
        text = f"genoml-workflow: no warnings summary ({type(err).__name__}: {err}); see {SIDECAR_DIR}/"
    print(text, file=sys.stderr)
