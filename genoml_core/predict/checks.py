"""Check a new cohort's files before any work: ``.fam``, ``.bim``, ``.bed``, the covariate/omics
tables and the phenotype."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import io
from ..evaluation.ensemble import FinalModel
from ..errors import InputError
from ..inputs import read_id_table, read_numeric_table, read_phenotype, show_id, whitespace_hint
from .model import _recipe_paths
from .options import Cohort, PredictOptions

log = logging.getLogger("genoml_core.predict")  # the package's name, not __name__: warnings.json records it


def read_cohort_phenotype(
    path: str | Path,
    column: str,
    task: str,
    class_names: Sequence[str] | None,
    *,
    binary_coding: str = "01",
    missing_values: Sequence[str] = ("NA",),
) -> pd.DataFrame:
    """A new cohort's phenotype (FID, IID, label) encoded like the training labels.

    :func:`genoml_core.inputs.read_phenotype` with ``cohort=True``: multiclass values must be
    training classes; unlike training, one class alone is allowed (its metrics are then undefined).
    """
    return read_phenotype(path, column, task, binary_coding=binary_coding, missing_values=missing_values,
                          cohort=True, class_names=class_names)[0]


@dataclass
class CheckedCohort:
    """A new cohort whose files passed :func:`check_cohort`."""

    cohort: Cohort
    fam: pd.DataFrame
    bim: pd.DataFrame
    tables: dict[str, pd.DataFrame | None]  # "covariate", "omics"
    phenotype: pd.DataFrame | None  # FID IID label (people in the .fam only)
    phenotype_report: dict[str, Any] | None

    @property
    def samples(self) -> pd.DataFrame:
        return self.fam[["FID", "IID"]].reset_index(drop=True)


def _read_table(path: str | None, wanted: Sequence[str], missing: Sequence[str], what: str) -> pd.DataFrame | None:
    """FID IID + the wanted columns found (numeric-checked); other columns are listed, unchecked."""
    if not path:
        return None
    ids = read_id_table(path, missing, what)
    found = [c for c in wanted if c in ids.columns]
    table = read_numeric_table(path, found, missing, what) if found else ids[["FID", "IID"]].copy()
    for c in ids.columns:  # keep the names of unused columns for the report (values not needed)
        if c not in table.columns:
            table[c] = np.nan
    return table


def check_cohort(cohort: Cohort, model: FinalModel, options: PredictOptions) -> CheckedCohort:
    """Check every file of ``cohort`` before any work: .fam, .bim, .bed, tables, phenotype."""
    prefix = cohort.genotypes
    fam = io.read_fam(prefix)
    bim = io.read_bim(prefix)
    io.check_bed(prefix, len(fam), len(bim))
    wanted: dict[str, list[str]] = {"covariate": [], "omics": []}
    for path in _recipe_paths(model):
        r = io.read_json(path)
        for f in r["features"][int(r["n_snps"]):]:
            if f["name"] not in wanted.setdefault(f["source"], []):
                wanted[f["source"]].append(f["name"])
    missing = list(options.missing_values)
    tables = {
        "covariate": _read_table(cohort.covariates, wanted["covariate"], missing, "covariate"),
        "omics": _read_table(cohort.omics, wanted["omics"], missing, "omics"),
    }
    pheno = report = None
    if cohort.phenotype:
        ph = read_cohort_phenotype(cohort.phenotype, str(cohort.phenotype_column), model.task, model.class_names,
                                   binary_coding=options.binary_coding, missing_values=missing)
        in_fam = pd.MultiIndex.from_frame(ph[["FID", "IID"]]).isin(pd.MultiIndex.from_frame(fam[["FID", "IID"]]))
        absent = ph.loc[~in_fam, ["FID", "IID"]]
        example = ", ".join(show_id(r.FID, r.IID) for r in absent.head(3).itertuples())
        if not in_fam.any():
            raise InputError(
                f"{cohort.phenotype}: none of its {len(ph)} phenotyped samples is in {prefix}.fam (e.g. {example})"
                f"{whitespace_hint(absent)}; check that FID and IID match the .fam exactly"
            )
        if (~in_fam).any():
            log.warning("%s: %d phenotyped sample(s) are not in %s.fam (e.g. %s)%s; they are not evaluated",
                        cohort.phenotype, int((~in_fam).sum()), prefix, example, whitespace_hint(absent))
        pheno = ph[in_fam].reset_index(drop=True)
        report = {"file": str(cohort.phenotype), "column": cohort.phenotype_column,
                  "phenotyped_not_in_fam": int((~in_fam).sum()),
                  "fam_without_phenotype": int(len(fam) - len(pheno))}
    log.info("cohort %s: %d samples x %d variants; covariates %s, omics %s, phenotype %s", cohort.name, len(fam),
             len(bim), cohort.covariates or "-", cohort.omics or "-", cohort.phenotype or "-")
    return CheckedCohort(cohort, fam, bim, tables, pheno, report)
