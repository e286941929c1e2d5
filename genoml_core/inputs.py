"""Early input checks: everything a user can get wrong is caught here, before any PLINK run.

``check_inputs`` reads the PLINK fileset's .fam/.bim (and checks the .bed's magic number and
size), the phenotype, the covariates and an optional omics matrix, and returns the analysis
sample table: FID, IID, the encoded label and the class names. Each error names the file, the
line or sample, and the fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import io
from .errors import InputError

__all__ = [
    "CheckedInputs",
    "show_id",
    "whitespace_hint",
    "read_id_table",
    "read_phenotype",
    "read_numeric_table",
    "check_inputs",
    "load_covariates",
    "load_omics",
]

log = logging.getLogger(__name__)

ID_COLS = ["FID", "IID"]
MIN_PER_CLASS = 5


@dataclass
class CheckedInputs:
    """What the input check found, ready to write out."""

    samples: pd.DataFrame  # FID IID label (encoded: 0/1, 0..K-1, or float)
    class_names: list[str] | None
    report: dict[str, Any] = field(default_factory=dict)


def show_id(fid: Any, iid: Any) -> str:
    """A sample id for a message: ``FID='F1' IID='I1 '``; repr keeps stray whitespace visible."""
    return f"FID={str(fid)!r} IID={str(iid)!r}"


def whitespace_hint(ids: pd.DataFrame) -> str:
    """A sentence naming ids with leading/trailing whitespace in ``ids`` (FID, IID), or ``""``."""
    padded = [(c, v) for c in ID_COLS if c in ids for v in ids[c].astype(str) if v != v.strip()]
    if not padded:
        return ""
    col, value = padded[0]
    return (
        f"; {len(padded)} of these id(s) have leading or trailing whitespace (e.g. {col} {value!r}): remove the "
        "whitespace from the file"
    )


def _separator_hint(columns: Sequence[Any]) -> str:
    """Why a header row parsed into one column: the file is comma- or space-separated."""
    if len(columns) != 1:
        return ""
    header = str(columns[0])
    if "," in header:
        return (
            " (the header is comma-separated: this looks like a CSV file; save it tab-separated, e.g. "
            "pandas to_csv(sep='\\t') or R write.table(sep='\\t'))"
        )
    if len(header.split()) > 1:
        return " (the header is space-separated; separate the columns with tabs)"
    return ""


def read_id_table(path: str | Path, missing_values: Sequence[str], what: str) -> pd.DataFrame:
    """Read a tab-separated table with FID and IID columns (``#FID`` accepted), ids as strings.

    Parquet is accepted for files ending in ``.parquet``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} file not found; fix the path in the config")
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        df.columns = [str(c) for c in df.columns]
        for c in ID_COLS:
            if c in df:
                df[c] = df[c].astype(str)
    else:
        df = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, na_values=list(missing_values), comment=None
        )
    df = df.rename(columns={"#FID": "FID", "#IID": "IID"})
    if "IID" in df.columns and "FID" not in df.columns:
        # expression-style tables often have one sample id: use it as both FID and IID
        df.insert(0, "FID", df["IID"])
    if not set(ID_COLS) <= set(df.columns):
        raise InputError(
            f"{path}: the {what} file needs tab-separated columns FID and IID (or IID alone) in a header row; found "
            f"{', '.join(repr(str(c)) for c in df.columns[:6])}" + _separator_hint(df.columns)
        )
    dup = df.duplicated(ID_COLS, keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        r = df.iloc[i]
        raise InputError(
            f"{path}, line {i + 2}: sample {show_id(r.FID, r.IID)} appears {int(dup.sum())} times in the "
            f"{what} file; each sample must have exactly one row (remove the duplicates)"
        )
    return df


@dataclass(frozen=True)
class _PhenotypeValues:
    """The non-missing values of a phenotype column, as strings, with their file lines."""

    path: Path
    column: str
    values: pd.Series  # as read (a message shows stray whitespace)
    lines: np.ndarray  # the file line of each value (the header is line 1)

    @property
    def stripped(self) -> pd.Series:
        return self.values.str.strip()

    def fail(self, bad: pd.Series, why: str) -> None:
        """Raise :class:`InputError` for the first ``bad`` value: file, line, value, then ``why``."""
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{self.path}, line {self.lines[i]}: phenotype {self.column} = {self.values.iloc[i]!r}{why}"
        )


