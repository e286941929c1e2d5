"""Rule evaluate: the validation-chosen best model, scored once on the test set."""
from pathlib import Path

import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluate import evaluate_best, leaderboard_model_paths  # noqa: E402

smk = snakemake  # noqa: F821
board = pd.read_csv(smk.input.leaderboard, sep="\t")
stores = {f: Path(r).parent for f, r in zip(smk.params.folds, smk.input.stores)}
result = evaluate_best(board, leaderboard_model_paths(board, smk.input.models, smk.params.folds), stores,
                       task=smk.params.task, class_names=io.read_json(smk.input.report)["class_names"],
                       n_bootstrap=smk.params.n_bootstrap, seed=smk.params.seed,
                       out_dir=Path(smk.output.metrics).parent, predictions_path=smk.output.predictions)
log.info("test metrics of %s: %s", result["learner"], result["test"])
io.write_json(result, smk.output.metrics)
