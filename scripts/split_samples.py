"""Rule split_samples: stratified, seeded train/valid/test (or k folds) by sample id."""
import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io, plink  # noqa: E402
from genoml_core.split import write_split  # noqa: E402

smk = snakemake  # noqa: F821
samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"FID": str, "IID": str})
kept = plink.read_keep(smk.input.keep) if smk.input.keep else samples[["FID", "IID"]]  # matrix-only: no QC
summary = write_split(samples, kept, task=smk.params.task, seed=smk.params.seed, folds=smk.params.folds,
                      hwe_controls_only=smk.params.hwe_controls_only, out_split=smk.output.split,
                      out_train=smk.output.train, out_hwe=smk.output.hwe, **smk.params.split)
log.info("split: %s", summary)
io.write_json(summary, smk.output.summary)
