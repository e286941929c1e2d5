"""Harmonize a new cohort's PLINK genotypes (and covariates/omics) to a training ``recipe.json``.

The recipe is the contract with new data (ARCHITECTURE rule 3): it lists every feature in order
with its SNP id, chromosome, position, counted allele and other allele (or its covariate / omics
column name), and the training mean, scale and imputation value. Harmonization turns a new
cohort into exactly the raw blocks the training feature store held, in recipe order:

* an int8 genotype matrix (people x recipe SNPs) of counts of the recipe's *counted* allele,
  -1 where the value is missing or must be imputed, and
* a float matrix of the recipe's covariate / omics columns (NaN where missing),

which :func:`genoml_core.munge.scale_features` (the feature store's own scaling code) maps to
model input. The new cohort's own statistics are never used: every missing, absent or dropped
value takes the training imputation value.

SNP matching, per recipe SNP:

1. **By id**: the recipe's SNP id in the new ``.bim`` (an id that appears twice there and is a
   model feature is an error).
2. **By position** (``match_by_position``; only for SNPs whose id is not found): the same
   chromosome (``chr1``/``1``, ``X``/``23``, ``Y``/``24``, ``XY``/``25``, ``MT``/``M``/``26``
   are equal) and position with alleles that resolve as below. Two or more such rows:
   ``multiple_matches``, imputed.

Allele resolution (recipe counted allele ``c``, other ``o``; new ``.bim`` A1 ``a1``, A2 ``a2``):

============================  =========================  =======================================
new alleles                   status                     genotype used
============================  =========================  =======================================
``a1, a2 == c, o``            ``direct``                 stored count
``a1, a2 == o, c``            ``swapped``                ``2 - count`` (count of ``c``)
``complement(c, o)``          ``strand_flipped``         stored count
``complement(o, c)``          ``strand_flipped_swapped`` ``2 - count``
anything else                 ``allele_mismatch``        imputed (training value)
SNP absent                    ``absent``                 imputed (training value)
============================  =========================  =======================================

Strand-ambiguous SNPs (recipe alleles A/T or C/G) are the SNPs where a strand flip cannot be
told from a swap (the complement of A/T is T/A). Policy ``ambiguous="drop"`` (the default):
they are ``ambiguous_dropped`` and imputed, whatever the new cohort holds. ``"keep"``: trust
the new cohort's strand, i.e. match their alleles as given (``direct`` or ``swapped``, never
strand-flipped). A new allele coded ``0`` or ``.`` (PLINK's code for a monomorphic site) is
matched on the other allele alone, with no strand inference. Strand flips are only inferred for
single-base A/C/G/T alleles.

The coverage of a harmonization is the fraction of the model's importance carried by features
present in the new cohort (SNPs used, covariate/omics columns found): importance from
:func:`genoml_core.learners.model_weights` (absolute coefficients or impurity/gain importances),
from a table (e.g. mean absolute SHAP values), or uniform when the model offers neither (RBF
SVM, KNN, the neural nets) -- the report says which.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import io
from .errors import InputError
from .munge import scale_features

__all__ = [
    "AMBIGUOUS_POLICIES",
    "USED_STATUSES",
    "IMPUTED_STATUSES",
    "LowOverlapError",
    "VariantPlan",
    "OtherMatch",
    "Harmonized",
    "normalize_chrom",
    "is_strand_ambiguous",
    "resolve_alleles",
    "plan_variants",
    "read_harmonized_genotypes",
    "match_other_features",
    "read_importance_table",
    "importance_weights",
    "coverage_fraction",
    "check_overlap",
    "harmonize",
]

log = logging.getLogger(__name__)

AMBIGUOUS_POLICIES = ("drop", "keep")
#: statuses of recipe SNPs whose genotypes come from the new cohort
USED_STATUSES = ("direct", "swapped", "strand_flipped", "strand_flipped_swapped")
#: statuses of recipe SNPs filled with the training imputation value
IMPUTED_STATUSES = ("ambiguous_dropped", "allele_mismatch", "multiple_matches", "absent")
_SWAP = frozenset({"swapped", "strand_flipped_swapped"})
_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
_UNKNOWN_ALLELE = frozenset({"0", "."})
_CHROM_ALIASES = {"X": "23", "Y": "24", "XY": "25", "M": "26", "MT": "26"}
_EXAMPLES = 20  # SNP ids listed per imputed status in the report


class LowOverlapError(InputError):
    """The features present in a new cohort carry too little of the model's importance."""


