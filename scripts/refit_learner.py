"""Rules refit_classical / refit_net: a learner's best trial refitted on every development person."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.tuning.tune import refit_best  # noqa: E402

smk = snakemake  # noqa: F821
record = refit_best(
    io.read_json(smk.input.selection), Path(smk.input.store).parent, seed=smk.params.seed, task=smk.params.task,
    class_weight=smk.params.class_weight, threads=smk.threads, model_path=smk.output.model,
)
log.info("refit: %s", record)
