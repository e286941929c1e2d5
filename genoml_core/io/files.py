"""Atomic output (one file or several together), plain values for JSON, JSON and TSV files."""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd



# ----------------------------------------------------------------------------- atomic output
def _temp_beside(path: Path) -> tuple[int, Path]:
    """A new hidden ``.{name}.*.part`` file beside ``path`` (its parent exists), open as ``(fd, path)``,
    with the mode a plain ``open`` would give it: mkstemp makes 0600, and results are shared on clusters."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return fd, Path(tmp)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A failure or a kill mid-write never leaves a file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = _temp_beside(path)
    os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


class StagedOutputs:
    """Several output files that appear together or not at all (as far as a kill allows).

    ``stage(final)`` returns a temporary path beside ``final`` to write to; when the ``with``
    block ends normally every staged file is renamed onto its final name, in the order staged
    (stage the file that marks completion, e.g. ``recipe.json``, last). An exception removes
    the temporaries; a SIGKILL leaves only hidden ``.{name}.*.part`` files, never a final name,
    and the next run removes those leftovers when it stages the same names.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def stage(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{path.name}.*.part"):  # a killed earlier attempt's
            stale.unlink(missing_ok=True)
        if path.exists():  # a rerun replaces the old outputs: none may outlive a failed attempt
            path.unlink()
        fd, tmp = _temp_beside(path)
        os.close(fd)
        self._staged.append((tmp, path))
        return tmp

    def __enter__(self) -> "StagedOutputs":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                for tmp, final in self._staged:
                    os.replace(tmp, final)
        finally:
            for tmp, _ in self._staged:
                tmp.unlink(missing_ok=True)


def plain_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds (``np.int64(3)`` -> ``3``); anything else as is."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_plain(obj: Any, *, nonfinite_to_none: bool = True) -> Any:
    """A copy of ``obj`` with plain containers and scalars, for JSON or YAML.

    Mappings become dicts with ``str`` keys, lists and tuples become lists (recursively) and NumPy
    scalars become Python scalars (:func:`plain_scalar`). Anything else, arrays and paths included,
    is returned as is (:func:`json_default` converts those when the JSON is written).

    Args:
        obj: the value to convert.
        nonfinite_to_none: NaN and +-infinity become ``None`` (strict JSON's ``null``); with
            ``False`` they stay floats (YAML writes ``.nan``, ``json`` writes ``NaN``).
    """
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v, nonfinite_to_none=nonfinite_to_none) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, nonfinite_to_none=nonfinite_to_none) for v in obj]
    obj = plain_scalar(obj)
    if nonfinite_to_none and isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_default(o: Any) -> Any:
    """The ``default=`` hook for the JSON genoml_core writes (:func:`write_json`, model metadata).

    NumPy integers, floats and booleans become ``int``, ``float`` and ``bool``, arrays become
    (nested) lists and paths become strings. Non-finite floats are left to ``json`` (``NaN``,
    ``Infinity``): pass the object through :func:`to_plain` first for strict JSON.

    Raises:
        TypeError: any other type (``json`` expects this of a ``default`` hook).
    """
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"a value of type {type(o).__name__} is not JSON-serializable; pass plain values")


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n")


def write_json_records(obj: dict[str, Any], path: str | os.PathLike[str], key: str) -> None:
    """Like :func:`write_json`, but the list ``obj[key]`` gets one compact record per line.

    For long record lists (a recipe's 100,000 features): still readable and diffable, and
    written by json's C encoder (``indent`` forces the pure-Python one, ~20x slower).
    """
    head = {k: v for k, v in obj.items() if k != key}
    text = json.dumps(head, indent=2, default=json_default)
    records = ",\n".join("    " + json.dumps(r, default=json_default) for r in obj[key])
    body = f'  "{key}": [\n{records}\n  ]' if records else f'  "{key}": []'
    text = text[:-2] + ",\n" + body + "\n}" if head else "{\n" + body + "\n}"
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text())


def write_tsv(df: pd.DataFrame, path: str | os.PathLike[str], **kw: Any) -> None:
    """Write a tab-separated table atomically (no index unless asked).

    ``compression={"method": "gzip", "compresslevel": k}`` writes a gzip file without a time
    stamp or file name in its header, so the same table gives the same bytes.
    """
    kw.setdefault("index", False)
    compression = kw.get("compression")
    if isinstance(compression, dict) and compression.get("method") == "gzip":
        kw.pop("compression")
        level = int(compression.get("compresslevel", 9))
        data = gzip.compress(df.to_csv(sep="\t", **kw).encode(), compresslevel=level, mtime=0)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data)
        return
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", **kw)
