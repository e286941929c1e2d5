"""Evaluation figures, one PNG per function, written atomically.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas, never
``pyplot``: no global figure registry to close, no GUI backend, safe in batch jobs and
threads. PNGs carry no software/date metadata, so the same inputs give the same bytes with
the same matplotlib.

Scores follow :func:`genoml_core.learners.predict_scores`. Undefined curves (e.g. ROC with
one class in ``y_true``) are left out with a note on the figure instead of failing.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.metrics import precision_recall_curve, roc_curve

from .errors import ConfigError
from .io import atomic_path
from .layout import PLOT_FILES
from .metrics import THRESHOLD, _average_precision, _check_inputs, compute_metrics, confusion

__all__ = [
    "PLOT_FILES",
    "plot_roc",
    "plot_pr",
    "plot_confusion",
    "plot_calibration",
    "plot_score_distributions",
    "plot_scatter",
    "plot_residuals",
    "PCA_ROLE_MARKERS",
    "ancestry_group_column",
    "plot_ancestry_pcs",
    "evaluation_plots",
]

log = logging.getLogger(__name__)

_DPI = 110
_BINS = np.linspace(0.0, 1.0, 21).tolist()  # a list: matplotlib's stubs type hist bins as a Sequence

PathLike = str | os.PathLike[str]


def _figure(width: float = 5.0, height: float = 4.5) -> Figure:
    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: PathLike) -> Path:
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})
    fig.clear()
    log.debug("wrote %s", path)
    return path


def _names(k: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(k)]
    if len(class_names) != k:
        raise ConfigError(
            f"class_names has {len(class_names)} names for {k} classes; give one name per class 0..{k - 1}"
        )
    return [str(c) for c in class_names]


def _classification(task: str, what: str) -> None:
    if task not in ("binary", "multiclass"):
        raise ConfigError(f"{what} needs task 'binary' or 'multiclass', got {task!r}")


def _one_vs_rest(task: str, y: np.ndarray, s: np.ndarray, k: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(class, is_class, score_for_class) for each class with both positives and negatives."""
    cols = [(1, y == 1, s)] if task == "binary" else [(c, y == c, s[:, c]) for c in range(k)]
    return [(c, pos, sc) for c, pos, sc in cols if 0 < pos.sum() < pos.size]


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.3")


# ----------------------------------------------------------------------------- classification
def plot_roc(
    task: str, y_true: Any, scores: Any, path: PathLike, *, class_names: Sequence[str] | None = None
) -> Path:
    """ROC curve (binary) or one-vs-rest ROC curves per class (multiclass), with AUCs."""
    _classification(task, "plot_roc")
    y, s, k = _check_inputs(task, y_true, scores, None)
    names = _names(k, class_names)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="chance")
    curves = _one_vs_rest(task, y, s, k)
    for c, pos, sc in curves:
        fpr, tpr, _ = roc_curve(pos, sc)
        auc = float(np.trapezoid(tpr, fpr))
        label = f"AUC = {auc:.3f}" if task == "binary" else f"{names[c]} (AUC = {auc:.3f})"
        ax.plot(fpr, tpr, lw=1.5, label=label)
    if not curves:
        _note(ax, "ROC undefined: y_true has one class")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False positive rate", ylabel="True positive rate",
           title="ROC" if task == "binary" else "ROC (one vs rest)")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_pr(
    task: str, y_true: Any, scores: Any, path: PathLike, *, class_names: Sequence[str] | None = None
) -> Path:
    """Precision-recall curve(s) with average precision; dotted lines mark prevalence."""
    _classification(task, "plot_pr")
    y, s, k = _check_inputs(task, y_true, scores, None)
    names = _names(k, class_names)
    fig = _figure()
    ax = fig.add_subplot()
    curves = _one_vs_rest(task, y, s, k)
    for c, pos, sc in curves:
        precision, recall, _ = precision_recall_curve(pos, sc)
        ap = _average_precision(pos, sc)
        label = f"AP = {ap:.3f}" if task == "binary" else f"{names[c]} (AP = {ap:.3f})"
        (line,) = ax.step(recall, precision, where="post", lw=1.5, label=label)
        ax.axhline(pos.mean(), ls=":", lw=1, color=line.get_color())
    if curves:
        ax.legend(loc="lower left", fontsize=8)
    else:
        _note(ax, "PR curve undefined: y_true has one class")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="Recall", ylabel="Precision",
           title="Precision-recall" if task == "binary" else "Precision-recall (one vs rest)")
    return _save(fig, path)


