"""Plots of the search: the winning architecture's diagram and the search curve."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...io import atomic_path
from ..nn.rrfcn import Architecture


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Any, path: str | Path, *, tight: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    fig.clear()
    return path


def plot_architecture(
    arch: Architecture, path: str | Path, *, d_in: int, d_out: int, title: str | None = None
) -> Path:
    """Draw ``arch``: the input, each layer (labelled with its width) and the output as nodes in a
    row; chain edges as straight arrows, skip edges as arcs above (from the input: below)."""
    from matplotlib.patches import Circle, FancyArrowPatch

    n = arch.n_layers
    x_span, unit = n + 2.6, 1.1  # data units across; inches per data unit
    fig = _figure(x_span * unit, 3.8)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.84))
    points = unit * 72  # points per data unit, for the arrows' shrink
    xs = list(range(n + 2))  # input, layers 1..n, output
    w_max = max(arch.widths)
    radius = [0.36] + [0.2 + 0.18 * math.log2(1 + w) / math.log2(1 + w_max) for w in arch.widths] + [0.26]
    colours = ["#9ecae1"] + ["#fdae6b"] * n + ["#a1d99b"]
    labels = [f"input\n{d_in}"] + [f"L{k + 1}\n{w}" for k, w in enumerate(arch.widths)] + [f"out\n{d_out}"]

    def arrow(a: int, b: int, rad: float, colour: str, width: float) -> None:
        ax.add_patch(FancyArrowPatch(
            (xs[a], 0), (xs[b], 0), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=12,
            shrinkA=radius[a] * points, shrinkB=radius[b] * points, color=colour, lw=width, zorder=1,
        ))  # fmt: skip

    for a in range(n + 1):
        arrow(a, a + 1, 0.0, "#444444", 1.6)
    for j, k in arch.skip_edges:
        rad = min(0.5, 0.3 + 0.04 * (k - j))
        arrow(j, k, rad if j == 0 else -rad, "#d62728" if j == 0 else "#1f77b4", 1.2)
    for i, x in enumerate(xs):
        ax.add_patch(Circle((x, 0), radius[i], facecolor=colours[i], edgecolor="#333333", zorder=2))
        ax.text(x, 0, labels[i], ha="center", va="center", fontsize=8, zorder=3)
    ax.set_xlim(-0.8, n + 1.8)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    mode = "summed" if arch.skip_mode == "sum" else "concatenated"
    fig.suptitle(
        (title + "\n" if title else "")
        + f"{len(arch.skip_edges)} skip edges ({mode}); red: from the input, blue: between layers",
        fontsize=9,
    )
    return _save_png(fig, path, tight=False)


def plot_search_curve(curve: Sequence[Mapping[str, Any]], path: str | Path, *, metric: str, sampler: str) -> Path:
    """Reward per sampler step, its running mean and the controller's baseline."""
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    steps = np.array([row["step"] for row in curve], dtype=float)
    rewards = np.array([row["reward"] for row in curve], dtype=float)
    if len(steps):
        ax.plot(steps, rewards, "o", ms=3, alpha=0.6, label="reward (validation)")
        running = np.cumsum(rewards) / np.arange(1, len(rewards) + 1)
        ax.plot(steps, running, "-", lw=1.5, label="running mean")
        ax.plot(steps, [row["baseline"] for row in curve], "--", lw=1.2, label="baseline")
        ax.plot(steps, np.maximum.accumulate(rewards), ":", lw=1.2, label="best so far")
        for e in sorted({row["epoch"] for row in curve})[1:]:
            first = min(row["step"] for row in curve if row["epoch"] == e)
            ax.axvline(first - 0.5, color="#cccccc", lw=0.8, zorder=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("sampler step")
    ax.set_ylabel(f"validation {metric} (supernet)")
    ax.set_title(f"RRFCN search ({sampler} sampler); grey lines: new supernet epoch", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    return _save_png(fig, path)
