# Genotypes of the selected SNPs into an int8 feature store; covariates/omics beside them;
# imputation and scaling statistics from the fold's training samples, written to recipe.json.


rule munge:
    input:
        unpack(pca_inputs),
        genotypes=genotype_files(),
        split="results/split/split.tsv",
        report="results/inputs/report.json",
        snplist=selected_snps,
        covariates=optional_table("covariates"),
        omics=optional_table("omics"),
    output:
        genotypes="results/munge/{fold}/genotypes.npy",
        other="results/munge/{fold}/other.npy",
        samples="results/munge/{fold}/samples.tsv",
        recipe="results/munge/{fold}/recipe.json",
        summary="results/munge/{fold}/summary.json",
    log:
        "logs/munge/{fold}.log",
    benchmark:
        "benchmarks/munge/{fold}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem_munge,
        runtime=runtime_min(60),
    params:
        bfile=bfile_prefix,
        task=TASK,
        data=lookup(dpath="data", within=config),
        munge=lookup(dpath="munge", within=config),
        split_method=lookup(dpath="split/method", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/munge.py"


# The genome-wide store: every SNP that passed the fold's variant QC (no LD pruning, no association
# filter) + covariates, for learners that read all of them (penalized_glm). Made only when such a
# learner is trained.
use rule munge as munge_genome with:
    input:
        unpack(pca_inputs),
        genotypes=genotype_files(),
        split="results/split/split.tsv",
        report="results/inputs/report.json",
        snplist="results/qc/{fold}/variants.snplist",
        covariates=optional_table("covariates"),
        omics=optional_table("omics"),
    output:
        genotypes="results/munge_genome/{fold}/genotypes.npy",
        other="results/munge_genome/{fold}/other.npy",
        samples="results/munge_genome/{fold}/samples.tsv",
        recipe="results/munge_genome/{fold}/recipe.json",
        summary="results/munge_genome/{fold}/summary.json",
    log:
        "logs/munge_genome/{fold}.log",
    benchmark:
        "benchmarks/munge_genome/{fold}.tsv"
