"""The PGS Catalog scoring file (format 2.0): its columns and text, reading it back, its header, the
``.afreq`` beside it, the plink2 command and :func:`write_score_files`.
"""

from __future__ import annotations

import logging
import re
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import io, layout
from ..evaluation.ensemble import FinalModel
from .weights import LinearScore, final_linear_score

# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.pgs")


#: The table's columns, in the PGS Catalog's names and order.
SCORE_COLUMNS = ("rsID", "chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight")
SUMMARY_FILE = PurePosixPath(layout.SCORE_SUMMARY).name
FORMAT_VERSION = "2.0"
#: The plink2 --score columns of a file written here: variant ID, effect allele, weight.
PLINK2_SCORE_COLUMNS = "1 4 6 header-read cols=+scoresums"


def _chrom_key(chrom: pd.Series) -> pd.Series:
    """Natural chromosome order: 1..22 numerically, then X, Y, XY, MT and anything else by name."""
    c = chrom.astype(str).str.replace(r"^chr", "", regex=True, flags=re.IGNORECASE)
    num = pd.to_numeric(c, errors="coerce")
    named = {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}
    return num.fillna(c.str.upper().map(named)).fillna(1000)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "score"


def _one_line(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _table(weights: pd.DataFrame, column: str) -> pd.DataFrame:
    keep = weights[weights[column].to_numpy() != 0]
    keep = keep.assign(_c=_chrom_key(keep["chrom"])).sort_values(["_c", "pos", "id"], kind="stable")
    return pd.DataFrame({
        "rsID": keep["id"].to_numpy(), "chr_name": keep["chrom"].astype(str).to_numpy(),
        "chr_position": keep["pos"].astype(np.int64).to_numpy(), "effect_allele": keep["counted"].to_numpy(),
        "other_allele": keep["other"].to_numpy(), "effect_weight": keep[column].to_numpy(dtype=np.float64),
    })


def scoring_file_text(table: pd.DataFrame, header: Sequence[tuple[str, Any]]) -> str:
    """The scoring file: the PGS Catalog title line, ``#key=value`` lines (``##`` section titles
    for a key starting with ``#``), the column names and the rows (weights to 10 significant digits)."""
    lines = ["###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring "
             "for additional information"]
    for key, value in header:
        lines.append(f"#{key}" if key.startswith("#") else f"#{key}={_one_line(value)}")
    lines.append("\t".join(SCORE_COLUMNS))
    for row in table.itertuples(index=False):
        lines.append("\t".join([str(row.rsID), str(row.chr_name), str(int(row.chr_position)), str(row.effect_allele),
                                str(row.other_allele), f"{float(row.effect_weight):.10g}"]))
    return "\n".join(lines) + "\n"


def read_scoring_file(path: str | Path) -> tuple[dict[str, str], pd.DataFrame]:
    """``(header {key: value}, table)`` of a scoring file (its ``#key=value`` lines and rows)."""
    lines = Path(path).read_text().splitlines(keepends=True)
    n_head = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    header = dict(line[1:].rstrip("\n").split("=", 1) for line in lines[:n_head]
                  if not line.startswith("##") and "=" in line)
    table = pd.read_csv(StringIO("".join(lines[n_head:])), sep="\t",
                        dtype={"rsID": str, "chr_name": str, "effect_allele": str, "other_allele": str})
    return header, table


def _members_text(score: LinearScore) -> str:
    return ", ".join(f"{u['learner']} (trial {u['trial']}, stack weight {u['weight']:.4g}, "
                     f"{len(u['models'])} model{'s' if len(u['models']) > 1 else ''}: {'+'.join(u['models'])})"
                     for u in score.used)


def _combined_text(score: LinearScore) -> str:
    folds = " (fold models averaged)" if any(len(u["models"]) > 1 for u in score.used) else ""
    if len(score.used) == 1:
        return f"{score.used[0]['learner']} alone{folds}"
    share = sum(u["stack_share"] for u in score.used)
    terms = " + ".join(f"{u['combined_weight']:.4g} x {u['learner']}" for u in score.used)
    return (f"{terms}{folds}: the linear members' stack weights renormalized to sum 1 (together they carry "
            f"{share:.4g} of the stack's weight)")


def plink2_command(score_file: str, afreq_file: str, cohort: str = "<cohort>", out: str = "<prefix>") -> str:
    """Shell commands that score a PLINK fileset with a file written here, imputing missing calls with
    the training frequencies (as the model does). The ``#`` lines are removed first: plink2 2.00a3
    reads the first line as the column names and every other line as a variant."""
    table = f"{out}.score.tsv"
    return (f"grep -v '^#' {score_file} > {table} && plink2 --bfile {cohort} --read-freq {afreq_file} "
            f"--score {table} {PLINK2_SCORE_COLUMNS} --out {out}")


def _header(score: LinearScore, final: FinalModel, *, output: int, phenotype_column: str, genome_build: str,
            code_version: str, n_variants: int, afreq_file: str) -> list[tuple[str, Any]]:
    task = score.task
    cls = score.outputs[output] if task == "multiclass" else None
    weight_type = {"binary": "log(OR)", "continuous": "beta"}.get(task, "NR")
    if task == "binary":
        scale = f"{score.outputs[0]} (the linear predictor)"
    elif task == "continuous":
        scale = f"{phenotype_column} in its own units (a standardized target's scale undone)"
    else:
        scale = (f"the linear predictor (softmax logit) of class {cls}; use the {len(score.outputs)} class files "
                 f"together: P(class) = softmax of the classes' scores plus their intercepts and covariate terms")
    left = ", ".join(f"{d['learner']} (stack weight {d['weight']:.4g}: {d['why']})" for d in score.left_out)
    cal = final.calibrator.get("kind", "none")
    not_in = f"the intercept, covariates and ancestry PCs, the calibrator ({cal})"
    if score.left_out:
        not_in += ", the non-linear members"
    if task != "continuous" and (len(score.used) > 1 or any(len(u["models"]) > 1 for u in score.used)):
        not_in += ("; the stack and the fold models average probabilities, this score averages their linear "
                   "predictors with the same weights")
    return [
        ("format_version", FORMAT_VERSION),
        ("#POLYGENIC SCORE (PGS) INFORMATION", None),
        ("pgs_name", f"genoml_{_safe_name(phenotype_column)}" + (f"_{_safe_name(cls)}" if cls is not None else "")),
        ("trait_reported", phenotype_column + (f" (class {cls})" if cls is not None else "")),
        ("weight_type", weight_type),
        ("genome_build", genome_build),
        ("variants_number", n_variants),
        ("#GENOML MODEL INFORMATION", None),
        ("genoml_core_version", code_version),
        ("genoml_task", task),
        ("genoml_final_model", f"{final.learner} ({final.combiner})"),
        ("genoml_members_in_score", _members_text(score)),
        ("genoml_combined", _combined_text(score)),
        ("genoml_members_not_in_score", left or "none"),
        ("genoml_score_scale", scale),
        ("genoml_effect_weight", "per copy of effect_allele (the allele counted in training, the .bim A1), on raw "
                                 "0/1/2 dosages: the training standardization undone; rsID holds the training .bim "
                                 "variant ID"),
        ("genoml_not_in_score", not_in),
        ("genoml_missing_calls", f"the model imputes the training mean: plink2 --read-freq {afreq_file} (training "
                                 "effect-allele frequencies) reproduces it; without it plink2 uses the scored "
                                 "cohort's frequencies, and no-mean-imputation counts 0 copies"),
        ("genoml_plink2", plink2_command("<this file>", afreq_file)),
    ]


def _afreq_table(weights: pd.DataFrame, wcols: Sequence[str]) -> pd.DataFrame:
    """plink2 ``.afreq`` rows (``#CHROM ID REF ALT ALT_FREQS``) of the SNPs with a nonzero weight: ALT
    is the effect allele, its frequency the training mean / 2 (what a missing call is imputed with)."""
    keep = weights[(weights[list(wcols)].to_numpy() != 0).any(axis=1)]
    keep = keep.assign(_c=_chrom_key(keep["chrom"])).sort_values(["_c", "pos", "id"], kind="stable")
    return pd.DataFrame({"#CHROM": keep["chrom"].astype(str).to_numpy(), "ID": keep["id"].to_numpy(),
                         "REF": keep["other"].to_numpy(), "ALT": keep["counted"].to_numpy(),
                         "ALT_FREQS": [f"{v:.10g}" for v in np.clip(keep["mean"].to_numpy() / 2, 0.0, 1.0)]})


def write_score_files(
    final: FinalModel,
    out_dir: str | Path,
    *,
    phenotype_column: str,
    genome_build: str | None = None,
    code_version: str | None = None,
) -> dict[str, Any]:
    """Write the score file(s) and ``summary.json`` into ``out_dir``; return the summary.

    Files, only when the final model has a linear part over SNPs: ``<phenotype_column>.pgs.txt``
    (binary, continuous) or ``<phenotype_column>.<class>.pgs.txt`` per class with a nonzero weight
    (multiclass), and ``<phenotype_column>.afreq``, the training frequencies of their effect
    alleles for ``plink2 --read-freq``. ``summary.json`` always: ``written``, ``files`` with their
    variant counts, ``reason`` when nothing was written, the members used and left out, the plink2
    command.
    """
    if code_version is None:
        from .. import __version__

        code_version = __version__
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    score = final_linear_score(final)
    build = _one_line(genome_build) if genome_build else "NR"
    base = _safe_name(phenotype_column)
    afreq_name = f"{base}.afreq"
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    if score.weights is not None:
        for i, output in enumerate(score.outputs):
            table = _table(score.weights, f"w{i}")
            if table.empty:
                skipped.append(output)
                log.info("score file: %s has no nonzero SNP weight: no file", output)
                continue
            name = f"{base}.{_safe_name(output)}.pgs.txt" if score.task == "multiclass" else f"{base}.pgs.txt"
            header = _header(score, final, output=i, phenotype_column=phenotype_column, genome_build=build,
                             code_version=code_version, n_variants=len(table), afreq_file=afreq_name)
            with io.atomic_path(out_dir / name) as tmp:
                tmp.write_text(scoring_file_text(table, header))
            files.append({"file": name, "output": output, "variants_number": int(len(table))})
            log.info("score file %s: %d SNPs with a nonzero weight (%s)", name, len(table), output)
    reason = score.reason
    if score.weights is not None and not files:
        reason = "every SNP weight of the linear members is 0"
    if files:
        wcols = [f"w{i}" for i in range(len(score.outputs))]
        with io.atomic_path(out_dir / afreq_name) as tmp:
            _afreq_table(score.weights, wcols).to_csv(tmp, sep="\t", index=False)
    else:
        log.info("no score file written: %s", reason)
    summary = {
        "written": bool(files),
        "reason": reason,
        "task": score.task,
        "phenotype_column": phenotype_column,
        "genome_build": build,
        "format": f"PGS Catalog scoring file, format version {FORMAT_VERSION}",
        "files": files,
        "afreq": afreq_name if files else None,
        "classes_without_file": skipped,
        "members_in_score": score.used,
        "members_not_in_score": score.left_out,
        "plink2": plink2_command(files[0]["file"], afreq_name) if files else None,
        "missing_calls": ("the model imputes a missing call with the training mean; plink2 --read-freq with the "
                          ".afreq file does the same; without it plink2 imputes the scored cohort's mean, and "
                          "no-mean-imputation counts 0 copies of the effect allele"),
        "genoml_core_version": code_version,
    }
    io.write_json(summary, out_dir / SUMMARY_FILE)
    return summary
