"""The report's sections: each turns the run's results into the plain values its part of the template shows."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import pandas as pd

from .. import layout
from ..evaluation.plots import ancestry_group_column, plot_ancestry_pcs
from ..run_size import LOGGER_NAME as _SIZE_LOGGER
from .inputs import _list
from .tables import _flat_rows, _fmt, _img, _table

#: Eigenvalues listed in the report's ancestry PC section.
PCA_EIGENVALUES_SHOWN = 5
#: Warning messages in the banner are cut here (a message may list ids; the full text stays in
#: results/warnings.json and the job's log).
MAX_WARNING_CHARS = 300
#: Warnings listed per group in the banner (the rest are counted).
MAX_WARNINGS_SHOWN = 15
_PLOT_TITLES = {
    "roc": "ROC curve",
    "pr": "Precision-recall curve",
    "confusion": "Confusion matrix",
    "calibration": "Calibration",
    "score_distributions": "Score distributions",
    "scatter": "Predicted vs observed",
    "residuals": "Residuals",
}


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


def _evaluation_plots(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """The evaluation PNGs (input key ``plots``), embedded, titled by their plot name."""
    eval_plots = []
    for p in _list(inputs, "plots"):
        eval_plots.append(_img(p, _PLOT_TITLES.get(Path(p).stem, Path(p).stem)))
    return eval_plots


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
