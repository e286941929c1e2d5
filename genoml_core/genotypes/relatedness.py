"""Relatives and duplicates: KING kinship before the split, and the groups the split keeps together.

A person's twin, sibling or duplicate sample on the other side of a split is a copy of the
answer: a pure-noise phenotype shared by 400 pairs of identical twins gave a held-out AUC of
0.98 with k-nearest neighbours. So, before anything is split:

1. :func:`king_pairs` runs ``plink2 --make-king-table`` (KING-robust kinship, Manichaikul et al.
   2010) on the analysis samples that passed sample QC. It reads genotypes only, never the
   phenotype, so it leaks nothing, and it may use every analysis sample. Pairs with kinship at or
   above the threshold (default 0.0884 = second degree) are kept.
2. :func:`apply_policy` turns the pairs (and, optionally, shared family ids) into what the split
   needs: ``group`` keeps every connected set of relatives (and every FID family) on one side of
   every split; ``drop`` removes people until no related pair is left (the one in most pairs
   first, as ``plink2 --king-cutoff`` does), FID families still grouped; ``ignore`` does neither
   and warns how many related pairs may straddle the split.

KING's degree bands (kinship phi): duplicate / monozygotic twin phi > 0.354, first degree
0.177-0.354, second degree 0.0884-0.177, third degree 0.0442-0.0884.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "DEGREE_BOUNDS",
    "PAIR_COLUMNS",
    "POLICIES",
    "apply_policy",
    "degree_of",
    "king_pairs",
    "read_pairs",
    "relatedness_groups",
    "summarize_pairs",
]

log = logging.getLogger(__name__)

POLICIES = ("group", "drop", "ignore")
PAIR_COLUMNS = ["FID1", "IID1", "FID2", "IID2", "NSNP", "KINSHIP"]
#: Lower kinship bound of each KING degree band (Manichaikul et al. 2010, Table 1).
DEGREE_BOUNDS = {"duplicate_or_mz_twin": 0.354, "first_degree": 0.177, "second_degree": 0.0884, "third_degree": 0.0442}
#: An FID shared by more people than this (and more than 5% of the samples) looks like a batch or
#: site label, not a family: such FIDs are not used for grouping (with a warning).
MAX_FAMILY_SIZE = 50
#: Below this many variants KING's estimates are too noisy to trust at the second degree.
MIN_VARIANTS = 3000
#: The kinship threshold used instead when fewer variants than :data:`MIN_VARIANTS` remain.
FEW_VARIANTS_THRESHOLD = 0.177


def degree_of(kinship: float) -> str:
    """KING's name for a kinship coefficient (``"unrelated"`` below the third-degree bound)."""
    for name, bound in DEGREE_BOUNDS.items():
        if kinship > bound if name == "duplicate_or_mz_twin" else kinship >= bound:
            return name
    return "unrelated"


def king_pairs(
    bfile: str,
    samples: pd.DataFrame,
    *,
    threshold: float,
    max_variants: int | None,
    seed: int,
    threads: int = 1,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """KING-robust kinship of every pair of ``samples`` with ``plink2 --make-king-table``.

    Args:
        bfile: PLINK 1 prefix.
        samples: FID IID of the people to compare (those that passed sample QC).
        threshold: Pairs with kinship >= ``threshold`` are returned.
        max_variants: Use at most this many variants with MAF >= 0.01, drawn at random (seeded);
            ``None`` uses every variant. KING needs a few thousand for second degree; its cost
            grows with samples^2 x variants.
        seed: Seed of the variant draw.
        threads: plink2 threads.

    Returns:
        ``(pairs, info)``: pairs as :data:`PAIR_COLUMNS` (sorted by kinship, descending) and
        ``{"n_samples", "n_variants", "threshold_used"}``: what was compared, and the threshold
        applied (:data:`FEW_VARIANTS_THRESHOLD` when fewer than :data:`MIN_VARIANTS` variants remain).
    """
    from .plink import read_keep, run_plink, write_keep

    if len(samples) < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS), {"n_samples": len(samples), "n_variants": 0,
                                                    "threshold_used": float(threshold)}
    with tempfile.TemporaryDirectory(prefix="genoml_king_") as tmp:
        keep = Path(tmp) / "in.keep"
        write_keep(samples, keep)
        args: list[Any] = ["--bfile", bfile, "--keep", keep, "--maf", 0.01]
        if max_variants is not None and _count_variants(bfile) > max_variants:
            # --thin-count draws the variants after the MAF filter; --seed makes the draw repeatable
            args += ["--thin-count", int(max_variants), "--seed", int(seed)]
        args += ["--make-king-table", "--king-table-filter", float(threshold), "--write-samples"]
        out = Path(tmp) / "king"
        run_plink(args, out, threads=threads)
        n_compared = len(read_keep(Path(f"{out}.id")))
        n_variants = _variants_used(Path(f"{out}.log"))
        table = pd.read_csv(f"{out}.kin0", sep="\t", dtype={"#FID1": str, "IID1": str, "FID2": str, "IID2": str})
    table = table.rename(columns={"#FID1": "FID1"})
    missing = [c for c in PAIR_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"plink2 --make-king-table wrote no {missing} columns; plink2 2.00a3 or newer is needed")
    if n_variants is not None and n_variants < MIN_VARIANTS and threshold < FEW_VARIANTS_THRESHOLD:
        # too few variants to tell second-degree relatives from noise: keep first degree and closer
        log.warning(
            "relatedness: KING compared %d people on only %d variants (MAF >= 0.01); below ~%d its "
            "kinship estimates are too noisy for second-degree relatives, so only pairs with kinship >= %.3f "
            "(first degree, duplicates) are used instead of >= %.4f", n_compared, n_variants, MIN_VARIANTS,
            FEW_VARIANTS_THRESHOLD, threshold,
        )
        table = table[table["KINSHIP"] >= FEW_VARIANTS_THRESHOLD]
        threshold = FEW_VARIANTS_THRESHOLD
    pairs = table[PAIR_COLUMNS].sort_values(["KINSHIP", "FID1", "IID1", "FID2", "IID2"], ascending=[False] + [True] * 4)
    return pairs.reset_index(drop=True), {"n_samples": n_compared, "n_variants": n_variants,
                                          "threshold_used": float(threshold)}


