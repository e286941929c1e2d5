"""Rule tests: each stage reruns alone (`-f --allowed-rules <rule>`) on the committed test data
(.test/: 300 people x 2000 SNPs and its config), and its output has the property that matters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from genoml_core.store import FeatureStore
from genoml_core.genotypes.plink import read_keep, read_snplist
from tests.conftest import copy_test_config, needs_plink, run_snakemake

pytestmark = [needs_plink, pytest.mark.workflow]


@pytest.fixture(scope="module")
def munged(tmp_path_factory):
    """A working directory with .test's config and data and every stage up to munge done once."""
    work = tmp_path_factory.mktemp("rules")
    copy_test_config(work)
    run_snakemake(work, "results/munge/fold0/recipe.json", "results/qc/summary.json")
    return work


@pytest.fixture(autouse=True)
def _restore_config(request):
    """Each test may edit the config and force its rule; afterwards the config is put back and
    that rule alone is forced again, so the next test starts from the original outputs."""
    if "munged" not in request.fixturenames:
        yield
        return
    work = request.getfixturevalue("munged")
    saved = (work / "config.yaml").read_text()
    _FORCED.clear()
    yield
    (work / "config.yaml").write_text(saved)
    for rule, target in dict.fromkeys(_FORCED):
        run_snakemake(work, target, "-f", "--allowed-rules", rule)


_FORCED: list[tuple[str, str]] = []


def _set(work, section, **values):
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg.setdefault(section, {}).update(values)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


def _rerun(work, rule, target):
    _FORCED.append((rule, target))
    run_snakemake(work, target, "-f", "--allowed-rules", rule)


def test_qc_samples_alone(munged):
    keep = read_keep(munged / "results/qc/samples.keep")
    summary = json.loads((munged / "results/qc/samples.json").read_text())
    assert len(keep) == summary["samples_after_qc"] == summary["analysis_samples"] - summary["removed_mind"]
    # who was removed is individual-level data: its own file, never the summary
    removed = pd.read_csv(munged / "results/individual/qc/removed_samples.tsv", sep="\t", dtype=str)
    assert len(removed) == summary["removed_mind"] and not [k for k in summary if k.endswith("_ids")]
    log = (munged / "logs/qc_samples.log").read_text()
    assert "PLINK v2" in log and "--mind" in log  # PLINK's own log is kept
    _set(munged, "qc", mind=None)
    _rerun(munged, "qc_samples", "results/qc/samples.keep")
    assert len(read_keep(munged / "results/qc/samples.keep")) == summary["analysis_samples"]


def test_relatedness_alone_threshold_matters(munged):
    """KING pairs come from plink2 on the QC-passed samples; the threshold is the config's (raised to
    first degree when too few variants remain, as in this tiny cohort)."""
    before = json.loads((munged / "results/qc/relatedness.json").read_text())
    assert before["threshold"] == 0.0884 and before["n_samples"] > 0 and before["n_variants"] > 1000
    assert before["threshold_used"] == (0.0884 if before["n_variants"] >= 3000 else 0.177)
    qc = json.loads((munged / "results/qc/summary.json").read_text())["relatedness"]
    assert qc["policy"] == "group" and qc["n_related_pairs"] == before["n_related_pairs"]
    assert "--make-king-table" in (munged / "logs/relatedness.log").read_text()
    _set(munged, "relatedness", king_threshold=0.3)
    _rerun(munged, "relatedness", "results/individual/qc/related_pairs.tsv")
    after = json.loads((munged / "results/qc/relatedness.json").read_text())
    pairs = pd.read_csv(munged / "results/individual/qc/related_pairs.tsv", sep="\t")
    assert after["threshold_used"] == 0.3 and after["n_related_pairs"] == len(pairs)
    assert (pairs.KINSHIP >= 0.3).all()
    assert "--king-table-filter 0.3" in (munged / "logs/relatedness.log").read_text()


def test_split_alone_keeps_train_only_keep_files(munged):
    split = pd.read_csv(munged / "results/split/split.tsv", sep="\t", dtype=str)
    train = read_keep(munged / "results/split/fold0/train.keep")
    assert set(train.IID) == set(split[split.part == "train"].IID)
    hwe = read_keep(munged / "results/split/fold0/hwe.keep")
    controls = split[(split.part == "train") & (split.label == "0")]
    assert set(hwe.IID) == set(controls.IID)  # binary task: HWE in training controls
    _rerun(munged, "split_samples", "results/split/split.tsv")
    again = pd.read_csv(munged / "results/split/split.tsv", sep="\t", dtype=str)
    pd.testing.assert_frame_equal(split, again)  # seeded


def test_qc_variants_filters_switch_off(munged):
    before = json.loads((munged / "results/qc/fold0/variants.json").read_text())
    assert before["removed_hwe"] > 0
    _set(munged, "qc", hwe=None)
    _rerun(munged, "qc_variants", "results/qc/fold0/variants.snplist")
    after = json.loads((munged / "results/qc/fold0/variants.json").read_text())
    assert "removed_hwe" not in after
    assert after["variants_after_qc"] == before["variants_after_qc"] + before["removed_hwe"]


def test_ld_prune_alone_threshold_matters(munged):
    loose = read_snplist(munged / "results/ld_prune/fold0/pruned.snplist")
    _set(munged, "ld_prune", r2=0.05)
    _rerun(munged, "ld_prune", "results/ld_prune/fold0/pruned.snplist")
    strict = read_snplist(munged / "results/ld_prune/fold0/pruned.snplist")
    assert len(strict) < len(loose)  # greedy pruning: fewer SNPs, not necessarily a subset
    assert "--indep-pairwise 50 5 0.05" in (munged / "logs/ld_prune/fold0.log").read_text()


def test_assoc_filter_alone_by_p_threshold(munged):
    table = pd.read_csv(munged / "results/assoc/fold0/assoc.tsv", sep="\t")
    _set(munged, "assoc_filter", p_threshold=0.01, top_k=None)
    _rerun(munged, "assoc_filter", "results/assoc/fold0/selected.snplist")
    kept = read_snplist(munged / "results/assoc/fold0/selected.snplist")
    assert len(kept) == int((table.P < 0.01).sum()) > 0


def test_munge_alone_with_an_omics_matrix(munged, tmp_path):
    split = pd.read_csv(munged / "results/split/split.tsv", sep="\t", dtype={"FID": str, "IID": str})
    rng = np.random.default_rng(0)
    omics = split[["FID", "IID"]].assign(GENE1=rng.normal(5, 2, len(split)), GENE2=rng.normal(size=len(split)))
    omics.loc[3, "GENE1"] = np.nan
    omics.to_csv(tmp_path / "expr.tsv", sep="\t", index=False, na_rep="NA")
    _set(munged, "data", omics=str(tmp_path / "expr.tsv"))
    _rerun(munged, "munge", "results/munge/fold0/recipe.json")
    store = FeatureStore(munged / "results/munge/fold0")
    # covariates, then the ancestry PCs (pca.n_pcs default 10), then the omics columns
    pcs = [f"ancestry_PC{i}" for i in range(1, 11)]
    assert store.feature_names[-14:] == ["sex", "age", *pcs, "GENE1", "GENE2"]
    gene1 = store.recipe["features"][-2]
    train_rows = store.samples.role == "train"
    values = store.samples[["FID", "IID"]].merge(omics, on=["FID", "IID"]).loc[train_rows.to_numpy(), "GENE1"]
    assert gene1["source"] == "omics" and gene1["mean"] == pytest.approx(values.mean(), rel=1e-5)
    X = store.rows(np.arange(len(store.samples)))
    assert not np.isnan(X).any()