def _encode_binary(v: _PhenotypeValues, binary_coding: str, missing_values: Sequence[str], cohort: bool) -> pd.Series:
    allowed = ["0", "1"] if binary_coding == "01" else ["1", "2"]
    norm = v.stripped.str.replace(r"\.0+$", "", regex=True)
    bad = ~norm.isin(allowed)
    if bad.any() and cohort:
        v.fail(bad, f" is not allowed with binary_coding {binary_coding!r} ({allowed}; missing: "
                    f"{list(missing_values)}); fix the file or the coding")
    if bad.any():
        v.fail(bad, f", but data.binary_coding is {binary_coding!r} (allowed {allowed}; missing: "
                    f"{list(missing_values)}{' 0, -9' if binary_coding == '12' else ''}); values seen: "
                    f"{sorted(norm.unique())[:8]}. Fix the file or set data.binary_coding (\"01\" or \"12\"), "
                    "or set task to multiclass/continuous")
    return (norm == allowed[1]).astype(np.int64)


def _encode_multiclass(v: _PhenotypeValues, class_names: Sequence[str] | None) -> tuple[pd.Series, list[str]]:
    """Codes 0..K-1 of the sorted class names (training), or of the training ``class_names`` (cohort)."""
    if class_names is None:
        names = sorted(v.stripped.unique())
        if len(names) == 2:
            raise InputError(
                f"{v.path}: phenotype {v.column} has only 2 classes ({names}) but task is multiclass; "
                "set task: binary"
            )
    else:
        names = list(class_names)
        bad = ~v.stripped.isin(names)
        if bad.any():
            v.fail(bad, f" is not one of the training classes {names}; the model cannot score it")
    return v.stripped.map({c: k for k, c in enumerate(names)}).astype(np.int64), names


def _encode_continuous(v: _PhenotypeValues, cohort: bool) -> pd.Series:
    num = pd.to_numeric(v.stripped, errors="coerce")
    bad = num.isna()
    if bad.any() and cohort:
        v.fail(bad, " is not a number, but the task is continuous")
    if bad.any():
        v.fail(bad, " is not a number, but task is continuous; fix the value (or list it in "
                    "data.missing_values), or set task to binary/multiclass")
    if not cohort and num.nunique() <= 2:
        raise InputError(
            f"{v.path}: phenotype {v.column} has {num.nunique()} distinct values {sorted(num.unique())[:2]}; "
            "it looks binary, not continuous: set task: binary"
        )
    return num.astype(np.float64)


def read_phenotype(
    path: str | Path,
    column: str,
    task: str,
    *,
    binary_coding: str = "01",
    missing_values: Sequence[str] = ("NA",),
    cohort: bool = False,
    class_names: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[str] | None]:
    """Read and encode a phenotype column: the one phenotype reader, for training and new cohorts.

    Binary: 0/1 (or 1/2 with ``binary_coding="12"``, where 0 and -9 are missing), encoded 0/1;
    multiclass: class names, encoded 0..K-1 in sorted order; continuous: numbers. Rows with a
    missing value are dropped (and counted by the caller).

    Args:
        path: a tab-separated table with FID and IID (or ``.parquet``).
        column: the phenotype column.
        task: ``binary``, ``multiclass`` or ``continuous``.
        binary_coding: ``"01"`` or ``"12"``.
        missing_values: the tokens read as missing.
        cohort: a new cohort scored by a trained model. The classes are then the training ones
            (``class_names``; a value outside them is an error), one class alone is allowed (its
            metrics are undefined), nothing is judged about the task, and messages name the
            ``predict`` settings instead of ``data.*``.
        class_names: the training classes of a multiclass model (``cohort=True`` only).

    Returns:
        (FID IID label, the class names; ``None`` for a continuous task).

    Raises:
        InputError: a missing column, a value the coding or task does not allow, or (training)
            a single class, a 2-class multiclass or a 2-valued continuous phenotype.
    """
    path = Path(path)
    df = read_id_table(path, missing_values, "phenotype")
    if column not in df.columns:
        raise InputError(
            f"{path}: no column {column!r} ({'' if cohort else 'data.'}phenotype_column); available: "
            f"{', '.join(c for c in df.columns if c not in ID_COLS)}"
        )
    raw = df[column]
    if task == "binary" and binary_coding == "12":
        raw = raw.mask(raw.isin(["0", "-9"]))
    present = raw.notna()
    v = _PhenotypeValues(path, column, raw[present].astype(str), np.flatnonzero(present.to_numpy()) + 2)
    names: list[str] | None
    if task == "binary":
        label, names = _encode_binary(v, binary_coding, missing_values, cohort), ["control", "case"]
    elif task == "multiclass":
        label, names = _encode_multiclass(v, (class_names or []) if cohort else None)
    elif task == "continuous":
        label, names = _encode_continuous(v, cohort), None
    else:
        raise InputError(f"unknown task {task!r}")
    out = df.loc[present, ID_COLS].copy()
    out["label"] = label.to_numpy()
    if names is not None and not cohort:
        _check_two_classes(out["label"], names, path, column)
    return out.reset_index(drop=True), names


