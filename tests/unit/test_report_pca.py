"""Ancestry PCs in the report: the PC1/PC2 plot, the section, and the model card's line."""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.evaluation import plots
from genoml_core.errors import ConfigError
from genoml_core.report import PCA_INPUTS, pca_report_fold, render_report
from tests.unit.test_plots import check_png
from tests.unit.test_report import N_TEST, _Page, run  # noqa: F401 (the run fixture)

K = 4
ROLES = {"train": 150, "valid": 40, "test": 60, "unused": 10}


def _pop(n: int) -> np.ndarray:
    return np.array(["EUR", "AFR", "EAS"])[np.arange(n) % 3]


def _pcs(n_pcs: int = K, seed: int = 0) -> pd.DataFrame:
    """Three clusters of people, roles as in a holdout fold."""
    rng = np.random.default_rng(seed)
    roles = np.concatenate([[r] * n for r, n in ROLES.items()])
    n = roles.size
    pop = _pop(n)
    centre = {"EUR": (0.0, 0.0), "AFR": (0.1, 0.02), "EAS": (-0.05, 0.08)}
    xy = np.array([centre[p] for p in pop]) + 0.01 * rng.standard_normal((n, 2))
    df = pd.DataFrame({"FID": [f"PCFAM{i:04d}" for i in range(n)], "IID": [f"PCPERSON{i:04d}" for i in range(n)],
                       "role": roles})
    for j in range(n_pcs):
        df[f"ancestry_PC{j + 1}"] = xy[:, j] if j < 2 else 0.01 * rng.standard_normal(n)
    return df


def _groups(pcs: pd.DataFrame, n_rows: int | None = None) -> pd.DataFrame:
    g = pd.DataFrame({"FID": pcs.FID, "IID": pcs.IID, "sex": np.where(np.arange(len(pcs)) % 2, "M", "F"),
                      "ancestry": _pop(len(pcs))})
    return g.iloc[:n_rows] if n_rows else g


@pytest.fixture
def pca_files(tmp_path) -> dict[str, str]:
    pcs = _pcs()
    pcs.to_csv(tmp_path / "pcs.tsv", sep="\t", index=False)
    _groups(pcs, n_rows=240).to_csv(tmp_path / "groups.tsv", sep="\t", index=False)
    io.write_json({"n_pcs": K, "n_pcs_asked": K, "n_train": ROLES["train"], "n_snps": 1234, "approx": False,
                   "eigenvalues": [9.5, 4.25, 2.125, 1.0625], "fold": "fold0"}, tmp_path / "summary.json")
    return {"pca_pcs": str(tmp_path / "pcs.tsv"), "pca_summary": str(tmp_path / "summary.json"),
            "pca_groups": str(tmp_path / "groups.tsv")}


# ----------------------------------------------------------------------------- the plot
def test_group_column_choice() -> None:
    assert plots.ancestry_group_column(["FID", "IID", "sex", "ancestry"]) == "ancestry"
    assert plots.ancestry_group_column(["FID", "IID", "site", "Population"]) == "Population"
    assert plots.ancestry_group_column(["FID", "IID", "sex", "superpop"]) == "superpop"
    assert plots.ancestry_group_column(["FID", "IID", "sex", "site"]) == "sex"
    assert plots.ancestry_group_column(["FID", "IID", "popcorn_eaten", "site"]) == "popcorn_eaten"
    assert plots.ancestry_group_column(["FID", "IID"]) is None


def test_plot_ancestry_pcs_with_and_without_groups(tmp_path: Path) -> None:
    pcs = _pcs()
    pcs.to_csv(tmp_path / "pcs.tsv", sep="\t", index=False)
    _groups(pcs, n_rows=200).to_csv(tmp_path / "groups.tsv", sep="\t", index=False)  # some people lack a row
    figs_before = plt.get_fignums()
    by_group = plots.plot_ancestry_pcs(tmp_path / "pcs.tsv", tmp_path / "g.png", groups=tmp_path / "groups.tsv")
    by_role = plots.plot_ancestry_pcs(tmp_path / "pcs.tsv", tmp_path / "r.png")  # no groups: coloured by role
    by_sex = plots.plot_ancestry_pcs(pcs, tmp_path / "s.png", groups=_groups(pcs), group_column="sex")
    for p in (by_group, by_role, by_sex):
        check_png(p)
    assert len({by_group.read_bytes(), by_role.read_bytes(), by_sex.read_bytes()}) == 3
    again = plots.plot_ancestry_pcs(tmp_path / "pcs.tsv", tmp_path / "g2.png", groups=tmp_path / "groups.tsv")
    assert again.read_bytes() == by_group.read_bytes()  # deterministic
    assert plt.get_fignums() == figs_before


def test_plot_ancestry_pcs_edge_cases(tmp_path: Path) -> None:
    pcs = _pcs()
    # one PC: PC1 against the role; a groups table with no group column: coloured by role
    check_png(plots.plot_ancestry_pcs(pcs[["FID", "IID", "role", "ancestry_PC1"]], tmp_path / "one.png",
                                      groups=pcs[["FID", "IID"]]))
    # no PCs at all: a note, not a failure
    check_png(plots.plot_ancestry_pcs(pcs[["FID", "IID", "role"]], tmp_path / "none.png"))
    # many groups: the smallest folded into "other"
    many = pcs[["FID", "IID"]].assign(population=[f"p{i % 25}" for i in range(len(pcs))])
    check_png(plots.plot_ancestry_pcs(pcs, tmp_path / "many.png", groups=many))
    with pytest.raises(ConfigError, match="no column 'region'"):
        plots.plot_ancestry_pcs(pcs, tmp_path / "bad.png", groups=many, group_column="region")


