"""A munge or training job killed mid-way (SIGKILL) leaves no file under a final output name, and
running it again gives what an uninterrupted run gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from genoml_core import io
from genoml_core.models import persist
from genoml_core.tuning import search, tune
from genoml_core.store import FeatureStore, build_feature_store

ROOT = Path(__file__).resolve().parents[2]
STORE_FILES = ("genotypes.npy", "other.npy", "samples.tsv", "recipe.json", "summary.json")


def _cohort(tmp_path: Path, n: int = 400, m: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    g = rng.binomial(2, 0.3, size=(n, m)).astype(np.int8)
    label = ((g[:, :5].sum(axis=1) + rng.normal(0, 1, n)) > 3).astype(int)
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"rs{i}" for i in range(m)], "CM": 0.0, "POS": np.arange(m) + 1,
                        "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)], "PAT": 0,
                        "MAT": 0, "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    (tmp_path / "snps").write_text("\n".join(bim.SNP) + "\n")
    part = np.where(np.arange(n) % 5 == 0, "valid", "train").astype(object)
    sets = np.where(np.arange(n) % 10 == 1, "test", "dev")
    part[sets == "test"] = "test"
    split = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": label, "set": sets, "part": part})
    io.write_tsv(split, tmp_path / "split.tsv")
    return split


def _kill_when_ready(script: str, ready: Path, timeout: float = 60.0) -> None:
    """Run ``script`` in a fresh interpreter; SIGKILL it once it has created ``ready``."""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the job ended before it could be killed:\n{proc.stdout.read()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("the job never reached the kill point")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _munge(tmp_path: Path, split: pd.DataFrame, out: Path, fold: str = "fold0", method: str = "holdout") -> dict:
    return build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, out, fold=fold, method=method,
                               task="binary", class_names=["control", "case"], chunk_variants=32,
                               summary_path=out / "summary.json")


def test_killed_munge_leaves_no_output_and_rerun_matches(tmp_path):
    split = _cohort(tmp_path)
    out = tmp_path / "killed"
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import pandas as pd
        from genoml_core import io, store
        real = io.iter_genotype_chunks

        def slow(*a, **k):  # hand over three chunks, then stop mid-store until killed
            for i, chunk in enumerate(real(*a, **k)):
                if i == 3:
                    Path({str(ready)!r}).touch()
                    time.sleep(600)
                yield chunk

        io.iter_genotype_chunks = slow
        split = pd.read_csv({str(tmp_path / 'split.tsv')!r}, sep="\\t", dtype={{"FID": str, "IID": str}})
        store.build_feature_store({str(tmp_path / 'g')!r}, {str(tmp_path / 'snps')!r}, split, {str(out)!r},
                                  fold="fold0", method="holdout", task="binary", class_names=["control", "case"],
                                  chunk_variants=32, summary_path={str(out / 'summary.json')!r})
    """)
    _kill_when_ready(script, ready)
    assert not [f for f in STORE_FILES if (out / f).exists()]
    assert list(out.glob(".genotypes.npy.*.part"))  # it was killed mid-write
    # the same command again completes, cleans up, and equals an uninterrupted run
    split = pd.read_csv(tmp_path / "split.tsv", sep="\t", dtype={"FID": str, "IID": str})
    _munge(tmp_path, split, out)
    _munge(tmp_path, split, tmp_path / "clean")
    assert not list(out.glob(".*.part"))
    for f in STORE_FILES:
        assert (out / f).read_bytes() == (tmp_path / "clean" / f).read_bytes(), f


def test_killed_training_leaves_no_output_and_rerun_matches(tmp_path):
    split = _cohort(tmp_path)
    dev = split.set == "dev"
    split.loc[dev, "part"] = (np.arange(len(split))[dev] % 2).astype(str)  # two k-fold parts
    stores = {}
    for fold in ("fold0", "fold1"):
        _munge(tmp_path, split, tmp_path / "munge" / fold, fold=fold, method="kfold")
        stores[fold] = tmp_path / "munge" / fold
    name = "logistic_l2_sgd"
    space = search.DEFAULT_SPACES[name]

    def paths(d: Path) -> tuple[dict, Path]:
        return {f: d / f"model_{f}.zip" for f in stores}, d / "metrics.json"

    models, metrics = paths(tmp_path / "killed")
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from genoml_core.models import persist
        from genoml_core.tuning import tune
        real = persist.save_model

        def slow(*a, **k):  # the first fold's model is saved, then the job stops until killed
            out = real(*a, **k)
            Path({str(ready)!r}).touch()
            time.sleep(600)
            return out

        persist.save_model = slow
        tune.run_trial({ {f: str(p) for f, p in stores.items()} !r}, learner={name!r}, trial=1, space={space!r},
                       seed=3, task="binary", class_weight="balanced", threads=1,
                       model_paths={ {f: str(p) for f, p in models.items()} !r}, metrics_path={str(metrics)!r})
    """)
    _kill_when_ready(script, ready)
    assert not metrics.exists() and not [p for p in models.values() if p.exists()]

    def run(models: dict, metrics: Path) -> dict:
        return tune.run_trial(stores, learner=name, trial=1, space=space, seed=3, task="binary",
                              class_weight="balanced", threads=1, model_paths=models, metrics_path=metrics)

    again = run(models, metrics)
    clean = run(*paths(tmp_path / "clean"))
    assert not list((tmp_path / "killed").glob(".*.part"))
    for key in ("params", "random_state", "valid", "folds"):
        a, b = again[key], clean[key]
        if key in ("valid", "folds"):  # fit time differs; every metric must not
            a, b = _drop_seconds(a), _drop_seconds(b)
        assert a == b, key
    st = FeatureStore(stores["fold0"])
    te = st.index("test")
    pa = tune.predict_rows(persist.load_model(models["fold0"])[0], st, te, "binary")
    pb = tune.predict_rows(persist.load_model(tmp_path / "clean" / "model_fold0.zip")[0], st, te, "binary")
    np.testing.assert_array_equal(pa, pb)


def _drop_seconds(d):
    if isinstance(d, dict):
        return {k: _drop_seconds(v) for k, v in d.items() if "seconds" not in k}
    return d
