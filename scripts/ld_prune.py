"""Rule ld_prune: plink2 --indep-pairwise on the fold's training samples."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import plink  # noqa: E402

smk = snakemake  # noqa: F821
summary = plink.ld_prune(smk.params.bfile, smk.input.train, smk.input.snplist, out_snplist=smk.output.snplist,
                         threads=smk.threads, **smk.params.ld)
log.info("LD pruning: %s", summary)
io.write_json(summary, smk.output.summary)
