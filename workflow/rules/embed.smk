# Unsupervised embeddings (config embed.enabled): Res-VAE trials selected on validation loss,
# against PCA and t-SNE, on fold0's feature store.

EMBED_TRIALS = [str(t) for t in range(config["embed"]["n_trials"])]
EMBED_PLOTS = expand(layout.EMBED_PLOT, method=["res_vae", "pca", "tsne"])
# one row per person (latents, reconstructions): individual-level data, not for sharing
EMBED_INDIVIDUAL = expand(
    layout.EMBED_LATENT, method=["res_vae", "pca", "tsne"]
) + expand(layout.EMBED_RECONSTRUCTION, method=["res_vae", "pca"])
EMBED_OUTPUTS = (
    [layout.EMBED_SUMMARY] + EMBED_PLOTS + EMBED_INDIVIDUAL
    if config["embed"]["enabled"]
    else []
)


rule embed_vae:
    input:
        store=layout.store_file("compact", fold=FOLDS[0]),
    output:
        model=layout.EMBED_VAE_MODEL,
        metrics=layout.EMBED_VAE_METRICS,
    log:
        layout.log_file("embed_vae/trial_{trial}"),
    benchmark:
        layout.benchmark_file("embed_vae/trial_{trial}")
    conda:
        "../../envs/torch.yaml"
    threads: threads_net
    resources:
        mem_mb=mem_train,
        runtime=runtime_min(120),
        gpu=1,
    params:
        space=vae_space(),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/embed_vae.py"


rule embed:
    input:
        store=layout.store_file("compact", fold=FOLDS[0]),
        metrics=expand(layout.EMBED_VAE_METRICS, trial=EMBED_TRIALS),
        models=expand(layout.EMBED_VAE_MODEL, trial=EMBED_TRIALS),
    output:
        summary=layout.EMBED_SUMMARY,
        plots=report(
            EMBED_PLOTS, caption="../report/embed_plots.rst", category="Embeddings"
        ),
        individual=EMBED_INDIVIDUAL,
    log:
        layout.log_file("embed"),
    benchmark:
        layout.benchmark_file("embed")
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_embed,
        runtime=runtime_min(60),
    params:
        seed=lookup(dpath="seed", within=config),
        tsne_perplexity=lookup(dpath="embed/tsne_perplexity", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/embed.py"
