"""Allele resolution of one SNP: chromosome codes, strand ambiguity, and how a new ``.bim`` row's
alleles relate to a recipe SNP's (the statuses of :mod:`genoml_core.genotypes.harmonize`)."""

from __future__ import annotations

from typing import Any

AMBIGUOUS_POLICIES = ("drop", "keep")
#: statuses of recipe SNPs whose genotypes come from the new cohort
USED_STATUSES = ("direct", "swapped", "strand_flipped", "strand_flipped_swapped")
#: statuses of recipe SNPs filled with the training imputation value
IMPUTED_STATUSES = ("ambiguous_dropped", "allele_mismatch", "multiple_matches", "absent")
_SWAP = frozenset({"swapped", "strand_flipped_swapped"})
_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
_UNKNOWN_ALLELE = frozenset({"0", "."})
_CHROM_ALIASES = {"X": "23", "Y": "24", "XY": "25", "M": "26", "MT": "26"}


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
    or ``"ambiguous_dropped"`` (see :mod:`genoml_core.genotypes.harmonize`).
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
