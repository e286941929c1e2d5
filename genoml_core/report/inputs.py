"""What the report reads: its input keys (one path or a list) and the versions of the software."""

from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata as importlib_metadata
from typing import Any, Mapping

from .. import __version__

_LIBRARIES = ("snakemake", "numpy", "pandas", "scipy", "scikit-learn", "xgboost", "torch", "shap", "matplotlib",
              "skops", "jinja2")


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
