"""The new cohort's files: its SNPs shuffled, some alleles swapped, a few SNPs absent.

``n_new`` other people (``NFAM0001``/``NEW0001``) from the same model. Its ``.bim`` lists the
SNPs in a random order (the ``.bed`` follows it): the chromosomes in a random order, and the
SNPs of each chromosome in a random order (kept together, since PLINK rejects a .bim with a
"split chromosome"; unsorted positions within a chromosome it accepts).
``frac_swapped`` of the SNPs have A1/A2 exchanged with the stored count flipped to ``2 - g``
(the biological genotype is unchanged), and ``frac_absent`` of the SNPs (never causal ones) are
left out. It is first written unshuffled to a temporary ``.bed`` while the training cohort
streams out, then copied in the shuffled order by chunks, so memory stays bounded by a chunk for
both cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import BedWriter, iter_genotype_chunks, write_tsv
from . import _streams
from .design import People
from .spec import SimulationSpec
from .write import fam_table

__all__ = ["write_new_cohort"]


@dataclass(frozen=True)
class _Layout:
    """The new cohort's SNPs: ``absent`` and ``swapped`` (sorted training indexes), and ``order``,
    the training index of each new-cohort .bim row."""

    absent: np.ndarray
    present: np.ndarray
    swapped: np.ndarray
    chrom_order: np.ndarray
    order: np.ndarray


def _layout(spec: SimulationSpec, bim: pd.DataFrame, is_causal: np.ndarray) -> _Layout:
    n_snps = spec.n_snps
    nrng = np.random.default_rng([int(spec.seed), _streams.NEW])
    droppable = np.flatnonzero(~is_causal)
    absent = np.sort(nrng.choice(droppable, int(round(spec.frac_absent * n_snps)), replace=False))
    present = np.setdiff1d(np.arange(n_snps), absent)
    swapped = np.sort(nrng.choice(present, int(round(spec.frac_swapped * n_snps)), replace=False))
    chrom_present = bim.CHR.to_numpy()[present]
    chrom_order = nrng.permutation(np.unique(chrom_present))
    order = np.concatenate([nrng.permutation(present[chrom_present == c]) for c in chrom_order])
    return _Layout(absent=absent, present=present, swapped=swapped, chrom_order=chrom_order, order=order)


def write_new_cohort(
    out: Path, unshuffled: Path, spec: SimulationSpec, bim: pd.DataFrame, is_causal: np.ndarray, people: People
) -> dict[str, Any]:
    """Write ``out/new_cohort.{bed,bim,fam}`` from the unshuffled ``unshuffled.bed`` (training SNP
    order); return truth.json's ``new_cohort`` section."""
    n_new = spec.n_new
    lay = _layout(spec, bim, is_causal)
    is_swapped = np.zeros(spec.n_snps, dtype=bool)
    is_swapped[lay.swapped] = True
    order = lay.order
    with BedWriter(out / "new_cohort", n_new) as w:
        for start, block in iter_genotype_chunks(
            unshuffled, order, n_samples=n_new, chunk_variants=spec.chunk_snps, engine="lut"
        ):
            flip = is_swapped[order[start : start + block.shape[1]]]
            sub = block[:, flip]
            block[:, flip] = np.where(sub >= 0, 2 - sub, -1)
            w.write_block(block)
    new_bim = bim.iloc[order].reset_index(drop=True)
    sw = is_swapped[order]
    new_bim.loc[sw, ["A1", "A2"]] = new_bim.loc[sw, ["A2", "A1"]].to_numpy()
    write_tsv(new_bim, out / "new_cohort.bim", header=False)
    write_tsv(fam_table(people, slice(people.n_train, people.n_total)), out / "new_cohort.fam", header=False)
    return {
        "n_samples": n_new,
        "n_snps": int(len(lay.present)),
        "bad_samples": [],
        "bad_snps_present": True,
        "snp_order": "chromosomes in a random order, SNPs in a random order within each chromosome",
        "chromosome_order": [str(c) for c in lay.chrom_order],
        "swapped_snps": bim.SNP.iloc[lay.swapped].tolist(),
        "absent_snps": bim.SNP.iloc[lay.absent].tolist(),
    }
