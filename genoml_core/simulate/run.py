""":func:`simulate_cohort`: draw everything a :class:`~genoml_core.simulate.SimulationSpec` asks for and
write the files, in the order the random streams and the byte-identical files depend on."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io import write_json, write_tsv
from .design import CausalSnps, People, draw_people, effects_rng, pick_causal, pick_defects
from .genotypes import SnpDefects, SnpModel, generate_genotypes, snp_model
from .new_cohort import write_new_cohort
from .phenotypes import simulate_traits
from .spec import SimulationSpec
from .truth import Simulated, build_truth
from .write import fam_table, write_tables

__all__ = ["simulate_cohort"]

log = logging.getLogger("genoml_core.simulate")  # the package's name, not __name__: warnings.json records it


def _write_genotypes(
    out: Path, spec: SimulationSpec, snp: SnpModel, causal: CausalSnps, defects: SnpDefects, people: People, t0: float
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Write both cohorts' .bed/.bim/.fam (the new cohort through an unshuffled temporary .bed);
    return the causal SNPs' true genotypes and truth.json's ``new_cohort`` section."""
    with tempfile.TemporaryDirectory(prefix=".simulate-", dir=out) as tmpdir:
        tmp_new = Path(tmpdir) / "new_unshuffled" if spec.n_new else None
        causal_g = generate_genotypes(
            seed=int(spec.seed),
            snp=snp,
            pop=people.pop,
            n_train=people.n_train,
            sample_missing=people.sample_missing,
            defects=defects,
            causal=causal.union,
            train_prefix=out / "cohort",
            new_prefix=tmp_new,
            chunk_snps=spec.chunk_snps,
        )
        log.info("genotypes written (%.1f s)", time.perf_counter() - t0)
        write_tsv(snp.bim, out / "cohort.bim", header=False)
        write_tsv(fam_table(people, slice(0, people.n_train)), out / "cohort.fam", header=False)
        new_info = None
        if tmp_new is not None:
            new_info = write_new_cohort(out, tmp_new, spec, snp.bim, causal.mask(spec.n_snps), people)
    return causal_g, new_info


def simulate_cohort(out_dir: str | os.PathLike[str], spec: SimulationSpec | None = None) -> dict[str, Any]:
    """Simulate a training cohort and a new cohort into ``out_dir``; return the truth.

    Files written (tables tab-separated with a header, ids as strings): ``cohort.bed/.bim/.fam``,
    ``phenotype.tsv`` (FID IID case_control quantitative three_class), ``covariates.tsv`` (FID IID
    sex age; sex = fam SEX - 1, i.e. 0 male, 1 female), ``groups.tsv`` (FID IID ancestry sex),
    ``oracle.tsv`` (the noise-free liabilities), the same for ``new_cohort*`` (when ``n_new > 0``),
    and ``truth.json`` (the returned dict). See :mod:`genoml_core.simulate` for the model.

    Args:
        out_dir: output folder (created).
        spec: the settings; None: the defaults, ``SimulationSpec()``.

    Returns:
        The truth dictionary also written to ``truth.json``.

    Raises:
        ConfigError: impossible settings (from :class:`SimulationSpec`), or too few SNPs for
            the causal and bad SNPs.
        TypeError: ``spec`` is not a :class:`SimulationSpec`.

    Example:
        >>> import tempfile
        >>> spec = SimulationSpec(n_samples=100, n_snps=600, n_chromosomes=2, n_new=20, n_causal=6, n_bad_snps=2,
        ...                       n_bad_samples=2, seed=1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     truth = simulate_cohort(d, spec)
        ...     sorted(p.name for p in Path(d).iterdir())[:4]
        ['cohort.bed', 'cohort.bim', 'cohort.fam', 'covariates.tsv']
        >>> truth["parameters"]["n_samples"], len(truth["case_control"]["causal"])
        (100, 6)
    """
    if spec is None:
        spec = SimulationSpec()
    elif not isinstance(spec, SimulationSpec):
        raise TypeError(f"simulate_cohort: spec must be a SimulationSpec, got {type(spec).__name__}")
    t0 = time.perf_counter()
    seed = int(spec.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    snp = snp_model(seed, spec.n_snps, spec.n_chromosomes, spec.fst, spec.frac_ambiguous)
    rng = effects_rng(seed)
    causal = pick_causal(rng, snp, spec)
    defects = pick_defects(rng, snp, causal.mask(spec.n_snps), spec)
    people = draw_people(spec)

    log.info("simulating %d + %d samples x %d SNPs into %s", spec.n_samples, spec.n_new, spec.n_snps, out)
    causal_g, new_info = _write_genotypes(out, spec, snp, causal, defects, people, t0)
    traits = simulate_traits(spec, snp, causal, causal_g, people)
    write_tables(out, people, traits, spec.extended)
    truth = build_truth(Simulated(spec, snp, causal, defects, people, traits, new_info))
    write_json(truth, out / "truth.json")
    auc = truth["case_control"]["oracle_auc"]
    log.info(
        "done in %.1f s: oracle AUC training %.3f, new %s; case fraction %.3f",
        time.perf_counter() - t0,
        auc["training"],
        "-" if auc["new"] is None else f"{auc['new']:.3f}",
        truth["case_control"]["case_fraction"]["training"],
    )
    return truth
