"""Stratified, seeded train/valid/test assignment by sample id, decided right after sample QC.

Holdout: one train/valid split (fold ``fold0``). K-fold: the test set is held out and the rest is
cut into k folds; fold ``foldi`` validates on part i and trains on the others. The test set is
the same in both modes and is touched once, by the final evaluation.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..layout import REFIT_FOLD, fold_names

__all__ = ["REFIT_FOLD", "fold_names", "make_split", "fold_members", "write_split", "load_fold"]

log = logging.getLogger(__name__)


def _strata(label: pd.Series, task: str, n_bins: int = 5) -> np.ndarray:
    if task == "continuous":
        ranks = label.rank(method="first").to_numpy()
        return np.minimum((ranks - 1) * n_bins // len(label), n_bins - 1).astype(int)
    return label.to_numpy().astype(int)


def _allocate(n: int, fractions: list[float]) -> list[int]:
    """Split n items into len(fractions) integer counts (largest remainder)."""
    raw = np.asarray(fractions) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _group_rows(df: pd.DataFrame) -> list[np.ndarray]:
    """Row positions of every group of two or more people (the ``group`` column, if any)."""
    if "group" not in df.columns:
        return []
    codes, _ = pd.factorize(df["group"].astype(str), sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return [g for g in np.split(order, bounds) if len(g) > 1]


def _place_groups(
    groups: list[np.ndarray], strata: np.ndarray, targets: np.ndarray, rng: np.random.Generator
) -> tuple[list[int], np.ndarray]:
    """Put each group of relatives into one part; return each group's part and what remains.

    Biggest groups first (ties in a seeded random order); each goes to the part with the most room
    left for its mix of strata (remaining / target, weighted by the group's stratum counts), so
    class balance holds as well as whole groups allow.
    """
    n_strata, n_parts = targets.shape
    remaining = targets.astype(float).copy()
    tie = rng.permutation(len(groups))
    order = sorted(range(len(groups)), key=lambda k: (-len(groups[k]), tie[k]))
    placed = [0] * len(groups)
    for k in order:
        counts = np.bincount(strata[groups[k]], minlength=n_strata).astype(float)
        room = counts @ (remaining / np.maximum(targets, 1))
        p = int(np.lexsort((-remaining.sum(axis=0), -room))[0])
        placed[k] = p
        remaining[:, p] -= counts
    return placed, remaining


def _fill_singles(singles: np.ndarray, remaining: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Part index of each single person of one stratum (already in seeded order), in blocks.

    Without groups the remaining quotas are the targets and sum to the singles: exactly the
    stratified allocation. Groups that overfilled a part leave their excess to the others.
    """
    quota = np.maximum(remaining, 0)
    if quota.sum() == len(singles):
        counts = quota.astype(int)
    elif quota.sum() > 0:
        counts = np.asarray(_allocate(len(singles), list(quota / quota.sum())))
    else:
        counts = np.asarray(_allocate(len(singles), list(targets / max(targets.sum(), 1))))
    return np.repeat(np.arange(len(counts)), counts)


def _assign(
    rows: np.ndarray,
    strata: np.ndarray,
    groups: list[np.ndarray],
    singles: dict[int, np.ndarray],
    targets: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Part index (column of ``targets``) for every row in ``rows``; groups are never cut."""
    part = np.full(len(strata), -1)
    placed, remaining = _place_groups(groups, strata, targets, rng)
    for g, p in zip(groups, placed):
        part[g] = p
    for s, idx in singles.items():
        part[idx] = _fill_singles(idx, remaining[s], targets[s])
    return part[rows]


def make_split(
    samples: pd.DataFrame,
    *,
    task: str,
    method: str,
    valid_fraction: float,
    test_fraction: float,
    n_folds: int,
    seed: int,
) -> pd.DataFrame:
    """Assign every sample to ``test`` or a part (0..k-1 for kfold; ``train``/``valid`` for holdout).

    Returns FID IID label set part group, where ``set`` is ``test`` or ``dev`` and ``part`` is the
    holdout role (``train``/``valid``) or the k-fold index for dev samples. Stratified by class
    (by quantile bin for a continuous trait); deterministic from ``seed`` and the sample ids.

    An optional ``group`` column (from :func:`genoml_core.genotypes.relatedness.apply_policy`) names sets
    of relatives: every member of a group lands in the same part, so no twin, sibling or
    duplicate sample is on both sides of any split. Groups are placed first (largest first, in
    the part with the most room for their classes), then single people fill each stratum's
    remaining quota. Without groups this is the plain stratified split. Two stages, test vs the
    rest, then the rest into valid/train or k folds, so holdout and kfold with the same seed hold
    out the same test set.
    """
    # order by id first so the result does not depend on input row order
    df = samples.sort_values(["FID", "IID"], kind="mergesort").reset_index(drop=True)
    if "group" not in df.columns:
        df["group"] = df["FID"].astype(str) + " " + df["IID"].astype(str)
    rng = np.random.default_rng([seed, 0x5EED])
    group_rng = np.random.default_rng([seed, 0x5EED, 1])
    _, strata = np.unique(_strata(df["label"], task), return_inverse=True)
    n_strata = int(strata.max()) + 1 if len(strata) else 0
    groups = _group_rows(df)
    in_group = np.zeros(len(df), dtype=bool)
    for g in groups:
        in_group[g] = True
    fractions = [test_fraction, valid_fraction, 1 - test_fraction - valid_fraction]
    planned = np.array([_allocate(int(n), fractions) for n in np.bincount(strata, minlength=n_strata)])
    singles = {}
    for s in range(n_strata):
        idx = np.flatnonzero((strata == s) & ~in_group)
        singles[s] = idx[rng.permutation(len(idx))]

    # stage 1: test (part 0) vs dev (part 1)
    everyone = np.arange(len(df))
    targets = np.column_stack([planned[:, 0], planned[:, 1:].sum(axis=1)])
    is_test = _assign(everyone, strata, groups, singles, targets, group_rng) == 0

    # stage 2: the dev people into valid/train (holdout) or k folds
    dev_groups = [g for g in groups if not is_test[g[0]]]
    dev_singles = {s: idx[~is_test[idx]] for s, idx in singles.items()}
    n_dev = np.bincount(strata[~is_test], minlength=n_strata)
    if method == "holdout":
        dev_fracs = [valid_fraction, 1 - test_fraction - valid_fraction]
        targets = np.array(
            [
                planned[s, 1:] if n_dev[s] == planned[s, 1:].sum() else _allocate(int(n_dev[s]), _norm(dev_fracs))
                for s in range(n_strata)
            ]
        ).reshape(n_strata, 2)
        names = np.array(["valid", "train"], dtype=object)
    else:
        targets = np.array([_allocate(int(n), [1 / n_folds] * n_folds) for n in n_dev]).reshape(n_strata, n_folds)
        names = np.array([str(i) for i in range(n_folds)], dtype=object)
    dev_rows = np.flatnonzero(~is_test)
    dev_part = _assign(dev_rows, strata, dev_groups, dev_singles, targets, group_rng)

    set_ = np.where(is_test, "test", "dev").astype(object)
    part = np.full(len(df), "test", dtype=object)
    part[dev_rows] = names[dev_part]
    out = df[["FID", "IID", "label", "group"]].copy()
    out["set"] = set_
    out["part"] = part
    out = out[["FID", "IID", "label", "set", "part", "group"]]
    _check(out, task, method, n_folds)
    return out


def _norm(fractions: list[float]) -> list[float]:
    total = float(sum(fractions))
    return [f / total for f in fractions]


def _check(split: pd.DataFrame, task: str, method: str, n_folds: int) -> None:
    parts = ["train", "valid"] if method == "holdout" else [str(i) for i in range(n_folds)]
    for p in parts + ["test"]:
        sub = split[split.part == p]
        if sub.empty:
            raise InputError(
                f"split: part {p!r} got no samples ({len(split)} samples in all); use more samples or "
                "larger split fractions"
            )
        if task != "continuous" and p != "train" and sub.label.nunique() < 2:
            log.warning("split: part %s has a single class; its AUC is undefined", p)
    straddling = split.groupby("group")["part"].nunique()
    if (straddling > 1).any():  # a bug, never the user's data: fail loudly rather than leak
        raise AssertionError(f"split: groups of relatives cut across parts: {list(straddling[straddling > 1].index[:5])}")


def fold_members(split: pd.DataFrame, fold: str, method: str) -> dict[str, pd.DataFrame]:
    """The train / valid / test samples of one fold (FID IID label); the refit pseudo-fold
    (:data:`REFIT_FOLD`) trains on every development person and validates on nobody."""
    cols = ["FID", "IID", "label"]
    if fold == REFIT_FOLD:
        train = split.set == "dev"
        valid = pd.Series(False, index=split.index)
    elif method == "holdout":
        train = split.part == "train"
        valid = split.part == "valid"
    else:
        valid = split.part == fold.removeprefix("fold")
        train = (split.set == "dev") & ~valid
    return {
        "train": split.loc[train, cols],
        "valid": split.loc[valid, cols],
        "test": split.loc[split.set == "test", cols],
    }


def summarize(split: pd.DataFrame, task: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p, sub in split.groupby("part"):
        entry: dict[str, Any] = {"n": len(sub)}
        if task == "continuous":
            entry["mean"] = float(sub.label.mean())
        else:
            entry["class_counts"] = {str(int(k)): int(v) for k, v in sub.label.value_counts().sort_index().items()}
        out[str(p)] = entry
    return out


def load_fold(split_path: str, fold: str, method: str) -> dict[str, pd.DataFrame]:
    """Read split.tsv and return the fold's train / valid / test samples."""
    split = pd.read_csv(split_path, sep="\t", dtype={"FID": str, "IID": str, "part": str})
    return fold_members(split, fold, method)


def write_split(
    samples: pd.DataFrame,
    kept: pd.DataFrame,
    *,
    task: str,
    seed: int,
    folds: list[str],
    hwe_controls_only: bool,
    out_split: str,
    out_train: list[str],
    out_hwe: list[str],
    method: str,
    valid_fraction: float,
    test_fraction: float,
    n_folds: int,
    pairs: pd.DataFrame | None = None,
    relatedness: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Split the QC-passed samples and write split.tsv plus each fold's PLINK keep files.

    ``hwe.keep`` holds the samples the HWE test uses: training controls for a binary task when
    ``hwe_controls_only``, else all training samples. ``pairs`` (KING pairs above the threshold)
    and ``relatedness`` (the config section: ``policy``, ``group_by_fid``) decide which people
    the split keeps together or drops (:func:`genoml_core.genotypes.relatedness.apply_policy`); the
    returned summary says how many, under ``"relatedness"``.
    """
    from ..io import write_tsv
    from .plink import write_keep
    from .relatedness import PAIR_COLUMNS, apply_policy

    rel = {"policy": "group", "group_by_fid": True, **(relatedness or {})}
    qc = samples.merge(kept, on=["FID", "IID"], how="inner")
    qc, rel_summary = apply_policy(
        qc,
        pairs if pairs is not None else pd.DataFrame(columns=PAIR_COLUMNS),
        policy=rel["policy"],
        group_by_fid=bool(rel["group_by_fid"]),
    )
    split = make_split(
        qc,
        task=task,
        method=method,
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        n_folds=n_folds,
        seed=seed,
    )
    write_tsv(split, out_split)
    for fold, train_path, hwe_path in zip(folds, out_train, out_hwe):
        train = fold_members(split, fold, method)["train"]
        write_keep(train, train_path)
        hwe = train[train.label == 0] if (task == "binary" and hwe_controls_only) else train
        write_keep(hwe, hwe_path)
    return {
        "method": method,
        "seed": seed,
        "n_samples": len(split),
        "parts": summarize(split, task),
        "relatedness": rel_summary,
    }
