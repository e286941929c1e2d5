"""Rule select_final: the final model (members, stack weights, calibrator) from OOF predictions alone."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluation.ensemble import final_model_document  # noqa: E402

smk = snakemake  # noqa: F821
spec, oof = final_model_document([io.read_json(p) for p in smk.input.selections], smk.input.oof,
                                 folds=smk.params.folds, task=smk.params.task,
                                 class_names=io.read_json(smk.input.report)["class_names"], seed=smk.params.seed,
                                 options=smk.params.final, feature_sets=smk.params.feature_sets,
                                 refit_full=smk.params.refit_full)
log.info("final model: %s", {k: spec[k] for k in ("combiner", "members", "calibrator")})
io.write_tsv(oof, smk.output.oof, float_format="%.8g")
io.write_json(spec, smk.output.model)
