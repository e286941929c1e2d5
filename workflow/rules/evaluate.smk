# The leaderboard (validation decides; test shown for information) and the single held-out
# evaluation of the overall best model.


rule leaderboard:
    input:
        selections=expand("results/select/{learner}.json", learner=LEARNERS),
        models=all_trial_models(),
        stores=STORES,
        report="results/inputs/report.json",
    output:
        "results/leaderboard.tsv",
    log:
        "logs/leaderboard.log",
    benchmark:
        "benchmarks/leaderboard.tsv"
    conda:
        MODEL_ENV
    resources:
        mem_mb=mem_models,
        runtime=runtime_min(30),
    params:
        task=TASK,
        folds=FOLDS,
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/leaderboard.py"


rule evaluate:
    input:
        leaderboard="results/leaderboard.tsv",
        models=all_trial_models(),
        stores=STORES,
        report="results/inputs/report.json",
    output:
        metrics="results/evaluate/metrics.json",
        predictions="results/evaluate/predictions.tsv",
        plots=report(EVALUATION_PLOTS, category="Evaluation (held-out test set)"),
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
