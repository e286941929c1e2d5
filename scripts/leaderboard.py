"""Rule leaderboard: every learner's best trial, ranked on pooled out-of-fold predictions (no test columns)."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluation.evaluate import build_leaderboard  # noqa: E402

smk = snakemake  # noqa: F821
board = build_leaderboard([io.read_json(p) for p in smk.input.selections])
log.info("leaderboard:\n%s", board.drop(columns="params").to_string())
io.write_tsv(board, smk.output[0], float_format="%.6g")
