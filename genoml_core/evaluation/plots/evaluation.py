"""The evaluation figures of one task: ROC, precision-recall, confusion, calibration, score distributions
(classification), predicted vs observed and residuals (continuous), and the whole set at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from ...errors import ConfigError
from ...layout import PLOT_FILES
from ..metrics import THRESHOLD, compute_metrics, confusion
from ..metrics.scores import _average_precision
from ..metrics.labels import _check_inputs
from .figure import PathLike, _figure, _note, _save

_BINS = np.linspace(0.0, 1.0, 21).tolist()  # a list: matplotlib's stubs type hist bins as a Sequence


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
    """Confusion matrix (counts and row percentages) of :func:`genoml_core.evaluation.metrics.predicted_class`
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
        scores: Scores from :func:`genoml_core.models.learners.predict_scores`.
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
