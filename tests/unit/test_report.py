"""The HTML report: self-contained, complete, optional sections, and no individual-level data."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.evaluation import plots
from genoml_core.models import learners as L
from genoml_core.explain import explain_model, importance_table, plot_bar, plot_beeswarm
from genoml_core.evaluation.fairness import SubgroupOptions, run_subgroups
from genoml_core.report import OPTIONAL_INPUTS, collect_versions, render_report

N_TEST = 240
CLASSES = ["control", "case"]


class _Page(HTMLParser):
    """Collects tags, attributes and table row counts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, int] = {}
        self._table: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table.append(a.get("id", f"table{len(self.tables)}"))
            self.tables[self._table[-1]] = 0
        elif tag == "tr" and self._table:
            self.tables[self._table[-1]] += 1

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()


def _png(path: Path) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(path, format="png")
    return str(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """The result files of a small binary run, with per-person data (ids, genotypes) beside them."""
    d = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    ids = pd.DataFrame({"FID": [f"FAM{i:04d}" for i in range(N_TEST)], "IID": [f"PERSON{i:04d}" for i in range(N_TEST)]})
    geno = rng.integers(0, 3, (N_TEST, 10)).astype(np.float32)
    X = np.column_stack([(geno - 1) / 0.8, rng.standard_normal((N_TEST, 2))]).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 10] + rng.standard_normal(N_TEST) > 0).astype(int)
    est = L.fit_learner(L.make_learner("logistic_l2", {}, task="binary", random_state=0), X, y, task="binary")
    s = L.predict_scores(est, X, task="binary")
    files: dict = {}
    io.write_json({"inputs": {"fam_samples": 300, "analysis_samples": 290, "class_counts": {"control": 150, "case": 140},
                              "covariates_columns": ["sex", "age"], "class_names": CLASSES},
                   "sample_qc": {"analysis_samples": 290, "removed_mind": 2,
                                 "removed_mind_ids": ["FAM9998 BADPERSON1", "FAM9999 BADPERSON2"],
                                 "samples_after_qc": 288},
                   "folds": {"fold0": {"variant_qc": {"variants_in": 500, "removed_geno": 3, "removed_maf": 40,
                                                      "removed_hwe": 2, "variants_after_qc": 455},
                                       "ld_prune": {"enabled": True, "variants_in": 455, "variants_kept": 300,
                                                    "removed_ld": 155},
                                       "assoc_filter": {"enabled": True, "variants_in": 300, "variants_kept": 10}}}},
                  d / "qc.json")
    io.write_json({"method": "holdout", "seed": 1, "n_samples": 288,
                   "parts": {"train": {"n": 200, "class_counts": {"0": 100, "1": 100}},
                             "test": {"n": N_TEST, "class_counts": {"0": 120, "1": 120}}}}, d / "split.json")
    io.write_json({"class_names": CLASSES, "class_counts": {"control": 150, "case": 140},
                   "covariates_columns": ["sex", "age"]}, d / "inputs.json")
    pd.DataFrame([
        {"rank": 1, "learner": "logistic_l2", "best_trial": 0, "n_trials": 2, "valid_roc_auc": 0.81,
         "test_roc_auc": 0.8, "degenerate": False, "fit_seconds": 0.1, "params": '{"C": 0.01}'},
        {"rank": 2, "learner": "random_forest", "best_trial": 1, "n_trials": 2, "valid_roc_auc": 0.75,
         "test_roc_auc": 0.74, "degenerate": False, "fit_seconds": 1.2, "params": '{"n_estimators": 100}'},
    ]).to_csv(d / "leaderboard.tsv", sep="\t", index=False)
    io.write_json({"learner": "logistic_l2", "best_trial": 0, "selection_metric": "roc_auc", "valid": {"roc_auc": 0.81},
                   "test": {"roc_auc": 0.8, "brier": 0.2, "n": float(N_TEST)}, "test_ci95": {"roc_auc": [0.74, 0.86]},
                   "n_test": N_TEST, "confusion_matrix": {"classes": CLASSES, "matrix": [[90, 30], [30, 90]]}},
                  d / "metrics.json")
    eval_plots = plots.evaluation_plots("binary", y, s, d / "eval", class_names=CLASSES)
    # explanation of the model on the test people
    recipe = {"n_snps": 10, "features": [
        {"name": f"rs{j}_A", "source": "snp", "id": f"rs{j}", "chrom": "1", "pos": 100 * j, "counted": "A"}
        for j in range(10)] + [{"name": "sex", "source": "covariate"}, {"name": "age", "source": "covariate"}]}
    exp = explain_model(est, X[:50], X, task="binary", class_names=CLASSES,
                        feature_names=[f["name"] for f in recipe["features"]])
    imp = importance_table(exp, recipe, X)
    io.write_tsv(imp, d / "importance.tsv")
    explain_plots = [plot_beeswarm(exp, X, d / "beeswarm.png"), plot_bar(exp, ["snp"] * 10 + ["covariate"] * 2,
                                                                      d / "bar.png")]
    io.write_json({"learner": "logistic_l2", "best_trial": 0, "fold": "fold0", "n_folds": 1, "method": "linear",
                   "explainer": "shap.LinearExplainer", "output_space": exp.output_space, "explain_set": "test",
                   "n_explained": N_TEST, "n_available": N_TEST, "background": "50 training samples",
                   "additivity": {"max_abs_error": exp.additivity_error(), "mean_abs_output_minus_base": 0.5},
                   "n_features": 12, "n_nonzero": 12, "top_snps": ["rs0", "rs1"], "notes": [],
                   "options": {"n_display": 20}, "seconds": {"total": 0.5},
                   "truth": {"n_causal": 2, "top_k": 2, "n_candidates": 10, "found": 2, "found_directly": 2,
                             "expected_random": 0.4, "n_causal_reachable": 2, "n_causal_in_model": 2,
                             "tagging_in_top_k": 2, "tagging_expected_random": 0.4, "tagging_p_value": 0.02,
                             "proxy_rule": "rule", "random_rule": "random",
                             "causal": [{"snp": "rs0", "chrom": "1", "in_model": True, "n_tags": 1, "found": True,
                                         "found_by": [{"snp": "rs0", "rank": 1, "r2": 1.0}]}]}},
                  d / "explain.json")
    # per-person files the report must not copy: predictions with ids, genotypes, groups
    pred = ids.assign(observed=[CLASSES[k] for k in y], prob_control=1 - s, prob_case=s, score=s)
    pred.to_csv(d / "predictions.tsv", sep="\t", index=False)
    groups = ids.assign(ancestry=np.where(np.arange(N_TEST) < 180, "pop_a", "pop_b"))
    groups.to_csv(d / "groups.tsv", sep="\t", index=False)
    run_subgroups(d / "predictions.tsv", d / "groups.tsv", task="binary", class_names=CLASSES,
                  options=SubgroupOptions(), n_bootstrap=50, seed=0, table_path=d / "sub.tsv",
                  summary_path=d / "sub.json", plot_path=d / "sub.png")
    files.update(qc=str(d / "qc.json"), split=str(d / "split.json"), inputs=str(d / "inputs.json"),
                 leaderboard=str(d / "leaderboard.tsv"), metrics=str(d / "metrics.json"),
                 plots=[str(p) for p in eval_plots.values()], explain_summary=str(d / "explain.json"),
                 explain_importance=str(d / "importance.tsv"), explain_plots=[str(p) for p in explain_plots],
                 subgroup_table=str(d / "sub.tsv"), subgroup_summary=str(d / "sub.json"),
                 subgroup_plot=str(d / "sub.png"))
    io.write_json({"fitted_on": "training rows", "methods": {"res_vae": {"davies_bouldin_heldout": 1.2, "d_latent": 8},
                                                             "pca": {"davies_bouldin_heldout": 1.9, "d_latent": 8}}},
                  d / "embed.json")
    io.write_json({"format": "genoml_core.models.nas/1", "metric": "roc_auc", "architectures": [
        {"rank": 1, "describe": "w64 -> w32 (skip 0-2)", "score": 0.7},
        {"rank": 2, "describe": "w128 -> w16", "score": 0.68}]}, d / "nas.json")
    extras = {"embed_summary": str(d / "embed.json"), "embed_plot_pca": _png(d / "pca.png"),
              "nas_architectures": str(d / "nas.json"), "nas_plot_winner": _png(d / "winner.png")}
    config = {"task": "binary", "seed": 1, "data": {"genotypes": "cohort", "phenotype_column": "case_control"}}
    return {"dir": d, "files": files, "extras": extras, "config": config, "ids": ids, "geno": geno}


