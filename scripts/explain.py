"""Rule explain: SHAP values of the final model (fold0's), from training-fitted artefacts only."""
from pathlib import Path

import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.ensemble import FinalModel  # noqa: E402
from genoml_core.explain import ExplainOptions, explain_final_model  # noqa: E402

smk = snakemake  # noqa: F821
# the final model's largest-weight member (the final model itself when it is one learner)
main = FinalModel.load(smk.input.final).main
board = pd.DataFrame([{"learner": main.learner, "best_trial": main.trial}])
stores = {f: Path(r).parent for f, r in main.recipes.items()}
outputs = {k: smk.output[k] for k in ("summary", "importance", "top_snps", "values", "beeswarm", "bar", "dependence")}
summary = explain_final_model(
    board, {main.learner: main.models}, stores,
    options=ExplainOptions.from_dict(smk.params.options), task=smk.params.task,
    class_names=io.read_json(smk.input.report)["class_names"], seed=smk.params.seed, out=outputs,
    threads=smk.threads, truth=next(iter(smk.input.truth), None), bfile=smk.params.bfile,
    phenotype=smk.params.phenotype, ld=smk.params.ld, engine=smk.params.engine,
)
log.info("explained %s with %s in %.1f s; top features: %s", summary["learner"], summary["explainer"],
         summary["seconds"]["total"], [f["feature"] for f in summary["top_features"][:10]])
