"""The coverage of a harmonization: the share of the model's importance carried by the features
present in the new cohort, and the minimum-overlap check."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...errors import InputError

log = logging.getLogger("genoml_core.genotypes.harmonize")  # the package's name, not __name__: warnings.json records it


class LowOverlapError(InputError):
    """The features present in a new cohort carry too little of the model's importance."""


def read_importance_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A feature importance table: tab-separated ``feature``, ``importance`` (>= 0), and
    optionally ``fold`` (rows for one fold's model; without it, the same for every fold).

    The explain stage's ``importance.tsv`` is accepted as is: its ``mean_abs_shap`` column is
    read as the importance.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: importance table not found")
    df = pd.read_csv(path, sep="\t", dtype={"feature": str, "fold": str})
    if "importance" not in df.columns and "mean_abs_shap" in df.columns:
        df = df.rename(columns={"mean_abs_shap": "importance"})
    if not {"feature", "importance"} <= set(df.columns):
        raise InputError(f"{path}: an importance table needs tab-separated columns feature and importance; "
                         f"found {list(df.columns)}")
    imp = pd.to_numeric(df["importance"], errors="coerce")
    if imp.isna().any() or (imp < 0).any():
        i = int(np.flatnonzero((imp.isna() | (imp < 0)).to_numpy())[0])
        raise InputError(f"{path}, line {i + 2}: importance {str(df['importance'].iloc[i])!r} must be a number >= 0")
    df["importance"] = imp.astype(np.float64)
    return df


def importance_weights(
    est: Any, recipe: Mapping[str, Any], *, table: pd.DataFrame | None = None, fold: str | None = None
) -> tuple[np.ndarray, str]:
    """Per-feature importance of a model, in recipe order, and where it came from.

    Order of preference: ``table`` (rows of ``fold`` if it has a fold column; features it does
    not list weigh 0), :func:`genoml_core.models.learners.model_weights` (absolute coefficients or
    impurity/gain importances), else uniform (RBF SVM/SVR, KNN, the neural nets).

    Returns:
        ``(weights (p,), source)`` with source ``"table"``, ``"model_weights"`` or
        ``"uniform"``.
    """
    names = [f["name"] for f in recipe["features"]]
    n = len(names)
    if table is not None:
        t = table
        if "fold" in t.columns and fold is not None:
            t = t[t["fold"].astype(str) == str(fold)]
        imp = t.groupby("feature")["importance"].sum()
        w = imp.reindex(names).fillna(0.0).to_numpy(dtype=np.float64)
        if w.sum() > 0:
            return w, "table"
        log.warning("the importance table gives no weight to any feature of %s; falling back", fold or "the model")
    from ...models.learners import model_weights

    w = model_weights(est, n)
    if w is not None and np.isfinite(w).all() and w.sum() > 0:
        return np.asarray(w, dtype=np.float64), "model_weights"
    return np.ones(n, dtype=np.float64), "uniform"


def coverage_fraction(weights: np.ndarray, present: np.ndarray) -> float:
    """Share of ``weights`` carried by ``present`` features (1.0 for an empty model)."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    return float(w[np.asarray(present, dtype=bool)].sum() / total) if total > 0 else 1.0


def check_overlap(report: Mapping[str, Any], min_overlap: float, *, what: str = "the new cohort") -> None:
    """Raise :class:`LowOverlapError` when a fold's coverage is below ``min_overlap``.

    ``report`` is a harmonize report (see :func:`genoml_core.predict.run_prediction`) with
    ``folds: {fold: {coverage, importance_source, snps, other}}``.
    """
    for fold, r in report["folds"].items():
        cov = float(r["coverage"])
        if cov >= min_overlap:
            continue
        s, o = r["snps"], r["other"]
        raise LowOverlapError(
            f"{what}: the features present carry {cov:.1%} of the model's importance ({fold}, weights: "
            f"{r['importance_source']}), below the minimum overlap {min_overlap:.0%}: {s['used']} of {s['total']} SNPs "
            f"usable ({s['absent']} absent, {s['allele_mismatch']} allele mismatch, {s['ambiguous_dropped']} "
            f"strand-ambiguous dropped, {s['multiple_matches']} with several candidates), {o['present']} of "
            f"{o['total']} covariate/omics columns present. Predicting would rest mostly on training imputation "
            "values. Check that the cohort uses the training genome build and variant ids (or let SNPs match "
            "by chromosome:position:alleles, predict.match_by_position) and provides the covariate/omics "
            "columns, or lower predict.min_overlap (genoml-predict --min-overlap) if this is intended"
        )