@pytest.fixture(scope="module")
def page(run) -> str:
    return render_report(run["files"], config=run["config"], intended_use="Testing the report only.",
                         versions={"python": "3", "shap": "0.51"})


def test_report_is_self_contained(page):
    p = _Page()
    p.feed(page)
    assert not [t for t, _ in p.tags if t in ("script", "link", "iframe", "object", "embed")]
    assert "@import" not in page and "url(" not in page
    for tag, attrs in p.tags:
        for key in ("src", "href"):
            v = attrs.get(key)
            if v is not None:
                assert v.startswith("data:image/png;base64,") or v.startswith("#"), (tag, v[:60])
    imgs = [a["src"] for t, a in p.tags if t == "img"]
    assert len(imgs) == 5 + 2 + 1  # evaluation plots, SHAP plots, per-group plot
    for src in imgs:
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"


def test_report_has_every_section(page, run):
    p = _Page()
    p.feed(page)
    ids = {a.get("id") for _, a in p.tags}
    for section in ("model-card", "leaderboard-section", "test-metrics", "evaluation-plots", "explanations",
                    "subgroups", "qc", "split", "configuration", "leaderboard", "top-features", "subgroup-table"):
        assert section in ids, section
    assert p.tables["leaderboard"] == 3 and "random_forest" in page and "logistic_l2" in page
    assert "Testing the report only." in page
    assert "2</b> of 2 true causal SNPs" in page and "0.40" in page  # truth against random ranking
    assert "ancestry" in page and "pop_b" in page
    assert "embedding" not in ids and "architecture" not in ids  # those stages did not run


