"""Cells, tables and images as the report's template shows them: formatted strings, base64 PNGs."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml


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
