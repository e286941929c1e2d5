"""Rule leaderboard: every learner's best trial, ranked on validation; test shown for information."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluate import build_leaderboard, best_model_paths  # noqa: E402

smk = snakemake  # noqa: F821
selections = [io.read_json(p) for p in smk.input.selections]
class_names = io.read_json(smk.input.report)["class_names"]
stores = {f: Path(r).parent for f, r in zip(smk.params.folds, smk.input.stores)}
board = build_leaderboard(selections, best_model_paths(selections, smk.input.models, smk.params.folds), stores,
                          smk.params.task, len(class_names) if class_names else None)
log.info("leaderboard:\n%s", board.drop(columns="params").to_string())
io.write_tsv(board, smk.output[0], float_format="%.6g")
