"""Explain, subgroups and the HTML report in the real workflow, and the report in a real browser.

One run of the workflow on the small simulated cohort with its groups file (ancestry, sex) and its
truth.json; the report is then opened in headless Chromium (Debian's ``chromium`` package), which
must show the leaderboard and every plot. A second, k-fold run with a PyTorch net covers the
gradient explainer.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from tests.conftest import needs_plink, run_snakemake, write_config

pytestmark = [needs_plink, pytest.mark.workflow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
ID = {"FID": str, "IID": str}

# Appended to a copy of the report (the report itself has no scripts): once the page has loaded,
# write what the browser laid out into the DOM, for --dump-dom.
CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = [];
  document.querySelectorAll('img').forEach(function (im) {
    var r = im.getBoundingClientRect(), st = getComputedStyle(im);
    imgs.push({alt: im.alt, natural_w: im.naturalWidth, natural_h: im.naturalHeight, w: r.width, h: r.height,
               complete: im.complete, display: st.display, visibility: st.visibility});
  });
  var lb = document.getElementById('leaderboard');
  var out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({imgs: imgs, leaderboard: lb ? lb.innerText : '',
                                    leaderboard_h: lb ? lb.getBoundingClientRect().height : 0,
                                    title: document.title});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def report_run(small_cohort, tmp_path_factory):
    work = tmp_path_factory.mktemp("wf_report")
    # 50 people have no covariates row: imputed with training means, a warning that must reach the
    # console, results/warnings.json and the report's banner
    cov = pd.read_csv(small_cohort / "covariates.tsv", sep="\t", dtype=str, keep_default_na=False)
    cov.iloc[50:].to_csv(work / "covariates.tsv", sep="\t", index=False)
    write_config(work, small_cohort, data={"groups": str(small_cohort / "groups.tsv"),
                                           "covariates": str(work / "covariates.tsv")},
                 explain={"truth": str(small_cohort / "truth.json")})
    proc = run_snakemake(work)
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work


def _chromium(*args: str, user_dir: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={user_dir}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_explain_outputs(report_run, small_cohort):
    work = report_run
    summary = json.loads((work / "results/explain/summary.json").read_text())
    final = json.loads((work / "results/final/final_model.json").read_text())
    members = [m["learner"] for m in final["members"]]
    if len(members) == 1:  # the final model is explained, whatever it is
        assert summary["learner"] == members[0]
        assert summary["method"] == {"logistic_l1": "linear", "random_forest": "tree"}[summary["learner"]]
    else:
        assert summary["method"] == "stack" and {m["learner"] for m in summary["members"]} == set(members)
    assert summary["additivity"]["max_abs_error"] < 1e-5
    assert summary["explain_set"] == "test" and summary["n_background"] == 100
    # explained: the test people, scored with training statistics only
    split = pd.read_csv(work / "results/split/split.tsv", sep="\t", dtype=ID)
    with gzip.open(work / "results/individual/explain/shap_values.tsv.gz", "rt") as fh:
        values = pd.read_csv(fh, sep="\t", dtype=ID)
    assert set(values.IID) == set(split[split.part == "test"].IID)
    # the explained output is the final model's score before calibration: calibrated, it is evaluate's
    from genoml_core.evaluation.ensemble import apply_calibrator

    raw = values.model_output.to_numpy()
    raw = 1 / (1 + np.exp(-raw)) if summary["output_space"].startswith("log-odds") else raw
    evaluated = pd.read_csv(work / "results/individual/evaluate/predictions.tsv", sep="\t", dtype=ID).set_index("IID")
    np.testing.assert_allclose(apply_calibrator(final["calibrator"], raw, "binary"),
                               evaluated.prob_case.loc[values.IID].to_numpy(), atol=1e-4)
    recipe = io.read_json(work / "results/munge/fold0/recipe.json")
    names = [f["name"] for f in recipe["features"]]
    # the values file keeps the features with a non-zero value, in the recipe's order
    shown = list(values.columns[5:])
    assert shown and shown == [n for n in names if n in set(shown)] and names[0].startswith("rs") and "age" in names
    np.testing.assert_allclose(values[shown].sum(axis=1) + values.base_value, values.model_output, atol=2e-3)
    imp = pd.read_csv(work / "results/explain/importance.tsv", sep="\t")
    assert len(imp) == len(names) and imp.mean_abs_shap.is_monotonic_decreasing
    assert set(imp.feature[imp.mean_abs_shap > 0]) == set(shown)
    # the top-k list is ready for plink --extract
    top = (work / "results/explain/top_features.snplist").read_text().split()
    assert 0 < len(top) <= 50 and top == [s for s in imp[imp.source == "snp"].id if s in top][: len(top)]
    out = work / "extracted"
    subprocess.run(["plink2", "--bfile", str(small_cohort / "cohort"), "--extract",
                    str(work / "results/explain/top_features.snplist"), "--make-just-bim", "--out", str(out)],
                   check=True, capture_output=True)
    assert len(io.read_bim(out)) == len(top)
    # truth: causal SNPs among the top SNPs, against a random ranking of the model's SNPs
    truth = summary["truth"]
    assert truth["n_causal"] == 40 and truth["n_candidates"] == 300 and truth["top_k"] == len(top)
    assert 0 <= truth["found_directly"] <= truth["found"] <= truth["n_causal_reachable"] <= truth["n_causal"]
    assert 0 < truth["expected_random"] < truth["n_causal_reachable"]
    for png in ("beeswarm", "bar", "dependence"):
        assert (work / f"results/explain/{png}.png").read_bytes()[:4] == b"\x89PNG"


def test_subgroups(report_run):
    table = pd.read_csv(report_run / "results/subgroups/metrics.tsv", sep="\t", dtype={"group": str})
    assert {("ancestry", "pop_a"), ("ancestry", "pop_b"), ("sex", "female"), ("sex", "male")} <= set(
        zip(table.column, table.group))
    assert (table.metric == "roc_auc").all()
    summary = json.loads((report_run / "results/subgroups/summary.json").read_text())
    assert summary["n_test"] == int(table[table.column == "all"].n.iloc[0])
    assert set(summary["columns"]) == {"ancestry", "sex"}


def test_report_is_complete_and_private(report_run):
    page = (report_run / "results/report.html").read_text()
    for section in ('id="leaderboard"', 'id="explanations"', 'id="subgroups"', 'id="model-card"', 'id="qc"'):
        assert section in page
    assert "true causal SNPs are among the top" in page
    assert not re.search(r"""(src|href)=["'](?!data:image/png;base64,|#)""", page)
    assert "<script" not in page
    # no individual-level data: no sample id of anyone in the analysis, or removed by QC
    split = pd.read_csv(report_run / "results/split/split.tsv", sep="\t", dtype=ID)
    removed = list(pd.read_csv(report_run / "results/individual/qc/removed_samples.tsv", sep="\t", dtype=ID).IID)
    assert [i for i in list(split.IID) + removed if re.search(rf"\b{re.escape(i)}\b", page)] == []


