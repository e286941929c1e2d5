"""One self-contained HTML report per run: opens offline, no external assets, no scripts.

:func:`render_report` reads the run's result files (named as the ``report`` rule's inputs) and
returns one HTML page: configuration and versions, QC (samples and SNPs removed per filter), the
split, the leaderboard, the final test metrics with confidence intervals, every evaluation plot,
the SHAP plots and top features (with the truth check on simulated data), the per-group table,
the ancestry principal components (PC1 vs PC2 of the fold whose PCs the final model used), the
Res-VAE/PCA/t-SNE section and the found RRFCN architecture when those stages ran, and a model card.
Images are embedded as base64 PNG; styles are inline.

Banners at the top: "too small to judge" (:func:`genoml_core.run_size.judge_run_size` on the
split and the test metrics) and the warnings the jobs raised (input key ``warnings``,
``results/warnings.json`` from :mod:`genoml_core.warnings_log`; the workflow's own first, the
libraries' folded away; each message cut at :data:`MAX_WARNING_CHARS`).

Privacy: the page holds aggregates only. It never lists sample ids, genotypes, per-person
predictions or per-person SHAP values (those stay in ``results/individual/``, individual-level
data not for sharing); plots of per-sample points
(the SHAP beeswarm, the ancestry PC scatter) carry no ids, and the SHAP dependence plots are per-genotype
box plots.

Optional sections, included when their files are among the inputs (the ``report`` rule lists
them when the stage runs: embed.enabled, or ``rrfcn`` among train.learners). A JSON file is shown
generically: a list of objects (or an object's ``table``, ``architectures`` or ``methods``, the
latter also as an object of objects) becomes a table, other top-level scalars a key/value list;
each PNG is embedded.

===================  ==========================================================================
input key            file (content)
===================  ==========================================================================
embed_summary        ``results/embed/summary.json``: Res-VAE / PCA / t-SNE scores (``methods``)
embed_plot_res_vae   ``results/embed/res_vae_scatter.png``: Res-VAE latent scatter
embed_plot_pca       ``results/embed/pca_scatter.png``: PCA scatter
embed_plot_tsne      ``results/embed/tsne_scatter.png``: t-SNE scatter
nas_architectures    ``results/nas/architectures.json``: the top RRFCN architectures found
nas_plot_winner      ``results/nas/winner.png``: diagram of the winning architecture
nas_plot_curve       ``results/nas/search_curve.png``: the search's reward curve
pca_pcs              ``results/individual/pca/{fold}/pcs.tsv``: ancestry PCs per person and role (see
                     :data:`PCA_INPUTS`, :func:`pca_report_fold`); drawn by
                     :func:`genoml_core.plots.plot_ancestry_pcs` while the report is made
pca_summary          ``results/pca/{fold}/summary.json``: n_pcs, n_train, n_snps, approx,
                     eigenvalues, fold
pca_groups           the ``data.groups`` table: colours the PC scatter (optional)
===================  ==========================================================================

The model card says whether ancestry PCs were used: k PCs with ``pca_summary``, otherwise not
(``pca.n_pcs`` 0, or no genotypes).
"""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import math
import platform
import shutil
import subprocess
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import pandas as pd
import yaml

from . import __version__, io, layout
from .plots import ancestry_group_column, plot_ancestry_pcs
from .run_size import LOGGER_NAME as _SIZE_LOGGER
from .run_size import judge_run_size
from .layout import OPTIONAL_INPUTS, PCA_INPUTS, pca_report_fold

__all__ = ["OPTIONAL_INPUTS", "PCA_INPUTS", "collect_versions", "pca_report_fold", "render_report", "write_report"]

log = logging.getLogger(__name__)

#: Eigenvalues listed in the report's ancestry PC section.
PCA_EIGENVALUES_SHOWN = 5
#: Warning messages in the banner are cut here (a message may list ids; the full text stays in
#: results/warnings.json and the job's log).
MAX_WARNING_CHARS = 300
#: Warnings listed per group in the banner (the rest are counted).
MAX_WARNINGS_SHOWN = 15
_LIBRARIES = ("snakemake", "numpy", "pandas", "scipy", "scikit-learn", "xgboost", "torch", "shap", "matplotlib",
              "skops", "jinja2")
_PLOT_TITLES = {
    "roc": "ROC curve",
    "pr": "Precision-recall curve",
    "confusion": "Confusion matrix",
    "calibration": "Calibration",
    "score_distributions": "Score distributions",
    "scatter": "Predicted vs observed",
    "residuals": "Residuals",
}


def collect_versions() -> dict[str, str]:
    """Versions of Python, genoml_core, the main libraries and plink2."""
    out = {"python": platform.python_version(), "genoml_core": __version__}
    for lib in _LIBRARIES:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            out[lib] = "not installed"
    exe = shutil.which("plink2")
    if exe:
        try:
            proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
            out["plink2"] = (proc.stdout.strip().splitlines() or ["unknown"])[0]
        except (OSError, subprocess.SubprocessError):
            out["plink2"] = "unknown"
    else:
        out["plink2"] = "not found"
    return out


# ----------------------------------------------------------------------------- helpers
def _img(path: str | Path, alt: str) -> dict[str, str]:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return {"src": f"data:image/png;base64,{data}", "alt": alt, "name": Path(path).name}


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 1000 or (abs(v) < 1e-3 and v != 0):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    return str(v)


