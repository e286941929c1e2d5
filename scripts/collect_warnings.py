"""Rule collect_warnings: the warnings of every job behind the results, in results/warnings.json."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core.warnings_log import collect_warnings, write_json_atomic  # noqa: E402

smk = snakemake  # noqa: F821
collected = collect_warnings(smk.params.sidecars, targets=list(smk.input))
log.info("%d warning(s), %d distinct, from %d job(s): %s", collected["n_warnings"], collected["n_messages"],
         collected["n_jobs"], collected["by_rule"])
write_json_atomic(collected, smk.output[0])
