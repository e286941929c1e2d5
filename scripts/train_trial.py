"""Rules train_classical / train_net: one (learner, trial) on every fold."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core.tuning.tune import run_trial  # noqa: E402

smk = snakemake  # noqa: F821
folds = smk.params.folds
record = run_trial(
    {f: Path(r).parent for f, r in zip(folds, smk.input.stores)},
    learner=smk.wildcards.learner, trial=int(smk.wildcards.trial), space=smk.params.space, seed=smk.params.seed,
    task=smk.params.task, class_weight=smk.params.class_weight, threads=smk.threads,
    model_paths=dict(zip(folds, smk.output.models)), architectures=smk.input.get("arch"),
    checkpoint_dir=smk.params.checkpoint_dir, checkpoint_every=smk.params.checkpoint_every,
    metrics_path=smk.output.metrics, oof_path=smk.output.oof,  # written with the models, all at once
)
log.info("validation: %s", record["valid"])
