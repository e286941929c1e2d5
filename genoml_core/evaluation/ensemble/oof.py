"""Out-of-fold (OOF) tables: one row per development person, the fold that scored it, its label and
score column(s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def score_columns(task: str, n_classes: int | None) -> list[str]:
    """Score columns of an OOF table: ``score`` (binary P(case), continuous value) or ``prob_<k>``."""
    if task == "multiclass":
        if not n_classes:
            raise ValueError("multiclass OOF tables need n_classes")
        return [f"prob_{k}" for k in range(n_classes)]
    return ["score"]


def oof_frame(ids: pd.DataFrame, fold: str, labels: np.ndarray, scores: np.ndarray, task: str) -> pd.DataFrame:
    """One fold's out-of-fold rows: FID IID fold label + score column(s)."""
    s = np.asarray(scores, dtype=np.float64)
    out = ids[["FID", "IID"]].reset_index(drop=True).copy()
    out["fold"] = fold
    out["label"] = labels
    if task == "multiclass":
        for k in range(s.shape[1]):
            out[f"prob_{k}"] = s[:, k]
    else:
        out["score"] = s
    return out


def read_oof(path: str | Path) -> pd.DataFrame:
    """An ``oof.tsv`` written by a trial (ids as strings)."""
    return pd.read_csv(path, sep="\t", dtype={"FID": str, "IID": str, "fold": str})


def _scores(df: pd.DataFrame, task: str) -> np.ndarray:
    if task == "multiclass":
        cols = sorted((c for c in df.columns if c.startswith("prob_")), key=lambda c: int(c[5:]))
        return df[cols].to_numpy(dtype=np.float64)
    return df["score"].to_numpy(dtype=np.float64)
