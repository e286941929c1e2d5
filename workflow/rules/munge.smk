# Genotypes of the selected SNPs into an int8 feature store; covariates/omics beside them;
# imputation and scaling statistics from the fold's training samples, written to recipe.json.


rule munge:
    input:
        unpack(pca_inputs),
        genotypes=genotype_files(),
        split=layout.SPLIT_TABLE,
        report=layout.INPUT_REPORT,
        snplist=selected_snps,
        covariates=optional_table("covariates"),
        omics=optional_table("omics"),
    output:
        genotypes=layout.store_file("compact", "genotypes"),
        other=layout.store_file("compact", "other"),
        samples=layout.store_file("compact", "samples"),
        recipe=layout.store_file("compact", "recipe"),
        summary=layout.store_file("compact", "summary"),
    log:
        layout.log_file("munge/{fold}"),
    benchmark:
        layout.benchmark_file("munge/{fold}")
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
        split=layout.SPLIT_TABLE,
        report=layout.INPUT_REPORT,
        snplist=layout.VARIANTS_SNPLIST,
        covariates=optional_table("covariates"),
        omics=optional_table("omics"),
    output:
        genotypes=layout.store_file("genome", "genotypes"),
        other=layout.store_file("genome", "other"),
        samples=layout.store_file("genome", "samples"),
        recipe=layout.store_file("genome", "recipe"),
        summary=layout.store_file("genome", "summary"),
    log:
        layout.log_file("munge_genome/{fold}"),
    benchmark:
        layout.benchmark_file("munge_genome/{fold}")
