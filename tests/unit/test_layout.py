"""genoml_core.layout: the one module that knows every results path (rules, library, CLI, report)."""

import json
import re
import subprocess
import sys

import pytest

from genoml_core import layout
from tests.conftest import REPO


def _patterns() -> dict[str, str]:
    return {n: v for n in layout.__all__ if isinstance(v := getattr(layout, n), str) and "/" in v}


def test_importing_layout_imports_nothing_heavy():
    """The Snakefile imports it on every parse (every job, every SLURM job twice)."""
    code = ("import sys, genoml_core.layout; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'numpy', 'pandas', 'sklearn', 'torch', 'matplotlib', 'xgboost', 'scipy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_every_pattern_is_under_a_known_folder_and_unique():
    pats = _patterns()
    assert len(pats) > 60
    roots = (layout.RESULTS, layout.LOGS, layout.BENCHMARKS, layout.CHECKPOINTS)
    assert all(v.split("/")[0] in roots for v in pats.values()), pats
    files = [v for n, v in pats.items() if n not in ("INDIVIDUAL", "WARNING_SIDECARS")]
    assert len(set(files)) == len(files)
    assert layout.REFIT_MODEL == layout.TRIAL_MODEL.replace("trial_{trial}", "refit").replace("{fold}", layout.REFIT_FOLD)


def test_helpers():
    assert layout.in_results(layout.FINAL_MODEL) == "final/final_model.json"
    assert layout.in_results(layout.TRIAL_MODEL, learner="rf", trial=2, fold="fold1") == "train/rf/trial_2/model_fold1.zip"
    assert layout.store_file("compact") == "results/munge/{fold}/recipe.json"
    assert layout.store_file("genome", "genotypes", fold="full") == "results/munge_genome/full/genotypes.npy"
    assert layout.store_files("compact")["samples"] == "results/munge/{fold}/samples.tsv"
    assert layout.log_file("qc_variants/{fold}") == "logs/qc_variants/{fold}.log"
    assert layout.benchmark_file("evaluate") == "benchmarks/evaluate.tsv"
    assert layout.evaluation_plots("continuous") == ["results/evaluate/scatter.png", "results/evaluate/residuals.png"]
    assert layout.PCA_INPUTS["pca_pcs"].format(fold="fold0") == "results/individual/pca/fold0/pcs.tsv"
    with pytest.raises(ValueError):
        layout.in_results("logs/x.log")


def test_rule_files_name_no_path_literal():
    """The rule files take every path from the module: no quoted results/, logs/, benchmarks/ or
    checkpoints/ string is left in them (comments aside)."""
    literal = re.compile(r"""["'](?:results|logs|benchmarks|checkpoints)/""")
    for smk in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        for i, line in enumerate(smk.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not literal.search(code), f"{smk.name}:{i}: {line.strip()}"


def test_results_summary_reads_the_layout_paths(tmp_path):
    from genoml_core.warnings_log import results_summary

    res = tmp_path / "results"
    ev = res / layout.in_results(layout.EVALUATE_METRICS)
    ev.parent.mkdir(parents=True)
    ev.write_text(json.dumps({"selection_metric": "roc_auc", "test": {"roc_auc": 0.7}, "learner": "rf", "n_test": 9}))
    pm = res / layout.in_results(layout.PREDICT_METRICS, cohort="new")
    pm.parent.mkdir(parents=True)
    pm.write_text(json.dumps({"cohort": "new", "metrics": {"roc_auc": 0.6}, "n_evaluated": 5}))
    (res / layout.in_results(layout.REPORT_HTML)).write_text("<html/>")
    text = results_summary(res)
    assert "held-out test roc_auc: 0.700" in text and "new cohort new: roc_auc 0.600" in text
    assert f"report: {res / 'report.html'}" in text


def test_predict_cli_and_api_name_the_layout_files(tmp_path):
    from genoml_core import predict
    from genoml_core.errors import InputError

    assert predict.PREDICTIONS_FILE == "predictions.tsv" and predict.REPORT_FILE == "harmonize_report.json"
    assert predict.METRICS_FILE == "metrics.json" and predict.PLOTS_DIR == "plots"
    with pytest.raises(InputError, match="final/final_model.json: not found"):
        predict.final_model_from_results(tmp_path)
