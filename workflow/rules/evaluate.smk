# The leaderboard (pooled out-of-fold metrics, no test columns), the final model chosen on OOF
# predictions, and the single held-out evaluation of that final model.


rule leaderboard:
    input:
        selections=expand("results/select/{learner}.json", learner=LEARNERS),
    output:
        report(
            "results/leaderboard.tsv",
            caption="../report/leaderboard.rst",
            category="Model selection",
            labels={"result": "leaderboard (out-of-fold)"},
        ),
    log:
        "logs/leaderboard.log",
    localrule: True
    conda:
        MODEL_ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/leaderboard.py"


# The final model, chosen once from out-of-fold predictions (never the test set): the best
# learner, or a stack of learners when that beats it cross-fitted, and a calibrator.
rule select_final:
    input:
        selections=expand("results/select/{learner}.json", learner=LEARNERS),
        oof=all_trial_oofs(),
        refits=final_model_files() if REFIT else [],
        report="results/inputs/report.json",
    output:
        model="results/final/final_model.json",
        oof="results/individual/final/oof_predictions.tsv",
    log:
        "logs/select_final.log",
    conda:
        "../../envs/classical.yaml"
    resources:
        mem_mb=mem_tables,
        runtime=runtime_min(10),
    params:
        final=lookup(dpath="final", within=config),
        feature_sets=FEATURE_SETS,
        task=TASK,
        folds=FOLDS,
        refit_full=REFIT,
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/select_final.py"


rule evaluate:
    input:
        final="results/final/final_model.json",
        models=final_model_files(),
        stores=FINAL_STORES,
        report="results/inputs/report.json",
        split="results/split/summary.json",
    output:
        metrics="results/evaluate/metrics.json",
        predictions="results/individual/evaluate/predictions.tsv",
        plots=report(
            EVALUATION_PLOTS,
            caption="../report/evaluation_plots.rst",
            category="Evaluation (held-out test set)",
        ),
    log:
        "logs/evaluate.log",
    benchmark:
        "benchmarks/evaluate.tsv"
    conda:
        MODEL_ENV
    resources:
        mem_mb=mem_models,
        runtime=runtime_min(30),
    params:
        task=TASK,
        folds=FOLDS,
        n_bootstrap=lookup(dpath="evaluate/n_bootstrap", within=config),
        seed=lookup(dpath="seed", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/evaluate.py"
