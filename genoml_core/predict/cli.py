"""``genoml-predict``: predict on a new cohort outside Snakemake, from a finished results folder."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path, PurePosixPath
from typing import Sequence

from .. import __version__, io, layout
from ..genotypes import harmonize
from ..evaluation import metrics
from ..errors import GenomlError, InputError
from .model import final_model_from_results
from .options import Cohort, PredictOptions
from .run import run_prediction

log = logging.getLogger("genoml_core.predict")  # the package's name, not __name__: warnings.json records it

# genoml-predict's --out folder holds the files of rule predict, under the same names
PREDICTIONS_FILE = PurePosixPath(layout.PREDICT_PREDICTIONS).name
REPORT_FILE = PurePosixPath(layout.PREDICT_REPORT).name
METRICS_FILE = PurePosixPath(layout.PREDICT_METRICS).name
PLOTS_DIR = PurePosixPath(layout.PREDICT_PLOTS).name


def _plink1_genotypes(given: str, out: Path, *, sample: str | None, vcf_id_delim: str | None,
                      hard_call_threshold: float) -> str:
    """A PLINK 1 prefix for ``given``: itself, or its conversion by plink2 into ``out/converted/``."""
    from ..genotypes.formats import GenotypeFormatError, convert, needs_conversion, resolve

    try:
        src = resolve(given, sample=sample, what="--bfile")
    except GenotypeFormatError as exc:
        raise InputError(str(exc)) from exc
    options = {"vcf_id_delim": vcf_id_delim, "hard_call_threshold": hard_call_threshold}
    if not needs_conversion(src, options):
        return src.path
    prefix = out / "converted" / "genotypes"
    report = convert(src, prefix, options)
    io.write_json(report, out / "converted" / "genotypes.json")
    log.info("converted %s (%s) to %s: %d samples x %d variants", given, src.format, prefix, report["samples"],
             report["variants"])
    return str(prefix)


def main(argv: Sequence[str] | None = None) -> int:
    """``genoml-predict --results DIR --bfile PREFIX [...] --out DIR``: predict outside Snakemake."""
    d = PredictOptions()
    ap = argparse.ArgumentParser(
        prog="genoml-predict",
        description="Harmonize a new PLINK cohort to a finished run's recipes and apply its final model "
                    f"({layout.FINAL_MODEL}: its members' fold models, stack weights and calibrator).",
    )
    ap.add_argument("--results", required=True, help=f"the workflow's results folder (with {layout.in_results(layout.FINAL_MODEL)})")
    ap.add_argument("--bfile", "--genotypes", dest="bfile", required=True,
                    help="the new cohort's genotypes: a PLINK 1 prefix (.bed/.bim/.fam), a PLINK 2 prefix or .pgen, "
                         "a .vcf.gz/.bcf or a .bgen (others are converted by plink2 into OUT/converted/ first)")
    ap.add_argument("--sample", help="the BGEN .sample file (default: beside the .bgen)")
    ap.add_argument("--vcf-id-delim", help="VCF sample ids FID<delim>IID (default: FID = IID = the VCF id)")
    ap.add_argument("--hard-call-threshold", type=float, default=0.1,
                    help="dosages farther than this from 0/1/2 become missing calls (VCF DS, BGEN)")
    ap.add_argument("--covariates", help="tab-separated FID, IID and the training covariate columns")
    ap.add_argument("--omics", help="omics matrix (TSV or .parquet) with FID, IID and the training columns")
    ap.add_argument("--phenotype", help="tab-separated FID, IID and a phenotype column, to evaluate on")
    ap.add_argument("--phenotype-column", help="the phenotype column (required with --phenotype)")
    ap.add_argument("--binary-coding", choices=["01", "12"], default=d.binary_coding)
    ap.add_argument("--missing-values", nargs="*", default=list(d.missing_values),
                    help="strings read as missing in the tables")
    ap.add_argument("--min-overlap", type=float, default=d.min_overlap,
                    help="minimum share of the model's importance carried by present features (0-1)")
    ap.add_argument("--ambiguous-snps", choices=list(harmonize.AMBIGUOUS_POLICIES), default=d.ambiguous_snps,
                    help="strand-ambiguous (A/T, C/G) SNPs: drop and impute, or keep the alleles as given")
    ap.add_argument("--no-match-by-position", dest="match_by_position", action="store_false",
                    help="match SNPs by id only")
    ap.add_argument("--importance", help="feature importance table (feature, importance[, fold]) for the coverage")
    ap.add_argument("--engine", choices=["pandas-plink", "lut"], default=d.engine)
    ap.add_argument("--n-bootstrap", type=int, default=d.n_bootstrap)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--name", help="cohort name for the reports (default: the --bfile file name)")
    ap.add_argument("--out", required=True, help=f"output folder: {PREDICTIONS_FILE} (per person: individual-level "
                                                 f"data, not for sharing), {REPORT_FILE}, {METRICS_FILE}, {PLOTS_DIR}/")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__} (genoml_core)")
    args = ap.parse_args(argv)
    if args.phenotype and not args.phenotype_column:
        ap.error("--phenotype needs --phenotype-column")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    out = Path(args.out)
    try:
        options = PredictOptions(
            min_overlap=args.min_overlap, ambiguous_snps=args.ambiguous_snps, match_by_position=args.match_by_position,
            binary_coding=args.binary_coding, missing_values=tuple(args.missing_values), engine=args.engine,
            n_bootstrap=args.n_bootstrap, seed=args.seed, importance=args.importance,
        )
        genotypes = _plink1_genotypes(args.bfile, out, sample=args.sample, vcf_id_delim=args.vcf_id_delim,
                                      hard_call_threshold=args.hard_call_threshold)
        cohort = Cohort(name=args.name or Path(args.bfile).name, genotypes=genotypes, covariates=args.covariates,
                        omics=args.omics, phenotype=args.phenotype, phenotype_column=args.phenotype_column)
        model = final_model_from_results(args.results)
        result = run_prediction(model, cohort, options, predictions_path=out / PREDICTIONS_FILE,
                                report_path=out / REPORT_FILE, metrics_path=out / METRICS_FILE,
                                plots_dir=out / PLOTS_DIR)
    except GenomlError as err:
        ap.exit(1, f"genoml-predict: error: {err}\n")
    summary = f"wrote {out / PREDICTIONS_FILE} ({result['n_predicted']} people, coverage {result['coverage']:.3f})"
    if result["metrics"]:
        key = metrics.SELECTION_METRIC[result["task"]]
        summary += f"; {key} {result['metrics'][key]:.3f} on {result['n_evaluated']} phenotyped people"
    print(summary)
    return 0
