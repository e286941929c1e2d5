"""Plots of an explanation: beeswarm, bar and dependence plots (the dependence plot from aggregates only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import io
from .base import Explanation

#: Dependence plots draw no group (genotype, decile) of fewer samples.
_MIN_CELL = 5



def _grid(m: int, max_cols: int = 3) -> tuple[int, int]:
    """Rows and columns of panels for m outputs (classes).

    >>> _grid(1), _grid(3), _grid(5)
    ((1, 1), (1, 3), (2, 3))
    """
    ncol = min(m, max_cols)
    return int(math.ceil(m / ncol)), ncol


def _top_order(imp: np.ndarray, n: int) -> np.ndarray:
    return np.argsort(-imp, kind="mergesort")[:n]


def _swarm_offsets(v: np.ndarray, width: float = 0.4, nbins: int = 80) -> np.ndarray:
    """Vertical offsets that spread points with similar values (a simple beeswarm)."""
    if v.size == 0:
        return v
    lo, hi = float(v.min()), float(v.max())
    bins = np.zeros(v.size, dtype=np.int64) if hi <= lo else np.minimum(((v - lo) / (hi - lo) * nbins).astype(int),
                                                                          nbins - 1)
    off = np.zeros(v.size)
    counts = np.bincount(bins, minlength=nbins)
    peak = max(int(counts.max()), 1)
    seen = np.zeros(nbins, dtype=np.int64)
    for i in np.argsort(v, kind="mergesort"):
        k = seen[bins[i]]
        seen[bins[i]] += 1
        off[i] = (k + 1) // 2 * (1 if k % 2 else -1)
    return off * (width / max(peak / 2, 1))


def plot_beeswarm(exp: Explanation, X: np.ndarray, path: str | Path, *, n_display: int = 20) -> Path:
    """SHAP summary (beeswarm) plot, one panel per output: one dot per explained row and top
    feature, coloured by the feature's value (5th-95th percentile scale). Dots carry no ids."""
    from matplotlib import colormaps

    from ..evaluation.plots.figure import _figure

    m = exp.values.shape[2]
    imp = exp.importance()
    n_show = min(n_display, exp.values.shape[1])
    nrow, ncol = _grid(m)
    fig = _figure(5.5 * ncol, (1.2 + 0.32 * n_show) * nrow)
    fig.set_layout_engine("constrained")
    cmap = colormaps["coolwarm"]
    Xr = np.asarray(X, dtype=np.float64)
    for k in range(m):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        order = _top_order(imp[:, k], n_show)
        for row, j in enumerate(order):
            yv = n_show - 1 - row
            v = exp.values[:, j, k]
            x = Xr[:, j]
            lo, hi = np.nanpercentile(x, [5, 95]) if x.size else (0.0, 1.0)
            if hi <= lo:
                lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
            c = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.full(x.size, 0.5)
            ax.scatter(v, yv + _swarm_offsets(v), c=cmap(c), s=7, linewidths=0, rasterized=True)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(range(n_show), [exp.feature_names[j] for j in order][::-1], fontsize=7)
        ax.set_ylim(-0.8, n_show - 0.2)
        ax.set_xlabel(f"SHAP value ({exp.output_space if m == 1 else exp.output_names[k]})", fontsize=8)
        if m > 1:
            ax.set_title(exp.output_names[k], fontsize=9)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    sm = ScalarMappable(norm=Normalize(0, 1), cmap=cmap)
    cb = fig.colorbar(sm, ax=fig.axes, fraction=0.03, pad=0.02, ticks=[0, 1])
    cb.ax.set_yticklabels(["low", "high"], fontsize=7)
    cb.set_label("feature value", fontsize=8)
    fig.suptitle(f"SHAP summary ({exp.values.shape[0]} explained samples)", fontsize=10)
    path = Path(path)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    fig.clear()
    return path


