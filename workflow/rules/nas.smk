# RRFCN architecture search (used only when train.learners lists rrfcn): one nas_search job on
# fold0's training rows, rewarded on its validation rows, writes the top-k wirings; trial t of
# learner rrfcn then retrains architecture t from scratch on every fold (train_rrfcn), and
# select_learner / leaderboard treat rrfcn like any other learner.

# the search settings without the retrain ones, so editing nas.retrain reruns only the retrains
NAS_SEARCH = {key: value for key, value in config["nas"].items() if key != "retrain"}


rule nas_search:
    input:
        store=layout.store_file("compact", fold=FOLDS[0]),
    output:
        architectures=layout.NAS_ARCHITECTURES,
        winner=report(
            layout.NAS_WINNER,
            caption="../report/nas_winner.rst",
            category="RRFCN architecture search",
            labels={"result": "winning architecture"},
        ),
        curve=layout.NAS_CURVE,
        curve_plot=report(
            layout.NAS_CURVE_PLOT,
            caption="../report/nas_search_curve.rst",
            category="RRFCN architecture search",
            labels={"result": "search curve"},
        ),
    log:
        layout.log_file("nas/search"),
    benchmark:
        layout.benchmark_file("nas/search")
    conda:
        "../../envs/torch.yaml"
    threads: threads_net
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=1,
    params:
        nas=NAS_SEARCH,
        task=TASK,
        seed=lookup(dpath="seed", within=config),
        class_weight=lookup(dpath="train/class_weight", within=config),
        code_version=GENOML_CORE_VERSION,
    script:
        "../../scripts/nas_search.py"


# The retrains: train_net's job with the search's architectures as an extra input; the trial's
# training settings come from nas.retrain (space_of), its wiring from architectures.json.
use rule train_net as train_rrfcn with:
    input:
        stores=STORES,
        arch=layout.NAS_ARCHITECTURES,
    wildcard_constraints:
        learner="rrfcn",
