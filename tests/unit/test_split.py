"""The split: stratified, seeded, by id, disjoint; k folds cover the dev set once."""

import numpy as np
import pandas as pd
import pytest

from genoml_core.genotypes.split import fold_members, fold_names, make_split


def _samples(n=500, task="binary", seed=0):
    rng = np.random.default_rng(seed)
    label = rng.normal(size=n) if task == "continuous" else (rng.random(n) < 0.2).astype(int)
    return pd.DataFrame({"FID": [f"F{i:04d}" for i in range(n)], "IID": [f"I{i:04d}" for i in range(n)],
                         "label": label})


def _split(samples, task="binary", method="holdout", seed=3):
    return make_split(samples, task=task, method=method, valid_fraction=0.1, test_fraction=0.1, n_folds=5, seed=seed)


def test_holdout_is_stratified_and_sized():
    s = _split(_samples())
    counts = s.part.value_counts()
    # per-stratum rounding may move a sample or two
    assert abs(counts["test"] - 50) <= 2 and abs(counts["valid"] - 50) <= 2 and counts.sum() == 500
    case_rate = s.groupby("part").label.mean()
    assert case_rate.max() - case_rate.min() < 0.02  # same case fraction in every part


def test_seeded_and_independent_of_row_order():
    samples = _samples()
    a = _split(samples).set_index(["FID", "IID"]).part
    b = _split(samples.sample(frac=1, random_state=1)).set_index(["FID", "IID"]).part
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    c = _split(samples, seed=4).set_index(["FID", "IID"]).part
    assert not a.sort_index().equals(c.sort_index())


def test_kfold_covers_dev_once_and_keeps_test_apart():
    samples = _samples()
    s = _split(samples, method="kfold")
    folds = fold_names("kfold", 5)
    valid_ids = []
    for f in folds:
        m = fold_members(s, f, "kfold")
        tr, va, te = (set(m[k].IID) for k in ("train", "valid", "test"))
        assert not (tr & va) and not (tr & te) and not (va & te)
        valid_ids += list(va)
    assert sorted(valid_ids) == sorted(s[s.set == "dev"].IID)
    # the test set is the same one the holdout split would use
    assert set(s[s.part == "test"].IID) == set(_split(samples)[lambda d: d.part == "test"].IID)


@pytest.mark.parametrize("task", ["continuous"])
def test_continuous_stratified_by_quantiles(task):
    s = _split(_samples(task=task), task=task)
    means = s.groupby("part").label.mean()
    assert means.max() - means.min() < 0.3
