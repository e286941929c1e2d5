"""Rule embed: the best Res-VAE trial against PCA and t-SNE (latents, reconstructions, scores, plots)."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.models.embed import compare_embeddings, select_vae  # noqa: E402

smk = snakemake  # noqa: F821
best = select_vae([io.read_json(p) for p in smk.input.metrics])
summary = compare_embeddings(Path(smk.input.store).parent, smk.input.models[int(best["trial"])],
                             Path(smk.output.summary).parent, seed=smk.params.seed,
                             tsne_perplexity=smk.params.tsne_perplexity, threads=smk.threads,
                             individual_dir=Path(smk.output.individual[0]).parent)  # latents: per person
summary["res_vae_selection"] = best
log.info("embeddings: %s", summary["methods"])
io.write_json(summary, smk.output.summary)