def _table(df: pd.DataFrame, *, digits: int = 3) -> dict[str, Any]:
    """A plain table for the template: header and formatted cell strings."""
    rows = [[_fmt(v.item() if hasattr(v, "item") else v, digits) for v in r] for r in df.itertuples(index=False)]
    return {"header": [str(c) for c in df.columns], "rows": rows}


def _kv(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), _fmt(v)) for k, v in d.items() if not isinstance(v, (dict, list))]


def _generic(obj: Any) -> dict[str, Any]:
    """Any JSON as a table (list of objects, or an object's 'table') and key/value pairs."""
    out: dict[str, Any] = {"table": None, "pairs": []}
    rows = obj if isinstance(obj, list) else (obj.get("table") if isinstance(obj, dict) else None)
    if rows is None and isinstance(obj, dict):
        rows = obj.get("architectures") or obj.get("methods")
        if isinstance(rows, dict) and all(isinstance(v, dict) for v in rows.values()):
            rows = [{"method": k, **v} for k, v in rows.items()]
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        flat = [{k: (v if not isinstance(v, (dict, list)) else yaml.safe_dump(v, default_flow_style=True).strip())
                 for k, v in r.items()} for r in rows]
        out["table"] = _table(pd.DataFrame(flat))
    if isinstance(obj, dict):
        out["pairs"] = _kv(obj)
    return out


def _first(inputs: Mapping[str, Any], key: str) -> str | None:
    v = inputs.get(key)
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return str(v[0]) if v else None
    return str(v)


def _required(inputs: Mapping[str, Any], key: str) -> str:
    """:func:`_first` of an input that is there (a required one, or one just checked)."""
    path = _first(inputs, key)
    assert path is not None, f"report input {key!r} is missing"
    return path


def _list(inputs: Mapping[str, Any], key: str) -> list[str]:
    v = inputs.get(key)
    if v is None:
        return []
    return [str(p) for p in v] if isinstance(v, (list, tuple)) else [str(v)]


# ----------------------------------------------------------------------------- sections
def _qc_section(qc: Mapping[str, Any]) -> dict[str, Any]:
    inputs = qc.get("inputs") or {}
    sq = qc.get("sample_qc") or {}  # None in a matrix-only run (no PLINK QC)
    samples = [
        ("samples in .fam", inputs.get("fam_samples")),
        ("without a phenotype (left out)", inputs.get("fam_samples_without_phenotype")),
        ("analysis samples", inputs.get("analysis_samples", sq.get("analysis_samples"))),
        ("removed by --mind (missing calls)", sq.get("removed_mind")),
        ("samples after QC", sq.get("samples_after_qc")),
    ]
    rows = []
    for fold, f in (qc.get("folds") or {}).items():
        v, ld, af = f.get("variant_qc", {}), f.get("ld_prune", {}), f.get("assoc_filter", {})
        rows.append({
            "fold": fold,
            "variants in": v.get("variants_in"),
            "--geno": v.get("removed_geno"),
            "--maf": v.get("removed_maf"),
            "--hwe": v.get("removed_hwe"),
            "after QC": v.get("variants_after_qc"),
            "LD pruned": ld.get("removed_ld") if ld.get("enabled", True) else "off",
            "after pruning": ld.get("variants_kept"),
            "association filter kept": af.get("variants_kept") if af.get("enabled", True) else "off",
        })
    related = qc.get("relatedness")
    return {"samples": [(k, _fmt(v)) for k, v in samples if v is not None],
            "variants": _table(pd.DataFrame(rows)) if rows else None,
            "relatedness": _table(pd.DataFrame(_flat_rows(related), columns=["relatedness", "value"]))
            if isinstance(related, Mapping) and related else None,
            "plink": bool(qc.get("sample_qc")),
            "class_counts": inputs.get("class_counts")}


