"""A Python API for notebooks: run the workflow, read what it made, predict a new cohort.

::

    import genoml_core as gm

    run = gm.run("config/config.yaml", workdir="analysis", cores=4)   # or a config dict
    run.leaderboard()            # DataFrame: learners ranked on out-of-fold predictions
    run.metrics()                # the final model's held-out test metrics (dict)
    run.predict("new_chip.vcf.gz", covariates="new_covar.tsv")      # DataFrame per person
    run.explanations()           # DataFrame: feature importances of the final model
    run.report_path              # results/report.html

:func:`run` drives the same Snakefile through Snakemake's Python API that ``snakemake --cores N
--configfile CONFIG`` runs from a shell: the same jobs, the same files, the same results (a test
compares the two). :func:`open_run` reads a finished working directory without running anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from . import io, layout
from .errors import ConfigError, GenomlError

__all__ = ["Run", "run", "open_run", "snakefile"]

log = logging.getLogger(__name__)


class WorkflowFailed(GenomlError):
    """The workflow stopped: the message names the working directory whose logs say why."""


def snakefile() -> Path:
    """The workflow's Snakefile (beside the package in a checkout or editable install)."""
    path = Path(__file__).resolve().parents[1] / "Snakefile"
    if not path.exists():
        raise ConfigError(f"no Snakefile at {path}: genoml_core.run needs the genoml-workflow checkout "
                          "(install it with pip install -e . from the repository)")
    return path


@dataclass(frozen=True)
class Run:
    """A workflow working directory (``results/``, ``logs/`` inside)."""

    workdir: Path

    @property
    def results(self) -> Path:
        return self.workdir / layout.RESULTS

    def _need(self, pattern: str) -> Path:
        """The run's file of ``pattern`` (a :mod:`genoml_core.layout` path), or a clear error."""
        path = self.workdir / pattern
        if not path.exists():
            raise GenomlError(f"{path}: not made yet (run the workflow first: genoml_core.run(config, "
                              f"workdir={str(self.workdir)!r}))")
        return path

    def leaderboard(self) -> pd.DataFrame:
        """Every learner's best trial, ranked on out-of-fold metrics (no test columns)."""
        return pd.read_csv(self._need(layout.LEADERBOARD), sep="\t")

    def metrics(self) -> dict[str, Any]:
        """``results/evaluate/metrics.json``: the final model on the test set, with bootstrap CIs."""
        return io.read_json(self._need(layout.EVALUATE_METRICS))

    def final_model(self) -> Any:
        """The final model (:class:`genoml_core.evaluation.ensemble.FinalModel`): members, weights, calibrator."""
        from .predict import final_model_from_results

        return final_model_from_results(self.results)

    def explanations(self) -> pd.DataFrame:
        """``results/explain/importance.tsv``: the final model's feature importances."""
        return pd.read_csv(self._need(layout.EXPLAIN_IMPORTANCE), sep="\t")

    def test_predictions(self) -> pd.DataFrame:
        """The test set's predictions (individual-level data)."""
        return pd.read_csv(self._need(layout.EVALUATE_PREDICTIONS), sep="\t", dtype={"FID": str, "IID": str})

    @property
    def report_path(self) -> Path:
        return self._need(layout.REPORT_HTML)

    def predict(self, genotypes: str | Path, *, covariates: str | Path | None = None,
                omics: str | Path | None = None, phenotype: str | Path | None = None,
                phenotype_column: str | None = None, out: str | Path | None = None, name: str | None = None,
                **options: Any) -> pd.DataFrame:
        """Score a new cohort with the final model, as rule ``predict`` and ``genoml-predict`` do.

        ``genotypes`` takes any format the workflow reads (converted into ``out/converted/``);
        ``options`` are :class:`genoml_core.predict.PredictOptions` fields (``min_overlap``,
        ``ambiguous_snps``, ...). Writes predictions, the harmonize report and metrics into
        ``out`` (default ``workdir/predictions/<name>``); returns the predictions.
        """
        from .predict import (METRICS_FILE, PLOTS_DIR, PREDICTIONS_FILE, REPORT_FILE, Cohort, PredictOptions,
                              run_prediction)
        from .predict.cli import _plink1_genotypes

        name = name or Path(str(genotypes)).name.split(".")[0]
        out = Path(out) if out is not None else self.workdir / "predictions" / name
        conv = {k: options.pop(k) for k in ("sample", "vcf_id_delim", "hard_call_threshold") if k in options}
        prefix = _plink1_genotypes(str(genotypes), out, sample=conv.get("sample"),
                                   vcf_id_delim=conv.get("vcf_id_delim"),
                                   hard_call_threshold=conv.get("hard_call_threshold", 0.1))
        model = self.final_model()
        if phenotype is not None and phenotype_column is None:
            phenotype_column = io.read_json(self._need(layout.INPUT_REPORT)).get("phenotype_column")
        cohort = Cohort(name=name, genotypes=prefix, covariates=_str(covariates), omics=_str(omics),
                        phenotype=_str(phenotype), phenotype_column=phenotype_column)
        run_prediction(model, cohort, PredictOptions(**options), predictions_path=out / PREDICTIONS_FILE,
                       report_path=out / REPORT_FILE, metrics_path=out / METRICS_FILE,
                       plots_dir=out / PLOTS_DIR)
        return pd.read_csv(out / PREDICTIONS_FILE, sep="\t", dtype={"FID": str, "IID": str})


