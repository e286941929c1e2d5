"""Relatives and duplicates: KING pairs from real plink2, the policy, and a split that never cuts a family."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.genotypes.relatedness import (
    PAIR_COLUMNS, apply_policy, degree_of, king_pairs, relatedness_groups, summarize_pairs,
)
from genoml_core.genotypes.split import fold_members, fold_names, make_split
from tests.conftest import needs_plink


def _people(n: int, seed: int = 0, prevalence: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "FID": [f"F{i:04d}" for i in range(n)],
            "IID": [f"I{i:04d}" for i in range(n)],
            "label": (rng.random(n) < prevalence).astype(int),
        }
    )


def _pairs(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f1, i1, f2, i2, 1000, k) for f1, i1, f2, i2, k in rows], columns=PAIR_COLUMNS
    )


def _with_twins(n: int = 600, n_twins: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` people plus a twin for ``n_twins`` of them: half share the FID, half do not (KING only)."""
    base = _people(n, seed)
    orig = base.sample(n_twins, random_state=seed)
    twins = orig.copy()
    twins["IID"] = twins.IID + "_tw"
    hidden = twins.index[: n_twins // 2]
    twins.loc[hidden, "FID"] = "X" + twins.loc[hidden, "FID"]
    pairs = _pairs(list(zip(orig.FID, orig.IID, twins.FID, twins.IID, [0.5] * n_twins)))
    return pd.concat([base, twins], ignore_index=True), pairs


def test_king_degree_bands():
    assert degree_of(0.49) == "duplicate_or_mz_twin"
    assert degree_of(0.25) == "first_degree"
    assert degree_of(0.0884) == "second_degree"
    assert degree_of(0.05) == "third_degree"
    assert degree_of(0.01) == "unrelated"
    summary = summarize_pairs(_pairs([("a", "1", "a", "2", 0.5), ("b", "1", "c", "1", 0.1)]), threshold=0.0884)
    assert summary["n_related_pairs"] == 2 and summary["n_duplicate_pairs"] == 1
    assert summary["pairs_by_degree"]["second_degree"] == 1 and summary["n_people_in_related_pairs"] == 4


def test_groups_join_pairs_chains_and_fid_families():
    s = pd.DataFrame({"FID": ["A", "A", "B", "C", "D", "E"], "IID": ["1", "2", "1", "1", "1", "1"]})
    pairs = _pairs([("B", "1", "C", "1", 0.25), ("C", "1", "D", "1", 0.1)])  # B-C-D: one chain
    g = relatedness_groups(s, pairs, group_by_fid=True)
    assert g[0] == g[1]  # same FID
    assert g[2] == g[3] == g[4]  # related through C
    assert len({g[0], g[2], g[5]}) == 3
    g = relatedness_groups(s, pairs, group_by_fid=False)
    assert g[0] != g[1]


@pytest.mark.parametrize("method", ["holdout", "kfold"])
def test_split_never_cuts_a_group_and_stays_stratified(method):
    samples, pairs = _with_twins()
    kept, summary = apply_policy(samples, pairs, policy="group", group_by_fid=True)
    assert summary["n_groups_of_relatives"] == 200 and summary["n_people_in_groups"] == 400
    split = make_split(kept, task="binary", method=method, valid_fraction=0.1, test_fraction=0.2, n_folds=5, seed=3)
    by_iid = split.set_index("IID").part
    for f1, i1, f2, i2 in zip(pairs.FID1, pairs.IID1, pairs.FID2, pairs.IID2):
        assert by_iid[i1] == by_iid[i2], (i1, i2)
    for fold in fold_names(method, 5):
        m = fold_members(split, fold, method)
        train, valid, test = (set(m[k].IID) for k in ("train", "valid", "test"))
        twins_of = dict(zip(pairs.IID1, pairs.IID2)) | dict(zip(pairs.IID2, pairs.IID1))
        assert not {twins_of.get(i) for i in train} & (valid | test)
    sizes = split.part.value_counts()
    assert abs(sizes["test"] - 160) <= 4
    rates = split.groupby("part").label.mean()
    assert rates.max() - rates.min() < 0.05, rates


def test_without_grouping_twins_straddle_the_split():
    """The bug this guards against: with policy ignore, many twin pairs are cut by the split."""
    samples, pairs = _with_twins()
    kept, _ = apply_policy(samples, pairs, policy="ignore", group_by_fid=True)
    split = make_split(kept, task="binary", method="holdout", valid_fraction=0.1, test_fraction=0.2, n_folds=5, seed=3)
    by_iid = split.set_index("IID").part
    cut = sum(by_iid[a] != by_iid[b] for a, b in zip(pairs.IID1, pairs.IID2))
    assert cut > 40


def test_grouped_split_is_seeded_and_independent_of_row_order():
    samples, pairs = _with_twins()
    kept, _ = apply_policy(samples, pairs, policy="group", group_by_fid=True)
    kw = dict(task="binary", method="kfold", valid_fraction=0.1, test_fraction=0.2, n_folds=5)
    a = make_split(kept, seed=5, **kw).set_index("IID").part.sort_index()
    b = make_split(kept.sample(frac=1, random_state=2), seed=5, **kw).set_index("IID").part.sort_index()
    pd.testing.assert_series_equal(a, b)
    assert not a.equals(make_split(kept, seed=6, **kw).set_index("IID").part.sort_index())


def test_drop_removes_the_fewest_people():
    s = pd.DataFrame({"FID": list("ABCDEF"), "IID": ["1"] * 6, "label": [0, 1, 0, 1, 0, 1]})
    # a star (A related to B, C, D) and a pair (E-F): dropping A and one of E/F is enough
    pairs = _pairs([("A", "1", "B", "1", 0.25), ("A", "1", "C", "1", 0.25), ("A", "1", "D", "1", 0.1),
                    ("E", "1", "F", "1", 0.5)])
    kept, summary = apply_policy(s, pairs, policy="drop", group_by_fid=True)
    assert summary["n_dropped"] == 2 and "A" not in set(kept.FID)
    assert len({"E", "F"} & set(kept.FID)) == 1
    assert summary["n_groups_of_relatives"] == 0


def test_batch_like_fids_are_not_families(caplog):
    s = _people(300)
    s["FID"] = np.where(np.arange(300) < 200, "SITE1", "SITE2")  # FID used as a site label
    with caplog.at_level(logging.WARNING):
        kept, summary = apply_policy(s, _pairs([]), policy="group", group_by_fid=True)
    assert not summary["grouped_by_fid"] and summary["largest_group"] == 1
    assert "batch or site labels" in caplog.text


def test_ignore_warns_about_straddling_pairs(caplog):
    samples, pairs = _with_twins(100, 10)
    with caplog.at_level(logging.WARNING):
        apply_policy(samples, pairs, policy="ignore", group_by_fid=True)
    assert "10 related pairs are ignored" in caplog.text


@needs_plink
def test_king_finds_planted_duplicates_and_parent_child(tmp_path):
    """Real plink2 on a small fileset: a duplicate sample and a parent-offspring pair, nothing else."""
    rng = np.random.default_rng(1)
    n, m = 120, 4000
    freq = rng.uniform(0.1, 0.5, m)
    hap = lambda: (rng.random(m) < freq).astype(np.int8)  # noqa: E731
    g = np.stack([hap() + hap() for _ in range(n)])
    g[1] = g[0]  # a duplicate sample (different ids)
    # child of person 10: one allele from 10 (transmitted at random), one from an unrelated parent
    from10 = np.where(g[10] == 2, 1, np.where(g[10] == 0, 0, rng.integers(0, 2, m)))
    g[11] = from10 + (rng.random(m) < freq)
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)],
                        "PAT": 0, "MAT": 0, "SEX": 1, "PHENO": -9})
    bim = pd.DataFrame({"CHR": 1, "SNP": [f"rs{j}" for j in range(m)], "CM": 0,
                        "POS": np.arange(1, m + 1) * 1000, "A1": "A", "A2": "G"})
    io.write_bed(tmp_path / "c", g, bim, fam)
    pairs, info = king_pairs(str(tmp_path / "c"), fam[["FID", "IID"]], threshold=0.0884, max_variants=None, seed=1)
    assert info["n_samples"] == n and info["n_variants"] > 3000
    found = {frozenset((a, b)): k for a, b, k in zip(pairs.IID1, pairs.IID2, pairs.KINSHIP)}
    assert set(found) == {frozenset(("I0", "I1")), frozenset(("I10", "I11"))}, pairs
    assert degree_of(found[frozenset(("I0", "I1"))]) == "duplicate_or_mz_twin"
    assert degree_of(found[frozenset(("I10", "I11"))]) == "first_degree"
