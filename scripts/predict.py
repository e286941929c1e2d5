"""Rule predict: harmonize one new cohort to the fold recipes and apply the final model."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.predict import Cohort, PredictOptions, final_model_from_inputs, run_prediction  # noqa: E402

smk = snakemake  # noqa: F821
model = final_model_from_inputs(smk.input.final, task=smk.params.task,
                                class_names=io.read_json(smk.input.report)["class_names"])
result = run_prediction(model, Cohort.from_dict(smk.params.cohort), PredictOptions.from_dict(smk.params.options),
                        predictions_path=smk.output.predictions, report_path=smk.output.report,
                        metrics_path=smk.output.metrics, plots_dir=Path(smk.output.plots))
log.info("cohort %s: %d people predicted, coverage %.3f", smk.wildcards.cohort, result["n_predicted"],
         result["coverage"])
