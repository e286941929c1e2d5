# Input checks, sample QC (all analysis samples) and variant QC (training samples of each fold).


# Inputs that are not PLINK 1 filesets (or data.keep / data.extract subsets): converted once by
# plink2 (hard calls, biallelic, unique ids; genoml_core.genotype_formats). Made only when needed.
if "results/individual/inputs/genotypes" in GENOTYPE_CONVERSIONS:

    rule convert_genotypes:
        input:
            conversion_inputs("results/individual/inputs/genotypes"),
        output:
            multiext("results/individual/inputs/genotypes", ".bed", ".bim", ".fam"),
            report="results/individual/inputs/genotypes.json",
        log:
            "logs/convert_genotypes.log",
        benchmark:
            "benchmarks/convert_genotypes.tsv"
        conda:
            "../../envs/plink.yaml"
        threads: 2
        resources:
            mem_mb=mem_convert,
            runtime=runtime_min(120),
        params:
            source=conversion_params("results/individual/inputs/genotypes"),
            code_version=GENOML_CORE_VERSION,
        script:
            "../../scripts/convert_genotypes.py"


rule convert_cohort:
    input:
        cohort_conversion_inputs,
    output:
        multiext(
            "results/individual/inputs/cohorts/{cohort}/genotypes",
            ".bed",
            ".bim",
            ".fam",
        ),
        report="results/individual/inputs/cohorts/{cohort}/genotypes.json",
    log:
        "logs/convert_cohort/{cohort}.log",
    benchmark:
        "benchmarks/convert_cohort/{cohort}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 2
    resources:
        mem_mb=mem_convert,
        runtime=runtime_min(120),
    params:
        source=cohort_conversion_params,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/convert_genotypes.py"


rule check_inputs:
    input:
        genotypes=genotype_files(),
        phenotype=config["data"]["phenotype"],
        covariates=optional_table("covariates"),
        omics=optional_table("omics"),
    output:
        samples="results/inputs/samples.tsv",
        report="results/inputs/report.json",
    log:
        "logs/check_inputs.log",
    benchmark:
        "benchmarks/check_inputs.tsv"
    conda:
        "../../envs/plink.yaml"
    resources:
        mem_mb=mem_tables,
        runtime=runtime_min(10),
    params:
        data=lookup(dpath="data", within=config),
        task=TASK,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/check_inputs.py"


rule qc_samples:
    input:
        genotypes=genotype_files(),
        samples="results/inputs/samples.tsv",
    output:
        keep="results/qc/samples.keep",
        removed="results/individual/qc/removed_samples.tsv",
        summary="results/qc/samples.json",
    log:
        "logs/qc_samples.log",
    benchmark:
        "benchmarks/qc_samples.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem_plink,
        runtime=runtime_min(30),
    params:
        bfile=bfile_prefix,
        mind=lookup(dpath="qc/mind", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/qc_samples.py"


rule relatedness:
    input:
        genotypes=genotype_files(),
        keep="results/qc/samples.keep",
    output:
        pairs="results/individual/qc/related_pairs.tsv",
        summary="results/qc/relatedness.json",
    log:
        "logs/relatedness.log",
    benchmark:
        "benchmarks/relatedness.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 2
    resources:
        mem_mb=mem_plink,
        runtime=runtime_min(60),
    params:
        bfile=bfile_prefix,
        relatedness=lookup(dpath="relatedness", within=config),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/relatedness.py"


rule qc_variants:
    input:
        genotypes=genotype_files(),
        train="results/split/{fold}/train.keep",
        hwe="results/split/{fold}/hwe.keep",
    output:
        snplist="results/qc/{fold}/variants.snplist",
        summary="results/qc/{fold}/variants.json",
    log:
        "logs/qc_variants/{fold}.log",
    benchmark:
        "benchmarks/qc_variants/{fold}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem_plink,
        runtime=runtime_min(30),
    params:
        bfile=bfile_prefix,
        qc=lookup(dpath="qc", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/qc_variants.py"


rule ld_prune:
    input:
        genotypes=genotype_files(),
        train="results/split/{fold}/train.keep",
        snplist="results/qc/{fold}/variants.snplist",
    output:
        snplist="results/ld_prune/{fold}/pruned.snplist",
        summary="results/ld_prune/{fold}/summary.json",
    log:
        "logs/ld_prune/{fold}.log",
    benchmark:
        "benchmarks/ld_prune/{fold}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem_plink,
        runtime=runtime_min(30),
    params:
        bfile=bfile_prefix,
        ld=lookup(dpath="ld_prune", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/ld_prune.py"


# Ancestry PCs of the fold's training samples over its LD-pruned SNPs (genoml_core.pca: our own
# chunked decomposition by default, plink2 --pca with pca.engine plink2); every person of the split
# projected with the training allele weights. Made when pca.n_pcs > 0.
rule pca:
    input:
        genotypes=genotype_files(),
        split="results/split/split.tsv",
        train="results/split/{fold}/train.keep",
        snplist="results/ld_prune/{fold}/pruned.snplist",
    output:
        pcs="results/individual/pca/{fold}/pcs.tsv",
        weights="results/pca/{fold}/weights.tsv",
        summary="results/pca/{fold}/summary.json",
    log:
        "logs/pca/{fold}.log",
    benchmark:
        "benchmarks/pca/{fold}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1  # bench_pca on 1,416 x 9,709: numpy engine 0.8 s, plink2 --pca 6.3 s
    resources:
        mem_mb=mem_pca,
        runtime=runtime_min(60),
    params:
        bfile=bfile_prefix,
        pca=lookup(dpath="pca", within=config),
        munge=lookup(dpath="munge", within=config),
        split_method=lookup(dpath="split/method", within=config),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/pca.py"


rule assoc_filter:
    input:
        unpack(pca_inputs),
        genotypes=genotype_files(),
        split="results/split/split.tsv",
        snplist="results/ld_prune/{fold}/pruned.snplist",
        covariates=optional_table("covariates"),
    output:
        snplist="results/assoc/{fold}/selected.snplist",
        table="results/assoc/{fold}/assoc.tsv",
        summary="results/assoc/{fold}/summary.json",
    log:
        "logs/assoc_filter/{fold}.log",
    benchmark:
        "benchmarks/assoc_filter/{fold}.tsv"
    conda:
        "../../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem_plink,
        runtime=runtime_min(60),
    params:
        bfile=bfile_prefix,
        task=TASK,
        assoc=lookup(dpath="assoc_filter", within=config),
        data=lookup(dpath="data", within=config),
        split_method=lookup(dpath="split/method", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/assoc_filter.py"


rule qc_summary:
    input:
        inputs="results/inputs/report.json",
        samples="results/qc/samples.json" if BFILE else [],
        relatedness="results/qc/relatedness.json" if BFILE else [],
        split="results/split/summary.json",
        variants=per_fold_summaries("qc", "variants.json"),
        ld=per_fold_summaries("ld_prune", "summary.json"),
        assoc=per_fold_summaries("assoc", "summary.json"),
    output:
        "results/qc/summary.json",
    log:
        "logs/qc_summary.log",
    localrule: True
    conda:
        "../../envs/plink.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        folds=FOLDS,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/qc_summary.py"