def test_warnings_reach_the_console_the_warnings_file_and_the_report(report_run):
    imputed = r"\d+ analysis sample\(s\) have no row in \S*covariates\.tsv: their covariate values are imputed"
    collected = json.loads((report_run / "results/warnings.json").read_text())
    entry = next(w for w in collected["warnings"] if re.match(imputed, w["message"]))
    assert entry["rule"] == "check_inputs" and entry["source"] == "workflow" and entry["count"] == 1
    assert collected["by_rule"]["check_inputs"] >= 1 and collected["unfinished"] == []
    page = (report_run / "results/report.html").read_text()
    banner = page[page.index('id="warnings"'):page.index('id="model-card"')]
    assert re.search(imputed, banner) and "<code>check_inputs</code>" in banner
    assert 'id="too-small"' not in page  # ~80 test people, a CI narrower than 0.3
    console = (report_run / "console.txt").read_text()
    head = re.search(r"genoml-workflow: (\d+) warning\(s\).*behind these results \(.*check_inputs \d+.*\); "
                     r"full list: results/warnings\.json", console)
    assert head and int(head.group(1)) == collected["n_warnings"], console[-3000:]
    assert re.search(r"WARNING check_inputs: " + imputed, console)


def test_snakemake_report_and_nothing_left_to_do(report_run):
    out = report_run / "snakemake_report.html"
    run_snakemake(report_run, "--report", str(out))
    text = out.read_text(errors="replace")
    assert out.stat().st_size > 10_000 and "Explanations" in text and "Subgroups" in text
    dry = run_snakemake(report_run, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr


@needs_chromium
def test_report_renders_in_headless_chromium(report_run, tmp_path):
    check = tmp_path / "report_check.html"
    page = (report_run / "results/report.html").read_text()
    check.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"))
    dom = _chromium("--virtual-time-budget=10000", "--window-size=1280,2000", "--dump-dom", check.as_uri(),
                    user_dir=tmp_path / "profile_dom")
    m = re.search(r'<pre id="browser-check">(.*?)</pre>', dom.stdout, re.S)
    assert m, dom.stdout[-2000:] + dom.stderr[-2000:]
    seen = json.loads(html.unescape(m.group(1)))
    board = pd.read_csv(report_run / "results/leaderboard.tsv", sep="\t")
    for learner in board.learner:
        assert learner in seen["leaderboard"]
    assert seen["leaderboard_h"] > 20 and seen["title"] == "genoml-workflow report"
    assert len(seen["imgs"]) == 5 + 3 + 1 + 1  # evaluation plots, SHAP plots, per-group plot, ancestry PCs
    for img in seen["imgs"]:
        assert img["complete"] and img["natural_w"] > 100 and img["natural_h"] > 100, img
        assert img["w"] > 100 and img["h"] > 100 and img["display"] != "none" and img["visibility"] == "visible", img
    # and a screenshot of the real report (not the copy) is not blank
    shot = tmp_path / "report.png"
    _chromium("--hide-scrollbars", "--window-size=1280,4000", f"--screenshot={shot}",
              (report_run / "results/report.html").as_uri(), user_dir=tmp_path / "profile_shot")
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 4000)
        colours = im.convert("RGB").resize((128, 400)).getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50


def test_net_is_explained_with_gradients_in_a_kfold_run(small_cohort, tmp_path):
    write_config(tmp_path, small_cohort, split={"method": "kfold", "n_folds": 2},
                 train={"learners": ["mlp"], "n_trials": 1},
                 explain={"n_explain": 40, "gradient_nsamples": 50})
    run_snakemake(tmp_path, "results/explain/summary.json")
    summary = json.loads((tmp_path / "results/explain/summary.json").read_text())
    assert summary["learner"] == "mlp" and summary["explainer"] == "shap.GradientExplainer"
    assert summary["fold"] == "fold0" and summary["n_folds"] == 2
    assert any("fold0" in n for n in summary["notes"]) and summary["n_explained"] == 40
    assert summary["output_space"] == "log-odds of case"
