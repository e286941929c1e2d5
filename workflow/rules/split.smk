# The split is decided right after sample QC; everything fitted later sees training samples only.


rule split_samples:
    input:
        samples="results/inputs/samples.tsv",
        keep=qc_keep_file(),
        pairs=related_pairs_file(),
    output:
        split="results/split/split.tsv",
        summary="results/split/summary.json",
        train=expand("results/split/{fold}/train.keep", fold=PREP_FOLDS),
        hwe=expand("results/split/{fold}/hwe.keep", fold=PREP_FOLDS),
    log:
        "logs/split_samples.log",
    benchmark:
        "benchmarks/split_samples.tsv"
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
