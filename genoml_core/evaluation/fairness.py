"""Per-group held-out performance: does the final model work worse for some people?

A groups file (tab-separated: FID, IID and categorical columns such as ancestry, sex or site)
splits the test set's predictions (``results/individual/evaluate/predictions.tsv``) into groups.
For each group: its size, the task's selection metric (ROC AUC, macro one-vs-rest AUC, or r2) with
a stratified bootstrap confidence interval, secondary metrics and calibration. For each column:
the largest gap between groups large enough to judge (``min_n``).

Nothing is hidden: a gap above ``max_gap``, a group whose whole confidence interval lies below the
overall value, and groups too small to judge are listed as warnings, which the report shows in
its model card. Only the test set is used, so these are held-out numbers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import io
from . import metrics
from ..errors import ConfigError, InputError, field_names, reject_unknown

__all__ = [
    "MAIN_METRIC",
    "MISSING_GROUP",
    "SubgroupOptions",
    "read_groups",
    "scores_from_predictions",
    "calibration",
    "subgroup_metrics",
    "plot_subgroups",
    "run_subgroups",
]

log = logging.getLogger(__name__)

#: The metric compared between groups, per task (the leaderboard's selection metric).
MAIN_METRIC: dict[str, str] = dict(metrics.SELECTION_METRIC)
#: Further metrics reported per group.
SECONDARY: dict[str, tuple[str, ...]] = {
    "binary": ("balanced_accuracy", "brier"),
    "multiclass": ("accuracy", "balanced_accuracy", "log_loss"),
    "continuous": ("rmse", "pearson_r"),
}
#: Group label of test samples without a value (or without a row) in the groups file.
MISSING_GROUP = "(missing)"
_ID = {"FID": str, "IID": str}


@dataclass(frozen=True, kw_only=True)
class SubgroupOptions:
    """The ``subgroups`` config section (defaults equal genoml_core/config.schema.yaml's).

    Attributes:
        columns: group columns to use; ``None`` = every column except FID and IID.
        min_n: groups with fewer test samples are reported but not used for the gap.
        max_gap: warn when the largest gap in the main metric between groups exceeds this.
        max_levels: a column with more distinct values is refused (bin it first).
    """

    columns: tuple[str, ...] | None = None
    min_n: int = 20
    max_gap: float = 0.05
    max_levels: int = 20

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "SubgroupOptions":
        d = dict(d or {})
        reject_unknown(d, field_names(cls), "subgroups option(s)")
        if d.get("columns") is not None:
            d["columns"] = tuple(d["columns"])
        opts = cls(**d)
        if opts.min_n < 1 or opts.max_levels < 2 or not opts.max_gap >= 0:
            raise ConfigError(f"subgroups: impossible values {asdict(opts)}")
        return opts


def read_groups(path: str | Path, columns: Sequence[str] | None = None, *, max_levels: int = 20) -> pd.DataFrame:
    """Read a groups table: FID, IID and categorical columns (all read as text).

    Raises:
        InputError: no FID/IID columns, duplicated samples, an unknown column, no group columns,
            or a column with more than ``max_levels`` distinct values.
    """
    path = Path(path)
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in ("FID", "IID") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: no {', '.join(missing)} column; the header must start with FID and IID")
    dup = df.duplicated(["FID", "IID"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(
            f"{path}: sample FID={first.FID} IID={first.IID} appears {int(dup.sum())} times; one row per sample"
        )
    available = [c for c in df.columns if c not in ("FID", "IID")]
    cols = list(columns) if columns is not None else available
    unknown = [c for c in cols if c not in available]
    if unknown:
        raise InputError(f"{path}: group column(s) {unknown} not found; columns are {available}")
    if not cols:
        raise InputError(f"{path}: no group columns besides FID and IID")
    for c in cols:
        levels = df[c].replace("", np.nan).dropna().unique()
        if len(levels) > max_levels:
            raise InputError(
                f"{path}: group column {c!r} has {len(levels)} distinct values (> {max_levels}); group columns "
                "are categorical: bin numeric values (e.g. age bands) or drop the column with subgroups.columns"
            )
    out = df[["FID", "IID", *cols]].copy()
    for c in cols:
        out[c] = out[c].replace({"": MISSING_GROUP, "NA": MISSING_GROUP, "nan": MISSING_GROUP})
    return out


def scores_from_predictions(
    pred: pd.DataFrame, task: str, class_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores in :func:`genoml_core.evaluation.metrics.compute_metrics` layout from predictions.tsv."""
    metrics.check_task(task)
    if task == "continuous":
        return pred["observed"].to_numpy(np.float64), pred["predicted"].to_numpy(np.float64)
    if not class_names:
        raise InputError("class names are needed to read classification predictions")
    code = {str(c): k for k, c in enumerate(class_names)}
    obs = pred["observed"].astype(str)
    bad = sorted(set(obs) - set(code))
    if bad:
        raise InputError(f"predictions: observed classes {bad} are not among {list(class_names)}")
    y = obs.map(code).to_numpy(np.int64)
    if task == "binary":
        return y, pred["score"].to_numpy(np.float64)
    cols = [f"prob_{c}" for c in class_names]
    return y, pred[cols].to_numpy(np.float64)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _logistic_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Slope of an unpenalized logistic regression of y on x (Newton-Raphson); NaN if not estimable."""
    if np.unique(y).size < 2 or np.ptp(x) == 0:
        return math.nan
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        w = p * (1 - p)
        hess = X.T @ (X * w[:, None])
        try:
            step = np.linalg.solve(hess + 1e-9 * np.eye(2), X.T @ (y - p))
        except np.linalg.LinAlgError:
            return math.nan
        beta += step
        if not np.isfinite(beta).all() or abs(beta[1]) > 1e3:
            return math.nan  # separation: no finite slope
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[1])


def calibration(task: str, y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """Calibration of one group.

    binary: mean predicted probability, observed case rate, their difference
    (``calibration_in_the_large`` = observed - predicted) and the calibration slope (logistic
    regression of the outcome on logit(p); 1 is ideal, < 1 over-confident).
    multiclass: top-label expected calibration error (10 equal-width bins).
    continuous: mean residual (observed - predicted) and the slope of observed on predicted.
    """
    if task == "binary":
        mp, obs = float(np.mean(s)), float(np.mean(y == 1))
        return {
            "mean_predicted": mp,
            "observed_rate": obs,
            "calibration_in_the_large": obs - mp,
            "calibration_slope": _logistic_slope(_logit(s), (y == 1).astype(float)),
        }
    if task == "multiclass":
        conf = s.max(axis=1)
        correct = (s.argmax(axis=1) == y).astype(float)
        bins = np.clip((conf * 10).astype(int), 0, 9)
        ece = sum(
            abs(correct[bins == b].mean() - conf[bins == b].mean()) * np.mean(bins == b)
            for b in range(10)
            if np.any(bins == b)
        )
        return {"ece": float(ece)}
    slope = math.nan
    if np.ptp(s) > 0:
        slope = float(np.polyfit(s, y, 1)[0])
    return {"mean_residual": float(np.mean(y - s)), "calibration_slope": slope}


def _group_row(
    task: str, y: np.ndarray, s: np.ndarray, *, n_classes: int | None, n_bootstrap: int, seed: int,
    cutoff: Any = None,
) -> dict[str, Any]:
    main = MAIN_METRIC[task]
    with np.errstate(all="ignore"):
        m = metrics.compute_metrics(task, y, s, n_classes=n_classes, cutoff=cutoff)
        ci = (math.nan, math.nan)
        if n_bootstrap > 0 and y.size >= 2:
            ci = metrics.bootstrap_ci(task, y, s, metrics=[main], n_boot=n_bootstrap, seed=seed, n_classes=n_classes)[
                main
            ]
    row: dict[str, Any] = {"n": int(y.size)}
    if task == "binary":
        row["n_cases"] = int(np.sum(y == 1))
    row.update({"metric": main, "value": m[main], "ci_low": ci[0], "ci_high": ci[1]})
    row.update({k: m[k] for k in SECONDARY[task]})
    row.update(calibration(task, y, s))
    return row


def subgroup_metrics(
    predictions: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    task: str,
    class_names: Sequence[str] | None,
    options: SubgroupOptions,
    n_bootstrap: int,
    seed: int,
    cutoff: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-group metrics of held-out predictions, and the gaps between groups.

    Args:
        predictions: ``results/individual/evaluate/predictions.tsv`` (FID, IID, observed, scores).
        groups: from :func:`read_groups`.
        task: the task.
        class_names: class names (classification).
        options: see :class:`SubgroupOptions`.
        n_bootstrap: bootstrap replicates for the confidence intervals (0 = none).
        seed: bootstrap seed (the same for every group).

    Returns:
        ``(table, summary)``: one row per (column, group) plus an ``all`` row; the summary has
        the overall metric, per column the largest gap among groups with ``n >= min_n``, and the
        warnings.
    """
    y, s = scores_from_predictions(predictions, task, class_names)
    n_classes = len(class_names) if task == "multiclass" and class_names else None
    cols = [c for c in groups.columns if c not in ("FID", "IID")]
    merged = predictions[["FID", "IID"]].astype(str).merge(groups, on=["FID", "IID"], how="left")
    n_without = int(merged[cols].isna().all(axis=1).sum())
    merged[cols] = merged[cols].fillna(MISSING_GROUP)
    main = MAIN_METRIC[task]
    higher = metrics.greater_is_better(main)
    overall = _group_row(task, y, s, n_classes=n_classes, n_bootstrap=n_bootstrap, seed=seed, cutoff=cutoff)
    rows = [{"column": "all", "group": "all", "share": 1.0, **overall, "eligible": True}]
    warnings: list[str] = []
    per_column: dict[str, Any] = {}
    for col in cols:
        col_rows, eligible, small = _column_rows(merged[col], col, y, s, task=task, n_classes=n_classes,
                                                 min_n=options.min_n, n_bootstrap=n_bootstrap, seed=seed,
                                                 cutoff=cutoff)
        rows.extend(col_rows)
        info, col_warnings = _column_info(col, len(merged[col].unique()), eligible, small, overall,
                                          main=main, higher=higher, options=options)
        warnings.extend(col_warnings)
        per_column[col] = info
    if n_without:
        warnings.append(f"{n_without} test sample(s) have no row in the groups file (group {MISSING_GROUP!r})")
    for w in warnings:
        log.warning("subgroups: %s", w)
    table = pd.DataFrame(rows)
    summary = {
        "task": task,
        "metric": main,
        "n_test": int(y.size),
        "n_without_group": n_without,
        "overall": {"value": overall["value"], "ci95": [overall["ci_low"], overall["ci_high"]]},
        "min_n": options.min_n,
        "max_gap": options.max_gap,
        "n_bootstrap": n_bootstrap,
        "columns": per_column,
        "warnings": warnings,
    }
    return table, summary


def _column_rows(groups: pd.Series, col: str, y: np.ndarray, s: np.ndarray, *, task: str, n_classes: int | None,
                 min_n: int, n_bootstrap: int, seed: int,
                 cutoff: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The table rows of one group column (one per group, ``(missing)`` last), the rows of the groups
    that can be compared (``n >= min_n``, a defined metric), and the others as ``"level (n=...)"``."""
    rows: list[dict[str, Any]] = []
    eligible = []
    small = []
    for level in sorted(groups.unique(), key=lambda v: (v == MISSING_GROUP, v)):
        mask = (groups == level).to_numpy()
        r = _group_row(task, y[mask], s[mask], n_classes=n_classes, n_bootstrap=n_bootstrap, seed=seed, cutoff=cutoff)
        ok = bool(mask.sum() >= min_n and level != MISSING_GROUP)
        rows.append({"column": col, "group": level, "share": float(mask.mean()), **r, "eligible": ok})
        if ok and not math.isnan(r["value"]):
            eligible.append(r | {"group": level})
        elif level != MISSING_GROUP:
            small.append(f"{level} (n={r['n']})")
    return rows, eligible, small


def _column_info(col: str, n_groups: int, eligible: list[dict[str, Any]], small: list[str], overall: Mapping[str, Any],
                 *, main: str, higher: bool, options: SubgroupOptions) -> tuple[dict[str, Any], list[str]]:
    """One group column's summary (the groups assessed, the largest gap, the flags) and its warnings:
    groups not assessed, a gap above ``max_gap``, groups significantly worse than overall."""
    warnings: list[str] = []
    info: dict[str, Any] = {"n_groups": n_groups, "assessed": [e["group"] for e in eligible]}
    if small:
        msg = (f"{col}: group(s) {', '.join(small)} too small (min_n={options.min_n}) or with an undefined "
               f"{main}: performance for them is not assessed, not shown to be fine")
        warnings.append(msg)
        info["not_assessed"] = small
    if len(eligible) >= 2:
        by = sorted(eligible, key=lambda e: e["value"], reverse=higher)
        best, worst = by[0], by[-1]
        gap = abs(best["value"] - worst["value"])
        info.update(gap=gap, best_group=best["group"], best_value=best["value"], worst_group=worst["group"],
                    worst_value=worst["value"], flagged=bool(gap > options.max_gap))
        if gap > options.max_gap:
            warnings.append(
                f"{col}: {main} differs by {gap:.3f} between groups ({worst['group']} {worst['value']:.3f} "
                f"vs {best['group']} {best['value']:.3f}), more than max_gap={options.max_gap}"
            )
    else:
        info.update(gap=math.nan, flagged=False)
    below = [e for e in eligible if _ci_excludes(e, overall["value"], higher)]
    for e in below:
        warnings.append(
            f"{col}={e['group']}: {main} {e['value']:.3f} (95% CI {e['ci_low']:.3f}-{e['ci_high']:.3f}) is "
            f"significantly worse than overall ({overall['value']:.3f})"
        )
    if below:
        info["flagged"] = True
        info["worse_than_overall"] = [e["group"] for e in below]
    return info, warnings


def _ci_excludes(row: Mapping[str, Any], overall: float, higher: bool) -> bool:
    lo, hi = row["ci_low"], row["ci_high"]
    if math.isnan(lo) or math.isnan(hi) or math.isnan(overall):
        return False
    return hi < overall if higher else lo > overall


def plot_subgroups(table: pd.DataFrame, summary: Mapping[str, Any], path: str | Path) -> Path:
    """One panel per group column: the main metric per group with its 95% CI; dashed = overall."""
    from .plots.figure import _figure, _save

    cols = [c for c in table.column.unique() if c != "all"]
    n_rows = max(1, sum(int((table.column == c).sum()) for c in cols))
    fig = _figure(6.0, 1.2 + 0.45 * n_rows + 0.6 * len(cols))
    overall = summary["overall"]["value"]
    heights = [max(1, int((table.column == c).sum())) for c in cols] or [1]
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    for i, col in enumerate(cols):
        ax = fig.add_subplot(grid[i])
        sub = table[table.column == col].reset_index(drop=True)
        for j, r in sub.iterrows():
            colour = "tab:blue" if r.eligible else "0.6"
            yv = len(sub) - 1 - j
            if not math.isnan(r.value):
                lo, hi = r.ci_low, r.ci_high
                if not (math.isnan(lo) or math.isnan(hi)):
                    ax.plot([lo, hi], [yv, yv], color=colour, lw=2)
                ax.plot([r.value], [yv], "o", color=colour)
        ax.set_yticks(range(len(sub)), [f"{g} (n={n})" for g, n in zip(sub.group[::-1], sub.n[::-1])], fontsize=8)
        if not math.isnan(overall):
            ax.axvline(overall, ls="--", color="0.4", lw=1)
        ax.set_title(col, fontsize=9, loc="left")
        ax.set_ylim(-0.7, len(sub) - 0.3)
    if cols:
        fig.axes[-1].set_xlabel(f"{summary['metric']} on the test set (95% CI; dashed = overall; grey = not assessed)")
    else:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no group columns", ha="center", va="center")
    return _save(fig, path)


def run_subgroups(
    predictions_path: str | Path,
    groups_path: str | Path | None,
    *,
    task: str,
    class_names: Sequence[str] | None,
    options: SubgroupOptions,
    n_bootstrap: int,
    seed: int,
    table_path: str | Path,
    summary_path: str | Path,
    plot_path: str | Path,
    cutoff: Any = None,
) -> dict[str, Any]:
    """Read the files, compute :func:`subgroup_metrics`, write the table, summary and plot."""
    if groups_path is None:
        raise ConfigError("per-group metrics need a groups file: set data.groups (FID, IID, group columns)")
    pred = pd.read_csv(predictions_path, sep="\t", dtype=_ID)
    groups = read_groups(groups_path, options.columns, max_levels=options.max_levels)
    table, summary = subgroup_metrics(
        pred, groups, task=task, class_names=class_names, options=options, n_bootstrap=n_bootstrap, seed=seed,
        cutoff=cutoff,
    )
    summary["groups_file"] = str(groups_path)
    io.write_tsv(table, table_path, float_format="%.6g")
    plot_subgroups(table, summary, plot_path)
    io.write_json(summary, summary_path)
    return summary
