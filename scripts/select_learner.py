"""Rule select_learner: the best trial of one learner on validation."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.tuning.tune import select_best  # noqa: E402

smk = snakemake  # noqa: F821
best = select_best([io.read_json(p) for p in smk.input])
log.info("best trial %s: %s=%s", best["best_trial"], best["selection_metric"], best["valid_score"])
io.write_json(best, smk.output[0])