def plot_confusion(
    task: str, y_true: Any, scores: Any, path: PathLike, *, class_names: Sequence[str] | None = None,
    cutoff: Any = None,
) -> Path:
    """Confusion matrix (counts and row percentages) of :func:`genoml_core.metrics.predicted_class`
    with ``cutoff`` (binary default: score >= 0.5)."""
    _classification(task, "plot_confusion")
    cm = np.asarray(confusion(task, y_true, scores, cutoff=cutoff))
    k = cm.shape[0]
    names = _names(k, class_names)
    fig = _figure(4.0 + 0.4 * k, 3.5 + 0.4 * k)
    ax = fig.add_subplot()
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]}\n{100 * frac[i, j]:.0f}%", ha="center", va="center", fontsize=8,
                    color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set(xlabel="Predicted", ylabel="True",
           title=(f"Confusion (cutoff {THRESHOLD if cutoff is None else float(cutoff):.3g})" if task == "binary"
                  else "Confusion (arg-max)" if cutoff is None else "Confusion (arg-max of p / mean p)"))
    return _save(fig, path)


def plot_calibration(y_true: Any, scores: Any, path: PathLike, *, n_bins: int = 10) -> Path:
    """Binary reliability diagram (observed case fraction per score bin) with bin counts."""
    y, s, _ = _check_inputs("binary", y_true, scores, None)
    if n_bins < 2:
        raise ConfigError(f"n_bins must be >= 2, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    filled = counts > 0
    mean_pred = np.bincount(which, weights=s, minlength=n_bins)[filled] / counts[filled]
    observed = np.bincount(which, weights=(y == 1).astype(float), minlength=n_bins)[filled] / counts[filled]
    fig = _figure(5.0, 5.5)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="perfectly calibrated")
    ax.plot(mean_pred, observed, marker="o", lw=1.5, label="model")
    brier = compute_metrics("binary", y, s)["brier"]
    ax.set(xlim=(0, 1), ylim=(0, 1.01), ylabel="Observed fraction of cases",
           title=f"Calibration (Brier = {brier:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    hist = fig.add_subplot(grid[1], sharex=ax)
    centers = (edges[:-1] + edges[1:]) / 2
    hist.bar(centers, counts, width=1.0 / n_bins, color="0.5", edgecolor="white")
    for x, c in zip(centers, counts):
        if c:
            hist.text(x, c, str(int(c)), ha="center", va="bottom", fontsize=7)
    hist.set(xlabel="Predicted probability of case", ylabel="Samples")
    return _save(fig, path)


def plot_score_distributions(
    task: str, y_true: Any, scores: Any, path: PathLike, *, class_names: Sequence[str] | None = None,
    cutoff: float | None = None,
) -> Path:
    """Histograms of predicted scores by true class.

    binary: P(case) for each true class; multiclass: one panel per class k with P(class k)
    for samples of class k versus all others.
    """
    _classification(task, "plot_score_distributions")
    y, s, k = _check_inputs(task, y_true, scores, None)
    names = _names(k, class_names)
    if task == "binary":
        fig = _figure()
        ax = fig.add_subplot()
        for c in (0, 1):
            ax.hist(s[y == c], bins=_BINS, alpha=0.55, label=f"{names[c]} (n={int(np.sum(y == c))})")
        ax.axvline(THRESHOLD if cutoff is None else float(cutoff), ls="--", color="0.4", lw=1,
                   label="decision cutoff")
        ax.set(xlim=(0, 1), xlabel=f"Predicted probability of {names[1]}", ylabel="Samples",
               title="Score distributions")
        ax.legend(fontsize=8)
        return _save(fig, path)
    fig = _figure(3.2 * k, 3.2)
    for c in range(k):
        ax = fig.add_subplot(1, k, c + 1)
        ax.hist(s[y == c, c], bins=_BINS, alpha=0.55, label=f"{names[c]} (n={int(np.sum(y == c))})")
        ax.hist(s[y != c, c], bins=_BINS, alpha=0.55, label=f"others (n={int(np.sum(y != c))})")
        ax.set(xlim=(0, 1), xlabel=f"P({names[c]})", ylabel="Samples" if c == 0 else None)
        ax.legend(fontsize=7)
    fig.suptitle("Score distributions by true class")
    return _save(fig, path)


# ----------------------------------------------------------------------------- continuous
def plot_scatter(y_true: Any, predictions: Any, path: PathLike) -> Path:
    """Predicted against observed, identity line, with r2 and Pearson r in the title."""
    y, s, _ = _check_inputs("continuous", y_true, predictions, None)
    m = compute_metrics("continuous", y, s)
    fig = _figure(5.0, 5.0)
    ax = fig.add_subplot()
    ax.scatter(y, s, s=10, alpha=0.6, edgecolors="none")
    lo, hi = float(min(y.min(), s.min())), float(max(y.max(), s.max()))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", color="0.5", lw=1, label="identity")
    ax.set(xlim=(lo - pad, hi + pad), ylim=(lo - pad, hi + pad), xlabel="Observed", ylabel="Predicted",
           title=f"r2 = {m['r2']:.3f}, Pearson r = {m['pearson_r']:.3f}, n = {y.size}")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_residuals(y_true: Any, predictions: Any, path: PathLike) -> Path:
    """Histogram of residuals (observed - predicted) with RMSE and MAE."""
    y, s, _ = _check_inputs("continuous", y_true, predictions, None)
    m = compute_metrics("continuous", y, s)
    fig = _figure()
    ax = fig.add_subplot()
    ax.hist(y - s, bins=30, color="tab:blue", alpha=0.75)
    ax.axvline(0.0, ls="--", color="0.4", lw=1)
    ax.set(xlabel="Residual (observed - predicted)", ylabel="Samples",
           title=f"Residuals (RMSE = {m['rmse']:.3g}, MAE = {m['mae']:.3g})")
    return _save(fig, path)


# ----------------------------------------------------------------------------- ancestry PCs
#: Marker per role in a fold's ``results/individual/pca/{fold}/pcs.tsv``: the training people are the ones the
#: PCs were fitted on; everybody else was projected with the training allele weights.
PCA_ROLE_MARKERS: dict[str, str] = {"train": "o", "valid": "s", "test": "^", "unused": "D"}
_ROLE_ORDER = ("train", "valid", "unused", "test")  # drawn in this order: the projected test people on top
_ANCESTRY_NAME = re.compile(r"ancestr|popul|^(super_?)?pop(_|$)|superpop", re.IGNORECASE)
#: Groups beyond this many (by size) are drawn as one "other" group.
_MAX_GROUPS = 10
_MISSING = "(missing)"


def ancestry_group_column(columns: Sequence[str]) -> str | None:
    """The groups-table column to colour the ancestry PCs by: the first named like ancestry or
    population (``ancestry``, ``genetic_ancestry``, ``population``, ``pop``, ``superpop``), else the
    first group column; ``None`` when there is none besides FID and IID."""
    cols = [str(c) for c in columns if c not in ("FID", "IID")]
    for c in cols:
        if _ANCESTRY_NAME.search(c):
            return c
    return cols[0] if cols else None


def _read_ids_table(table: Any, what: str) -> pd.DataFrame:
    df = table.copy() if isinstance(table, pd.DataFrame) else pd.read_csv(
        table, sep="\t", dtype={"FID": str, "IID": str}, keep_default_na=False)
    missing = [c for c in ("FID", "IID") if c not in df.columns]
    if missing:
        raise ConfigError(f"{what} table has no {', '.join(missing)} column; the header must start with FID and IID")
    df["FID"] = df["FID"].astype(str)
    df["IID"] = df["IID"].astype(str)
    return df


def plot_ancestry_pcs(
    pcs: Any, path: PathLike, *, groups: Any = None, group_column: str | None = None, title: str | None = None
) -> Path:
    """Ancestry PC1 against PC2 of one fold, coloured by group (or by role without groups).

    Args:
        pcs: ``results/individual/pca/{fold}/pcs.tsv`` (path or DataFrame): FID, IID, ``role`` (train, valid,
            test or unused) and ``ancestry_PC1`` ... ``ancestry_PCk``.
        path: the PNG to write.
        groups: the ``data.groups`` table (path or DataFrame: FID, IID, group columns) or ``None``.
            People without a row or a value are grouped as ``(missing)``.
        group_column: the column to colour by (default :func:`ancestry_group_column`).
        title: figure title (default ``"Ancestry PCs"``).

    The training people (the PCs were fitted on them) are circles; the projected people are drawn
    with other markers (:data:`PCA_ROLE_MARKERS`; test people as triangles, on top). With a single
    PC, PC1 is drawn against the role. The figure carries no ids.
    """
    df = _read_ids_table(pcs, "pcs")
    pc_cols = sorted((c for c in df.columns if re.fullmatch(r"ancestry_PC\d+", str(c))),
                     key=lambda c: int(str(c)[len("ancestry_PC"):]))
    for c in pc_cols:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    roles = (df["role"].astype(str) if "role" in df.columns else pd.Series("train", index=df.index)).str.lower()
    fig = _figure(7.0, 5.0)
    ax = fig.add_subplot()
    title = title or "Ancestry PCs"
    if not pc_cols or df.empty:
        _note(ax, "no ancestry PCs in the table")
        ax.set(title=title, xticks=[], yticks=[])
        return _save(fig, path)

    colour_by = "role"
    labels = roles
    if groups is not None:
        g = _read_ids_table(groups, "groups")
        col = group_column or ancestry_group_column(list(g.columns))
        if col is not None:
            if col not in g.columns:
                raise ConfigError(f"groups table has no column {col!r}; columns are {list(g.columns)}")
            g = g.drop_duplicates(["FID", "IID"])[["FID", "IID", col]].rename(columns={col: "_group"})
            merged = df[["FID", "IID"]].merge(g, on=["FID", "IID"], how="left")
            labels = (merged["_group"].fillna("").astype(str).replace({"": _MISSING, "NA": _MISSING, "nan": _MISSING})
                      .set_axis(df.index))
            colour_by = col
    counts = labels.value_counts()
    levels = sorted(counts.index, key=lambda v: (v == _MISSING, -counts[v], v))
    if len(levels) > _MAX_GROUPS:
        keep = set(levels[: _MAX_GROUPS - 1])
        labels = labels.where(labels.isin(keep), "other")
        levels = [v for v in levels if v in keep] + ["other"]
    if colour_by == "role":
        levels = [r for r in _ROLE_ORDER if r in set(labels)] + sorted(set(labels) - set(_ROLE_ORDER))
    palette = {lv: (f"C{i % 10}" if lv not in (_MISSING, "other") else "0.6") for i, lv in enumerate(levels)}

    x = df[pc_cols[0]].to_numpy(np.float64)
    if len(pc_cols) > 1:
        y = df[pc_cols[1]].to_numpy(np.float64)
        ylabel = "ancestry PC2"
    else:  # one PC: a strip per role, jittered deterministically
        role_rows = [r for r in _ROLE_ORDER if r in set(roles)] + sorted(set(roles) - set(_ROLE_ORDER))
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(df))
        y = roles.map({r: i for i, r in enumerate(role_rows)}).to_numpy(np.float64) + jitter
        ax.set_yticks(range(len(role_rows)), role_rows)
        ylabel = "role"
    size = 14 if len(df) <= 2000 else 6 if len(df) <= 20000 else 2
    role_order = [r for r in _ROLE_ORDER if r in set(roles)] + sorted(set(roles) - set(_ROLE_ORDER))
    for role in role_order:
        in_role = (roles == role).to_numpy()
        for lv in levels:
            sel = in_role & (labels == lv).to_numpy()
            if sel.any():
                ax.scatter(x[sel], y[sel], s=size, c=palette[lv], marker=PCA_ROLE_MARKERS.get(role, "P"),
                           alpha=0.75 if role == "train" else 0.9, linewidths=0.3,
                           edgecolors="none" if role == "train" else "0.15", rasterized=len(df) > 2000)
    handles = []
    if colour_by != "role":
        handles += [Line2D([], [], ls="", marker="o", color=palette[lv], label=f"{lv} (n={int((labels == lv).sum())})")
                    for lv in levels]
    for role in role_order:
        n = int((roles == role).sum())
        how = "fitted" if role == "train" else "projected"
        handles.append(Line2D([], [], ls="", marker=PCA_ROLE_MARKERS.get(role, "P"),
                              color=palette[role] if colour_by == "role" else "0.35",
                              markeredgecolor="none" if role == "train" else "0.15",
                              label=f"{role}, {how} (n={n})"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              title=None if colour_by == "role" else colour_by, title_fontsize=7, frameon=False)
    ax.set(xlabel="ancestry PC1", ylabel=ylabel, title=title)
    return _save(fig, path)


# ----------------------------------------------------------------------------- all at once
def evaluation_plots(
    task: str,
    y_true: Any,
    scores: Any,
    out_dir: PathLike,
    *,
    class_names: Sequence[str] | None,
    prefix: str = "",
    cutoff: Any = None,
) -> dict[str, Path]:
    """Write the standard figure set of ``task`` into ``out_dir``.

    Files (see :data:`PLOT_FILES`), each named ``prefix + file``: binary ``roc.png``,
    ``pr.png``, ``confusion.png``, ``calibration.png``, ``score_distributions.png``;
    multiclass ``roc.png``, ``pr.png``, ``confusion.png``, ``score_distributions.png``;
    continuous ``scatter.png``, ``residuals.png``.

    Args:
        task: The task.
        y_true: True labels/targets.
        scores: Scores from :func:`genoml_core.learners.predict_scores`.
        out_dir: Directory (created if needed).
        class_names: One name per class 0..K-1 (``None``: the labels); ignored for continuous.
        prefix: Prepended to each file name.

    Returns:
        Plot name -> written path.
    """
    if task not in PLOT_FILES:
        raise ConfigError(f"task must be one of {list(PLOT_FILES)}, got {task!r}")
    out = Path(out_dir)
    files = {name: out / f"{prefix}{fname}" for name, fname in PLOT_FILES[task].items()}
    if task == "continuous":
        return {
            "scatter": plot_scatter(y_true, scores, files["scatter"]),
            "residuals": plot_residuals(y_true, scores, files["residuals"]),
        }
    written = {
        "roc": plot_roc(task, y_true, scores, files["roc"], class_names=class_names),
        "pr": plot_pr(task, y_true, scores, files["pr"], class_names=class_names),
        "confusion": plot_confusion(task, y_true, scores, files["confusion"], class_names=class_names, cutoff=cutoff),
    }
    if task == "binary":
        written["calibration"] = plot_calibration(y_true, scores, files["calibration"])
    written["score_distributions"] = plot_score_distributions(
        task, y_true, scores, files["score_distributions"], class_names=class_names,
        cutoff=cutoff if task == "binary" else None,
    )
    return written
