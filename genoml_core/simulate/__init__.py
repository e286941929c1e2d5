"""A deterministic, realistic example cohort: PLINK genotypes, phenotypes, covariates, a new cohort.

:func:`simulate_cohort` writes a training cohort and an independent "new" cohort drawn from the
same populations and genetic model, plus ``truth.json`` saying exactly how they were made, so the
pipeline's quality control, LD pruning, modelling and new-cohort alignment can be checked against
known answers. Nothing is downloaded; the same :class:`SimulationSpec` gives byte-identical files
(on the same numpy/scipy versions: numpy does not promise identical random streams across
releases). From Python::

    from genoml_core.simulate import SimulationSpec, simulate_cohort
    truth = simulate_cohort("resources/example", SimulationSpec(seed=42))

and from the shell: ``genoml-simulate --out resources/example --seed 42``.

Modules, by concern:

* :mod:`~genoml_core.simulate.spec`: :class:`SimulationSpec`, every setting, its defaults and checks.
* :mod:`~genoml_core.simulate.genotypes`: the SNP model (positions, LD blocks, alleles, two
  populations' allele frequencies, missing calls, bad SNPs) and the genotypes, streamed to .bed.
* :mod:`~genoml_core.simulate.design`: the causal SNPs and their effects, the bad SNPs, the people.
* :mod:`~genoml_core.simulate.phenotypes`: the traits (case_control, quantitative, three_class)
  and the genetic architectures (additive, sparse, epistatic).
* :mod:`~genoml_core.simulate.new_cohort`: the new cohort's shuffled SNPs, swapped alleles and
  absent SNPs.
* :mod:`~genoml_core.simulate.write`: the tables; :mod:`~genoml_core.simulate.truth`: ``truth.json``.
* :mod:`~genoml_core.simulate.run`: :func:`simulate_cohort`; :mod:`~genoml_core.simulate.cli`:
  ``genoml-simulate`` (also ``python -m genoml_core.simulate``).
"""

from .cli import main
from .genotypes import POPULATIONS
from .phenotypes import THREE_CLASS_LABELS, three_class_probabilities
from .run import simulate_cohort
from .spec import ARCHITECTURES, SimulationSpec

__all__ = [
    "SimulationSpec",
    "simulate_cohort",
    "three_class_probabilities",
    "main",
    "ARCHITECTURES",
    "POPULATIONS",
    "THREE_CLASS_LABELS",
]
