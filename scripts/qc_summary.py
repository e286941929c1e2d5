"""Rule qc_summary: one JSON with how many samples and SNPs each step removed."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402

smk = snakemake  # noqa: F821
per_fold = {
    fold: {"variant_qc": io.read_json(v), "ld_prune": io.read_json(ld), "assoc_filter": io.read_json(a)}
    for fold, v, ld, a in zip(smk.params.folds, smk.input.variants, smk.input.ld, smk.input.assoc)
}
split = io.read_json(smk.input.split)
# KING pairs found (genotype runs) + what the split's policy did with them (grouped or dropped)
relatedness = {**(io.read_json(smk.input.relatedness) if smk.input.relatedness else {}),
               **split.get("relatedness", {})}
summary = {"inputs": io.read_json(smk.input.inputs),
           "sample_qc": io.read_json(smk.input.samples) if smk.input.samples else None,  # None: matrix-only run
           "relatedness": relatedness, "split": split, "folds": per_fold}
io.write_json(summary, smk.output[0])
