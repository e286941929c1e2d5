# genoml-workflow: leakage-safe machine learning from PLINK genotypes to an evaluated leaderboard.
# Edit config/config.yaml (or pass --configfile); every rule lives in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/munge.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"


rule all:
    input:
        "results/qc/summary.json",
        "results/leaderboard.tsv",
        "results/evaluate/metrics.json",
        "results/evaluate/predictions.tsv",
        EVALUATION_PLOTS,
    localrule: True
    default_target: True
