"""Rule assoc_filter: plink2 --glm with covariates on the fold's training samples; keep by p."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io, plink  # noqa: E402
from genoml_core.inputs import load_covariates  # noqa: E402
from genoml_core.split import load_fold  # noqa: E402

smk = snakemake  # noqa: F821
train = load_fold(smk.input.split, smk.wildcards.fold, smk.params.split_method)["train"]
covariates = load_covariates(smk.params.data)
summary = plink.assoc_filter(smk.params.bfile, train, smk.input.snplist, task=smk.params.task,
                             covariates=covariates, out_snplist=smk.output.snplist, out_table=smk.output.table,
                             threads=smk.threads, **smk.params.assoc)
log.info("association filter: %s", summary)
io.write_json(summary, smk.output.summary)
