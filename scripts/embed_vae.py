"""Rule embed_vae: one Res-VAE trial on fold0's training rows."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.models.embed import run_vae_trial  # noqa: E402

smk = snakemake  # noqa: F821
record = run_vae_trial(Path(smk.input.store).parent, trial=int(smk.wildcards.trial), space=smk.params.space,
                       seed=smk.params.seed, threads=smk.threads, model_path=smk.output.model)
io.write_json(record, smk.output.metrics)
