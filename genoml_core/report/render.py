"""Rendering the report: read the run's files, build the sections, fill the template, write the page."""

from __future__ import annotations

import datetime as _dt
import logging
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from .. import __version__, io, layout
from ..layout import OPTIONAL_INPUTS
from ..run_size import judge_run_size
from .card import _final_model_text, _model_card
from .inputs import _first, _list, _required, collect_versions
from .sections import (_evaluation_plots, _explain_section, _leaderboard_section, _metrics_section, _pca_section,
                       _qc_section, _split_section, _subgroup_section, _warnings_banner)
from .tables import _generic, _img

# the package's name, as when the report was one module: the job logs read the same
log = logging.getLogger(__package__)

#: The page's jinja2 template (package data next to this module).
TEMPLATE_FILE = "template.html"


def _template_text() -> str:
    return resources.files(__package__).joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")


def _explain_part(inputs: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The explanation's summary (for the model card) and its section; ``(None, None)`` without one."""
    if not _first(inputs, "explain_summary"):
        return None, None
    explain_summary = io.read_json(_required(inputs, "explain_summary"))
    imp_path = _first(inputs, "explain_importance")
    importance = pd.read_csv(imp_path, sep="\t", dtype={"chrom": str}) if imp_path else None
    return explain_summary, _explain_section(explain_summary, importance, _list(inputs, "explain_plots"))


def _subgroup_part(inputs: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The per-group summary (for the model card) and its section; ``(None, None)`` unless both the
    summary and the table are given."""
    if not (_first(inputs, "subgroup_summary") and _first(inputs, "subgroup_table")):
        return None, None
    sub_summary = io.read_json(_required(inputs, "subgroup_summary"))
    table = pd.read_csv(_first(inputs, "subgroup_table"), sep="\t", dtype={"group": str})
    return sub_summary, _subgroup_section(table, sub_summary, _first(inputs, "subgroup_plot"))


def _pca_part(inputs: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The PCA summary (for the model card) and the ancestry PC section, which needs the PCs too and
    at least one PC; ``(None, None)`` without a summary."""
    if not _first(inputs, "pca_summary"):
        return None, None
    pca_summary = io.read_json(_required(inputs, "pca_summary"))
    pca = None
    if _first(inputs, "pca_pcs") and int(pca_summary.get("n_pcs") or 0) > 0:
        pca = _pca_section(pca_summary, _required(inputs, "pca_pcs"), _first(inputs, "pca_groups"))
    return pca_summary, pca


#: Figure captions of the optional sections' PNGs, per input key (the rest: the file's stem).
_EMBED_TITLES = {"embed_plot_res_vae": "Res-VAE latent space", "embed_plot_pca": "PCA", "embed_plot_tsne": "t-SNE"}
_NAS_TITLES = {"nas_plot_winner": "Winning RRFCN architecture", "nas_plot_curve": "Search curve"}


def _optional_section(inputs: Mapping[str, Any], prefix: str, titles: Mapping[str, str]) -> dict[str, Any] | None:
    """The section of the :data:`OPTIONAL_INPUTS` keys starting with ``prefix`` (its JSON shown
    generically, its PNGs embedded); None when none of them is given."""
    keys = [k for k in OPTIONAL_INPUTS if k.startswith(prefix) and _first(inputs, k)]
    if not keys:
        return None
    data: dict[str, Any] = {"table": None, "pairs": []}
    plots = []
    for k in keys:
        path = _required(inputs, k)
        if str(path).endswith(".json"):
            data = _generic(io.read_json(path))
        else:
            plots.append(_img(path, titles.get(k, Path(str(path)).stem)))
    return {"data": data, "plots": plots}


def _toc(*, explain: Any, pca: Any, embed: Any, nas: Any) -> list[tuple[str, str]]:
    """The navigation bar: (section id, label) of every section on the page, in page order."""
    toc = [("model-card", "Model card"), ("leaderboard-section", "Leaderboard"), ("test-metrics", "Test metrics"),
           ("evaluation-plots", "Plots")]
    if explain:
        toc.append(("explanations", "Explanations"))
    toc.append(("subgroups", "Groups"))
    if pca:
        toc.append(("ancestry-pcs", "Ancestry PCs"))
    if embed:
        toc.append(("embedding", "Embeddings"))
    if nas:
        toc.append(("architecture", "Architecture"))
    toc += [("qc", "QC"), ("split", "Split"), ("configuration", "Configuration")]
    return toc


def _fill_template(**context: Any) -> str:
    """The page: :data:`TEMPLATE_FILE` rendered with ``context`` (autoescaped; an undefined name raises)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_template_text())
    return template.render(**context)


def render_report(
    inputs: Mapping[str, Any],
    *,
    config: Mapping[str, Any],
    title: str = "genoml-workflow report",
    intended_use: str | None = None,
    versions: Mapping[str, str] | None = None,
) -> str:
    """The report HTML from the run's files.

    Args:
        inputs: input key -> path (or list of paths): ``qc``, ``split``, ``inputs``,
            ``leaderboard``, ``metrics``, ``plots`` (evaluation PNGs); optional
            ``explain_summary``, ``explain_importance``, ``explain_plots``, ``subgroup_table``,
            ``subgroup_summary``, ``subgroup_plot``, ``warnings`` (``results/warnings.json``),
            ``pca_pcs`` and ``pca_summary`` (both, or the section is left out), ``pca_groups`` and
            the keys of :data:`OPTIONAL_INPUTS`.
        config: the validated configuration (shown, and used for the model card).
        title: page title.
        intended_use: the model card's intended use (default: a research-use statement).
        versions: library versions (default :func:`collect_versions`).

    Returns:
        One self-contained HTML document.
    """
    qc = io.read_json(_required(inputs, "qc"))
    split = io.read_json(_required(inputs, "split"))
    inp = io.read_json(_required(inputs, "inputs"))
    class_names = inp.get("class_names")
    board = pd.read_csv(_first(inputs, "leaderboard"), sep="\t")
    ev = io.read_json(_required(inputs, "metrics"))
    task = config.get("task")
    eval_plots = _evaluation_plots(inputs)
    explain_summary, explain = _explain_part(inputs)
    sub_summary, subgroups = _subgroup_part(inputs)
    pca_summary, pca = _pca_part(inputs)
    embed = _optional_section(inputs, "embed_", _EMBED_TITLES)
    nas = _optional_section(inputs, "nas_", _NAS_TITLES)

    run_warnings = _warnings_banner(io.read_json(_required(inputs, "warnings")) if _first(inputs, "warnings") else None)
    too_small = judge_run_size(ev, split, class_names=class_names,
                               min_samples=(config.get("split") or {}).get("min_samples"))

    main = ev.get("selection_metric", "")
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    vers = dict(versions) if versions is not None else collect_versions()
    return _fill_template(
        title=title,
        subtitle=(f"{task} task, phenotype '{config.get('data', {}).get('phenotype_column')}'; final model "
                  f"{ev.get('learner')}; genoml_core {__version__}; generated {now}"),
        toc=_toc(explain=explain, pca=pca, embed=embed, nas=nas),
        card=_model_card(config=config, inputs=inp, qc=qc, split=split, ev=ev, board=board,
                         explain=explain_summary, subgroups=sub_summary, intended_use=intended_use,
                         too_small=too_small, pca=pca_summary),
        too_small=too_small,
        run_warnings=run_warnings,
        leaderboard=_leaderboard_section(board, main),
        selection_metric=main,
        metrics=_metrics_section(ev),
        evaluation_title=(f"{_final_model_text(ev, board.iloc[0], main)}: scored once on {ev.get('n_test')} "
                          "held-out test samples; 95% bootstrap confidence intervals. Calibration slope and "
                          "intercept: 1 and 0 when the predicted risks match the observed ones."),
        evaluation_plots=eval_plots,
        explain=explain,
        subgroups=subgroups,
        pca=pca,
        embed=embed,
        nas=nas,
        qc=_qc_section(qc),
        split=_split_section(split, class_names),
        versions=list(vers.items()),
        config_yaml=yaml.safe_dump(io.to_plain(config, nonfinite_to_none=False), sort_keys=False, default_flow_style=False),
        paths={"warnings": layout.WARNINGS_FILE, "logs": layout.LOGS, "top_snps": layout.EXPLAIN_TOP_SNPS},
    )


def write_report(page: str, path: str | Path) -> Path:
    """Write the HTML atomically."""
    path = Path(path)
    with io.atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s (%.1f kB)", path, len(page.encode()) / 1024)
    return path