# ----------------------------------------------------------------------------- small pieces
def normalize_chrom(chrom: Any) -> str:
    """A chromosome code comparable across files: ``chr1`` -> ``1``, ``chrX``/``X`` -> ``23``."""
    c = str(chrom).strip()
    if c[:3].lower() == "chr":
        c = c[3:]
    c = c.upper()
    c = _CHROM_ALIASES.get(c, c)
    return (c.lstrip("0") or "0") if c.isdigit() else c


def is_strand_ambiguous(a: str, b: str) -> bool:
    """True for A/T and C/G SNPs: their complement strand reads as the swapped alleles."""
    return {str(a).upper(), str(b).upper()} in ({"A", "T"}, {"C", "G"})


def resolve_alleles(counted: str, other: str, a1: str, a2: str, *, ambiguous: str = "drop") -> str:
    """How a new ``.bim`` row's alleles (A1 ``a1`` counted in the .bed, A2 ``a2``) relate to a
    recipe SNP's (``counted``, ``other``): one of :data:`USED_STATUSES`, ``"allele_mismatch"``
    or ``"ambiguous_dropped"`` (see the module docstring).
    """
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise ValueError(f"{ambiguous=} must be one of {AMBIGUOUS_POLICIES}")
    c, o, a1, a2 = (str(x).upper() for x in (counted, other, a1, a2))
    amb = is_strand_ambiguous(c, o)
    if amb and ambiguous == "drop":
        return "ambiguous_dropped"
    if a1 in _UNKNOWN_ALLELE or a2 in _UNKNOWN_ALLELE:
        known, known_is_a1 = (a2, False) if a1 in _UNKNOWN_ALLELE else (a1, True)
        if known in _UNKNOWN_ALLELE:
            return "allele_mismatch"
        # the stored count is of A1: if the known allele is A2, A1 is the other one
        if known == c:
            return "direct" if known_is_a1 else "swapped"
        if known == o:
            return "swapped" if known_is_a1 else "direct"
        return "allele_mismatch"
    if (a1, a2) == (c, o):
        return "direct"
    if (a1, a2) == (o, c):
        return "swapped"
    if not amb and c in _COMPLEMENT and o in _COMPLEMENT:
        fc, fo = _COMPLEMENT[c], _COMPLEMENT[o]
        if (a1, a2) == (fc, fo):
            return "strand_flipped"
        if (a1, a2) == (fo, fc):
            return "strand_flipped_swapped"
    return "allele_mismatch"


def _snp_features(recipe: Mapping[str, Any]) -> list[dict[str, Any]]:
    p = int(recipe["n_snps"])
    feats = list(recipe["features"][:p])
    bad = [f.get("name") for f in feats if f.get("source") != "snp"]
    if bad:
        raise InputError(f"recipe: the first n_snps={p} features must be SNPs; found {bad[:3]}")
    return feats