def _count_variants(bfile: str) -> int:
    with open(f"{bfile}.bim", "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _variants_used(plink_log: Path) -> int | None:
    """Variants that remained for KING, read from plink2's log (``N variants remaining``)."""
    if not plink_log.exists():
        return None
    found = None
    for line in plink_log.read_text().splitlines():
        words = line.split()
        if "remaining" in words and "variants" in words:
            try:
                found = int(words[0])
            except ValueError:
                continue
    return found


def read_pairs(path: str | Path) -> pd.DataFrame:
    """Read a pair table written by the ``relatedness`` rule (:data:`PAIR_COLUMNS`)."""
    return pd.read_csv(path, sep="\t", dtype={"FID1": str, "IID1": str, "FID2": str, "IID2": str})


def summarize_pairs(pairs: pd.DataFrame, *, threshold: float) -> dict[str, Any]:
    """Counts of related pairs by KING degree (aggregates only: no sample ids)."""
    by_degree = {name: 0 for name in DEGREE_BOUNDS}
    for k in pairs["KINSHIP"].to_numpy(dtype=float):
        name = degree_of(float(k))
        if name in by_degree:
            by_degree[name] += 1
    people = set(zip(pairs.FID1, pairs.IID1)) | set(zip(pairs.FID2, pairs.IID2))
    return {
        "threshold": float(threshold),
        "n_related_pairs": int(len(pairs)),
        "n_duplicate_pairs": int(by_degree["duplicate_or_mz_twin"]),
        "pairs_by_degree": by_degree,
        "n_people_in_related_pairs": len(people),
        "max_kinship": float(pairs["KINSHIP"].max()) if len(pairs) else None,
    }


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _index(samples: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(str(f), str(i)): k for k, (f, i) in enumerate(zip(samples.FID, samples.IID))}


def _pair_indices(samples: pd.DataFrame, pairs: pd.DataFrame) -> list[tuple[int, int]]:
    """Pairs as row positions in ``samples``; pairs with a person not in ``samples`` are skipped."""
    pos = _index(samples)
    out = []
    for f1, i1, f2, i2 in zip(pairs.FID1, pairs.IID1, pairs.FID2, pairs.IID2):
        a, b = pos.get((str(f1), str(i1))), pos.get((str(f2), str(i2)))
        if a is not None and b is not None and a != b:
            out.append((a, b))
    return out


def _usable_fids(samples: pd.DataFrame) -> tuple[bool, str | None]:
    """Whether FIDs look like families; if not, the reason (a warning for the user)."""
    sizes = samples.groupby("FID").size()
    largest = int(sizes.max()) if len(sizes) else 0
    if largest > max(MAX_FAMILY_SIZE, 0.05 * len(samples)):
        return False, (
            f"FID {sizes.idxmax()!r} is shared by {largest} of {len(samples)} people: the FIDs look like "
            "batch or site labels, not families, so they are not used to group relatives (KING kinship "
            "still is). Give each family its own FID, or set relatedness.group_by_fid: false to silence this"
        )
    return True, None


def relatedness_groups(samples: pd.DataFrame, pairs: pd.DataFrame, *, group_by_fid: bool) -> np.ndarray:
    """Connected sets of relatives (and, with ``group_by_fid``, of people sharing an FID).

    Returns one group label per row of ``samples``: the ``FID IID`` of the group's first member
    in ``samples`` order, so labels are stable and readable.
    """
    n = len(samples)
    uf = _UnionFind(n)
    for a, b in _pair_indices(samples, pairs):
        uf.union(a, b)
    if group_by_fid:
        first: dict[str, int] = {}
        for k, fid in enumerate(samples.FID.astype(str)):
            uf.union(first.setdefault(fid, k), k)
    labels = [f"{samples.FID.iloc[r]} {samples.IID.iloc[r]}" for r in (uf.find(k) for k in range(n))]
    return np.asarray(labels, dtype=object)


def _drop_related(samples: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Boolean mask of people to drop so that no related pair remains.

    Greedy, as ``plink2 --king-cutoff``: repeatedly drop the person in the most remaining pairs
    (ties: the later one in FID, IID order), which keeps more people than dropping one per pair.
    Label-free: the phenotype plays no part.
    """
    edges = _pair_indices(samples, pairs)
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    order = np.lexsort((samples.IID.astype(str).to_numpy(), samples.FID.astype(str).to_numpy()))
    rank = np.empty(len(samples), dtype=int)
    rank[order] = np.arange(len(samples))
    drop = np.zeros(len(samples), dtype=bool)
    while neighbours:
        worst = max(neighbours, key=lambda k: (len(neighbours[k]), rank[k]))
        drop[worst] = True
        for other in neighbours.pop(worst):
            neighbours[other].discard(worst)
            if not neighbours[other]:
                del neighbours[other]
    return drop


def apply_policy(
    samples: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    policy: str,
    group_by_fid: bool,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the relatedness policy to the samples about to be split.

    Args:
        samples: The QC-passed samples (FID IID and any other columns).
        pairs: Related pairs (:data:`PAIR_COLUMNS`; may be empty, e.g. without genotypes).
        policy: ``group`` (relatives and FID families on one side of every split), ``drop`` (one
            of each related pair removed, FID families grouped), ``ignore``.
        group_by_fid: Whether people sharing an FID form a family to keep together (ignored,
            with a warning, when the FIDs look like batch labels).

    Returns:
        ``(kept, summary)``: ``kept`` is ``samples`` less the dropped people, with a ``group``
        column (one label per set of people the split must keep together); ``summary`` holds
        counts only (no sample ids).
    """
    if policy not in POLICIES:
        raise InputError(f"relatedness.policy {policy!r} is not one of {list(POLICIES)}")
    samples = samples.reset_index(drop=True)
    pairs = pairs if len(pairs) else pd.DataFrame(columns=PAIR_COLUMNS)
    summary: dict[str, Any] = {"policy": policy, "n_samples_before": len(samples)}
    n_straddle_possible = len(_pair_indices(samples, pairs))
    use_fid = group_by_fid and policy != "ignore"
    if use_fid:
        use_fid, why = _usable_fids(samples)
        if why:
            log.warning("relatedness: %s", why)
    summary["grouped_by_fid"] = bool(use_fid)
    if policy == "drop":
        drop = _drop_related(samples, pairs)
        summary["n_dropped"] = int(drop.sum())
        if drop.any():
            log.warning(
                "relatedness: dropped %d people so that no pair with kinship >= the threshold remains "
                "(policy drop; set relatedness.policy: group to keep them, grouped)", int(drop.sum())
            )
        samples = samples.loc[~drop].reset_index(drop=True)
    else:
        summary["n_dropped"] = 0
    if policy == "ignore":
        groups = np.asarray([f"{f} {i}" for f, i in zip(samples.FID, samples.IID)], dtype=object)
        if n_straddle_possible:
            log.warning(
                "relatedness: %d related pairs are ignored (policy ignore): relatives may fall on both "
                "sides of the split, which inflates held-out metrics; use relatedness.policy: group",
                n_straddle_possible,
            )
    else:
        groups = relatedness_groups(samples, pairs, group_by_fid=use_fid)
    sizes = pd.Series(groups).value_counts()
    multi = sizes[sizes > 1]
    summary.update(
        n_samples_after=len(samples),
        n_groups_of_relatives=int(len(multi)),
        n_people_in_groups=int(multi.sum()),
        largest_group=int(sizes.max()) if len(sizes) else 0,
    )
    if len(sizes) and sizes.max() > max(MAX_FAMILY_SIZE, 0.05 * len(samples)):
        log.warning(
            "relatedness: one group of relatives holds %d of %d people; the split keeps it on one side, "
            "so fold sizes and class balance may be uneven (cryptic relatedness or a low "
            "relatedness.king_threshold?)", int(sizes.max()), len(samples),
        )
    out = samples.copy()
    out["group"] = groups
    return out, summary
