# The leaderboard (pooled out-of-fold metrics, no test columns), the final model chosen on OOF
# predictions, and the single held-out evaluation of that final model.


rule leaderboard:
    input:
        selections=expand(layout.SELECTION, learner=LEARNERS),
    output:
        report(
            layout.LEADERBOARD,
            caption="../report/leaderboard.rst",
            category="Model selection",
            labels={"result": "leaderboard (out-of-fold)"},
        ),
    log:
        layout.log_file("leaderboard"),
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
        selections=expand(layout.SELECTION, learner=LEARNERS),
        oof=all_trial_oofs(),
        refits=final_model_files() if REFIT else [],
        report=layout.INPUT_REPORT,
    output:
        model=layout.FINAL_MODEL,
        oof=layout.FINAL_OOF,
    log:
        layout.log_file("select_final"),
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
        final=layout.FINAL_MODEL,
        models=final_model_files(),
        stores=FINAL_STORES,
        report=layout.INPUT_REPORT,
        split=layout.SPLIT_SUMMARY,
    output:
        metrics=layout.EVALUATE_METRICS,
        predictions=layout.EVALUATE_PREDICTIONS,
        plots=report(
            EVALUATION_PLOTS,
            caption="../report/evaluation_plots.rst",
            category="Evaluation (held-out test set)",
        ),
    log:
        layout.log_file("evaluate"),
    benchmark:
        layout.benchmark_file("evaluate")
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