# ----------------------------------------------------------------------------- SNP plan
@dataclass
class VariantPlan:
    """Where each recipe SNP comes from in a new cohort.

    Attributes:
        ids: recipe SNP ids, in recipe order (p,).
        source: index of the matching row of the new ``.bim``, -1 when imputed (p,).
        flip: whether the dosage is swapped, ``2 - count`` (p,).
        status: one of :data:`USED_STATUSES` or :data:`IMPUTED_STATUSES` (p,).
        matched_by: ``"id"``, ``"position"`` or ``""`` (p,).
        ambiguous: the recipe SNP is strand-ambiguous (p,).
        id_position_differs: SNPs matched by id whose chromosome:position differs (a count).
        options: the options the plan was made with.
    """

    ids: list[str]
    source: np.ndarray
    flip: np.ndarray
    status: np.ndarray
    matched_by: np.ndarray
    ambiguous: np.ndarray
    id_position_differs: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def present(self) -> np.ndarray:
        """Recipe SNPs whose genotypes come from the new cohort."""
        return self.source >= 0

    def counts(self) -> dict[str, Any]:
        """The report's SNP section: how every recipe SNP was matched or why it is imputed."""
        st = self.status
        out: dict[str, Any] = {
            "total": int(st.size),
            "used": int(self.present.sum()),
            "imputed": int((~self.present).sum()),
            "matched_by_id": int((self.matched_by == "id").sum()),
            "matched_by_position": int((self.matched_by == "position").sum()),
        }
        for s in USED_STATUSES + IMPUTED_STATUSES:
            out[s] = int((st == s).sum())
        out["strand_ambiguous"] = int(self.ambiguous.sum())
        out["strand_ambiguous_used"] = int((self.ambiguous & self.present).sum())
        out["dosage_swapped"] = int(self.flip.sum())
        out["id_position_differs"] = int(self.id_position_differs)
        out["examples"] = {
            s: [self.ids[j] for j in np.flatnonzero(st == s)[:_EXAMPLES]]
            for s in ("swapped", "strand_flipped", "strand_flipped_swapped") + IMPUTED_STATUSES
            if (st == s).any()
        }
        return out


