"""Compare two results folders made from the same config and seed, file by file, byte for byte,
after setting aside what is not a result: wall times, the run's own folder, archive timestamps.

What is compared, per file under ``results/``:

- JSON: the parsed document, without wall-time keys (:data:`TIME_KEYS`, and everything under a
  ``"seconds"`` mapping), with the run folder replaced by ``<run>`` and the package's module names
  as they are now (:data:`MOVED_MODULES`: model files record their class's module, ``warnings.json``
  its loggers'); the entries of
  ``warnings.json`` (and the jobs of each) in a fixed order, since parallel jobs finish in any order;
- TSV: the table without its wall-time columns (``fit_seconds``);
- gzip: the decompressed bytes (the header holds a time stamp), compared by the rules above;
- zip (model files): each member's bytes, compared by the rules above, without the members' time
  stamps; in a skops payload the objects' and arrays' ``id()``s (memory addresses) are numbered
  in the order its schema lists them; a PyTorch file's root folder is ``archive``;
- everything else: the bytes.

``results/report.html`` (a rendering of the other files, wall times included) is left out.

Run as a script to compare two folders: ``python -m tests.identity RESULTS_A RESULTS_B``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

#: JSON keys that hold wall times or throughputs, not results.
TIME_KEYS = frozenset({"seconds", "fit_seconds", "samples_per_s", "wall_seconds", "elapsed_seconds"})
#: TSV columns that hold wall times.
TIME_COLUMNS = frozenset({"fit_seconds"})
#: Modules that moved when genoml_core was grouped by stage (old dotted name -> new): a results file
#: that names a module (a model file's ``learner_class``, a logger in ``warnings.json``, a recipe's
#: note) names it by its new path; nothing else changed.
MOVED_MODULES = {
    f"genoml_core.{old}": f"genoml_core.{new}"
    for old, new in {
        "genotype_formats": "genotypes.formats", "plink": "genotypes.plink", "relatedness": "genotypes.relatedness",
        "split": "genotypes.split", "pca": "genotypes.pca", "harmonize": "genotypes.harmonize",
        "munge.store": "store.write", "munge": "store", "datasets": "store.datasets",
        "registry": "models.registry", "learners": "models.learners", "estimators": "models.estimators",
        "nn": "models.nn", "training": "models.training", "penalized": "models.penalized", "nas": "models.nas",
        "persist": "models.persist", "loop": "models.loop", "checkpoint": "models.checkpoint",
        "genome_learner": "models.genome_learner", "outofcore": "models.outofcore", "embed": "models.embed",
        "tune": "tuning.tune", "search": "tuning.search", "net_spaces": "tuning.net_spaces",
        "metrics": "evaluation.metrics", "ensemble": "evaluation.ensemble", "evaluate": "evaluation.evaluate",
        "fairness": "evaluation.fairness", "plots": "evaluation.plots",
    }.items()
}
_moved = re.compile(r"\b(" + "|".join(map(re.escape, sorted(MOVED_MODULES, key=len, reverse=True))) + r")\b(?![\w])")
#: Files under results/ that are not compared.
SKIPPED = frozenset({"report.html"})


def _clean(obj: Any, run: str) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v, run) for k, v in obj.items() if k not in TIME_KEYS}
    if isinstance(obj, list):
        return [_clean(v, run) for v in obj]
    if isinstance(obj, str):
        return _moved.sub(lambda m: MOVED_MODULES[m.group(0)], obj.replace(run, "<run>"))
    return obj


def _json(data: bytes, name: str, run: str) -> bytes:
    doc = _clean(json.loads(data), run)
    if name.endswith("warnings.json") and isinstance(doc, dict):
        for entry in doc.get("warnings", []):
            entry["jobs"] = sorted(entry.get("jobs", []), key=lambda j: json.dumps(j, sort_keys=True))
            entry["logs"] = sorted(entry.get("logs", []))
        doc["warnings"] = sorted(doc.get("warnings", []), key=lambda e: json.dumps(e, sort_keys=True))
    return json.dumps(doc, sort_keys=True).encode()


def _tsv(data: bytes) -> bytes:
    lines = data.decode().split("\n")
    header = lines[0].split("\t")
    keep = [i for i, col in enumerate(header) if col not in TIME_COLUMNS]
    return "\n".join("\t".join(line.split("\t")[i] for i in keep if i < len(line.split("\t"))) for line in lines).encode()


def _skops_ids(zf: zipfile.ZipFile) -> dict[str, str]:
    """A skops file names its objects and arrays by ``id()`` (memory addresses): number them in schema order."""
    if "schema.json" not in zf.namelist():
        return {}
    found = re.findall(r'"__id__": (\d+)|"(\d+)\.npy"', zf.read("schema.json").decode())
    ids = [a or b for a, b in found]
    return {old: f"id{i}" for i, old in enumerate(dict.fromkeys(ids))}


#: torch.save names the archive's root folder after the file written (a random temporary name, once)
_torch_root = re.compile(r"^[^/]*(?=/(data\.pkl|byteorder|version|data/|\.data/|\.format_version|\.storage_alignment))/")


def _zip(data: bytes, run: str) -> bytes:
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ids = _skops_ids(zf)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, ids)) + r")\b") if ids else None
        for member in zf.namelist():
            if member.endswith("serialization_id"):  # older torch.save wrote a random id per file
                continue
            body = canonical_bytes(zf.read(member), member, run)
            name = _torch_root.sub("archive/", member)
            if pattern is not None:
                name = pattern.sub(lambda m: ids[m.group(0)], member)
                body = pattern.sub(lambda m: ids[m.group(0)], body.decode("latin-1")).encode("latin-1")
            out.append(name.encode() + b"\0" + hashlib.sha256(body).digest())
    return b"\n".join(sorted(out))


def canonical_bytes(data: bytes, name: str, run: str) -> bytes:
    """``data`` of the file ``name`` with wall times, the run folder and time stamps set aside."""
    if name.endswith(".gz"):
        return canonical_bytes(gzip.decompress(data), name[:-3], run)
    if name.endswith(".json"):
        return _json(data, name, run)
    if name.endswith(".tsv"):
        return _tsv(data)
    if data[:4] == b"PK\x03\x04":  # a zip: a model file, or a PyTorch state dict inside one
        return _zip(data, run)
    return data


def digests(results: Path, run: Path | None = None) -> dict[str, str]:
    """``relative path -> sha256`` of the canonical bytes of every file under ``results``."""
    run_dir = str((run if run is not None else results.parent).resolve())
    out = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        rel = path.relative_to(results).as_posix()
        if rel in SKIPPED:
            continue
        out[rel] = hashlib.sha256(canonical_bytes(path.read_bytes(), rel, run_dir)).hexdigest()
    return out


def differences(a: Path, b: Path) -> list[str]:
    """Files only in one folder, or whose canonical bytes differ (empty: the results are identical)."""
    da, db = digests(a), digests(b)
    only_a = [f"only in {a}: {k}" for k in sorted(set(da) - set(db))]
    only_b = [f"only in {b}: {k}" for k in sorted(set(db) - set(da))]
    differ = [f"differs: {k}" for k in sorted(set(da) & set(db)) if da[k] != db[k]]
    return only_a + only_b + differ


if __name__ == "__main__":
    diffs = differences(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(diffs) if diffs else "identical")
    sys.exit(1 if diffs else 0)
