"""Rule relatedness: KING kinship (plink2 --make-king-table) of the QC-passed samples, before the split."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import plink, relatedness  # noqa: E402

smk = snakemake  # noqa: F821
cfg = smk.params.relatedness
pairs, info = relatedness.king_pairs(smk.params.bfile, plink.read_keep(smk.input.keep),
                                     threshold=cfg["king_threshold"], max_variants=cfg["max_variants"],
                                     seed=smk.params.seed, threads=smk.threads)
summary = {**info, **relatedness.summarize_pairs(pairs, threshold=cfg["king_threshold"])}
log.info("relatedness: %s", summary)
io.write_tsv(pairs, smk.output.pairs)
io.write_json(summary, smk.output.summary)