def _check_two_classes(label: pd.Series, class_names: list[str], path: Path, column: str) -> None:
    counts = label.value_counts()
    if len(counts) < 2:
        only = class_names[int(counts.index[0])] if len(counts) else "none"
        raise InputError(
            f"{path}: phenotype {column} has a single class ({only}) among samples with a value; a "
            "model needs at least two classes: check the column and data.binary_coding"
        )


def read_numeric_table(
    path: str | Path, columns: Sequence[str] | None, missing_values: Sequence[str], what: str
) -> pd.DataFrame:
    """Read FID IID + numeric columns; a non-numeric value stops with its line and column."""
    path = Path(path)
    df = read_id_table(path, missing_values, what)
    feats = [c for c in df.columns if c not in ID_COLS] if columns is None else list(columns)
    absent = [c for c in feats if c not in df.columns]
    if absent:
        raise InputError(f"{path}: {what} column(s) {absent} not found; available: {list(df.columns)}")
    if not feats:
        raise InputError(f"{path}: the {what} file has no columns besides FID and IID")
    values: dict[str, pd.Series] = {}
    for c in feats:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = num.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{path}, line {i + 2}: {what} column {c!r} = {df[c].iloc[i]!r} is not numeric (sample "
                f"{show_id(df.FID.iloc[i], df.IID.iloc[i])}); encode it as numbers (e.g. sex as 0/1, "
                "categories as 0/1 indicator columns) or list the token in data.missing_values"
            )
        values[c] = num.astype(np.float64)
    # one concat, not a column at a time (thousands of omics columns fragment the frame)
    return pd.concat([df[ID_COLS].copy(), pd.DataFrame(values, index=df.index)], axis=1)


def _universe(data: dict[str, Any], missing: list[str]) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """The samples there are data for (FID, IID), the file that names them (for messages) and the report's
    first counts: the .fam of checked PLINK files (.bed size, unique variant ids), or, in a matrix-only
    run, the rows of the feature matrix."""
    prefix = data["genotypes"]
    if prefix:
        fam = io.read_fam(prefix)
        bim = io.read_bim(prefix)
        io.check_bed(prefix, len(fam), len(bim))
        dup_snp = bim.SNP.duplicated(keep=False)
        if dup_snp.any():
            i = int(np.flatnonzero(dup_snp.to_numpy())[0])
            raise InputError(
                f"{prefix}.bim, line {i + 1}: variant id {bim.SNP.iloc[i]!r} appears {int(dup_snp.sum())} times; "
                "give variants unique ids (plink2 --set-all-var-ids @:#:\\$r:\\$a --make-bed)"
            )
        universe, universe_name = fam[ID_COLS], f"{prefix}.fam"
        source = data.get("genotypes_source")
        if source and str(source) not in (str(prefix), f"{prefix}.bed"):  # converted by plink2: name what was given
            universe_name += f" (converted from {source})"
        report: dict[str, Any] = {"fam_samples": len(fam), "bim_variants": len(bim)}
    else:
        # matrix-only run: the samples are the rows of the feature matrix
        matrix = read_id_table(data["omics"], missing, "omics")
        universe, universe_name = matrix[ID_COLS], str(data["omics"])
        report = {"matrix_samples": len(matrix), "matrix_features": int(matrix.shape[1] - 2)}
    return universe, universe_name, report


