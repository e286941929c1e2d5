"""Truth recovery on simulated cohorts.

Truth (simulated cohorts)
    With a ``truth.json`` (from :mod:`genoml_core.simulate`), :func:`truth_recovery` counts the
    true causal SNPs among the top-k SNPs, a causal SNP counting as found when a top-k SNP is the
    SNP itself or an LD proxy: same chromosome, within ``ld_prune.window`` variants in the .bim
    order, and r2 >= ``truth_min_r2`` (default ``ld_prune.r2``) on the fold's training samples.
    Beside it, what a random ranking of the model's SNPs would give (exact expectation).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .. import io
from ..errors import InputError


def causal_snps_from_truth(truth: Mapping[str, Any], phenotype: str | None) -> tuple[list[str], str]:
    """The causal SNP ids of ``phenotype`` in a simulate ``truth.json`` (else all causal SNPs).

    >>> causal_snps_from_truth({"case_control": {"causal": [{"snp": "rs3"}, {"snp": "rs10"}]}}, "case_control")
    (['rs3', 'rs10'], 'case_control.causal')
    >>> causal_snps_from_truth({"causal_snps": ["rs1"]}, "quantitative")
    (['rs1'], 'causal_snps')
    """
    if phenotype and isinstance(truth.get(phenotype), Mapping) and "causal" in truth[phenotype]:
        return [str(c["snp"]) for c in truth[phenotype]["causal"]], f"{phenotype}.causal"
    if "causal_snps" in truth:
        return [str(s) for s in truth["causal_snps"]], "causal_snps"
    raise InputError(f"truth file has neither {phenotype!r}.causal nor causal_snps")


def _r2(a: np.ndarray, b: np.ndarray) -> float:
    ok = (a >= 0) & (b >= 0)
    if ok.sum() < 3:
        return math.nan
    x, y = a[ok].astype(np.float64), b[ok].astype(np.float64)
    if x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def _p_hit(n: int, t: int, k: int) -> float:
    """P(at least one of t marked items among k drawn from n without replacement).

    >>> round(_p_hit(10, 1, 3), 6), _p_hit(10, 0, 3), _p_hit(10, 8, 3)
    (0.3, 0.0, 1.0)
    """
    if t <= 0 or k <= 0:
        return 0.0
    if n - t < k:
        return 1.0
    # 1 - C(n - t, k) / C(n, k), in logs
    log_miss = (math.lgamma(n - t + 1) - math.lgamma(n - t - k + 1)) - (math.lgamma(n + 1) - math.lgamma(n - k + 1))
    return float(1.0 - math.exp(log_miss))


class _Panel(NamedTuple):
    """The model's SNPs and the causal SNPs placed in the .bim, with the genotypes r2 needs."""

    pos: pd.Series  # SNP id -> .bim row
    chrom: np.ndarray  # chromosome of each .bim row
    cand_name: dict[int, str]  # .bim row -> id of each candidate (a SNP the model sees)
    causal_in: list[str]  # the causal SNPs in the .bim
    neighbours: dict[str, list[int]]  # causal SNP -> .bim rows of the candidates within the window
    geno: np.ndarray  # genotypes of the training samples at the ``need`` rows
    col: dict[int, int]  # .bim row -> column of ``geno``
    n_cand: int


def _panel(ranked_snps: Sequence[str], causal: Sequence[str], *, bfile: str, sample_idx: np.ndarray, window: int,
           engine: str) -> _Panel:
    """Candidates and causal SNPs located in ``bfile``; genotypes of every causal SNP and its neighbours."""
    bim = io.read_bim(bfile)
    pos = pd.Series(np.arange(len(bim)), index=bim.SNP.astype(str))
    chrom = bim.CHR.astype(str).to_numpy()
    cand = [s for s in dict.fromkeys(ranked_snps) if s in pos.index]
    cand_idx = pos.loc[cand].to_numpy() if cand else np.zeros(0, dtype=np.int64)
    cand_name = dict(zip(cand_idx.tolist(), cand))
    causal_in = [c for c in dict.fromkeys(causal) if c in pos.index]
    neighbours: dict[str, list[int]] = {}
    for c in causal_in:
        i = int(pos[c])
        near = cand_idx[(np.abs(cand_idx - i) < window) & (chrom[cand_idx] == chrom[i])]
        neighbours[c] = near.tolist()
    need = sorted({int(pos[c]) for c in causal_in} | {j for v in neighbours.values() for j in v})
    geno = (io.read_genotypes(bfile, np.asarray(need, dtype=np.int64), np.sort(np.asarray(sample_idx)), engine=engine)
            if need and len(sample_idx) else np.zeros((0, 0), np.int8))
    col = {j: k for k, j in enumerate(need)}
    return _Panel(pos, chrom, cand_name, causal_in, neighbours, geno, col, len(cand))