# ----------------------------------------------------------------------------- the report
def _card(html: str) -> str:
    return html[html.index('id="model-card"'):html.index('id="leaderboard-section"')]


def test_report_shows_the_ancestry_pcs(run, pca_files):  # noqa: F811
    config = {**run["config"], "pca": {"n_pcs": K, "approx": "auto"}}
    html = render_report({**run["files"], **pca_files}, config=config, versions={})
    p = _Page()
    p.feed(html)
    ids = {a.get("id") for _, a in p.tags}
    assert {"ancestry-pcs", "pca-eigenvalues"} <= ids
    assert 'href="#ancestry-pcs"' in html
    section = html[html.index('id="ancestry-pcs"'):]
    section = section[:section.index("</section>")]
    assert "4 PCs fitted by plink2 --pca on 150 training people of fold0 over 1,234 LD-pruned SNPs" in section
    assert "projected with the training allele" in section and "unpenalized covariates" in section
    assert "9.5000" in section and "4.2500" in section  # the eigenvalues
    assert "coloured by ancestry" in section and "test (projected)" in section
    imgs = [a["src"] for t, a in p.tags if t == "img"]
    assert len(imgs) == 5 + 2 + 1 + 1  # evaluation, SHAP, per-group, ancestry PCs
    section_imgs = [a["src"] for t, a in p.tags if t == "img" and a.get("alt") == "Ancestry PC1 vs PC2"]
    assert len(section_imgs) == 1 and base64.b64decode(section_imgs[0].split(",", 1)[1])[:4] == b"\x89PNG"
    card = _card(html)
    assert "ancestry PCs" in card and "yes: 4 PCs" in card
    assert "projections onto the training people" in card  # the limitation
    pcs = pd.read_csv(pca_files["pca_pcs"], sep="\t")
    for iid in list(pcs.IID[:50]) + list(pcs.FID[:50]):
        assert iid not in html  # the PCs are drawn, never listed
    assert max(p.tables.values()) < N_TEST / 4


def test_report_pcs_without_groups_and_fewer_pcs_than_asked(run, pca_files, tmp_path):  # noqa: F811
    s = io.read_json(pca_files["pca_summary"])
    io.write_json({**s, "n_pcs_asked": 10, "approx": True, "eigenvalues": [float(v) for v in range(8, 0, -1)][:K]},
                  tmp_path / "s.json")
    files = {**run["files"], "pca_pcs": pca_files["pca_pcs"], "pca_summary": str(tmp_path / "s.json")}
    html = render_report(files, config=run["config"], versions={})
    assert "(of 10 asked" in html and "--pca approx" in html and "coloured by role" in html


def test_card_says_no_pcs_without_them(run):  # noqa: F811
    html = render_report(run["files"], config=run["config"], versions={})
    assert 'id="ancestry-pcs"' not in html and "Ancestry principal components" not in html
    assert "no (pca.n_pcs 0)" in _card(html)
    html = render_report(run["files"], config={**run["config"], "pca": {"n_pcs": 0}}, versions={})
    assert "no (pca.n_pcs 0)" in _card(html)
    html = render_report(run["files"], config={**run["config"], "pca": {"n_pcs": 10}}, versions={})
    assert "pca.n_pcs is 10 but the report was given no PCA results" in _card(html)


def test_card_says_no_pcs_when_the_summary_has_none(run, pca_files, tmp_path):  # noqa: F811
    io.write_json({"n_pcs": 0, "n_train": 150, "n_snps": 10, "approx": False, "eigenvalues": [], "fold": "fold0"},
                  tmp_path / "s.json")
    html = render_report({**run["files"], "pca_pcs": pca_files["pca_pcs"], "pca_summary": str(tmp_path / "s.json")},
                         config=run["config"], versions={})
    assert 'id="ancestry-pcs"' not in html and "no (pca.n_pcs 0)" in _card(html)


def test_matrix_only_card_line(run):  # noqa: F811
    config = {**run["config"], "data": {"genotypes": None, "phenotype_column": "x"}, "pca": {"n_pcs": 10}}
    html = render_report(run["files"], config=config, versions={})
    assert "no (matrix-only run: no genotypes)" in _card(html)


def test_the_report_reads_the_final_models_fold():
    assert pca_report_fold("holdout", 5, refit_full=False) == "fold0"
    assert pca_report_fold("kfold", 5, refit_full=False) == "fold0"
    assert pca_report_fold("kfold", 5, refit_full=True) == "full"
    assert PCA_INPUTS["pca_pcs"].format(fold="full") == "results/individual/pca/full/pcs.tsv"
    assert PCA_INPUTS["pca_summary"].format(fold="fold0") == "results/pca/fold0/summary.json"


def test_the_report_names_how_the_pcs_were_fitted():
    from genoml_core.report.sections import _pca_method

    assert _pca_method({"engine": "numpy", "approx": False}) == "an exact eigendecomposition"
    assert _pca_method({"engine": "numpy", "approx": True}) == "a randomized SVD"
    assert _pca_method({"engine": "plink2", "approx": True}) == "plink2 --pca approx (randomized)"
    assert _pca_method({"approx": False}) == "plink2 --pca"  # summaries written before the numpy engine
