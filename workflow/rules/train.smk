# One job per (learner, trial): hyperparameters drawn from (seed, learner, trial); trained on
# each fold's training rows, scored on its validation rows: the out-of-fold (OOF) predictions,
# every development person once with k folds. Then the best trial per learner, on pooled OOF.


rule train_classical:
    input:
        stores=stores_of,
    output:
        models=expand(layout.TRIAL_MODEL, fold=FOLDS, allow_missing=True),
        metrics=layout.TRIAL_METRICS,
        oof=layout.TRIAL_OOF,
    log:
        layout.log_file("train/{learner}/trial_{trial}"),
    benchmark:
        layout.benchmark_file("train/{learner}/trial_{trial}")
    wildcard_constraints:
        learner="|".join(CLASSICAL) or "^$",
    conda:
        "../../envs/classical.yaml"
    threads: threads_train
    resources:
        mem_mb=mem_train,
        runtime=runtime_min(120),
    params:
        space=space_of,
        task=TASK,
        seed=lookup(dpath="seed", within=config),
        class_weight=lookup(dpath="train/class_weight", within=config),
        folds=FOLDS,
        # not an output: Snakemake leaves it alone when a job fails or is killed, so a rerun resumes
        checkpoint_dir=layout.TRIAL_CHECKPOINTS,
        checkpoint_every=lookup(dpath="train/checkpoint_every", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/train_trial.py"


# PyTorch nets: the same trial script; a `gpu` resource (0 here, 1 in the SLURM profile) so a
# cluster can place them on GPU nodes. The net uses CUDA whenever torch sees a GPU.
use rule train_classical as train_net with:
    wildcard_constraints:
        learner="|".join(NETS) or "^$",
    conda:
        "../../envs/torch.yaml"
    resources:
        mem_mb=mem_train,
        runtime=runtime_min(240),
        gpu=1,


# final.refit_full: a learner's best trial (from select_learner) refitted on every development
# person (the "full" store) with the trial's hyperparameters; these models score test and new
# people, the fold models' out-of-fold predictions having chosen and weighted them.
rule refit_classical:
    input:
        selection=layout.SELECTION,
        store=refit_store_of,
    output:
        model=layout.REFIT_MODEL,
    log:
        layout.log_file("train/{learner}/refit"),
    benchmark:
        layout.benchmark_file("train/{learner}/refit")
    wildcard_constraints:
        learner="|".join(CLASSICAL) or "^$",
    conda:
        "../../envs/classical.yaml"
    threads: threads_train
    resources:
        mem_mb=mem_train,
        runtime=runtime_min(120),
    params:
        task=TASK,
        seed=lookup(dpath="seed", within=config),
        class_weight=lookup(dpath="train/class_weight", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/refit_learner.py"


use rule refit_classical as refit_net with:
    wildcard_constraints:
        learner="|".join(ALL_NETS) or "^$",
    conda:
        "../../envs/torch.yaml"
    resources:
        mem_mb=mem_train,
        runtime=runtime_min(240),
        gpu=1,


rule select_learner:
    input:
        trial_metrics_of,
    output:
        layout.SELECTION,
    log:
        layout.log_file("select/{learner}"),
    localrule: True
    conda:
        "../../envs/classical.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/select_learner.py"
