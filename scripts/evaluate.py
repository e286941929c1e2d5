"""Rule evaluate: the final model (from select_final), scored once on the test set."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluation.ensemble import FinalModel  # noqa: E402
from genoml_core.evaluation.evaluate import evaluate_final  # noqa: E402
from genoml_core.run_size import judge_run_size, log_findings  # noqa: E402

smk = snakemake  # noqa: F821
class_names = io.read_json(smk.input.report)["class_names"]
result = evaluate_final(FinalModel.load(smk.input.final), class_names=class_names,
                        n_bootstrap=smk.params.n_bootstrap, seed=smk.params.seed,
                        out_dir=Path(smk.output.metrics).parent, predictions_path=smk.output.predictions)
log.info("test metrics of %s: %s", result["learner"], result["test"])
# too few test people, or of a class, or a wide CI: warnings -> results/warnings.json, console, report
log_findings(judge_run_size(result, io.read_json(smk.input.split), class_names=class_names))
io.write_json(result, smk.output.metrics)