def _flat_rows(d: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(name, value) rows of a nested dict of counts; a list shows its length only (it may hold ids)."""
    rows: list[tuple[str, str]] = []
    for k, v in d.items():
        name = f"{prefix}{str(k).replace('_', ' ')}"
        if isinstance(v, Mapping) and depth < 3:
            rows.extend(_flat_rows(v, f"{name}: ", depth + 1))
        elif isinstance(v, (list, tuple, Mapping)):
            rows.append((name, f"{len(v)} (not listed)"))
        else:
            rows.append((name, _fmt(v, 4)))
    return rows


def _cut(text: str, limit: int = MAX_WARNING_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _warnings_banner(collected: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The run's warnings (``results/warnings.json``) for the banner; the size findings are shown
    by their own banner. None when there is no warnings file."""
    if collected is None:
        return None
    entries = [e for e in collected.get("warnings") or [] if e.get("logger") != _SIZE_LOGGER]

    def view(e: Mapping[str, Any]) -> dict[str, Any]:
        jobs = [j for j in e.get("jobs") or [] if j]
        where = ""
        if jobs:
            where = " ".join(f"{k}={v}" for k, v in jobs[0].items())
            if int(e.get("n_jobs", 1)) > 1:
                where += f" and {int(e['n_jobs']) - 1} more job(s)"
        return {"rule": e.get("rule"), "where": where, "level": e.get("level"), "count": int(e.get("count", 1)),
                "message": _cut(e.get("message", ""))}

    own = [view(e) for e in entries if e.get("source") == "workflow"]
    lib = [view(e) for e in entries if e.get("source") != "workflow"]
    return {"n": sum(int(e.get("count", 1)) for e in entries), "n_distinct": len(entries),
            "own": own[:MAX_WARNINGS_SHOWN], "own_more": max(0, len(own) - MAX_WARNINGS_SHOWN),
            "lib": lib[:MAX_WARNINGS_SHOWN], "lib_more": max(0, len(lib) - MAX_WARNINGS_SHOWN),
            "n_lib": len(lib)}


def _split_section(split: Mapping[str, Any], class_names: Sequence[str] | None) -> dict[str, Any]:
    rows = []
    for part, info in (split.get("parts") or {}).items():
        row: dict[str, Any] = {"part": part, "n": info.get("n")}
        for label, count in (info.get("class_counts") or {}).items():
            name = class_names[int(label)] if class_names and str(label).isdigit() and int(label) < len(class_names) \
                else str(label)
            row[name] = count
        rows.append(row)
    order = {"train": 0, "valid": 1, "test": 2}
    rows.sort(key=lambda r: order.get(str(r["part"]), 9))
    return {"method": split.get("method"), "seed": split.get("seed"), "n": split.get("n_samples"),
            "table": _table(pd.DataFrame(rows).fillna(0)) if rows else None}


def _leaderboard_section(board: pd.DataFrame, selection_metric: str) -> dict[str, Any]:
    keep = ["rank", "learner", "best_trial", "n_trials", f"oof_{selection_metric}"]
    keep += [c for c in board.columns if c.startswith("oof_") and c not in ("oof_n", "oof_n_cases")]
    keep += ["degenerate", "fit_seconds"]
    cols = [c for c in dict.fromkeys(keep) if c in board.columns]
    params = [(str(r.learner), str(r.params)) for r in board.itertuples()] if "params" in board else []
    return {"table": _table(board[cols]), "params": params}


def _metrics_section(ev: Mapping[str, Any]) -> dict[str, Any]:
    ci = ev.get("test_ci95") or {}
    rows = []
    for k, v in (ev.get("test") or {}).items():
        lo, hi = (ci.get(k) or [None, None])[:2]
        rows.append({"metric": k, "test": _fmt(v), "95% CI low": _fmt(lo), "95% CI high": _fmt(hi)})
    valid = [(k, _fmt(v)) for k, v in (ev.get("oof") or ev.get("valid") or {}).items()]
    cm = ev.get("confusion_matrix")
    cm_table = None
    if cm:
        df = pd.DataFrame(cm["matrix"], columns=[f"predicted {c}" for c in cm["classes"]])
        df.insert(0, "true", cm["classes"])
        cm_table = _table(df)
    return {"table": _table(pd.DataFrame(rows)), "valid": valid, "confusion": cm_table}


def _explain_section(summary: Mapping[str, Any], importance: pd.DataFrame | None,
                     plots: Sequence[str]) -> dict[str, Any]:
    top = None
    if importance is not None:
        cols = [c for c in ["rank", "feature", "source", "chrom", "pos", "counted", "mean_abs_shap", "direction"]
                if c in importance.columns]
        cols += [c for c in importance.columns if c.startswith("mean_abs_shap_")]
        n_show = int(summary.get("options", {}).get("n_display", 20))
        shown = importance.head(n_show)[cols].copy()
        for c in ("chrom", "pos", "counted"):
            if c in shown:
                shown[c] = shown[c].astype(object).where(shown[c].notna(), "")
        top = _table(shown, digits=4)
    truth = summary.get("truth")
    truth_view = None
    if truth:
        found_rows = [{"causal SNP": c["snp"], "chrom": c.get("chrom", ""), "in model": c.get("in_model", False),
                       "tags among model SNPs": c.get("n_tags", 0), "found": c.get("found", False),
                       "found by (rank, r2)": "; ".join(f"{h['snp']} (#{h['rank']}, {h['r2']:.2f})"
                                                        for h in c.get("found_by", []))}
                      for c in truth.get("causal", [])]
        truth_view = {"t": truth, "table": _table(pd.DataFrame(found_rows)) if found_rows else None}
    titles = {PurePosixPath(layout.EXPLAIN_BEESWARM).name: "SHAP summary (beeswarm)",
              PurePosixPath(layout.EXPLAIN_BAR).name: "Mean |SHAP| per class",
              PurePosixPath(layout.EXPLAIN_DEPENDENCE).name: "SHAP dependence of the top features"}
    add = summary.get("additivity", {})
    return {
        "s": summary,
        "pairs": [
            ("final model", f"{summary.get('learner')} (trial {summary.get('best_trial')}, {summary.get('fold')})"
             if not summary.get("members") else
             f"{summary.get('learner')} ({summary.get('fold')}): " + "; ".join(
                 f"{m['learner']} trial {m['trial']}, weight {_fmt(m['weight'], 3)}, {m['explainer']}"
                 for m in summary["members"])),
            ("explainer", f"{summary.get('explainer')} ({summary.get('method')})"),
            ("explained output", summary.get("output_space")),
            ("explained samples", f"{summary.get('n_explained')} of {summary.get('n_available')} "
                                  f"({summary.get('explain_set')} set)"),
            ("background", summary.get("background")),
            ("additivity: max |sum SHAP + base - output|",
             f"{_fmt(add.get('max_abs_error'), 3)} (mean |output - base| {_fmt(add.get('mean_abs_output_minus_base'))})"),
            ("features with non-zero importance", f"{summary.get('n_nonzero')} of {summary.get('n_features')}"),
            ("seconds", _fmt((summary.get("seconds") or {}).get("total"))),
        ],
        "top": top,
        "top_snps": summary.get("top_snps", []),
        "truth": truth_view,
        "plots": [_img(p, titles.get(Path(p).name, Path(p).stem)) | {"title": titles.get(Path(p).name, Path(p).stem)}
                  for p in plots],
        "notes": summary.get("notes", []),
    }


def _subgroup_section(table: pd.DataFrame, summary: Mapping[str, Any], plot: str | None) -> dict[str, Any]:
    cols = [c for c in table.columns if c not in ("metric",)]
    gaps = []
    for col, info in (summary.get("columns") or {}).items():
        gaps.append({"column": col, "groups": info.get("n_groups"), "largest gap": info.get("gap"),
                     "worst group": info.get("worst_group", ""), "best group": info.get("best_group", ""),
                     "flagged": info.get("flagged", False)})
    return {"s": summary, "table": _table(table[cols]), "gaps": _table(pd.DataFrame(gaps)) if gaps else None,
            "plot": _img(plot, "per-group metrics") if plot else None}


def _pca_section(summary: Mapping[str, Any], pcs_path: str, groups_path: str | None) -> dict[str, Any]:
    """The ancestry PC section: what was fitted on whom, the first eigenvalues, and PC1 vs PC2
    (drawn here into a temporary file and embedded; only the picture reaches the page)."""
    k = int(summary.get("n_pcs") or 0)
    fold = summary.get("fold")
    eig = [float(v) for v in (summary.get("eigenvalues") or [])]
    shown = eig[:PCA_EIGENVALUES_SHOWN]
    eig_table = None
    if shown:
        total = sum(eig)
        eig_table = _table(pd.DataFrame({
            "PC": [f"PC{i + 1}" for i in range(len(shown))],
            "eigenvalue": shown,
            f"share of the {len(eig)} PCs' sum": [v / total if total > 0 else float("nan") for v in shown],
        }), digits=4)
    roles = pd.read_csv(pcs_path, sep="\t", usecols=lambda c: c == "role", dtype=str)
    role_counts = roles["role"].value_counts().to_dict() if "role" in roles.columns else {}
    group_col = None
    if groups_path:
        header = pd.read_csv(groups_path, sep="\t", nrows=0).columns
        group_col = ancestry_group_column(list(header))
    with tempfile.TemporaryDirectory(prefix="genoml_report_pca_") as tmp:
        png = plot_ancestry_pcs(pcs_path, Path(tmp) / "ancestry_pcs.png",
                                groups=groups_path if group_col else None, group_column=group_col,
                                title=f"Ancestry PCs ({fold})" if fold else None)
        img = _img(png, "Ancestry PC1 vs PC2")
    caption = (f"PC1 vs PC2 of {fold or 'the fold'}, coloured by {group_col if group_col else 'role'}; circles: "
               "training people (fitted), other markers: projected people (triangles: test)")
    asked = summary.get("n_pcs_asked")
    fewer = f" (of {_fmt(int(asked))} asked: too few training people or SNPs for more)" \
        if isinstance(asked, (int, float)) and int(asked) > k else ""
    text = (f"{k} PCs{fewer} fitted by {_pca_method(summary)} on "
            f"{_fmt(summary.get('n_train'))} training people of {fold or 'the fold'} over "
            f"{_fmt(summary.get('n_snps'))} LD-pruned SNPs; the other people projected with the training allele "
            "weights; the PCs are added as unpenalized covariates.")
    order = ("train", "valid", "test", "unused")
    people = [(f"{r} ({'fitted' if r == 'train' else 'projected'})", _fmt(int(role_counts[r])))
              for r in (*order, *sorted(set(role_counts) - set(order))) if r in role_counts]
    return {"s": summary, "text": text, "eigenvalues": eig_table, "n_eigenvalues": len(eig), "people": people,
            "plot": img | {"title": caption}}


def _pca_method(summary: Mapping[str, Any]) -> str:
    """How the PCs were fitted, from the PCA summary (runs before the numpy engine used plink2)."""
    approx = bool(summary.get("approx"))
    if summary.get("engine", "plink2") == "plink2":
        return f"plink2 --pca{' approx (randomized)' if approx else ''}"
    return "a randomized SVD" if approx else "an exact eigendecomposition"


def _pca_card_line(config: Mapping[str, Any], pca: Mapping[str, Any] | None) -> str:
    """The model card's answer to "were ancestry PCs used?"."""
    k = int((pca or {}).get("n_pcs") or 0)
    if k > 0:
        return (f"yes: {k} PCs ({_pca_method(pca or {})} on {_fmt((pca or {}).get('n_train'))} training people of "
                f"{(pca or {}).get('fold', 'the fold')}, {_fmt((pca or {}).get('n_snps'))} LD-pruned SNPs), "
                "unpenalized covariates")
    if not (config.get("data") or {}).get("genotypes"):
        return "no (matrix-only run: no genotypes)"
    n_cfg = int(((config.get("pca") or {}).get("n_pcs")) or 0)
    if n_cfg > 0 and pca is None:
        return f"pca.n_pcs is {n_cfg} but the report was given no PCA results"
    return "no (pca.n_pcs 0)"


def _final_model_text(ev: Mapping[str, Any], best: Any, main: str | None) -> str:
    """One line on the final model: its members and weights, calibrator, how it was chosen."""
    members = ev.get("members")
    if not members:  # a metrics.json from before the final-model stage
        return f"{best['learner']} (trial {int(best['best_trial'])}), chosen on validation {main}"
    parts = [f"{m['learner']} (trial {m['trial']}, weight {_fmt(m['weight'])})" for m in members]
    kind = "stack of " if len(members) > 1 else ""
    cutoff = ev.get("decision_cutoff")
    if isinstance(cutoff, (int, float)):
        rule = f"; a case when P(case) >= {cutoff:.3g} (the balanced decision rule: the mean OOF score)"
    elif isinstance(cutoff, list):
        rule = "; predicted class = arg-max of P(class) / its mean OOF probability (the balanced decision rule)"
    else:
        rule = ""
    scored = ev.get("scored_with")
    how = ("; each member refitted on every development person" if scored == "refit"
           else f"; each member scored as the {scored}" if scored else "")
    return (f"{kind}{', '.join(parts)}; calibrator {ev.get('calibrator', 'none')}{rule}; chosen on out-of-fold "
            f"{main}{how}")


def _model_card(*, config: Mapping[str, Any], inputs: Mapping[str, Any], qc: Mapping[str, Any],
                split: Mapping[str, Any], ev: Mapping[str, Any], board: pd.DataFrame,
                explain: Mapping[str, Any] | None, subgroups: Mapping[str, Any] | None,
                intended_use: str | None, too_small: Sequence[str] = (),
                pca: Mapping[str, Any] | None = None) -> dict[str, Any]:
    task = config.get("task")
    data = config.get("data", {})
    pheno = data.get("phenotype_column")
    best = board.iloc[0]
    recipe_n = (explain or {}).get("n_features")
    parts = split.get("parts") or {}
    main = ev.get("selection_metric")
    ci = (ev.get("test_ci95") or {}).get(main)
    test_value = (ev.get("test") or {}).get(main)
    metric_text = f"{main} = {_fmt(test_value)}" + (f" (95% CI {_fmt(ci[0])}-{_fmt(ci[1])})" if ci else "")
    use = intended_use or (
        f"Research: estimating the genetic predisposition to '{pheno}' ({task}) in people similar to the "
        "training cohort (same genotyping platform, QC and ancestry mix). Not validated for clinical or "
        "individual decisions."
    )
    limitations = [
        f"Validated once on a held-out test set of {ev.get('n_test')} people from the same cohort; performance "
        "on other cohorts (other platforms, ancestries, recruitment) is unknown until predicted with the "
        "predict stage and checked.",
        "SHAP values explain the model, not biology: a top SNP may tag a causal variant in LD with it, and the "
        "association filter and LD pruning decided which SNPs the model could use.",
    ]
    if too_small:
        limitations.append("Too small to judge: " + "; ".join(too_small) + ".")
    if ci and (ci[1] - ci[0]) > 0.1:
        limitations.append(f"The test confidence interval of {main} is wide ({_fmt(ci[0])}-{_fmt(ci[1])}): the test "
                           "set is small.")
    if bool(best.get("degenerate", False)):
        limitations.append("The chosen model's predictions are degenerate (the same score for everybody).")
    if explain and explain.get("n_folds", 1) > 1:
        limitations.append(f"Explanations describe the model of {explain.get('fold')} only "
                           f"(the test prediction averages {explain.get('n_folds')} fold models).")
    if explain:
        limitations.extend(str(n) for n in explain.get("notes", []) if "budget" in str(n) or "approximate" in str(n))
    if pca and int(pca.get("n_pcs") or 0) > 0:
        limitations.append("Ancestry PCs are projections onto the training people's axes: for people of an ancestry "
                           "the training cohort does not represent, they describe ancestry poorly and adjust for it "
                           "poorly.")
    gaps: list[str] = []
    if subgroups:
        for col, info in (subgroups.get("columns") or {}).items():
            if info.get("gap") is not None and not (isinstance(info.get("gap"), float) and math.isnan(info["gap"])):
                gaps.append(f"{col}: largest {subgroups.get('metric')} gap {_fmt(info['gap'])} "
                            f"({info.get('worst_group')} {_fmt(info.get('worst_value'))} vs {info.get('best_group')} "
                            f"{_fmt(info.get('best_value'))})" + (" - FLAGGED" if info.get("flagged") else ""))
            else:
                gaps.append(f"{col}: fewer than two groups large enough to compare")
        limitations.extend(subgroups.get("warnings", []))
    else:
        gaps.append("No groups file configured (data.groups): performance per ancestry, sex or site was not checked.")
    return {
        "details": [
            ("model", _final_model_text(ev, best, main)),
            ("hyperparameters", str(best.get("params", ""))),
            ("genoml_core", __version__),
            ("task", f"{task}: {pheno}"),
        ],
        "intended_use": use,
        "data": [
            ("genotypes", str(data.get("genotypes_source") or data.get("genotypes")
                              or f"none (matrix-only run: {data.get('omics')})")
             + (f" (converted by plink2 to {data['genotypes']})"
                if data.get("genotypes_source") and data.get("genotypes") != data.get("genotypes_source")
                and not str(data.get("genotypes_source")).endswith(".bed") else "")),
            ("samples after QC", _fmt((qc.get("sample_qc") or {}).get("samples_after_qc"))),
            ("train / valid / test", " / ".join(_fmt((parts.get(p) or {}).get("n")) for p in ("train", "valid", "test"))),
            ("features", _fmt(recipe_n) if recipe_n else "see the recipe"),
            ("covariates", ", ".join(inputs.get("covariates_columns") or []) or "none"),
            ("ancestry PCs", _pca_card_line(config, pca)),
            ("classes", ", ".join(f"{k}: {v}" for k, v in (inputs.get("class_counts") or {}).items()) or "n/a"),
        ],
        "metrics": metric_text,
        "gaps": gaps,
        "limitations": limitations,
    }


# ----------------------------------------------------------------------------- template
_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0;
       color: #1d2329; background: #fafbfc; line-height: 1.45; }
header { background: #23395d; color: #fff; padding: 1.2em 2em; }
header h1 { margin: 0 0 .2em 0; font-size: 1.6em; }
header p { margin: 0; opacity: .85; font-size: .9em; }
nav { background: #e9eef5; padding: .5em 2em; font-size: .9em; }
nav a { margin-right: 1em; color: #23395d; text-decoration: none; }
main { padding: 0 2em 3em 2em; max-width: 1300px; }
section { margin-top: 2em; }
h2 { border-bottom: 2px solid #23395d; padding-bottom: .2em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .6em 0 1em 0; font-size: .85em; background: #fff; }
th, td { border: 1px solid #d5dbe3; padding: .25em .6em; text-align: right; }
th { background: #eef2f7; }
td:first-child, th:first-child { text-align: left; }
td.l, th.l { text-align: left; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: .2em 1.2em; font-size: .9em; }
dl.kv dt { font-weight: 600; } dl.kv dd { margin: 0; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; background: #fff; border: 1px solid #d5dbe3; padding: .5em; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #4a5560; margin-top: .3em; }
.warn { background: #fff4e5; border-left: 4px solid #e67e22; padding: .5em 1em; margin: .6em 0; }
.alert { background: #fdecea; border-left: 6px solid #c0392b; padding: .6em 1em; margin: .8em 0; }
.banner ul { margin: .3em 0; padding-left: 1.4em; } .banner li { margin: .15em 0; }
.ok { background: #eaf7ee; border-left: 4px solid #2e9e5b; padding: .5em 1em; margin: .6em 0; }
.note { color: #4a5560; font-size: .85em; }
pre { background: #fff; border: 1px solid #d5dbe3; padding: .8em; overflow-x: auto; font-size: .8em; }
code { font-size: .9em; }
details summary { cursor: pointer; color: #23395d; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p>{{ subtitle }}</p>
</header>
<nav>
{% for id, label in toc %}<a href="#{{ id }}">{{ label }}</a>{% endfor %}
</nav>
<main>

{% if too_small %}
<section id="too-small" class="banner">
<div class="alert"><b>Too small to judge.</b> The held-out evaluation cannot tell how good this model is; treat the
metrics below as a smoke test of the workflow, not as an estimate of performance:
<ul>{% for f in too_small %}<li>{{ f }}</li>{% endfor %}</ul></div>
</section>
{% endif %}

{% if run_warnings %}
<section id="warnings" class="banner">
{% if run_warnings.n_distinct %}
<div class="warn"><b>{{ run_warnings.n }} warning(s)</b> ({{ run_warnings.n_distinct }} distinct) were raised by the jobs
that made these results. Read them before trusting the results; the full list is in
<code>{{ paths.warnings }}</code>, each job's log in <code>{{ paths.logs }}/</code>.
{% if run_warnings.own %}<ul>{% for w in run_warnings.own %}<li><code>{{ w.rule }}</code>{% if w.where %} ({{ w.where }}){% endif %}{% if w.count > 1 %} &times;{{ w.count }}{% endif %}: {{ w.message }}</li>{% endfor %}
{% if run_warnings.own_more %}<li>and {{ run_warnings.own_more }} more</li>{% endif %}</ul>{% endif %}
{% if run_warnings.lib %}<details><summary>{{ run_warnings.n_lib }} from libraries (scikit-learn, PyTorch, ...)</summary>
<ul>{% for w in run_warnings.lib %}<li><code>{{ w.rule }}</code>{% if w.where %} ({{ w.where }}){% endif %}{% if w.count > 1 %} &times;{{ w.count }}{% endif %}: {{ w.message }}</li>{% endfor %}
{% if run_warnings.lib_more %}<li>and {{ run_warnings.lib_more }} more</li>{% endif %}</ul></details>{% endif %}
</div>
{% else %}
<div class="ok">No job behind these results raised a warning.</div>
{% endif %}
</section>
{% endif %}

<section id="model-card">
<h2>Model card</h2>
<dl class="kv">{% for k, v in card.details %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<h3>Intended use</h3>
<p>{{ card.intended_use }}</p>
<h3>Data</h3>
<dl class="kv">{% for k, v in card.data %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<h3>Metrics (held-out test set)</h3>
<p>{{ card.metrics }}</p>
<h3>Subgroup gaps</h3>
<ul>{% for g in card.gaps %}<li>{{ g }}</li>{% endfor %}</ul>
<h3>Limitations</h3>
<ul>{% for l in card.limitations %}<li>{{ l }}</li>{% endfor %}</ul>
</section>

<section id="leaderboard-section">
<h2>Leaderboard</h2>
<p class="note">Every learner's best trial, ranked on its out-of-fold predictions ({{ selection_metric }}; every
development person predicted by a model that did not train on them). No test metrics: the final model
(below; the best learner, or a stack of learners when that beat it on out-of-fold predictions) is scored
once on the test set.</p>
{{ render_table(leaderboard.table, "leaderboard") }}
<details><summary>hyperparameters</summary>
<table><tr><th>learner</th><th class="l">params</th></tr>
{% for l, p in leaderboard.params %}<tr><td>{{ l }}</td><td class="l"><code>{{ p }}</code></td></tr>{% endfor %}
</table></details>
</section>

<section id="test-metrics">
<h2>Final test metrics</h2>
<p>{{ evaluation_title }}</p>
{{ render_table(metrics.table, "test-metrics-table") }}
{% if metrics.confusion %}<h3>Confusion matrix</h3>{{ render_table(metrics.confusion, "confusion-table") }}{% endif %}
<details><summary>out-of-fold metrics of the final model (cross-fitted: stack weights and calibrator chosen
without the scored rows)</summary>
<dl class="kv">{% for k, v in metrics.valid %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl></details>
</section>

<section id="evaluation-plots">
<h2>Evaluation plots</h2>
<div class="plots">
{% for p in evaluation_plots %}<figure><img class="plot" src="{{ p.src }}" alt="{{ p.alt }}"><figcaption>{{ p.alt }}</figcaption></figure>
{% endfor %}
</div>
</section>

{% if explain %}
<section id="explanations">
<h2>Explanations (SHAP)</h2>
<dl class="kv">{% for k, v in explain.pairs %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
{% for n in explain.notes %}<div class="warn">{{ n }}</div>{% endfor %}
<div class="plots">
{% for p in explain.plots %}<figure><img class="plot" src="{{ p.src }}" alt="{{ p.alt }}"><figcaption>{{ p.title }}</figcaption></figure>
{% endfor %}
</div>
<h3>Top features</h3>
<p class="note">Mean absolute SHAP value over the explained samples; <code>direction</code> &gt; 0 means a higher value
(more copies of the counted allele) raises the output. SNP features are named <code>&lt;id&gt;_&lt;counted allele&gt;</code>.</p>
{% if explain.top %}{{ render_table(explain.top, "top-features") }}{% endif %}
<details><summary>top {{ explain.top_snps|length }} SNPs for <code>plink2 --extract {{ paths.top_snps }}</code></summary>
<pre>{{ explain.top_snps|join("\n") }}</pre></details>
{% if explain.truth %}
<h3>Known truth (simulated cohort)</h3>
{% set t = explain.truth.t %}
<div class="{{ 'ok' if t.found > t.expected_random else 'warn' }}">
<b>{{ t.found }}</b> of {{ t.n_causal }} true causal SNPs are among the top {{ t.top_k }} SNPs, directly ({{ t.found_directly }})
or through an LD proxy; a random ranking of the model's {{ t.n_candidates }} SNPs would find
<b>{{ "%.2f"|format(t.expected_random) }}</b> on average. {{ t.n_causal_reachable }} causal SNPs were reachable
(the SNP itself or a proxy among the model's SNPs), {{ t.n_causal_in_model }} are in the model themselves.
Top-{{ t.top_k }} SNPs that tag a causal SNP: {{ t.tagging_in_top_k }} (random: {{ "%.2f"|format(t.tagging_expected_random) }},
hypergeometric p = {{ "%.3g"|format(t.tagging_p_value) }}).</div>
<p class="note">Proxy rule: {{ t.proxy_rule }}. Random baseline: {{ t.random_rule }}.</p>
{% if explain.truth.table %}<details><summary>per causal SNP</summary>{{ render_table(explain.truth.table, "truth-table") }}</details>{% endif %}
{% endif %}
</section>
{% endif %}

<section id="subgroups">
<h2>Performance by group</h2>
{% if subgroups %}
<p>{{ subgroups.s.metric }} on the held-out test set per group, with 95% bootstrap confidence intervals
({{ subgroups.s.n_bootstrap }} resamples) and calibration. Groups with fewer than {{ subgroups.s.min_n }} test samples
are shown but not compared.</p>
{% for w in subgroups.s.warnings %}<div class="warn">{{ w }}</div>{% endfor %}
{% if not subgroups.s.warnings %}<div class="ok">No group gap above {{ subgroups.s.max_gap }} and no group significantly worse than overall.</div>{% endif %}
{% if subgroups.gaps %}{{ render_table(subgroups.gaps, "subgroup-gaps") }}{% endif %}
{{ render_table(subgroups.table, "subgroup-table") }}
{% if subgroups.plot %}<div class="plots"><figure><img class="plot" src="{{ subgroups.plot.src }}" alt="{{ subgroups.plot.alt }}"><figcaption>Main metric per group (95% CI)</figcaption></figure></div>{% endif %}
{% else %}
<div class="warn">No groups file was configured (<code>data.groups</code>): per-group performance was not checked.</div>
{% endif %}
</section>

{% if pca %}
<section id="ancestry-pcs">
<h2>Ancestry principal components</h2>
<p>{{ pca.text }}</p>
{% if pca.people %}<dl class="kv">{% for k, v in pca.people %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>{% endif %}
{% if pca.eigenvalues %}<h3>Eigenvalues{% if pca.n_eigenvalues > pca.eigenvalues.rows|length %} (first {{ pca.eigenvalues.rows|length }} of {{ pca.n_eigenvalues }}){% endif %}</h3>
{{ render_table(pca.eigenvalues, "pca-eigenvalues") }}{% endif %}
<div class="plots"><figure><img class="plot" src="{{ pca.plot.src }}" alt="{{ pca.plot.alt }}"><figcaption>{{ pca.plot.title }}</figcaption></figure></div>
</section>
{% endif %}

{% if embed %}
<section id="embedding">
<h2>Embeddings (Res-VAE, PCA, t-SNE)</h2>
<p class="note">t-SNE cannot embed new points, so it is fitted on all rows, including the held-out rows it is scored on
(without their labels): its held-out Davies-Bouldin index is not an out-of-sample score and is not directly comparable
with those of the Res-VAE and PCA, which are fitted on the training rows only.</p>
{% if embed.data.table %}{{ render_table(embed.data.table, "embed-table") }}{% endif %}
{% if embed.data.pairs %}<dl class="kv">{% for k, v in embed.data.pairs %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>{% endif %}
{% if embed.plots %}<div class="plots">{% for p in embed.plots %}<figure><img class="plot" src="{{ p.src }}" alt="{{ p.alt }}"><figcaption>{{ p.alt }}</figcaption></figure>{% endfor %}</div>{% endif %}
</section>
{% endif %}

{% if nas %}
<section id="architecture">
<h2>RRFCN architecture search</h2>
{% if nas.data.table %}{{ render_table(nas.data.table, "nas-table") }}{% endif %}
{% if nas.data.pairs %}<dl class="kv">{% for k, v in nas.data.pairs %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>{% endif %}
{% if nas.plots %}<div class="plots">{% for p in nas.plots %}<figure><img class="plot" src="{{ p.src }}" alt="{{ p.alt }}"><figcaption>{{ p.alt }}</figcaption></figure>{% endfor %}</div>{% endif %}
</section>
{% endif %}

<section id="qc">
<h2>Quality control</h2>
{% if not qc.plink %}<p>No genotypes (matrix-only run): no PLINK sample or variant QC.</p>{% endif %}
<dl class="kv">{% for k, v in qc.samples %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
{% if qc.relatedness %}<h3>Relatedness</h3>{{ render_table(qc.relatedness, "qc-relatedness") }}{% endif %}
{% if qc.variants %}<h3>Variants per filter (training samples of each fold)</h3>{{ render_table(qc.variants, "qc-variants") }}{% endif %}
</section>

<section id="split">
<h2>Split</h2>
<p>Method {{ split.method }}, seed {{ split.seed }}, {{ split.n }} samples after QC; decided before anything was fitted.</p>
{% if split.table %}{{ render_table(split.table, "split-table") }}{% endif %}
</section>

<section id="configuration">
<h2>Configuration and versions</h2>
<dl class="kv">{% for k, v in versions %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<details><summary>validated configuration (defaults filled in)</summary><pre>{{ config_yaml }}</pre></details>
</section>

</main>
</body>
</html>
"""

_TABLE_MACRO = r"""{% macro render_table(t, id) -%}
<div class="scroll"><table id="{{ id }}"><thead><tr>{% for h in t.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in t.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div>
{%- endmacro %}"""


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
    import jinja2

    qc = io.read_json(_required(inputs, "qc"))
    split = io.read_json(_required(inputs, "split"))
    inp = io.read_json(_required(inputs, "inputs"))
    class_names = inp.get("class_names")
    board = pd.read_csv(_first(inputs, "leaderboard"), sep="\t")
    ev = io.read_json(_required(inputs, "metrics"))
    task = config.get("task")
    eval_plots = []
    for p in _list(inputs, "plots"):
        eval_plots.append(_img(p, _PLOT_TITLES.get(Path(p).stem, Path(p).stem)))

    explain = None
    explain_summary = None
    if _first(inputs, "explain_summary"):
        explain_summary = io.read_json(_required(inputs, "explain_summary"))
        imp_path = _first(inputs, "explain_importance")
        importance = pd.read_csv(imp_path, sep="\t", dtype={"chrom": str}) if imp_path else None
        explain = _explain_section(explain_summary, importance, _list(inputs, "explain_plots"))

    subgroups = None
    sub_summary = None
    if _first(inputs, "subgroup_summary") and _first(inputs, "subgroup_table"):
        sub_summary = io.read_json(_required(inputs, "subgroup_summary"))
        table = pd.read_csv(_first(inputs, "subgroup_table"), sep="\t", dtype={"group": str})
        subgroups = _subgroup_section(table, sub_summary, _first(inputs, "subgroup_plot"))

    pca = None
    pca_summary = None
    if _first(inputs, "pca_summary"):
        pca_summary = io.read_json(_required(inputs, "pca_summary"))
        if _first(inputs, "pca_pcs") and int(pca_summary.get("n_pcs") or 0) > 0:
            pca = _pca_section(pca_summary, _required(inputs, "pca_pcs"), _first(inputs, "pca_groups"))

    def optional(prefix: str, titles: Mapping[str, str]) -> dict[str, Any] | None:
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

    embed = optional("embed_", {"embed_plot_res_vae": "Res-VAE latent space", "embed_plot_pca": "PCA",
                                "embed_plot_tsne": "t-SNE"})
    nas = optional("nas_", {"nas_plot_winner": "Winning RRFCN architecture", "nas_plot_curve": "Search curve"})

    run_warnings = _warnings_banner(io.read_json(_required(inputs, "warnings")) if _first(inputs, "warnings") else None)
    too_small = judge_run_size(ev, split, class_names=class_names,
                               min_samples=(config.get("split") or {}).get("min_samples"))

    main = ev.get("selection_metric", "")
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
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_TABLE_MACRO + _TEMPLATE)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    vers = dict(versions) if versions is not None else collect_versions()
    page = template.render(
        title=title,
        subtitle=(f"{task} task, phenotype '{config.get('data', {}).get('phenotype_column')}'; final model "
                  f"{ev.get('learner')}; genoml_core {__version__}; generated {now}"),
        toc=toc,
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
    return page


def write_report(page: str, path: str | Path) -> Path:
    """Write the HTML atomically."""
    path = Path(path)
    with io.atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s (%.1f kB)", path, len(page.encode()) / 1024)
    return path

