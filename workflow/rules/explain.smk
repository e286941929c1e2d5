# SHAP explanations of the final model (training background, test samples), per-group held-out
# performance (only when data.groups is set) and the run's one self-contained HTML report,
# results/report.html. Outputs marked report() also appear in `snakemake --report`.
EXPLAIN_OUTPUTS = [
    layout.EXPLAIN_SUMMARY,
    layout.EXPLAIN_IMPORTANCE,
    layout.EXPLAIN_TOP_SNPS,
    layout.EXPLAIN_SHAP_VALUES,
]
EXPLAIN_PLOTS = [
    layout.EXPLAIN_BEESWARM,
    layout.EXPLAIN_BAR,
    layout.EXPLAIN_DEPENDENCE,
]
# the explain section as genoml_core.explain.ExplainOptions takes it (the truth file is an input)
EXPLAIN_OPTIONS = {k: v for k, v in config["explain"].items() if k != "truth"}
SUBGROUP_OUTPUTS = (
    list(layout.SUBGROUP_FILES.values()) if config["data"]["groups"] else []
)


rule explain:
    input:
        final=layout.FINAL_MODEL,
        models=final_model_files(),
        stores=FINAL_STORES,
        report=layout.INPUT_REPORT,
        genotypes=explain_genotypes(),
        truth=explain_truth(),
    output:
        summary=layout.EXPLAIN_SUMMARY,
        importance=report(
            layout.EXPLAIN_IMPORTANCE,
            caption="../report/shap_importance.rst",
            category="Explanations",
            labels={"result": "feature importance (mean |SHAP|)"},
        ),
        top_snps=layout.EXPLAIN_TOP_SNPS,
        values=layout.EXPLAIN_SHAP_VALUES,
        beeswarm=report(
            layout.EXPLAIN_BEESWARM,
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "SHAP summary (beeswarm)"},
        ),
        bar=report(
            layout.EXPLAIN_BAR,
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "mean |SHAP| per class"},
        ),
        dependence=report(
            layout.EXPLAIN_DEPENDENCE,
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "SHAP dependence of the top features"},
        ),
    log:
        layout.log_file("explain"),
    benchmark:
        layout.benchmark_file("explain")
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=mem_models,
        runtime=runtime_min(60),
    params:
        options=EXPLAIN_OPTIONS,
        ld=lookup(dpath="ld_prune", within=config),
        task=TASK,
        folds=FOLDS,
        bfile=bfile_prefix,
        phenotype=lookup(dpath="data/phenotype_column", within=config),
        engine=lookup(dpath="munge/engine", within=config),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/explain.py"


rule subgroups:
    input:
        predictions=layout.EVALUATE_PREDICTIONS,
        final=layout.FINAL_MODEL,
        groups=optional_table("groups"),
        report=layout.INPUT_REPORT,
    output:
        table=report(
            layout.SUBGROUP_TABLE,
            caption="../report/subgroups_table.rst",
            category="Subgroups",
            labels={"result": "held-out metrics per group"},
        ),
        summary=layout.SUBGROUP_SUMMARY,
        plot=report(
            layout.SUBGROUP_PLOT,
            caption="../report/subgroups_plot.rst",
            category="Subgroups",
            labels={"result": "main metric per group"},
        ),
    log:
        layout.log_file("subgroups"),
    conda:
        "../../envs/classical.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime_min(10),
    params:
        task=TASK,
        options=lookup(dpath="subgroups", within=config),
        n_bootstrap=lookup(dpath="evaluate/n_bootstrap", within=config),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/subgroups.py"


rule report:
    input:
        unpack(report_optional_inputs),
        qc=layout.QC_SUMMARY,
        split=layout.SPLIT_SUMMARY,
        inputs=layout.INPUT_REPORT,
        leaderboard=layout.LEADERBOARD,
        metrics=layout.EVALUATE_METRICS,
        plots=EVALUATION_PLOTS,
        explain_summary=layout.EXPLAIN_SUMMARY,
        explain_importance=layout.EXPLAIN_IMPORTANCE,
        explain_plots=EXPLAIN_PLOTS,
        warnings=layout.WARNINGS_FILE,
    output:
        report(
            layout.REPORT_HTML,
            category="Report",
            labels={"result": "self-contained HTML report of the run"},
        ),
    log:
        layout.log_file("report"),
    localrule: True
    conda:
        "../../envs/classical.yaml"
    params:
        run_config=config,
        report=lookup(dpath="report", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/report.py"