def plan_variants(
    recipe: Mapping[str, Any],
    bim: pd.DataFrame,
    *,
    ambiguous: str = "drop",
    match_by_position: bool = True,
    swap_alleles: bool = True,
) -> VariantPlan:
    """Match every recipe SNP to a row of the new cohort's ``.bim`` (see the module docstring).

    Args:
        recipe: A parsed ``recipe.json``.
        bim: The new cohort's ``.bim`` (:func:`genoml_core.io.read_bim`), in file order.
        ambiguous: ``"drop"`` (impute strand-ambiguous SNPs) or ``"keep"`` (trust the alleles
            as given).
        match_by_position: Match SNPs whose id is absent by chromosome:position:alleles.
        swap_alleles: ``False`` uses stored counts as they are even when the alleles are
            swapped (what matching by id alone would do). Only for tests and demonstrations:
            it gives wrong predictions.

    Raises:
        InputError: a recipe SNP id appears more than once in the new ``.bim``.
    """
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise ValueError(f"{ambiguous=} must be one of {AMBIGUOUS_POLICIES}")
    feats = _snp_features(recipe)
    p = len(feats)
    ids = [str(f["id"]) for f in feats]
    source = np.full(p, -1, dtype=np.int64)
    status = np.full(p, "absent", dtype=object)
    matched_by = np.full(p, "", dtype=object)
    ambiguous_mask = np.array([is_strand_ambiguous(f["counted"], f["other"]) for f in feats], dtype=bool)

    snp = bim.SNP.astype(str).to_numpy()
    a1 = bim.A1.astype(str).to_numpy()
    a2 = bim.A2.astype(str).to_numpy()
    chrom = np.array([normalize_chrom(c) for c in bim.CHR.to_numpy()], dtype=object)
    pos = bim.POS.to_numpy()

    wanted = pd.Index(ids)
    in_recipe = pd.Index(snp).isin(wanted)
    dup = pd.Series(snp[in_recipe]).duplicated(keep=False)
    if dup.any():
        first = str(pd.Series(snp[in_recipe])[dup].iloc[0])
        line = int(np.flatnonzero(snp == first)[0]) + 1
        raise InputError(
            f"new cohort .bim, line {line}: variant id {first!r} (a model feature) appears "
            f"{int((snp == first).sum())} times; give variants unique ids (plink2 --set-all-var-ids "
            "@:#:\\$r:\\$a --make-bed, or remove the duplicates with --rm-dup)"
        )
    row_of = pd.Series(np.flatnonzero(in_recipe), index=snp[in_recipe])

    differs = 0
    unmatched: list[int] = []
    for j, f in enumerate(feats):
        r = row_of.get(ids[j])
        if r is None:
            unmatched.append(j)
            continue
        r = int(r)
        matched_by[j] = "id"
        status[j] = resolve_alleles(f["counted"], f["other"], a1[r], a2[r], ambiguous=ambiguous)
        if status[j] in USED_STATUSES:
            source[j] = r
        if chrom[r] != normalize_chrom(f["chrom"]) or int(pos[r]) != int(f["pos"]):
            differs += 1

    if match_by_position and unmatched:
        keys = pd.MultiIndex.from_arrays([chrom, pos])
        want = pd.MultiIndex.from_arrays(
            [[normalize_chrom(feats[j]["chrom"]) for j in unmatched], [int(feats[j]["pos"]) for j in unmatched]]
        )
        rows_at: dict[tuple[str, int], list[int]] = {}
        for r in np.flatnonzero(keys.isin(want)):
            rows_at.setdefault((chrom[r], int(pos[r])), []).append(int(r))
        for j in unmatched:
            f = feats[j]
            cands = rows_at.get((normalize_chrom(f["chrom"]), int(f["pos"])), [])
            resolved = [(r, resolve_alleles(f["counted"], f["other"], a1[r], a2[r], ambiguous=ambiguous))
                        for r in cands]
            if ambiguous_mask[j] and ambiguous == "drop" and cands:
                matched_by[j], status[j] = "position", "ambiguous_dropped"
                continue
            usable = [(r, s) for r, s in resolved if s in USED_STATUSES]
            if len(usable) == 1:
                r, s = usable[0]
                matched_by[j], status[j], source[j] = "position", s, r
            elif len(usable) > 1:
                matched_by[j], status[j] = "position", "multiple_matches"
            elif cands:
                matched_by[j], status[j] = "position", "allele_mismatch"

    flip = np.array([s in _SWAP for s in status], dtype=bool)
    if not swap_alleles and flip.any():
        log.warning("swap_alleles=False: %d allele-swapped SNPs use their stored counts unswapped "
                    "(wrong predictions; for tests only)", int(flip.sum()))
        flip[:] = False
    plan = VariantPlan(
        ids=ids,
        source=source,
        flip=flip,
        status=status.astype(str),
        matched_by=matched_by.astype(str),
        ambiguous=ambiguous_mask,
        id_position_differs=differs,
        options={"ambiguous_snps": ambiguous, "match_by_position": bool(match_by_position),
                 "swap_alleles": bool(swap_alleles)},
    )
    c = plan.counts()
    log.info(
        "harmonized %d recipe SNPs: %d used (%d by id, %d by position; %d swapped, %d strand-flipped), "
        "%d imputed (%d absent, %d allele mismatch, %d strand-ambiguous dropped, %d multiple matches)",
        c["total"], c["used"], c["matched_by_id"], c["matched_by_position"], c["dosage_swapped"],
        c["strand_flipped"] + c["strand_flipped_swapped"], c["imputed"], c["absent"], c["allele_mismatch"],
        c["ambiguous_dropped"], c["multiple_matches"],
    )
    return plan


