# The split is decided right after sample QC; everything fitted later sees training samples only.


rule split_samples:
    input:
        samples=layout.INPUT_SAMPLES,
        keep=qc_keep_file(),
        pairs=related_pairs_file(),
    output:
        split=layout.SPLIT_TABLE,
        summary=layout.SPLIT_SUMMARY,
        train=expand(layout.SPLIT_TRAIN_KEEP, fold=PREP_FOLDS),
        hwe=expand(layout.SPLIT_HWE_KEEP, fold=PREP_FOLDS),
    log:
        layout.log_file("split_samples"),
    benchmark:
        layout.benchmark_file("split_samples")
    conda:
        "../../envs/plink.yaml"
    resources:
        mem_mb=mem_tables,
        runtime=runtime_min(10),
    params:
        split=lookup(dpath="split", within=config),
        relatedness=lookup(dpath="relatedness", within=config),
        hwe_controls_only=lookup(dpath="qc/hwe_controls_only", within=config),
        task=TASK,
        folds=PREP_FOLDS,
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/split_samples.py"
