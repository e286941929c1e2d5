"""Rule split_samples: stratified, seeded train/valid/test (or k folds) by sample id, relatives together."""
import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import plink  # noqa: E402
from genoml_core.genotypes.relatedness import read_pairs  # noqa: E402
from genoml_core.run_size import check_cohort_size, size_options  # noqa: E402
from genoml_core.genotypes.split import write_split  # noqa: E402

smk = snakemake  # noqa: F821
samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"FID": str, "IID": str})
kept = plink.read_keep(smk.input.keep) if smk.input.keep else samples[["FID", "IID"]]  # matrix-only: no QC
pairs = read_pairs(smk.input.pairs) if smk.input.pairs else None  # matrix-only: FID families only
size, split_options = size_options(smk.params.split)  # split.min_samples / allow_small: checked here, first
check_cohort_size(len(samples.merge(kept, on=["FID", "IID"])), **size)
summary = write_split(samples, kept, task=smk.params.task, seed=smk.params.seed, folds=smk.params.folds,
                      hwe_controls_only=smk.params.hwe_controls_only, out_split=smk.output.split,
                      out_train=smk.output.train, out_hwe=smk.output.hwe, pairs=pairs,
                      relatedness=smk.params.relatedness, **split_options)
log.info("split: %s", summary)
io.write_json(summary, smk.output.summary)
