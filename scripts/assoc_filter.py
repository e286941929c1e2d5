"""Rule assoc_filter: plink2 --glm with covariates (and ancestry PCs) on the fold's training samples; keep by p."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import pca, plink  # noqa: E402
from genoml_core.inputs import load_covariates  # noqa: E402
from genoml_core.genotypes.split import load_fold  # noqa: E402

smk = snakemake  # noqa: F821
train = load_fold(smk.input.split, smk.wildcards.fold, smk.params.split_method)["train"]
covariates = load_covariates(smk.params.data)
if smk.input.get("pcs"):  # ancestry PCs adjust the test, as in a GWAS (pca.n_pcs > 0)
    pcs = pca.read_pcs(smk.input.pcs)
    covariates = pcs if covariates is None else covariates.merge(pcs, on=["FID", "IID"], how="outer")
summary = plink.assoc_filter(smk.params.bfile, train, smk.input.snplist, task=smk.params.task,
                             covariates=covariates, out_snplist=smk.output.snplist, out_table=smk.output.table,
                             threads=smk.threads, **smk.params.assoc)
log.info("association filter: %s", summary)
io.write_json(summary, smk.output.summary)
