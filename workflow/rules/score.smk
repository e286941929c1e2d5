# A polygenic score file of the final model's linear part over SNPs, in the PGS Catalog
# scoring-file format (genoml_core.pgs). The output is a folder: summary.json always (whether a
# score was written, and why not), and <phenotype column>.pgs.txt (several classes: one file per
# class) with <phenotype column>.afreq only when the final model has a linear SNP part: which
# files exist is decided by the final model, known only after select_final.


rule pgs_score:
    input:
        final=layout.FINAL_MODEL,
        models=final_model_files(),
        recipes=FINAL_STORES,
    output:
        directory(layout.SCORE_DIR),
    log:
        layout.log_file("pgs_score"),
    benchmark:
        layout.benchmark_file("pgs_score")
    conda:
        "../../envs/classical.yaml"
    resources:
        mem_mb=mem_models,
        runtime=runtime_min(10),
    params:
        phenotype_column=lookup(dpath="data/phenotype_column", within=config),
        genome_build=lookup(dpath="data/genome_build", within=config, default="NR"),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/pgs_score.py"
