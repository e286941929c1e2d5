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

from .errors import InputError

__all__ = ["fold_names", "make_split", "fold_members"]

log = logging.getLogger(__name__)


def fold_names(method: str, n_folds: int) -> list[str]:
    """Fold wildcards for a split method: ``["fold0"]`` for holdout, ``fold0..fold{k-1}`` for kfold."""
    return ["fold0"] if method == "holdout" else [f"fold{i}" for i in range(n_folds)]


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

    Returns FID IID label set part, where ``set`` is ``test`` or ``dev`` and ``part`` is the
    holdout role (``train``/``valid``) or the k-fold index for dev samples. Stratified by class
    (by quantile bin for a continuous trait); deterministic from ``seed`` and the sample ids.
    """
    # order by id first so the result does not depend on input row order
    df = samples.sort_values(["FID", "IID"], kind="mergesort").reset_index(drop=True)
    rng = np.random.default_rng([seed, 0x5EED])
    strata = _strata(df["label"], task)
    set_ = np.empty(len(df), dtype=object)
    part = np.empty(len(df), dtype=object)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        idx = idx[rng.permutation(len(idx))]
        if method == "holdout":
            n_test, n_valid, n_train = _allocate(
                len(idx), [test_fraction, valid_fraction, 1 - test_fraction - valid_fraction]
            )
            set_[idx[:n_test]] = "test"
            part[idx[:n_test]] = "test"
            set_[idx[n_test:]] = "dev"
            part[idx[n_test : n_test + n_valid]] = "valid"
            part[idx[n_test + n_valid :]] = "train"
        else:
            # same test set as holdout with the same seed: allocate exactly as holdout does
            n_test = _allocate(len(idx), [test_fraction, valid_fraction, 1 - test_fraction - valid_fraction])[0]
            set_[idx[:n_test]] = "test"
            part[idx[:n_test]] = "test"
            rest = idx[n_test:]
            set_[rest] = "dev"
            part[rest] = [str(i % n_folds) for i in range(len(rest))]
    out = df[["FID", "IID", "label"]].copy()
    out["set"] = set_
    out["part"] = part
    _check(out, task, method, n_folds)
    return out


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


def fold_members(split: pd.DataFrame, fold: str, method: str) -> dict[str, pd.DataFrame]:
    """The train / valid / test samples of one fold (FID IID label)."""
    i = int(fold.removeprefix("fold"))
    cols = ["FID", "IID", "label"]
    if method == "holdout":
        train = split.part == "train"
        valid = split.part == "valid"
    else:
        valid = split.part == str(i)
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
) -> dict[str, Any]:
    """Split the QC-passed samples and write split.tsv plus each fold's PLINK keep files.

    ``hwe.keep`` holds the samples the HWE test uses: training controls for a binary task when
    ``hwe_controls_only``, else all training samples.
    """
    from .io import write_tsv
    from .plink import write_keep

    qc = samples.merge(kept, on=["FID", "IID"], how="inner")
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
    return {"method": method, "seed": seed, "n_samples": len(split), "parts": summarize(split, task)}
