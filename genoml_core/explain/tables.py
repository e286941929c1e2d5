"""Tables of an explanation: per-feature importances and the top SNPs."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .base import Explanation


def importance_table(exp: Explanation, recipe: Mapping[str, Any], X: np.ndarray | None = None) -> pd.DataFrame:
    """Per-feature mean |SHAP| (overall = mean over outputs, and per output when several).

    Columns: rank, feature, source, id, chrom, pos, counted, other, mean_abs_shap,
    ``mean_abs_shap_<output>`` (several outputs), and for one output ``direction``: the
    correlation of the feature's value with its SHAP value (> 0: a higher value, e.g. more copies
    of the counted allele, raises the output). Sorted by importance.
    """
    feats = recipe["features"]
    if len(feats) != exp.values.shape[1]:
        raise InputError(f"recipe has {len(feats)} features, the explanation {exp.values.shape[1]}")
    imp = exp.importance()
    df = pd.DataFrame({
        "feature": [f["name"] for f in feats],
        "source": [f["source"] for f in feats],
        "id": [f.get("id", f["name"]) for f in feats],
        "chrom": [f.get("chrom", "") for f in feats],
        "pos": [f.get("pos", pd.NA) for f in feats],
        "counted": [f.get("counted", "") for f in feats],
        "other": [f.get("other", "") for f in feats],
        "mean_abs_shap": imp.mean(axis=1),
    })
    if imp.shape[1] > 1:
        for k, name in enumerate(exp.output_names):
            df[f"mean_abs_shap_{name}"] = imp[:, k]
    elif X is not None:
        Xe = np.asarray(X, dtype=np.float64)
        v = exp.values[:, :, 0]
        xc, vc = Xe - Xe.mean(axis=0), v - v.mean(axis=0)
        den = np.sqrt((xc**2).sum(axis=0) * (vc**2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            df["direction"] = np.where(den > 0, (xc * vc).sum(axis=0) / den, np.nan)
    df = df.sort_values("mean_abs_shap", ascending=False, kind="mergesort").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def top_snps(importance: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` most important SNP ids (with a non-zero importance), best first."""
    snps = importance[(importance.source == "snp") & (importance.mean_abs_shap > 0)]
    return [str(s) for s in snps.id.head(k)]
