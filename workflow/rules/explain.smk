# SHAP explanations of the final model (training background, test samples), per-group held-out
# performance (only when data.groups is set) and the run's one self-contained HTML report,
# results/report.html. Outputs marked report() also appear in `snakemake --report`.
from genoml_core.layout import OPTIONAL_INPUTS, PCA_INPUTS, pca_report_fold

EXPLAIN_OUTPUTS = [
    "results/explain/summary.json",
    "results/explain/importance.tsv",
    "results/explain/top_features.snplist",
    "results/individual/explain/shap_values.tsv.gz",
]
EXPLAIN_PLOTS = [
    "results/explain/beeswarm.png",
    "results/explain/bar.png",
    "results/explain/dependence.png",
]
# the explain section as genoml_core.explain.ExplainOptions takes it (the truth file is an input)
EXPLAIN_OPTIONS = {k: v for k, v in config["explain"].items() if k != "truth"}
SUBGROUP_FILES = {
    "subgroup_table": "results/subgroups/metrics.tsv",
    "subgroup_summary": "results/subgroups/summary.json",
    "subgroup_plot": "results/subgroups/metrics.png",
}
SUBGROUP_OUTPUTS = list(SUBGROUP_FILES.values()) if config["data"]["groups"] else []


rule explain:
    input:
        final="results/final/final_model.json",
        models=final_model_files(),
        stores=FINAL_STORES,
        report="results/inputs/report.json",
        genotypes=explain_genotypes(),
        truth=explain_truth(),
    output:
        summary="results/explain/summary.json",
        importance=report(
            "results/explain/importance.tsv",
            caption="../report/shap_importance.rst",
            category="Explanations",
            labels={"result": "feature importance (mean |SHAP|)"},
        ),
        top_snps="results/explain/top_features.snplist",
        values="results/individual/explain/shap_values.tsv.gz",
        beeswarm=report(
            "results/explain/beeswarm.png",
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "SHAP summary (beeswarm)"},
        ),
        bar=report(
            "results/explain/bar.png",
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "mean |SHAP| per class"},
        ),
        dependence=report(
            "results/explain/dependence.png",
            caption="../report/shap_plots.rst",
            category="Explanations",
            labels={"result": "SHAP dependence of the top features"},
        ),
    log:
        "logs/explain.log",
    benchmark:
        "benchmarks/explain.tsv"
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
        predictions="results/individual/evaluate/predictions.tsv",
        final="results/final/final_model.json",
        groups=optional_table("groups"),
        report="results/inputs/report.json",
    output:
        table=report(
            SUBGROUP_FILES["subgroup_table"],
            caption="../report/subgroups_table.rst",
            category="Subgroups",
            labels={"result": "held-out metrics per group"},
        ),
        summary=SUBGROUP_FILES["subgroup_summary"],
        plot=report(
            SUBGROUP_FILES["subgroup_plot"],
            caption="../report/subgroups_plot.rst",
            category="Subgroups",
            labels={"result": "main metric per group"},
        ),
    log:
        "logs/subgroups.log",
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
        qc="results/qc/summary.json",
        split="results/split/summary.json",
        inputs="results/inputs/report.json",
        leaderboard="results/leaderboard.tsv",
        metrics="results/evaluate/metrics.json",
        plots=EVALUATION_PLOTS,
        explain_summary="results/explain/summary.json",
        explain_importance="results/explain/importance.tsv",
        explain_plots=EXPLAIN_PLOTS,
        warnings="results/warnings.json",
    output:
        report(
            "results/report.html",
            category="Report",
            labels={"result": "self-contained HTML report of the run"},
        ),
    log:
        "logs/report.log",
    localrule: True
    conda:
        "../../envs/classical.yaml"
    params:
        run_config=config,
        report=lookup(dpath="report", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/report.py"