def _str(p: str | Path | None) -> str | None:
    return None if p is None else str(p)


def open_run(workdir: str | Path) -> Run:
    """A finished (or partly finished) working directory, read as it is."""
    return Run(Path(workdir).resolve())


def run(config: str | Path | Mapping[str, Any], workdir: str | Path = ".", *, cores: int = 2,
        targets: Sequence[str] = (), dry_run: bool = False, quiet: bool = True) -> Run:
    """Run the workflow on ``config`` (a YAML path or a dict) in ``workdir``.

    A dict is written to ``workdir/config.yaml`` first (relative paths in it are read from
    ``workdir``, as with ``snakemake --directory``). Jobs already up to date are not rerun.

    Raises:
        ConfigError: an invalid config (before any job).
        WorkflowFailed: a job failed; its log under ``workdir/logs`` says why.
    """
    import yaml
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DAGSettings, ExecutionSettings, OutputSettings,
                                          ResourceSettings)

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(config, Mapping):
        path = workdir / "config.yaml"
        path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    else:
        path = Path(config).resolve()
        if not path.exists():
            raise ConfigError(f"{path}: no such config file")
    # the settings profiles/default gives the command line (printshellcmds, show-failed-logs,
    # rerun-incomplete), so both run the same way
    from snakemake.settings.enums import Quietness

    hush = {Quietness.RULES, Quietness.PROGRESS, Quietness.HOST, Quietness.REASON}  # errors still shown
    output = OutputSettings(printshellcmds=True, show_failed_logs=True, quiet=hush if quiet else None, dryrun=dry_run)
    try:
        with SnakemakeApi(output) as api:
            wf = api.workflow(resource_settings=ResourceSettings(cores=cores),
                              config_settings=ConfigSettings(configfiles=[path]),
                              snakefile=snakefile(), workdir=workdir)
            dag = wf.dag(DAGSettings(targets=set(targets), force_incomplete=True))
            dag.execute_workflow(executor="dryrun" if dry_run else "local", execution_settings=ExecutionSettings())
    except GenomlError:
        raise
    except Exception as exc:  # Snakemake's own errors: name where the logs are
        text = str(exc).strip().splitlines()
        raise WorkflowFailed(f"the workflow in {workdir} stopped: {text[-1] if text else type(exc).__name__}; "
                             f"see {workdir / 'logs'} and {workdir / '.snakemake/log'}") from exc
    return Run(workdir)
