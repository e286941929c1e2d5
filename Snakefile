# genoml-workflow: leakage-safe machine learning from PLINK genotypes to an evaluated leaderboard.
# Edit config/config.yaml (or pass --configfile); every rule lives in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


# the description on the front page of `snakemake --report`; the outputs marked report() in the
# rule files (captions in workflow/report/) fill its categories
report: "workflow/report/workflow.rst"


# The example config only when none is given: --configfile would otherwise be merged on top of
# it, and a user's config without, say, covariates would silently inherit the example's.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/munge.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/nas.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/warnings.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
    localrule: True


# Every warning the jobs raised, summarized on the console at the end (workflow/rules/warnings.smk).
onsuccess:
    print_warnings_summary(failed=False)


onerror:
    print_warnings_summary(failed=True)
