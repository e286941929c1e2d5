"""The ancestry PC scatter of one fold: PC1 against PC2, coloured by group or role, marked by role."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ...errors import ConfigError
from .figure import PathLike, _figure, _note, _save

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


def _group_labels(df: pd.DataFrame, roles: pd.Series, groups: Any,
                  group_column: str | None) -> tuple[pd.Series, str]:
    """Each person's colour label and the column it comes from: the group (``(missing)`` without one)
    when ``groups`` has a column to colour by, else the role (column ``"role"``)."""
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
    return labels, colour_by


def _levels(labels: pd.Series, colour_by: str) -> tuple[pd.Series, list[str]]:
    """The labels (beyond :data:`_MAX_GROUPS` groups, the smallest as ``other``) and their levels in
    legend order: by size, ``(missing)`` last; roles in :data:`_ROLE_ORDER`."""
    counts = labels.value_counts()
    levels = sorted(counts.index, key=lambda v: (v == _MISSING, -counts[v], v))
    if len(levels) > _MAX_GROUPS:
        keep = set(levels[: _MAX_GROUPS - 1])
        labels = labels.where(labels.isin(keep), "other")
        levels = [v for v in levels if v in keep] + ["other"]
    if colour_by == "role":
        levels = [r for r in _ROLE_ORDER if r in set(labels)] + sorted(set(labels) - set(_ROLE_ORDER))
    return labels, levels


def _legend(ax: Any, *, labels: pd.Series, levels: list[str], palette: dict[str, str], roles: pd.Series,
            role_order: list[str], colour_by: str) -> None:
    """The legend right of the axes: the groups with their sizes (when coloured by group), then the roles'
    markers, each fitted or projected, with its size."""
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

    labels, colour_by = _group_labels(df, roles, groups, group_column)
    labels, levels = _levels(labels, colour_by)
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
    _legend(ax, labels=labels, levels=levels, palette=palette, roles=roles, role_order=role_order,
            colour_by=colour_by)
    ax.set(xlabel="ancestry PC1", ylabel=ylabel, title=title)
    return _save(fig, path)
