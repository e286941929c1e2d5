"""Rule qc_samples: PLINK 2 --mind on the analysis samples."""
import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import plink  # noqa: E402

smk = snakemake  # noqa: F821
samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"FID": str, "IID": str})
summary = plink.qc_samples(smk.params.bfile, samples, mind=smk.params.mind, out_keep=smk.output.keep,
                           out_removed=smk.output.removed, threads=smk.threads)
log.info("sample QC: %s", summary)
io.write_json(summary, smk.output.summary)
