"""Rule pgs_score: the final model's linear SNP part as a PGS Catalog scoring file (or why there is none)."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core.evaluation.ensemble import FinalModel  # noqa: E402
from genoml_core.pgs import write_score_files  # noqa: E402

smk = snakemake  # noqa: F821
summary = write_score_files(FinalModel.load(smk.input.final), smk.output[0],
                            phenotype_column=smk.params.phenotype_column, genome_build=smk.params.genome_build,
                            code_version=smk.params.code_version)
log.info("score files: %s", summary["files"] or f"none ({summary['reason']})")
