"""The simulator's tables: .fam files, phenotypes, covariates, groups and the oracle scores.

All tab-separated with a header (the .fam without), ids as strings. Covariate ``sex`` = fam SEX - 1
(0 male, 1 female).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import FAM_COLUMNS, write_tsv
from .design import People
from .genotypes import POPULATIONS
from .phenotypes import Traits

__all__ = ["fam_table", "write_tables"]


def fam_table(people: People, rows: slice) -> pd.DataFrame:
    """The .fam rows of ``people[rows]`` (no parents, SEX 1 male / 2 female, phenotype -9)."""
    return pd.DataFrame(
        {
            "FID": people.fid[rows],
            "IID": people.iid[rows],
            "PAT": 0,
            "MAT": 0,
            "SEX": people.female[rows] + 1,
            "PHENO": -9,
        }
    )[FAM_COLUMNS]


def write_tables(out: Path, people: People, traits: Traits, extended: bool) -> None:
    """Write ``phenotype.tsv``, ``covariates.tsv``, ``groups.tsv`` and ``oracle.tsv`` for the
    training cohort and, when it has people, the same with the ``new_cohort_`` prefix.

    ``oracle.tsv`` holds the per-person noise-free liabilities (the oracle scores, for benchmarks
    on any subset); ``three_class_liability`` only when ``extended`` (an architecture is named).
    """
    fid, iid, female = people.fid, people.iid, people.female
    pheno = pd.DataFrame(
        {
            "FID": fid,
            "IID": iid,
            "case_control": pd.array(np.where(traits.case_na, pd.NA, traits.case), dtype="Int64"),
            "quantitative": traits.quant,
            "three_class": traits.three,
        }
    )
    covar = pd.DataFrame({"FID": fid, "IID": iid, "sex": female, "age": people.age})
    groups = pd.DataFrame(
        {
            "FID": fid,
            "IID": iid,
            "ancestry": np.asarray(POPULATIONS)[people.pop],
            "sex": np.where(female == 1, "female", "male"),
        }
    )
    for name, sl in [("", slice(0, people.n_train)), ("new_cohort_", slice(people.n_train, people.n_total))]:
        if sl.start == sl.stop:
            continue
        write_tsv(pheno.iloc[sl], out / f"{name}phenotype.tsv", na_rep="NA")
        write_tsv(covar.iloc[sl], out / f"{name}covariates.tsv")
        write_tsv(groups.iloc[sl], out / f"{name}groups.tsv")
        oracle = pheno.iloc[sl][["FID", "IID"]].assign(
            case_control_liability=np.round(traits.nf_cc[sl], 6), quantitative_noise_free=np.round(traits.nf_q[sl], 6)
        )
        if extended:
            oracle["three_class_liability"] = np.round(traits.nf_t[sl], 6)
        write_tsv(oracle, out / f"{name}oracle.tsv")
