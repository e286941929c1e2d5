"""Rule qc_variants: --geno, --maf, --hwe computed on the fold's training samples."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import plink  # noqa: E402

smk = snakemake  # noqa: F821
q = smk.params.qc
summary = plink.qc_variants(smk.params.bfile, smk.input.train, geno=q["geno"], maf=q["maf"], hwe=q["hwe"],
                            hwe_keep=smk.input.hwe, out_snplist=smk.output.snplist, threads=smk.threads)
log.info("variant QC: %s", summary)
io.write_json(summary, smk.output.summary)
