"""The workflow's resource model (genoml_core.resources): mem_mb from each job's own input files."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from genoml_core.models import registry
from genoml_core.resources import MEM_HEADROOM, SLURM_JOB_MB, JobMemory, request_mb, runtime_min

CONFIG = {"pca": {"n_pcs": 10, "approx": "auto", "engine": "numpy"}, "munge": {"chunk_variants": 2048}}


def _memory(config: dict | None = None) -> JobMemory:
    return JobMemory(config or CONFIG, feature_set=registry.feature_set, streams=registry.streams)


class _Input(list):
    """A job's ``input``: named file lists, iterable like Snakemake's."""

    def __init__(self, **named: object) -> None:
        super().__init__(str(p) for v in named.values() for p in (v if isinstance(v, list) else [v]))
        for key, value in named.items():
            setattr(self, key, [str(p) for p in value] if isinstance(value, list) else str(value))


def _lines(path: Path, n: int) -> Path:
    path.write_text("".join(f"line{i}\n" for i in range(n)))
    return path


def _store(d: Path, n: int, k: int) -> Path:
    d.mkdir(parents=True)
    np.save(d / "genotypes.npy", np.zeros((n, k), dtype=np.int8))
    np.save(d / "other.npy", np.zeros((n, 2)))
    (d / "recipe.json").write_text("{}")
    return d / "recipe.json"


def _mb(path: Path) -> float:
    return os.path.getsize(path) / 2**20


def test_a_request_is_the_script_plus_slurms_share_with_headroom_rounded_up_and_doubled_on_retry():
    assert request_mb(100, 1) == math.ceil(MEM_HEADROOM * (SLURM_JOB_MB + 100) / 100) * 100 == 1000
    assert request_mb(100, 2) == 2000
    assert request_mb(0, 1) == 900  # 1.3 x 620 = 806 -> 900
    assert runtime_min(30)({}, 1) == 30 and runtime_min(30)({}, 2) == 60


def test_munge_counts_people_snps_and_selected_snps_from_the_files(tmp_path):
    fam, bim = _lines(tmp_path / "c.fam", 3000), _lines(tmp_path / "c.bim", 50000)
    snplist = _lines(tmp_path / "selected.snplist", 2000)
    inputs = _Input(genotypes=[tmp_path / "c.bed", bim, fam], snplist=snplist)
    expected = request_mb(180 + 0.0012 * 50000 + 12e-6 * 3000 * 2000, 1)
    assert _memory().munge({}, inputs, 1) == expected
    # in a dry run the files are not made yet: they count as empty
    missing = _Input(genotypes=[tmp_path / "x.bed", tmp_path / "x.bim", tmp_path / "x.fam"],
                     snplist=tmp_path / "none.snplist")
    assert _memory().munge({}, missing, 1) == request_mb(180, 1)


def test_a_file_that_grows_is_counted_again(tmp_path):
    """Line counts are cached per file version (mtime, size), not per path."""
    snplist = _lines(tmp_path / "s.snplist", 10)
    inputs = _Input(genotypes=[_lines(tmp_path / "c.fam", 5000)], snplist=snplist)
    before = _memory().munge({}, inputs, 1)
    _lines(snplist, 400000)
    assert _memory().munge({}, inputs, 1) > before


def test_train_by_learner_kind(tmp_path):
    recipe = _store(tmp_path / "fold0", 2000, 3000)
    store_mb = _mb(tmp_path / "fold0/genotypes.npy") + _mb(tmp_path / "fold0/other.npy")
    inputs = _Input(stores=[recipe])
    mem = _memory()
    assert mem.train({"learner": "penalized_glm"}, inputs, 1) == request_mb(800 + 1.5 * store_mb, 1)
    assert mem.train({"learner": "mlp"}, inputs, 1) == request_mb(800 + 0.1 * store_mb + 0.02 * 3000, 1)
    assert mem.train({"learner": "xgboost"}, inputs, 1) == request_mb(500 + 20 * store_mb, 1)
    assert mem.train({"learner": "lda"}, inputs, 1) == request_mb(500 + 20 * store_mb + 24e-6 * 3000**2, 1)
    # the largest fold's store sets the request
    big = _store(tmp_path / "fold1", 4000, 3000)
    assert mem.train({"learner": "xgboost"}, _Input(stores=[recipe, big]), 1) > mem.train(
        {"learner": "xgboost"}, inputs, 1)


def test_pca_exact_randomized_and_plink2(tmp_path):
    train = _lines(tmp_path / "train.keep", 4000)
    snplist = _lines(tmp_path / "pruned.snplist", 30000)
    bed = tmp_path / "c.bed"
    bed.write_bytes(b"\0" * (5 * 2**20))
    inputs = _Input(genotypes=[bed], train=train, snplist=snplist)
    exact = _memory().pca({}, inputs, 1)
    assert exact == request_mb(150 + 24e-6 * 4000 * 2048 + 16e-6 * 4000**2, 1)
    randomized = _memory({**CONFIG, "pca": {**CONFIG["pca"], "approx": True}}).pca({}, inputs, 1)
    assert randomized == request_mb(150 + 24e-6 * 4000 * 2048 + 8e-6 * 34000 * 20 * 4, 1) < exact
    plink2 = _memory({**CONFIG, "pca": {**CONFIG["pca"], "engine": "plink2"}}).pca({}, inputs, 1)
    assert plink2 == request_mb(120 + 1.15 * 5 + 8e-6 * 4000**2, 1)


def test_models_and_predict(tmp_path):
    recipe = _store(tmp_path / "full", 1000, 500)
    model = tmp_path / "model.zip"
    model.write_bytes(b"\0" * (3 * 2**20))
    store_mb = _mb(tmp_path / "full/genotypes.npy") + _mb(tmp_path / "full/other.npy")
    inputs = _Input(stores=[recipe], models=[model])
    mem = _memory()
    assert mem.models({}, inputs, 1) == request_mb(600 + 2 * store_mb + 9, 1)
    assert mem.embed({}, inputs, 1) == request_mb(600 + 20 * store_mb + 9, 1)
    fam, bim = _lines(tmp_path / "n.fam", 5000), _lines(tmp_path / "n.bim", 80000)
    pred = _Input(stores=[recipe], models=[model], genotypes=[tmp_path / "n.bed", bim, fam])
    assert mem.predict({}, pred, 1) == request_mb(600 + 2 * store_mb + 9 + 0.0012 * 80000 + 12e-6 * 5000 * 500, 1)


def test_the_module_is_import_light():
    """The rule files import it at parse time: no pandas, scikit-learn, torch or matplotlib."""
    import subprocess

    code = ("import sys; import genoml_core.resources, genoml_core.layout; "
            "print(sorted(m for m in ('pandas', 'sklearn', 'torch', 'matplotlib', 'xgboost') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("rule", ["plink", "pca", "convert", "tables", "munge", "train", "models", "embed", "predict"])
def test_every_method_takes_snakemakes_arguments(rule, tmp_path):
    """Snakemake passes (wildcards, input, attempt) by name; with no files each gives a request."""
    fn = getattr(_memory(), rule)
    assert fn(wildcards=SimpleNamespace(get=lambda k: "xgboost"), input=_Input(), attempt=1) >= 900
