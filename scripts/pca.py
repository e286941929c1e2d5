"""Rule pca: ancestry PCs fitted on the fold's training samples, projected for everyone in the split."""
import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes import pca  # noqa: E402
from genoml_core.genotypes.split import fold_members  # noqa: E402

smk = snakemake  # noqa: F821
opts = smk.params.pca
fit = pca.fit_pca(smk.params.bfile, smk.input.train, smk.input.snplist, n_pcs=opts["n_pcs"], approx=opts["approx"],
                  engine=opts["engine"], threads=smk.threads, seed=smk.params.seed,
                  chunk_variants=smk.params.munge["chunk_variants"], decode_engine=smk.params.munge["engine"])
weights, summary = fit.weights, fit.summary
split = pd.read_csv(smk.input.split, sep="\t", dtype={"FID": str, "IID": str})
pcs = pca.project(smk.params.bfile, split, weights, chunk_variants=smk.params.munge["chunk_variants"],
                  engine=smk.params.munge["engine"], samples_from=str(smk.input.split))
role = pd.Series("unused", index=pcs.index, dtype=object)
key = pcs.FID + "\t" + pcs.IID
for name, sub in fold_members(split, smk.wildcards.fold, smk.params.split_method).items():
    role[key.isin(sub.FID + "\t" + sub.IID)] = name
pcs.insert(2, "role", role.to_numpy())
# the projection of the training samples against their fitted PCs (1 = same axes)
train_pcs = pcs[role.to_numpy() == "train"]
summary["train_projection_agreement"] = [round(a, 6) for a in pca.agreement(train_pcs, fit.fitted)]
summary.update(fold=smk.wildcards.fold, n_projected=int(len(pcs)),
               role_counts={str(k): int(v) for k, v in role.value_counts().items()})
with io.StagedOutputs() as staged:  # all three appear together (summary last)
    io.write_tsv(weights, staged.stage(smk.output.weights))
    io.write_tsv(pcs, staged.stage(smk.output.pcs))
    io.write_json(summary, staged.stage(smk.output.summary))
log.info("pca: %s", summary)
