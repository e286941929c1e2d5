"""The recipe's covariate/omics columns matched by name in a new cohort's tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

log = logging.getLogger("genoml_core.genotypes.harmonize")  # the package's name, not __name__: warnings.json records it


@dataclass
class OtherMatch:
    """Covariate/omics columns of the recipe matched by name in the new cohort's tables."""

    values: np.ndarray  # float32 (people, recipe other features), NaN = imputed
    present: np.ndarray  # bool (recipe other features,): column found
    report: dict[str, Any]


def match_other_features(
    recipe: Mapping[str, Any],
    samples: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame | None],
) -> OtherMatch:
    """The recipe's covariate/omics columns for ``samples`` (FID, IID), matched by column name.

    Args:
        recipe: A parsed ``recipe.json``.
        samples: The people to predict (FID, IID), in output order.
        tables: ``{"covariate": table or None, "omics": table or None}`` with FID, IID and
            numeric columns. A recipe column absent from its table (or a table not given) is
            imputed for everybody; a person without a row is imputed for that table.
    """
    p = int(recipe["n_snps"])
    others = list(recipe["features"][p:])
    values = np.full((len(samples), len(others)), np.nan, dtype=np.float32)
    present = np.zeros(len(others), dtype=bool)
    report: dict[str, Any] = {"total": len(others), "present": 0, "absent_columns": [], "unused_columns": {}}
    key = samples[["FID", "IID"]].astype(str)
    for source in sorted({str(f["source"]) for f in others} | {s for s, t in tables.items() if t is not None}):
        table = tables.get(source)
        idx = [j for j, f in enumerate(others) if f["source"] == source]
        if table is None:  # no table given: every column of this source is imputed
            report["absent_columns"] += [others[j]["name"] for j in idx]
            continue
        table = table.astype({"FID": str, "IID": str})
        merged = key.merge(table, on=["FID", "IID"], how="left")
        has_row = pd.MultiIndex.from_frame(key).isin(pd.MultiIndex.from_frame(table[["FID", "IID"]]))
        report[f"samples_without_{source}_row"] = int((~has_row).sum())
        for j in idx:
            name = others[j]["name"]
            if name in table.columns:
                values[:, j] = pd.to_numeric(merged[name], errors="coerce").to_numpy(dtype=np.float64)
                present[j] = True
            else:
                report["absent_columns"].append(name)
        used = {others[j]["name"] for j in idx}
        extra = [c for c in table.columns if c not in ("FID", "IID") and c not in used]
        if extra:
            report["unused_columns"][source] = extra
    report["present"] = int(present.sum())
    if report["absent_columns"]:
        log.warning("covariate/omics column(s) %s are not in the new cohort: imputed with training means",
                    report["absent_columns"])
    return OtherMatch(values=values, present=present, report=report)
