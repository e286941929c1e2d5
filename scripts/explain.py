"""Rule explain: SHAP values of the final model (fold0's models), from training-fitted artefacts only.

One learner: its own explainer in its own output space (exact log-odds for a linear model). A
stack: each member explained in score space, weighted by its stack weight, on the union of the
members' features (genoml_core.explain.explain_final_stack).
"""
from pathlib import Path

import pandas as pd
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.evaluation.ensemble import FinalModel  # noqa: E402
from genoml_core.explain import (  # noqa: E402
    ExplainInputs,
    ExplainOptions,
    StackMember,
    explain_final_model,
    explain_final_stack,
)

smk = snakemake  # noqa: F821
final = FinalModel.load(smk.input.final)
outputs = {k: smk.output[k] for k in ("summary", "importance", "top_snps", "values", "beeswarm", "bar", "dependence")}
inputs = ExplainInputs(
    options=ExplainOptions.from_dict(smk.params.options), task=smk.params.task,
    class_names=io.read_json(smk.input.report)["class_names"], seed=smk.params.seed, out=outputs,
    threads=smk.threads, truth=next(iter(smk.input.truth), None), bfile=smk.params.bfile,
    phenotype=smk.params.phenotype, ld=smk.params.ld, engine=smk.params.engine,
)
if len(final.members) == 1:
    main = final.main
    board = pd.DataFrame([{"learner": main.learner, "best_trial": main.trial}])
    stores = {f: Path(r).parent for f, r in main.recipes.items()}
    summary = explain_final_model(board, {main.learner: main.models}, stores, inputs)
else:
    members = [
        StackMember(learner=m.learner, trial=m.trial, weight=m.weight, model=m.models[m.folds[0]],
                    store=Path(m.recipes[m.folds[0]]).parent, n_folds=len(m.folds))
        for m in final.members if m.weight > 0
    ]
    summary = explain_final_stack(members, inputs, calibrator=final.calibrator.get("kind", "none"))
log.info("explained %s with %s in %.1f s; top features: %s", summary["learner"], summary["explainer"],
         summary["seconds"]["total"], [f["feature"] for f in summary["top_features"][:10]])