def test_optional_sections_appear_with_their_files(run):
    html = render_report({**run["files"], **run["extras"]}, config=run["config"], versions={})
    p = _Page()
    p.feed(html)
    ids = {a.get("id") for _, a in p.tags}
    assert {"embedding", "architecture", "embed-table", "nas-table"} <= ids
    assert p.tables["embed-table"] == 3 and "res_vae" in html and "w64 -&gt; w32" in html
    assert len([t for t, _ in p.tags if t == "img"]) == 8 + 2
    assert set(run["extras"]) <= set(OPTIONAL_INPUTS)


def test_matrix_only_run(run, tmp_path):
    qc = io.read_json(run["files"]["qc"])
    io.write_json({"inputs": qc["inputs"], "sample_qc": None, "split": {}, "folds": {}}, tmp_path / "qc.json")
    html = render_report({**run["files"], "qc": str(tmp_path / "qc.json")},
                         config={**run["config"], "data": {"genotypes": None, "phenotype_column": "er"}}, versions={})
    assert "no PLINK sample or variant QC" in html and 'id="leaderboard"' in html


def test_report_without_groups_says_so(run):
    files = {k: v for k, v in run["files"].items() if not k.startswith("subgroup")}
    html = render_report(files, config=run["config"], versions={})
    assert "per-group performance was not checked" in html


def test_report_holds_no_individual_level_data(page, run):
    # no sample id: not the test people's, not the QC-removed ones
    for iid in list(run["ids"].IID) + list(run["ids"].FID) + ["BADPERSON1", "FAM9999"]:
        assert iid not in page
    # no table with a row per person
    p = _Page()
    p.feed(page)
    assert max(p.tables.values()) < N_TEST / 4, p.tables
    # no per-person genotype string (a column of the test people's genotypes)
    for j in range(run["geno"].shape[1]):
        col = "".join(str(int(v)) for v in run["geno"][:40, j])
        assert col not in re.sub(r"\s", "", re.sub(r"<[^>]+>", "", page))
    # only aggregates of the predictions: no per-person score
    pred = pd.read_csv(run["dir"] / "predictions.tsv", sep="\t")
    assert not any(f"{v:.6f}" in page for v in pred.score.head(50))


def test_versions_name_the_tools():
    v = collect_versions()
    assert {"python", "genoml_core", "snakemake", "shap", "scikit-learn", "torch", "plink2"} <= set(v)
    json.dumps(v)


# ----------------------------------------------------------------------------- banners
def _warnings_file(path: Path) -> str:
    """results/warnings.json as collect_warnings writes it: the workflow's own, a library's, and one
    message that lists sample ids past the banner's cut."""
    ids = " ".join(f"FAM{i:04d} PERSON{i:04d}" for i in range(40))
    entries = [
        {"rule": "check_inputs", "level": "WARNING", "logger": "genoml_core.inputs", "source": "workflow",
         "message": "50 analysis sample(s) have no row in covariates.tsv: their covariate values are imputed from "
                    "training means", "count": 1, "n_jobs": 1, "jobs": [{}]},
        {"rule": "train_classical", "level": "WARNING", "logger": "py.warnings", "source": "library",
         "message": "ConvergenceWarning: lbfgs failed to converge (_logistic.py:469)", "count": 6, "n_jobs": 3,
         "jobs": [{"learner": "logistic_l2", "trial": "0"}]},
        {"rule": "qc_samples", "level": "WARNING", "logger": "genoml_core.genotypes.plink", "source": "workflow",
         "message": "plink2: dropped samples " + ids, "count": 1, "n_jobs": 1, "jobs": [{}]},
        {"rule": "evaluate", "level": "WARNING", "logger": "genoml_core.run_size", "source": "workflow",
         "message": "too small to judge: the test set has 3 people, fewer than 50", "count": 1, "n_jobs": 1,
         "jobs": [{}]},
    ]
    io.write_json({"format": "genoml_core.warnings/1", "n_warnings": 9, "n_messages": 4, "warnings": entries},
                  path)
    return str(path)