def plot_bar(exp: Explanation, sources: Sequence[str], path: str | Path, *, n_display: int = 20) -> Path:
    """Mean |SHAP| of the top features, one panel per output (class); SNPs blue, others orange."""
    from ..evaluation.plots.figure import _figure, _save

    m = exp.values.shape[2]
    imp = exp.importance()
    n_show = min(n_display, imp.shape[0])
    nrow, ncol = _grid(m)
    fig = _figure(4.8 * ncol, (1.2 + 0.3 * n_show) * nrow)
    for k in range(m):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        order = _top_order(imp[:, k], n_show)[::-1]
        colours = ["tab:blue" if sources[j] == "snp" else "tab:orange" for j in order]
        ax.barh(range(n_show), imp[order, k], color=colours)
        ax.set_yticks(range(n_show), [exp.feature_names[j] for j in order], fontsize=7)
        ax.set_xlabel("mean |SHAP value|", fontsize=8)
        ax.set_title(exp.output_names[k] if m > 1 else f"{exp.output_space}", fontsize=9)
    fig.suptitle("Feature importance (blue: SNP, orange: covariate/omics)", fontsize=10)
    return _save(fig, path)


def plot_dependence(exp: Explanation, genotypes: np.ndarray, other: np.ndarray, recipe: Mapping[str, Any],
                    path: str | Path, *, n_features: int = 4) -> Path:
    """SHAP dependence of the top features, drawn from aggregates only: per genotype (0/1/2 copies
    of the counted allele, and missing) a box plot of SHAP values with its count; for a
    covariate, the median and quartiles of SHAP values per decile of its value. Groups of fewer
    than 5 samples are not drawn."""
    from ..evaluation.plots.figure import _figure, _save

    feats = recipe["features"]
    n_snps = int(recipe["n_snps"])
    imp = exp.importance()
    overall = imp.mean(axis=1)
    order = _top_order(overall, min(n_features, len(overall)))
    ncol = min(2, len(order))
    nrow = int(math.ceil(len(order) / max(ncol, 1)))
    fig = _figure(4.2 * max(ncol, 1), 3.3 * max(nrow, 1))
    for i, j in enumerate(order):
        ax = fig.add_subplot(nrow, max(ncol, 1), i + 1)
        k = int(np.argmax(imp[j]))
        v = exp.values[:, j, k]
        f = feats[j]
        if j < n_snps:
            g = genotypes[:, j]
            groups = [(lab, g == val) for lab, val in (("0", 0), ("1", 1), ("2", 2), ("missing", -1))]
            groups = [(lab, mask) for lab, mask in groups if mask.any()]
            # small cells are not drawn: a box of 1-4 people shows their individual values
            shown = [(lab, mask) for lab, mask in groups if mask.sum() >= _MIN_CELL]
            if shown:
                ax.boxplot([v[mask] for _, mask in shown], showfliers=False)
            ax.set_xticks(range(1, len(shown) + 1), [f"{lab}\nn={int(mask.sum())}" for lab, mask in shown],
                          fontsize=7)
            hidden = [f"{lab} (n<{_MIN_CELL})" for lab, mask in groups if mask.sum() < _MIN_CELL]
            if hidden:
                ax.text(0.99, 0.02, "not shown: " + ", ".join(hidden), transform=ax.transAxes, ha="right",
                        va="bottom", fontsize=6, color="0.4")
            ax.set_xlabel(f"copies of {f.get('counted', '?')}", fontsize=8)
        else:
            x = other[:, j - n_snps].astype(np.float64)
            ok = ~np.isnan(x)
            edges = np.unique(np.nanquantile(x[ok], np.linspace(0, 1, 11))) if ok.any() else np.array([0.0])
            which = np.clip(np.searchsorted(edges, x[ok], side="right") - 1, 0, max(len(edges) - 2, 0))
            mids, med, q1, q3, cnt = [], [], [], [], []
            for b in np.unique(which):
                sel = v[ok][which == b]
                if sel.size < _MIN_CELL:
                    continue
                mids.append(float(np.median(x[ok][which == b])))
                med.append(np.median(sel))
                q1.append(np.quantile(sel, 0.25))
                q3.append(np.quantile(sel, 0.75))
                cnt.append(sel.size)
            ax.fill_between(mids, q1, q3, alpha=0.3, color="tab:orange")
            ax.plot(mids, med, "o-", color="tab:orange", ms=3)
            ax.set_xlabel(f"{f['name']} (decile medians; n per decile {min(cnt) if cnt else 0}-{max(cnt) if cnt else 0})",
                          fontsize=8)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_ylabel("SHAP value" + (f" ({exp.output_names[k]})" if exp.values.shape[2] > 1 else ""), fontsize=8)
        ax.set_title(f"{i + 1}. {f['name']}", fontsize=9)
    return _save(fig, path)
