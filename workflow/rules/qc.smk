# Input checks, sample QC (all analysis samples) and variant QC (training samples of each fold).


# Inputs that are not PLINK 1 filesets (or data.keep / data.extract subsets): converted once by
# plink2 (hard calls, biallelic, unique ids; genoml_core.genotypes.formats). Made only when needed.
if layout.CONVERTED_GENOTYPES in GENOTYPE_CONVERSIONS:

    rule convert_genotypes:
        input:
            conversion_inputs(layout.CONVERTED_GENOTYPES),
        output:
            multiext(layout.CONVERTED_GENOTYPES, ".bed", ".bim", ".fam"),
            report=layout.CONVERTED_GENOTYPES_REPORT,
        log:
            layout.log_file("convert_genotypes"),
        benchmark:
            layout.benchmark_file("convert_genotypes")
        conda:
            "../../envs/plink.yaml"
        threads: 2
        resources:
            mem_mb=mem_convert,
            runtime=runtime_min(120),
        params:
            source=conversion_params(layout.CONVERTED_GENOTYPES),
            code_version=GENOML_CORE_VERSION,
        script:
            "../../scripts/convert_genotypes.py"


rule convert_cohort:
    input:
        cohort_conversion_inputs,
    output:
        multiext(
            layout.CONVERTED_COHORT,
            ".bed",
            ".bim",
            ".fam",
        ),
        report=layout.CONVERTED_COHORT_REPORT,
    log:
        layout.log_file("convert_cohort/{cohort}"),
    benchmark:
        layout.benchmark_file("convert_cohort/{cohort}")
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
        samples=layout.INPUT_SAMPLES,
        report=layout.INPUT_REPORT,
    log:
        layout.log_file("check_inputs"),
    benchmark:
        layout.benchmark_file("check_inputs")
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
        samples=layout.INPUT_SAMPLES,
    output:
        keep=layout.QC_KEEP,
        removed=layout.QC_REMOVED,
        summary=layout.QC_SAMPLES_SUMMARY,
    log:
        layout.log_file("qc_samples"),
    benchmark:
        layout.benchmark_file("qc_samples")
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
        keep=layout.QC_KEEP,
    output:
        pairs=layout.RELATED_PAIRS,
        summary=layout.RELATEDNESS_SUMMARY,
    log:
        layout.log_file("relatedness"),
    benchmark:
        layout.benchmark_file("relatedness")
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
        train=layout.SPLIT_TRAIN_KEEP,
        hwe=layout.SPLIT_HWE_KEEP,
    output:
        snplist=layout.VARIANTS_SNPLIST,
        summary=layout.VARIANTS_SUMMARY,
    log:
        layout.log_file("qc_variants/{fold}"),
    benchmark:
        layout.benchmark_file("qc_variants/{fold}")
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
        train=layout.SPLIT_TRAIN_KEEP,
        snplist=layout.VARIANTS_SNPLIST,
    output:
        snplist=layout.PRUNED_SNPLIST,
        summary=layout.PRUNE_SUMMARY,
    log:
        layout.log_file("ld_prune/{fold}"),
    benchmark:
        layout.benchmark_file("ld_prune/{fold}")
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


# Ancestry PCs of the fold's training samples over its LD-pruned SNPs (genoml_core.genotypes.pca: our own
# chunked decomposition by default, plink2 --pca with pca.engine plink2); every person of the split
# projected with the training allele weights. Made when pca.n_pcs > 0.
rule pca:
    input:
        genotypes=genotype_files(),
        split=layout.SPLIT_TABLE,
        train=layout.SPLIT_TRAIN_KEEP,
        snplist=layout.PRUNED_SNPLIST,
    output:
        pcs=layout.PCS,
        weights=layout.PCA_WEIGHTS,
        summary=layout.PCA_SUMMARY,
    log:
        layout.log_file("pca/{fold}"),
    benchmark:
        layout.benchmark_file("pca/{fold}")
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
        split=layout.SPLIT_TABLE,
        snplist=layout.PRUNED_SNPLIST,
        covariates=optional_table("covariates"),
    output:
        snplist=layout.ASSOC_SNPLIST,
        table=layout.ASSOC_TABLE,
        summary=layout.ASSOC_SUMMARY,
    log:
        layout.log_file("assoc_filter/{fold}"),
    benchmark:
        layout.benchmark_file("assoc_filter/{fold}")
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
        inputs=layout.INPUT_REPORT,
        samples=layout.QC_SAMPLES_SUMMARY if BFILE else [],
        relatedness=layout.RELATEDNESS_SUMMARY if BFILE else [],
        split=layout.SPLIT_SUMMARY,
        variants=per_fold_summaries(layout.VARIANTS_SUMMARY),
        ld=per_fold_summaries(layout.PRUNE_SUMMARY),
        assoc=per_fold_summaries(layout.ASSOC_SUMMARY),
    output:
        layout.QC_SUMMARY,
    log:
        layout.log_file("qc_summary"),
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