def test_warnings_banner_at_the_top(run, tmp_path):
    html = render_report({**run["files"], "warnings": _warnings_file(tmp_path / "warnings.json")},
                         config=run["config"], versions={})
    p = _Page()
    p.feed(html)
    order = [a.get("id") for _, a in p.tags if a.get("id")]
    assert order.index("warnings") < order.index("model-card")  # a banner, before everything else
    banner = html[html.index('id="warnings"'):html.index('id="model-card"')]
    assert "8 warning(s)</b> (3 distinct)" in banner  # the size finding has its own banner
    assert "imputed from training means" in banner and "<code>check_inputs</code>" in banner
    assert "1 from libraries" in banner and "lbfgs failed to converge" in banner and "&times;6" in banner
    assert "logistic_l2" in banner and "2 more job(s)" in banner
    # a message is cut: ids listed past the cut do not reach the page
    assert "PERSON0000" in banner and "PERSON0039" not in html and "\u2026" in banner
    assert "too-small" not in order  # 240 test people with a narrow CI: big enough


def test_no_warnings_says_so_and_no_file_shows_nothing(run, tmp_path):
    io.write_json({"format": "genoml_core.warnings/1", "n_warnings": 0, "warnings": []}, tmp_path / "w.json")
    html = render_report({**run["files"], "warnings": str(tmp_path / "w.json")}, config=run["config"], versions={})
    assert "No job behind these results raised a warning" in html
    assert 'id="warnings"' not in render_report(run["files"], config=run["config"], versions={})


def test_too_small_to_judge_banner(run, tmp_path):
    ev = io.read_json(run["files"]["metrics"])
    ev.update(n_test=3, test_ci95={"roc_auc": [0.0, 1.0]})
    io.write_json(ev, tmp_path / "metrics.json")
    io.write_json({"method": "holdout", "seed": 1, "n_samples": 30,
                   "parts": {"train": {"n": 24, "class_counts": {"0": 12, "1": 12}},
                             "test": {"n": 3, "class_counts": {"0": 2, "1": 1}}}}, tmp_path / "split.json")
    html = render_report({**run["files"], "metrics": str(tmp_path / "metrics.json"),
                          "split": str(tmp_path / "split.json")},
                         config={**run["config"], "split": {"min_samples": 100, "allow_small": True}}, versions={})
    banner = html[html.index('id="too-small"'):html.index('id="model-card"')]
    assert "Too small to judge" in banner and "the test set has 3 people, fewer than 50" in banner
    assert "class &#39;case&#39; has 1 people in the test set" in banner
    assert "fewer than split.min_samples = 100" in banner and "0.000-1.000 (width 1.00)" in banner
    card = html[html.index('id="model-card"'):html.index('id="leaderboard-section"')]
    assert "Too small to judge: " in card  # the model card's limitations say it too


def test_relatedness_table_in_the_qc_section(run, tmp_path):
    qc = io.read_json(run["files"]["qc"])
    qc["relatedness"] = {"policy": "group", "threshold": 0.0884, "n_related_pairs": 12,
                         "pairs_by_degree": {"duplicate_or_mz_twin": 1, "first_degree": 5, "second_degree": 6},
                         "n_dropped": 0, "duplicates": [["FAM0001 PERSON0001", "FAM0002 PERSON0002"]]}
    io.write_json(qc, tmp_path / "qc.json")
    html = render_report({**run["files"], "qc": str(tmp_path / "qc.json")}, config=run["config"], versions={})
    p = _Page()
    p.feed(html)
    assert p.tables["qc-relatedness"] == 1 + 8
    table = html[html.index('id="qc-relatedness"'):]
    table = table[:table.index("</table>")]
    assert "pairs by degree: first degree" in table and "0.0884" in table and "group" in table
    assert "1 (not listed)" in table and "PERSON0001" not in html  # a list may hold ids: only its length


def test_the_final_model_line_says_which_models_scored_the_test_set():
    from genoml_core.report.card import _final_model_text

    ev = {"members": [{"learner": "penalized_glm", "trial": 0, "weight": 1.0}], "calibrator": "platt",
          "decision_cutoff": 0.35, "scored_with": "refit"}
    best = {"learner": "penalized_glm", "best_trial": 0}
    assert "refitted on every development person" in _final_model_text(ev, best, "roc_auc")
    ev["scored_with"] = "mean of 5 fold model(s)"
    assert "scored as the mean of 5 fold model(s)" in _final_model_text(ev, best, "roc_auc")
