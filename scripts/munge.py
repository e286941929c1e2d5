"""Rule munge: the int8 feature store and recipe.json for one fold."""
from pathlib import Path

import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import pca  # noqa: E402
from genoml_core.inputs import load_covariates, load_omics  # noqa: E402
from genoml_core.store import build_feature_store  # noqa: E402

smk = snakemake  # noqa: F821
pcs_path = smk.input.get("pcs")  # ancestry PCs (pca.n_pcs > 0)
summary = build_feature_store(
    smk.params.bfile, smk.input.snplist or None, pd.read_csv(smk.input.split, sep="\t", dtype={"FID": str, "IID": str}),
    Path(smk.output.recipe).parent,
    fold=smk.wildcards.fold, method=smk.params.split_method, task=smk.params.task,
    class_names=io.read_json(smk.input.report)["class_names"],
    covariates=load_covariates(smk.params.data), omics=load_omics(smk.params.data),
    pcs=pca.read_pcs(smk.input.pcs) if pcs_path else None,
    pca_weights=smk.input.pca_weights if pcs_path else None,
    chunk_variants=smk.params.munge["chunk_variants"], engine=smk.params.munge["engine"],
    summary_path=smk.output.summary,  # written with the store, all files at once
)
log.info("munge: %s", summary)