def _tags(panel: _Panel, c: str, min_r2: float) -> list[tuple[str, float]]:
    """The candidates that tag causal SNP ``c`` (itself, or an LD proxy in the window): (id, r2)."""
    i = int(panel.pos[c])
    tags = []
    for j in panel.neighbours[c]:
        name = panel.cand_name[j]
        r2 = 1.0 if j == i else _r2(panel.geno[:, panel.col[i]], panel.geno[:, panel.col[j]])
        if j == i or (not math.isnan(r2) and r2 >= min_r2):
            tags.append((name, r2))
    return tags


def _causal_entry(panel: _Panel, c: str, tags: list[tuple[str, float]], rank: Mapping[str, int]) -> dict[str, Any]:
    """The per-causal-SNP record of a causal SNP found in the .bim."""
    hits = sorted(((t, r2) for t, r2 in tags if t in rank), key=lambda h: rank[h[0]])
    return {
        "snp": c,
        "chrom": str(panel.chrom[int(panel.pos[c])]),
        "in_genotypes": True,
        "in_model": c in panel.cand_name.values(),
        "n_tags": len(tags),
        "found": bool(hits),
        "found_directly": c in rank,
        "found_by": [{"snp": t, "rank": rank[t], "r2": round(r2, 4)} for t, r2 in hits],
    }


def truth_recovery(
    ranked_snps: Sequence[str],
    top: Sequence[str],
    causal: Sequence[str],
    *,
    bfile: str,
    sample_idx: np.ndarray,
    window: int,
    min_r2: float,
    engine: str = "lut",
) -> dict[str, Any]:
    """How many true causal SNPs the top SNPs find, directly or through an LD proxy.

    Args:
        ranked_snps: every SNP the model sees (its candidates), any order.
        top: the top-k SNPs of the explanation.
        causal: true causal SNP ids.
        bfile: PLINK prefix the genotypes are read from.
        sample_idx: .fam rows of the training samples used for r2.
        window: a proxy lies within this many variants (.bim order, same chromosome).
        min_r2: a proxy has r2 >= this with the causal SNP.
        engine: .bed decoder.

    Returns:
        Counts (found, found directly, reachable through the candidates, expected under a random
        ranking of the candidates), the hypergeometric view of the top-k features that tag a causal
        SNP, and a per-causal-SNP list.
    """
    from scipy.stats import hypergeom

    panel = _panel(ranked_snps, causal, bfile=bfile, sample_idx=sample_idx, window=window, engine=engine)
    top_set = set(top)
    rank = {s: r for r, s in enumerate(top, start=1)}
    n_cand, k = panel.n_cand, len(top)
    per_causal: list[dict[str, Any]] = []
    tagging: set[str] = set()
    expected = 0.0
    for c in dict.fromkeys(causal):
        if c not in panel.pos.index:
            per_causal.append({"snp": c, "in_genotypes": False, "in_model": False, "n_tags": 0, "found": False})
            continue
        tags = _tags(panel, c, min_r2)
        tagging.update(t for t, _ in tags)
        expected += _p_hit(n_cand, len(tags), k)
        per_causal.append(_causal_entry(panel, c, tags, rank))
    n_found = sum(p["found"] for p in per_causal)
    tag_top = len(tagging & top_set)
    expected_tag = k * len(tagging) / n_cand if n_cand else 0.0
    p_value = float(hypergeom.sf(tag_top - 1, n_cand, len(tagging), k)) if n_cand and k else math.nan
    return {
        "n_causal": len(per_causal),
        "n_causal_in_genotypes": len(panel.causal_in),
        "n_causal_in_model": sum(bool(p.get("in_model")) for p in per_causal),
        "n_causal_reachable": sum(p["n_tags"] > 0 for p in per_causal),
        "top_k": k,
        "n_candidates": n_cand,
        "found": int(n_found),
        "found_directly": int(sum(bool(p.get("found_directly")) for p in per_causal)),
        "expected_random": round(expected, 3),
        "tagging_candidates": len(tagging),
        "tagging_in_top_k": tag_top,
        "tagging_expected_random": round(expected_tag, 3),
        "tagging_p_value": p_value,
        "proxy_rule": (f"a top-k SNP is the causal SNP, or on the same chromosome within {window} variants "
                       f"(.bim order) with r2 >= {min_r2:g} on {len(sample_idx)} training samples"),
        "random_rule": (f"expected causal SNPs found by {k} SNPs drawn at random from the model's {n_cand} SNPs: "
                        "sum over causal SNPs of 1 - C(N - tags, k) / C(N, k)"),
        "causal": per_causal,
    }
