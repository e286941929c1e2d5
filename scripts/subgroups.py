"""Rule subgroups: held-out metrics of the final model per group (data.groups), and the gaps."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluation.ensemble import FinalModel  # noqa: E402
from genoml_core.evaluation.fairness import SubgroupOptions, run_subgroups  # noqa: E402

smk = snakemake  # noqa: F821
summary = run_subgroups(
    smk.input.predictions, next(iter(smk.input.groups), None), task=smk.params.task,
    class_names=io.read_json(smk.input.report)["class_names"], options=SubgroupOptions.from_dict(smk.params.options),
    n_bootstrap=smk.params.n_bootstrap, seed=smk.params.seed, table_path=smk.output.table,
    summary_path=smk.output.summary, plot_path=smk.output.plot,
    cutoff=FinalModel.load(smk.input.final).cutoff,  # the final model's decision rule, as in evaluate
)
log.info("subgroups: overall %s %s; %d warning(s)", summary["metric"], summary["overall"], len(summary["warnings"]))
