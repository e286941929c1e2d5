"""Rule report: one self-contained HTML report of the run (results/report.html)."""
from _job import start_job

log = start_job(snakemake)  # noqa: F821

from genoml_core.report import render_report, write_report  # noqa: E402

smk = snakemake  # noqa: F821
page = render_report(dict(smk.input.items()), config=smk.params.run_config, title=smk.params.report["title"],
                     intended_use=smk.params.report["intended_use"])
write_report(page, smk.output[0])