# ----------------------------------------------------------------------------- genotypes
def read_harmonized_genotypes(
    bfile: str | os.PathLike[str],
    plans: Sequence[VariantPlan],
    *,
    n_samples: int,
    sample_idx: Sequence[int] | np.ndarray | None = None,
    chunk_variants: int = 2048,
    engine: str = "lut",
) -> list[np.ndarray]:
    """Read the new cohort's genotypes once and lay them out per plan.

    Returns one int8 matrix per plan, (people, recipe SNPs) in recipe order: counts of the
    recipe's counted allele (swapped where the plan says so), -1 where missing or imputed.
    The variants all plans need are read together, in ``.bed`` order, by chunks.
    """
    needed = np.unique(np.concatenate([pl.source[pl.present] for pl in plans] or [np.zeros(0, np.int64)]))
    n_out = n_samples if sample_idx is None else len(sample_idx)
    block = np.empty((n_out, needed.size), dtype=np.int8)
    if needed.size:
        for start, chunk in io.iter_genotype_chunks(
            bfile, needed, sample_idx, n_samples=n_samples, chunk_variants=chunk_variants, engine=engine
        ):
            block[:, start : start + chunk.shape[1]] = chunk
    out = []
    for pl in plans:
        g = np.full((n_out, pl.source.size), -1, dtype=np.int8)
        cols = np.flatnonzero(pl.present)
        g[:, cols] = block[:, np.searchsorted(needed, pl.source[cols])]
        fl = np.flatnonzero(pl.flip)
        if fl.size:
            sub = g[:, fl]
            g[:, fl] = np.where(sub >= 0, 2 - sub, -1)
        out.append(g)
    return out


# ----------------------------------------------------------------------------- covariates / omics
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


# ----------------------------------------------------------------------------- coverage
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
    not list weigh 0), :func:`genoml_core.learners.model_weights` (absolute coefficients or
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
    from .learners import model_weights

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


# ----------------------------------------------------------------------------- one recipe at once
@dataclass
class Harmonized:
    """A new cohort harmonized to one recipe: raw blocks in recipe order, and the report."""

    recipe: dict[str, Any]
    samples: pd.DataFrame  # FID, IID in .fam order
    genotypes: np.ndarray  # int8 (people, recipe SNPs), -1 = imputed
    other: np.ndarray  # float32 (people, recipe other features), NaN = imputed
    plan: VariantPlan
    other_match: OtherMatch

    @property
    def present(self) -> np.ndarray:
        """Recipe features (SNPs, then other) present in the new cohort."""
        return np.concatenate([self.plan.present, self.other_match.present])

    def features(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Scaled float32 model input for ``rows`` (all people by default), from the recipe alone."""
        sel = slice(None) if rows is None else rows
        return scale_features(self.recipe, self.genotypes[sel], self.other[sel])


def harmonize(
    recipe: Mapping[str, Any],
    bfile: str | os.PathLike[str],
    *,
    covariates: pd.DataFrame | None = None,
    omics: pd.DataFrame | None = None,
    ambiguous: str = "drop",
    match_by_position: bool = True,
    swap_alleles: bool = True,
    chunk_variants: int = 2048,
    engine: str = "lut",
) -> Harmonized:
    """Harmonize the PLINK fileset ``bfile`` (and its covariate/omics tables) to ``recipe``.

    Checks the fileset first (duplicated sample ids, ``.bed`` magic and size). For several
    recipes at once (k folds) use :func:`plan_variants` per recipe and one
    :func:`read_harmonized_genotypes`, as :mod:`genoml_core.predict` does.
    """
    fam = io.read_fam(bfile)
    bim = io.read_bim(bfile)
    io.check_bed(bfile, len(fam), len(bim))
    plan = plan_variants(recipe, bim, ambiguous=ambiguous, match_by_position=match_by_position,
                         swap_alleles=swap_alleles)
    (g,) = read_harmonized_genotypes(bfile, [plan], n_samples=len(fam), chunk_variants=chunk_variants, engine=engine)
    samples = fam[["FID", "IID"]].reset_index(drop=True)
    other = match_other_features(recipe, samples, {"covariate": covariates, "omics": omics})
    return Harmonized(recipe=dict(recipe), samples=samples, genotypes=g, other=other.values, plan=plan,
                      other_match=other)