def _match_phenotype(pheno: pd.DataFrame, universe: pd.DataFrame, universe_name: str, data: dict[str, Any],
                     report: dict[str, Any]) -> pd.DataFrame:
    """The phenotype rows of samples in ``universe``. Rows of other samples are an error, or dropped with a
    warning under ``data.unmatched_phenotype: drop`` (unless that leaves none); their count goes in ``report``."""
    uni_ids = pd.MultiIndex.from_frame(universe)
    ph_ids = pd.MultiIndex.from_frame(pheno[ID_COLS])
    not_in_fam = ~ph_ids.isin(uni_ids)
    report["phenotype_rows_without_genotypes"] = int(not_in_fam.sum())
    if not_in_fam.any():
        absent = pheno.loc[not_in_fam, ID_COLS]
        listed = ", ".join(show_id(r.FID, r.IID) for r in absent.head(5).itertuples())
        if data.get("unmatched_phenotype", "error") == "drop" and not_in_fam.sum() < len(pheno):
            log.warning("%s: %d phenotyped sample(s) are not in %s (e.g. %s)%s; dropped (data.unmatched_phenotype: "
                        "drop)", data["phenotype"], int(not_in_fam.sum()), universe_name, listed,
                        whitespace_hint(absent))
            pheno = pheno.loc[~not_in_fam].reset_index(drop=True)
        else:
            fix = ("none of them is: check the ids (FID and IID) and the genotype file"
                   if not_in_fam.all() else "or set data.unmatched_phenotype: drop to leave them out")
            raise InputError(
                f"{data['phenotype']}: {int(not_in_fam.sum())} sample(s) are not in {universe_name}, e.g. {listed}"
                f"{whitespace_hint(absent)}; check that the ids match {universe_name} exactly (or remove those rows), "
                f"{fix}"
            )
    return pheno


def _check_side_tables(data: dict[str, Any], samples: pd.DataFrame, missing: list[str],
                       report: dict[str, Any]) -> None:
    """Read the covariates and the omics matrix (when configured) as numbers; report their columns and the
    analysis samples without a row, and warn about those samples and about constant columns."""
    for key, what in (("covariates", "covariate"), ("omics", "omics")):
        if not data.get(key):
            continue
        cols = data.get("covariate_columns") if key == "covariates" else None
        table = read_numeric_table(data[key], cols, missing, what)
        ids = pd.MultiIndex.from_frame(table[ID_COLS])
        s_ids = pd.MultiIndex.from_frame(samples[ID_COLS])
        lacking = int((~s_ids.isin(ids)).sum())
        feats = [c for c in table.columns if c not in ID_COLS]
        report[f"{key}_columns"] = feats
        report[f"samples_without_{key}"] = lacking
        if lacking:
            log.warning(
                "%d analysis sample(s) have no row in %s: their %s values are imputed from training means%s",
                lacking, data[key], what, whitespace_hint(table[~ids.isin(s_ids)][ID_COLS]),
            )
        constant = [c for c in feats if table[c].nunique(dropna=True) <= 1]
        if constant:
            log.warning("%s: column(s) %s are constant and carry no information", data[key], constant)


def check_inputs(data: dict[str, Any], task: str) -> CheckedInputs:
    """Check every input named in the config's ``data`` section; return the analysis samples.

    Analysis samples are those in the .fam with a non-missing phenotype. Phenotype rows for
    people absent from the .fam are an error (usually a wrong file or an id mix-up).
    """
    prefix = data["genotypes"]
    missing = list(data["missing_values"])
    universe, universe_name, report = _universe(data, missing)
    pheno, class_names = read_phenotype(
        data["phenotype"],
        data["phenotype_column"],
        task,
        binary_coding=data["binary_coding"],
        missing_values=missing,
    )
    pheno = _match_phenotype(pheno, universe, universe_name, data, report)
    report["phenotype_column"] = data["phenotype_column"]
    report["phenotyped_samples"] = len(pheno)
    report["fam_samples_without_phenotype" if prefix else "matrix_samples_without_phenotype"] = int(
        len(universe) - len(pheno)
    )
    samples = universe.merge(pheno, on=ID_COLS, how="inner")  # .fam (or matrix) order
    if task != "continuous":
        assert class_names is not None  # read_phenotype names the classes of a classification task
        counts = samples.label.value_counts().sort_index()
        report["class_counts"] = {class_names[int(k)]: int(v) for k, v in counts.items()}
        small = counts[counts < MIN_PER_CLASS]
        if len(small):
            raise InputError(
                f"{data['phenotype']}: class {class_names[int(small.index[0])]!r} has only {int(small.iloc[0])} "
                f"sample(s); each class needs at least {MIN_PER_CLASS} for a stratified train/valid/test split"
            )
    _check_side_tables(data, samples, missing, report)
    report["analysis_samples"] = len(samples)
    return CheckedInputs(samples=samples, class_names=class_names, report=report)


def load_covariates(data: dict[str, Any]) -> pd.DataFrame | None:
    """The configured covariates (FID IID + numeric columns), or None."""
    if not data.get("covariates"):
        return None
    return read_numeric_table(data["covariates"], data.get("covariate_columns"), data["missing_values"], "covariate")


def load_omics(data: dict[str, Any]) -> pd.DataFrame | None:
    """The configured omics matrix (FID IID + numeric feature columns), or None."""
    if not data.get("omics"):
        return None
    return read_numeric_table(data["omics"], None, data["missing_values"], "omics")
