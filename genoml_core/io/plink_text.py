"""The PLINK 1 text files: ``.fam`` (samples) and ``.bim`` (variants), read with early, specific checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

FAM_COLUMNS = ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"]
BIM_COLUMNS = ["CHR", "SNP", "CM", "POS", "A1", "A2"]


# ----------------------------------------------------------------------------- .fam / .bim
def _read_whitespace_table(path: Path, names: list[str], dtypes: dict[str, Any], what: str) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: file not found; check the PLINK prefix in config (data.genotypes)")
    rows = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != len(names):
                raise InputError(
                    f"{path}, line {lineno}: expected {len(names)} whitespace-separated columns "
                    f"({' '.join(names)}) in a {what} file, found {len(fields)}; fix or regenerate the file"
                )
            rows.append(fields)
    if not rows:
        raise InputError(f"{path}: the {what} file is empty")
    df = pd.DataFrame(rows, columns=names)
    for col, dt in dtypes.items():
        try:
            df[col] = df[col].astype(dt)
        except (TypeError, ValueError) as err:
            bad = next(i for i, v in enumerate(df[col]) if not _castable(v, dt))
            raise InputError(
                f"{path}, line {bad + 1}: column {col} = {df[col].iloc[bad]!r} is not {np.dtype(dt).name}; "
                f"fix the {what} file"
            ) from err
    return df


def _castable(v: str, dt: Any) -> bool:
    try:
        np.array([v]).astype(dt)
        return True
    except (TypeError, ValueError):
        return False


def read_fam(prefix: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``prefix.fam``: FID IID PAT MAT SEX PHENO, ids as strings. Rejects duplicated ids."""
    path = Path(f"{prefix}.fam")
    fam = _read_whitespace_table(path, FAM_COLUMNS, {"SEX": np.int64}, "PLINK .fam")
    dup = fam.duplicated(["FID", "IID"], keep=False)
    if dup.any():
        first = fam.loc[dup].iloc[0]
        line = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise InputError(
            f"{path}, line {line}: sample FID={first.FID} IID={first.IID} appears {int(dup.sum())} times; "
            f"sample ids must be unique. PLINK cannot pick one copy of an id (plink2 --remove/--keep stop with "
            f"'Duplicate ID'), so first give each copy its own IID in the .fam (its lines match the .bed rows "
            f"by position, so renaming a line is safe), e.g. "
            f"awk '{{k=$1\" \"$2; if (n[k]++) $2=$2\"_dup\"n[k]; print}}' {path} > NEW.fam "
            f"(with NEW.bed, NEW.bim copies of the .bed and .bim); then, for a sample genotyped twice, drop "
            f"the copy you do not want with plink2 --bfile NEW --remove drop.txt --make-bed --out FIXED "
            f"(drop.txt: FID IID lines, e.g. {first.FID} {first.IID}_dup2) and give FIXED as the genotype prefix in the config"
        )
    return fam


def read_bim(prefix: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``prefix.bim``: CHR SNP CM POS A1 A2. Chromosome codes are kept as strings."""
    path = Path(f"{prefix}.bim")
    return _read_whitespace_table(path, BIM_COLUMNS, {"CM": np.float64, "POS": np.int64}, "PLINK .bim")
