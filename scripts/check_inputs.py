"""Rule check_inputs: validate genotypes, phenotype, covariates and omics before any work."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.inputs import check_inputs  # noqa: E402

checked = check_inputs(snakemake.params.data, snakemake.params.task)  # noqa: F821
log.info("inputs: %s", checked.report)
io.write_tsv(checked.samples, snakemake.output.samples)  # noqa: F821
io.write_json({**checked.report, "class_names": checked.class_names}, snakemake.output.report)  # noqa: F821
