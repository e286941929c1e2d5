# Validation, named helpers and constants shared by every rule.
import sys
from pathlib import Path

# conda jobs ignore PYTHONPATH: make the repo's genoml_core importable wherever the Snakefile is
sys.path.insert(0, str(Path(workflow.basedir)))

from genoml_core import __version__ as GENOML_CORE_VERSION
from genoml_core.config import (
    NET_LEARNERS,
    check_input_paths,
    learner_n_trials,
    learner_space,
    resolve_learners,
    validate_config,
)
from genoml_core.plots import PLOT_FILES
from genoml_core.split import fold_names

# Validate before any job: unknown keys, wrong types, impossible values, missing files.
_validated = validate_config(config)
config.clear()
config.update(_validated)
check_input_paths(config)

TASK = config["task"]
FOLDS = fold_names(config["split"]["method"], config["split"]["n_folds"])
LEARNERS = resolve_learners(config)
CLASSICAL = [name for name in LEARNERS if name not in NET_LEARNERS]
NETS = [name for name in LEARNERS if name in NET_LEARNERS]
BFILE = config["data"]["genotypes"]
EVALUATION_PLOTS = [f"results/evaluate/{name}" for name in PLOT_FILES[TASK].values()]


wildcard_constraints:
    fold=r"fold\d+",
    learner=r"[a-z][a-z0-9_]*",
    trial=r"\d+",


def genotype_files():
    return multiext(BFILE, ".bed", ".bim", ".fam")


def optional_table(key):
    """The data.<key> file as a list (empty when not configured), for rule inputs."""
    path = config["data"].get(key)
    return [path] if path else []


def trial_ids(learner):
    return [str(t) for t in range(learner_n_trials(config, learner))]


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


def all_trial_models():
    return [
        f"results/train/{name}/trial_{t}/model_{fold}.zip"
        for name in LEARNERS
        for t in trial_ids(name)
        for fold in FOLDS
    ]


STORES = expand("results/munge/{fold}/recipe.json", fold=FOLDS)
