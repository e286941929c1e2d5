# Unsupervised embeddings (config embed.enabled): Res-VAE trials selected on validation loss,
# against PCA and t-SNE, on fold0's feature store.

EMBED_TRIALS = [str(t) for t in range(config["embed"]["n_trials"])]
EMBED_PLOTS = expand(
    "results/embed/{method}_scatter.png", method=["res_vae", "pca", "tsne"]
)
# one row per person (latents, reconstructions): individual-level data, not for sharing
EMBED_INDIVIDUAL = expand(
    "results/individual/embed/{method}_latent.tsv", method=["res_vae", "pca", "tsne"]
) + expand(
    "results/individual/embed/{method}_reconstruction.npy", method=["res_vae", "pca"]
)
EMBED_OUTPUTS = (
    ["results/embed/summary.json"] + EMBED_PLOTS + EMBED_INDIVIDUAL
    if config["embed"]["enabled"]
    else []
)


rule embed_vae:
    input:
        store="results/munge/fold0/recipe.json",
    output:
        model="results/embed/res_vae/trial_{trial}/model.zip",
        metrics="results/embed/res_vae/trial_{trial}/metrics.json",
    log:
        "logs/embed_vae/trial_{trial}.log",
    benchmark:
        "benchmarks/embed_vae/trial_{trial}.tsv"
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
        store="results/munge/fold0/recipe.json",
        metrics=expand(
            "results/embed/res_vae/trial_{trial}/metrics.json", trial=EMBED_TRIALS
        ),
        models=expand(
            "results/embed/res_vae/trial_{trial}/model.zip", trial=EMBED_TRIALS
        ),
    output:
        summary="results/embed/summary.json",
        plots=report(
            EMBED_PLOTS, caption="../report/embed_plots.rst", category="Embeddings"
        ),
        individual=EMBED_INDIVIDUAL,
    log:
        "logs/embed.log",
    benchmark:
        "benchmarks/embed.tsv"
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
