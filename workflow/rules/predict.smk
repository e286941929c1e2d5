# Predict each configured new cohort with the final model: harmonize its genotypes (and
# covariates/omics) to every fold's recipe.json, score, average the folds, and evaluate when a
# phenotype is given. Cohorts are config.predict.cohorts (name -> files).
import re

COHORTS = config["predict"]["cohorts"] or {}
# the per-person scores are individual-level data: results/individual/, never shared
PREDICT_OUTPUTS = [
    pattern.format(cohort=name)
    for name in COHORTS
    for pattern in (
        layout.PREDICT_PREDICTIONS,
        layout.PREDICT_REPORT,
        layout.PREDICT_METRICS,
    )
]
# plain dict of the options genoml_core.predict.PredictOptions takes
PREDICT_OPTIONS = {
    "min_overlap": config["predict"]["min_overlap"],
    "ambiguous_snps": config["predict"]["ambiguous_snps"],
    "match_by_position": config["predict"]["match_by_position"],
    "binary_coding": config["data"]["binary_coding"],
    "missing_values": config["data"]["missing_values"],
    "engine": config["munge"]["engine"],
    "chunk_variants": config["munge"]["chunk_variants"],
    "n_bootstrap": config["evaluate"]["n_bootstrap"],
    "seed": config["seed"],
}


rule predict:
    input:
        unpack(cohort_inputs),
        final=layout.FINAL_MODEL,
        models=final_model_files(),
        stores=FINAL_STORES,
        pca=FINAL_PCA,
        report=layout.INPUT_REPORT,
    output:
        predictions=layout.PREDICT_PREDICTIONS,
        report=layout.PREDICT_REPORT,
        metrics=layout.PREDICT_METRICS,
        plots=report(
            directory(layout.PREDICT_PLOTS),
            patterns=["{name}.png"],
            caption="../report/predict_plots.rst",
            category="New cohorts",
            subcategory="{cohort}",
            labels={"cohort": "{cohort}", "plot": "{name}"},
        ),
    log:
        layout.log_file("predict/{cohort}"),
    benchmark:
        layout.benchmark_file("predict/{cohort}")
    wildcard_constraints:
        cohort="|".join(re.escape(name) for name in COHORTS) or "^$",
    conda:
        MODEL_ENV
    threads: 1
    resources:
        mem_mb=mem_predict,
        runtime=runtime_min(60),
    params:
        cohort=cohort_spec,
        options=PREDICT_OPTIONS,
        task=TASK,
        folds=FOLDS,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/predict.py"
