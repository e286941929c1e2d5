"""The SNP plan of a new cohort (where each recipe SNP comes from: :func:`plan_variants`) and its
genotypes read once for several plans (:func:`read_harmonized_genotypes`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ... import io
from ...errors import InputError
from .alleles import _SWAP, AMBIGUOUS_POLICIES, IMPUTED_STATUSES, USED_STATUSES, is_strand_ambiguous, normalize_chrom
from .alleles import resolve_alleles

log = logging.getLogger("genoml_core.genotypes.harmonize")  # the package's name, not __name__: warnings.json records it

_EXAMPLES = 20  # SNP ids listed per imputed status in the report


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


@dataclass(frozen=True)
class _BimColumns:
    """The new cohort's ``.bim`` as arrays: ids, alleles, chromosomes (:func:`normalize_chrom`), positions."""

    snp: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    chrom: np.ndarray
    pos: np.ndarray

    @classmethod
    def of(cls, bim: pd.DataFrame) -> "_BimColumns":
        return cls(
            snp=bim.SNP.astype(str).to_numpy(),
            a1=bim.A1.astype(str).to_numpy(),
            a2=bim.A2.astype(str).to_numpy(),
            chrom=np.array([normalize_chrom(c) for c in bim.CHR.to_numpy()], dtype=object),
            pos=bim.POS.to_numpy(),
        )


@dataclass
class _Matching:
    """A plan being made, per recipe SNP: the ``.bim`` row used (-1: imputed), status, how matched."""

    source: np.ndarray
    status: np.ndarray
    matched_by: np.ndarray

    @classmethod
    def unmatched(cls, p: int) -> "_Matching":
        return cls(source=np.full(p, -1, dtype=np.int64), status=np.full(p, "absent", dtype=object),
                   matched_by=np.full(p, "", dtype=object))


def _rows_by_id(snp: np.ndarray, ids: list[str]) -> pd.Series:
    """The ``.bim`` row of every recipe SNP id found there (id -> row).

    Raises:
        InputError: a recipe SNP id appears more than once in the new ``.bim``.
    """
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
    return pd.Series(np.flatnonzero(in_recipe), index=snp[in_recipe])


def _match_by_id(
    feats: list[dict[str, Any]], ids: list[str], bim: _BimColumns, m: _Matching, *, ambiguous: str
) -> tuple[int, list[int]]:
    """Resolve the recipe SNPs whose id is in the new ``.bim`` (into ``m``).

    Returns:
        ``(differs, unmatched)``: how many matched SNPs have another chromosome:position there,
        and the indices of the recipe SNPs whose id is not found.
    """
    row_of = _rows_by_id(bim.snp, ids)
    a1, a2, chrom, pos = bim.a1, bim.a2, bim.chrom, bim.pos
    source, status, matched_by = m.source, m.status, m.matched_by
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
    return differs, unmatched


def _rows_at_positions(
    feats: list[dict[str, Any]], unmatched: list[int], bim: _BimColumns
) -> dict[tuple[str, int], list[int]]:
    """The ``.bim`` rows at the chromosome:position of each ``unmatched`` recipe SNP, by position."""
    chrom, pos = bim.chrom, bim.pos
    keys = pd.MultiIndex.from_arrays([chrom, pos])
    want = pd.MultiIndex.from_arrays(
        [[normalize_chrom(feats[j]["chrom"]) for j in unmatched], [int(feats[j]["pos"]) for j in unmatched]]
    )
    rows_at: dict[tuple[str, int], list[int]] = {}
    for r in np.flatnonzero(keys.isin(want)):
        rows_at.setdefault((chrom[r], int(pos[r])), []).append(int(r))
    return rows_at


def _match_by_position(
    feats: list[dict[str, Any]], unmatched: list[int], bim: _BimColumns, m: _Matching, ambiguous_mask: np.ndarray,
    *, ambiguous: str,
) -> None:
    """Resolve the ``unmatched`` recipe SNPs by chromosome:position:alleles (into ``m``)."""
    a1, a2 = bim.a1, bim.a2
    source, status, matched_by = m.source, m.status, m.matched_by
    rows_at = _rows_at_positions(feats, unmatched, bim)
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


def _dosage_flips(status: np.ndarray, swap_alleles: bool) -> np.ndarray:
    """Which SNPs' counts are swapped, ``2 - count`` (none with ``swap_alleles=False``, tests only)."""
    flip = np.array([s in _SWAP for s in status], dtype=bool)
    if not swap_alleles and flip.any():
        log.warning("swap_alleles=False: %d allele-swapped SNPs use their stored counts unswapped "
                    "(wrong predictions; for tests only)", int(flip.sum()))
        flip[:] = False
    return flip


def _log_plan(plan: VariantPlan) -> None:
    c = plan.counts()
    log.info(
        "harmonized %d recipe SNPs: %d used (%d by id, %d by position; %d swapped, %d strand-flipped), "
        "%d imputed (%d absent, %d allele mismatch, %d strand-ambiguous dropped, %d multiple matches)",
        c["total"], c["used"], c["matched_by_id"], c["matched_by_position"], c["dosage_swapped"],
        c["strand_flipped"] + c["strand_flipped_swapped"], c["imputed"], c["absent"], c["allele_mismatch"],
        c["ambiguous_dropped"], c["multiple_matches"],
    )


def plan_variants(
    recipe: Mapping[str, Any],
    bim: pd.DataFrame,
    *,
    ambiguous: str = "drop",
    match_by_position: bool = True,
    swap_alleles: bool = True,
) -> VariantPlan:
    """Match every recipe SNP to a row of the new cohort's ``.bim`` (see :mod:`genoml_core.genotypes.harmonize`).

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
    ids = [str(f["id"]) for f in feats]
    m = _Matching.unmatched(len(feats))
    ambiguous_mask = np.array([is_strand_ambiguous(f["counted"], f["other"]) for f in feats], dtype=bool)
    cols = _BimColumns.of(bim)
    differs, unmatched = _match_by_id(feats, ids, cols, m, ambiguous=ambiguous)
    if match_by_position and unmatched:
        _match_by_position(feats, unmatched, cols, m, ambiguous_mask, ambiguous=ambiguous)
    plan = VariantPlan(
        ids=ids,
        source=m.source,
        flip=_dosage_flips(m.status, swap_alleles),
        status=m.status.astype(str),
        matched_by=m.matched_by.astype(str),
        ambiguous=ambiguous_mask,
        id_position_differs=differs,
        options={"ambiguous_snps": ambiguous, "match_by_position": bool(match_by_position),
                 "swap_alleles": bool(swap_alleles)},
    )
    _log_plan(plan)
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
