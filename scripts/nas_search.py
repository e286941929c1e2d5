"""Rule nas_search: search RRFCN wirings on fold0 (training rows; rewards on validation rows)."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core.models import nas  # noqa: E402

smk = snakemake  # noqa: F821
result = nas.search_store(
    Path(smk.input.store).parent, nas.NASConfig.from_dict(smk.params.nas), task=smk.params.task,
    seed=smk.params.seed, class_weight=smk.params.class_weight, threads=smk.threads,
)
nas.write_search_outputs(
    result, architectures=smk.output.architectures, winner=smk.output.winner, curve=smk.output.curve,
    curve_plot=smk.output.curve_plot,
)
log.info("top %d architectures: %s", len(result.top), [a["describe"] for a in result.top])
