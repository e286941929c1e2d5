"""``genoml-simulate``: the command line of :func:`~genoml_core.simulate.simulate_cohort`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import Sequence

from .. import __version__
from ..errors import ConfigError
from .run import simulate_cohort
from .spec import ARCHITECTURES, INTERACTION_SHARE_DEFAULT, N_PAIRS_DEFAULT, SimulationSpec

__all__ = ["main", "build_parser"]

DESCRIPTION = "A deterministic, realistic example cohort: PLINK genotypes, phenotypes, covariates, a new cohort."
_DEFAULT = {f.name: f.default for f in dataclasses.fields(SimulationSpec)}
# options whose default is "unset" (None): left out of the spec when not given
_OPTIONAL = ("n_causal", "architecture", "interaction_share", "n_pairs", "h2", "h2_quantitative", "h2_three_class",
             "prevalence", "frac_pop_b", "fst", "group_shift", "frac_swapped", "frac_absent")


def _d(name: str) -> str:
    return f"(default: {_DEFAULT[name]})"


def _add_architecture_options(ap: argparse.ArgumentParser) -> None:
    arch = ap.add_argument_group("genetic architecture (the same for case_control, quantitative and three_class)")
    arch.add_argument("--architecture", choices=ARCHITECTURES, default=None,
                      help="additive: n-causal SNPs with N(0,1) standardized effects; sparse: a few large equal "
                           "effects (n-causal defaults to 10); epistatic: additive plus pairwise interactions "
                           "carrying --interaction-share of the genetic variance. Unset: additive, with files "
                           "byte-identical to earlier releases (naming it adds the architecture to truth.json "
                           "and the three_class_liability oracle column)")
    arch.add_argument("--n-causal", type=int, default=None,
                      help="causal SNPs of case_control (quantitative and three_class share half and have as many "
                           "of their own) (default: 40; 10 for sparse)")
    arch.add_argument("--interaction-share", type=float, default=None,
                      help="epistatic only: share of the genetic variance from pairwise interactions, in (0, 1) "
                           f"(default: {INTERACTION_SHARE_DEFAULT})")
    arch.add_argument("--n-pairs", type=int, default=None,
                      help=f"epistatic only: interacting pairs of causal SNPs per trait (default: "
                           f"min({N_PAIRS_DEFAULT}, n-causal // 2))")
    arch.add_argument("--h2", type=float, default=None,
                      help=f"variance of the case_control genetic liability; total liability variance 1 {_d('h2')}")
    arch.add_argument("--h2-quantitative", type=float, default=None,
                      help=f"the same for the quantitative trait {_d('h2_quantitative')}")
    arch.add_argument("--h2-three-class", type=float, default=None,
                      help=f"the same for the three-class trait {_d('h2_three_class')}")
    arch.add_argument("--prevalence", type=float, default=None,
                      help=f"case fraction of case_control on the training cohort {_d('prevalence')}")


def _add_population_and_new_cohort_options(ap: argparse.ArgumentParser) -> None:
    pops = ap.add_argument_group("ancestry (two populations, pop_a and pop_b)")
    pops.add_argument("--frac-pop-b", type=float, default=None,
                      help=f"expected fraction of pop_b; 0.5 for an even two-ancestry mix {_d('frac_pop_b')}")
    pops.add_argument("--fst", type=float, default=None,
                      help="Balding-Nichols F of each population relative to the ancestral allele frequencies; "
                           f"larger = more different populations {_d('fst')}")
    pops.add_argument("--group-shift", type=float, default=None,
                      help=f"case_control liability shift of pop_b {_d('group_shift')}")
    new = ap.add_argument_group("new cohort")
    new.add_argument("--frac-swapped", type=float, default=None,
                     help=f"fraction of SNPs with A1/A2 swapped in the new cohort {_d('frac_swapped')}")
    new.add_argument("--frac-absent", type=float, default=None,
                     help=f"fraction of (non-causal) SNPs absent from the new cohort {_d('frac_absent')}")


def build_parser() -> argparse.ArgumentParser:
    """The ``genoml-simulate`` argument parser (defaults from :class:`SimulationSpec`)."""
    ap = argparse.ArgumentParser(prog="genoml-simulate", description=DESCRIPTION)
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument(
        "--n-samples", type=int, default=_DEFAULT["n_samples"], help=f"training cohort size {_d('n_samples')}"
    )
    ap.add_argument("--n-snps", type=int, default=_DEFAULT["n_snps"], help=f"number of SNPs {_d('n_snps')}")
    ap.add_argument("--n-chromosomes", type=int, default=_DEFAULT["n_chromosomes"],
                    help=f"SNPs spread over chromosomes 1..N {_d('n_chromosomes')}")
    ap.add_argument("--n-new", type=int, default=_DEFAULT["n_new"],
                    help=f"size of the independent new cohort; 0 for none {_d('n_new')}")
    ap.add_argument("--seed", type=int, default=_DEFAULT["seed"], help=f"random seed {_d('seed')}")
    _add_architecture_options(ap)
    _add_population_and_new_cohort_options(ap)
    ap.add_argument("--chunk-snps", type=int, default=_DEFAULT["chunk_snps"],
                    help=f"SNPs per written chunk (bounds memory; the files do not depend on it) {_d('chunk_snps')}")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__} (genoml_core)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``genoml-simulate --out DIR [--n-samples N] [--n-snps M] [--architecture A] [...]``.

    Options left out take :class:`SimulationSpec`'s defaults, so ``genoml-simulate --out DIR``
    writes the same files as ``simulate_cohort(DIR, SimulationSpec())``.
    """
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    given = {k: getattr(args, k) for k in _OPTIONAL if getattr(args, k) is not None}
    try:
        spec = SimulationSpec(n_samples=args.n_samples, n_snps=args.n_snps, n_chromosomes=args.n_chromosomes,
                              n_new=args.n_new, seed=args.seed, chunk_snps=args.chunk_snps, **given)
        truth = simulate_cohort(args.out, spec)
    except ConfigError as err:
        ap.error(str(err))
    print(f"wrote {args.out} (oracle AUC training {truth['case_control']['oracle_auc']['training']:.3f})")
    return 0
