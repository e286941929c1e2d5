"""Rules convert_genotypes / convert_cohort: PLINK 2, VCF/BCF or BGEN (or a keep/extract subset) -> PLINK 1."""
from pathlib import Path

from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core import io  # noqa: E402
from genoml_core.genotypes.formats import convert, resolve  # noqa: E402

smk = snakemake  # noqa: F821
p = smk.params.source
src = resolve(p["given"], sample=p["sample"], what=p["what"])
prefix = str(Path(smk.output[0]).with_suffix(""))
report = convert(src, prefix, p["options"], threads=smk.threads)
log.info("converted %s (%s): %d samples x %d variants -> %s", src.given, src.format, report["samples"],
         report["variants"], prefix)
io.write_json(report, smk.output.report)
