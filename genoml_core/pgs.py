"""A polygenic score file (PGS Catalog scoring-file format 2.0) from the final model's linear SNP part.

What is written
    When the final model (``results/final/final_model.json``) has members that are linear in their
    features (penalized_glm, the logistic and linear regressions, LDA, the binary Platt-scaled linear
    SVM: :func:`genoml_core.explain.linear_parts`) and some of their SNP weights are nonzero, one
    score file per output, ``<phenotype column>.pgs.txt`` (several classes: one per class,
    ``<phenotype column>.<class>.pgs.txt``), in the PGS Catalog scoring-file format
    (https://www.pgscatalog.org/downloads/#dl_scoring_files, format version 2.0): ``#`` header lines,
    then a tab-separated table ``rsID chr_name chr_position effect_allele other_allele
    effect_weight``, one row per SNP with a nonzero weight; beside them ``<phenotype column>.afreq``
    (below). Always, ``summary.json``: which files were written (none, and why, when the final model
    has no linear part over SNPs), the members, and how to score a cohort with plink2.

The weights
    A model sees ``x_j = (g_j - mean_j) / scale_j`` (``g_j``: copies of the counted allele, the
    training ``.bim`` A1; a missing call takes the training mean), so its linear predictor is
    ``sum_j coef_j / scale_j * g_j`` + a constant: ``effect_weight = coef_j / scale_j`` per copy of
    ``effect_allele`` (the recipe's ``counted`` allele), on the model's output scale: binary, the
    log-odds of the second class (``weight_type=log(OR)``); continuous, the phenotype's units (a
    standardized target's scale undone, ``beta``); several classes, each class's linear predictor
    (softmax logit, ``NR``). A member with several fold models (``final.refit_full: false``) gets
    the mean of its fold models' weights (a SNP a fold does not use counts 0 there). Several linear
    members are combined with their stack weights, renormalized to sum to 1 over the linear members;
    non-linear members (trees, nets, kernels) are not in the score. The header says which members
    were combined, with which weights, and which were left out.

What the score leaves out (said in the header)
    The intercept, the covariates and ancestry PCs, the calibrator, and the non-linear members. The
    stack and the fold bagging average *probabilities* for classification; this score averages the
    members' linear predictors with the same weights, so for classification it is the linear part
    that ranks people like the model, not the final probability. For a continuous trait with only
    linear members it is the model's prediction up to a constant and the covariate terms.

Several classes
    One file per class (``NR`` weight type): a softmax model's classes share one probability, so
    the K files are meant to be used together (``P(k) = softmax_k(score_k + c_k)``, ``c_k`` the
    class's intercept and covariate terms, not in the files); the difference of two classes' scores
    gives the SNPs' part of the log-odds between them. A class whose weights are all 0 gets no file
    (said in the summary).

Missing genotypes
    The model imputes a missing call with the training mean. So the directory also holds
    ``<phenotype column>.afreq`` (plink2's ``--freq`` format: ``ALT`` = the effect allele, its
    training frequency = mean / 2; with fold models, their means averaged with the same weights as
    their effects: exact with one training set, ``final.refit_full``, the default): ``plink2
    --read-freq`` with it imputes exactly as the model does (tested:
    the plink2 sum equals the model's SNP predictor on a new cohort with swapped alleles and missing
    calls). Without it, plink2 imputes ``2 x`` the scored cohort's own frequency (close, not equal);
    ``no-mean-imputation`` counts a missing call as 0 copies, which lowers the score of people with
    many missing calls (the worst of the three). :func:`plink2_command` gives the command: columns 1,
    4 and 6 (ID, effect allele, weight), ``header-read``, ``cols=+scoresums`` for the sum, after
    removing the ``#`` lines (plink2 2.00a3 reads the first line as the column names, the others as
    variants).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import io, layout, persist, registry
from .ensemble import FinalModel, Member
from .errors import InputError

__all__ = [
    "SCORE_COLUMNS",
    "SUMMARY_FILE",
    "LinearScore",
    "final_linear_score",
    "model_allele_weights",
    "plink2_command",
    "read_scoring_file",
    "scoring_file_text",
    "write_score_files",
]

log = logging.getLogger(__name__)

#: The table's columns, in the PGS Catalog's names and order.
SCORE_COLUMNS = ("rsID", "chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight")
SUMMARY_FILE = PurePosixPath(layout.SCORE_SUMMARY).name
FORMAT_VERSION = "2.0"
#: The plink2 --score columns of a file written here: variant ID, effect allele, weight.
PLINK2_SCORE_COLUMNS = "1 4 6 header-read cols=+scoresums"


# ----------------------------------------------------------------------------- one model
def _class_labels(est: Any) -> np.ndarray | None:
    classes = getattr(est, "genoml_classes_", None)
    if classes is None:
        classes = getattr(est, "classes_", None)
    return None if classes is None else np.asarray(classes)


def model_allele_weights(est: Any, recipe: Mapping[str, Any], *, task: str, n_classes: int | None = None
                         ) -> np.ndarray | None:
    """Per-allele SNP weights of one fitted model: ``(n_snps, m)``, or None when it is not linear.

    Args:
        est: A fitted model on the recipe's scaled features (as :func:`genoml_core.persist.load_model`
            returns it), or a :class:`~genoml_core.penalized.GenomeWideGLM` itself (its
            ``allele_weights_`` are already per counted allele).
        recipe: The model's ``recipe.json`` (its first ``n_snps`` features are the SNPs).
        task: ``binary``, ``multiclass`` or ``continuous``.
        n_classes: K (multiclass): the columns, class labels 0..K-1.

    Returns:
        float64 ``(n_snps, m)``: per copy of each SNP's counted allele, raw dosage scale; m = 1
        (binary: log-odds of class 1; continuous: the phenotype's units) or K (each class's linear
        predictor; 0 for a class the model never saw).
    """
    from .explain.families import linear_parts

    n_snps = int(recipe["n_snps"])
    feats = recipe["features"]
    if hasattr(est, "allele_weights_"):
        w = np.asarray(est.allele_weights_, dtype=np.float64).reshape(n_snps, -1)
    else:
        parts = linear_parts(est)
        if parts is None:
            return None
        coef = np.atleast_2d(np.asarray(parts[0], dtype=np.float64))
        if coef.shape[1] != len(feats):
            raise InputError(f"the model has {coef.shape[1]} coefficients per output, its recipe lists "
                             f"{len(feats)} features: model and recipe do not belong together")
        scale = np.array([f["scale"] for f in feats[:n_snps]], dtype=np.float64)
        w = (coef[:, :n_snps] / scale).T
    if task != "multiclass":
        if w.shape[1] != 1:
            raise InputError(f"a {task} model with {w.shape[1]} linear outputs; expected 1")
        return w
    classes = _class_labels(est)
    if classes is None or len(classes) != w.shape[1]:
        raise InputError(f"a multiclass model with {w.shape[1]} linear outputs and classes {classes}")
    k = int(n_classes) if n_classes is not None else int(classes.max()) + 1
    out = np.zeros((n_snps, k))
    out[:, classes.astype(np.int64)] = w
    return out


# ----------------------------------------------------------------------------- the final model
@dataclass
class LinearScore:
    """The final model's linear SNP part.

    ``weights`` has the SNP columns (``id chrom pos counted other``, ``mean``: the training mean
    of the counted allele's copies) and one weight column ``w<i>`` per output (``outputs``); all-zero
    rows are kept (each file drops its own zeros). ``used`` and
    ``left_out`` describe the members: ``{learner, weight, ...}`` with ``combined_weight`` (used)
    or ``why`` (left out). ``weights`` is None, with ``reason``, when there is no linear SNP part.
    """

    task: str
    outputs: list[str]
    weights: pd.DataFrame | None
    used: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None


def _is_candidate(learner: str) -> bool:
    """Only learners the registry declares linear are loaded (never a net or a tree model file);
    an unknown name is loaded and checked."""
    spec = registry.REGISTRY.get(learner)
    return spec is None or spec.explainer == "linear"


def _snp_table(recipe: Mapping[str, Any]) -> pd.DataFrame:
    snps = recipe["features"][: int(recipe["n_snps"])]
    table = pd.DataFrame({k: [str(f[k]) for f in snps] for k in ("id", "chrom", "counted", "other")})
    table["pos"] = np.array([int(f["pos"]) for f in snps], dtype=np.int64)
    # what a missing call becomes (the training mean of the counted allele's copies)
    table["mean"] = np.array([float(f.get("impute", f["mean"])) for f in snps], dtype=np.float64)
    return table


def _member_frames(member: Member, task: str, n_classes: int | None) -> tuple[list[pd.DataFrame], str | None]:
    """One frame per fold model (SNP columns + weights), or ``([], why)``."""
    if not _is_candidate(member.learner):
        return [], f"not a linear model ({registry.REGISTRY[member.learner].explainer} explainer)"
    frames = []
    for fold, path in member.models.items():
        est, _ = persist.load_model(path)
        recipe = io.read_json(member.recipes[fold])
        w = model_allele_weights(est, recipe, task=task, n_classes=n_classes)
        if w is None:
            return [], f"its fitted model ({type(est).__name__}) is not linear in its features"
        table = _snp_table(recipe)
        frames.append(pd.concat([table, pd.DataFrame(w, columns=[f"w{i}" for i in range(w.shape[1])])], axis=1))
    if not frames or sum(len(f) for f in frames) == 0:
        return [], "no SNP features (a run without genotypes)"
    if not any(f.filter(regex=r"^w\d+$").to_numpy().any() for f in frames):
        return [], "every SNP weight is 0"
    return frames, None


def _align_and_sum(frames: Sequence[pd.DataFrame], factors: Sequence[float]) -> pd.DataFrame:
    """``sum_i factor_i * frame_i`` per SNP id, on the first frame's counted allele (a SNP counted on
    its other allele elsewhere gets its weight negated: ``2 - g`` copies, a constant apart); ``mean``
    becomes the factor-weighted mean of the training means (the same everywhere with one training set)."""
    wcols = [c for c in frames[0].columns if c.startswith("w")]
    df = pd.concat([f.assign(_f=a) for f, a in zip(frames, factors)], ignore_index=True)
    canon = df.drop_duplicates("id").set_index("id")[["chrom", "pos", "counted", "other"]]
    ref = canon.loc[df["id"]]
    same = (df.counted.to_numpy() == ref.counted.to_numpy()) & (df.other.to_numpy() == ref.other.to_numpy())
    swapped = (df.counted.to_numpy() == ref.other.to_numpy()) & (df.other.to_numpy() == ref.counted.to_numpy())
    bad = ~(same | swapped)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"SNP {df.id.iloc[i]} has alleles {df.counted.iloc[i]}/{df.other.iloc[i]} in one recipe and "
                         f"{ref.counted.iloc[i]}/{ref.other.iloc[i]} in another: recipes of different genotype files")
    factor = df["_f"].to_numpy()
    sign = np.where(same, 1.0, -1.0)
    parts = pd.DataFrame(df[wcols].to_numpy() * (sign * factor)[:, None], columns=wcols)
    parts["_fm"] = factor * np.where(same, df["mean"].to_numpy(), 2.0 - df["mean"].to_numpy())
    parts["_f"] = factor
    summed = parts.groupby(df["id"].to_numpy(), sort=False).sum()
    summed["mean"] = summed["_fm"] / summed["_f"]
    return canon.join(summed[[*wcols, "mean"]]).reset_index()


def final_linear_score(final: FinalModel) -> LinearScore:
    """The final model's linear SNP part: per-allele weights, the members combined (module docstring)."""
    task = final.task
    n_classes = len(final.class_names) if task == "multiclass" and final.class_names else None
    if task == "multiclass":
        outputs = list(final.class_names or [])
    elif task == "binary":
        names = final.class_names or ["0", "1"]
        outputs = [f"log-odds of {names[1]} vs {names[0]}"]
    else:
        outputs = ["trait value"]
    total = sum(m.weight for m in final.members)
    linear: list[tuple[Member, list[pd.DataFrame]]] = []
    left_out = []
    for m in final.members:
        frames, why = _member_frames(m, task, n_classes)
        if why is not None:
            log.info("score file: %s (stack weight %.3f) left out: %s", m.learner, m.weight, why)
            left_out.append({"learner": m.learner, "weight": m.weight, "why": why})
        elif m.weight <= 0:
            left_out.append({"learner": m.learner, "weight": m.weight, "why": "stack weight 0"})
        else:
            linear.append((m, frames))
    if not linear:
        reasons = "; ".join(f"{d['learner']}: {d['why']}" for d in left_out) or "no members"
        return LinearScore(task, outputs, None, [], left_out,
                           reason=f"the final model has no linear part over SNPs ({reasons})")
    lin_total = sum(m.weight for m, _ in linear)
    frames, factors, used = [], [], []
    for m, fs in linear:
        share = m.weight / lin_total
        frames += fs
        factors += [share / len(fs)] * len(fs)
        used.append({"learner": m.learner, "trial": m.trial, "weight": m.weight, "combined_weight": share,
                     "stack_share": m.weight / total if total > 0 else 0.0, "models": sorted(m.models)})
    weights = _align_and_sum(frames, factors)
    return LinearScore(task, outputs, weights, used, left_out)


# ----------------------------------------------------------------------------- files
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
        from . import __version__

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
