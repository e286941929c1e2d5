"""Job warnings: recorded per job in a sidecar, collected for the results, summarized on the console."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from genoml_core import run_size
from genoml_core.warnings_log import (
    FORMAT,
    MAX_DISTINCT,
    collect_warnings,
    console_summary,
    install_recorder,
    read_sidecars,
    sidecar_path,
)

REPO = Path(__file__).resolve().parents[2]


def test_sidecar_path_mirrors_the_log_path(tmp_path):
    assert sidecar_path("train_classical", {"learner": "xgb", "trial": "3"}, "logs/train/xgb/trial_3.log") == Path(
        "logs/warnings/train/xgb/trial_3.json")
    assert sidecar_path("report", {}, "logs/report.log", root=tmp_path) == tmp_path / "report.json"
    # no log, or one outside logs/: the rule and the wildcard values
    assert sidecar_path("munge", {"fold": "fold0"}) == Path("logs/warnings/munge/fold-fold0.json")
    assert sidecar_path("all", {}, "/abs/x.log") == Path("logs/warnings/all/job.json")


@pytest.fixture
def logger():
    lg = logging.getLogger("genoml_core.test_job")
    lg.setLevel(logging.INFO)
    lg.propagate = False
    yield lg
    lg.handlers.clear()


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_recorder_writes_the_sidecar_at_start_on_each_new_message_and_at_the_end(tmp_path, logger):
    rec = install_recorder(rule="munge", wildcards={"fold": "fold0"}, inputs=["results/split/split.tsv"],
                           outputs=["results/munge/fold0/recipe.json"], log_path="logs/munge/fold0.log",
                           root=tmp_path, logger=logger, at_exit=False)
    try:
        path = tmp_path / "munge" / "fold0.json"
        doc = _read(path)
        assert doc["format"] == FORMAT and doc["status"] == "running" and doc["warnings"] == []
        assert doc["wildcards"] == {"fold": "fold0"} and doc["outputs"] == ["results/munge/fold0/recipe.json"]
        logger.info("not a warning")
        for _ in range(3):
            logger.warning("%d samples imputed", 50)
        doc = _read(path)  # written as soon as the message appeared: a killed job keeps it
        assert doc["warnings"] == [{"level": "WARNING", "logger": "genoml_core.test_job",
                                    "message": "50 samples imputed", "count": 1}]
        logger.error("x" * 5000)
        py_logger = logging.getLogger("py.warnings")  # a job records on the root logger, which sees it too
        py_logger.addHandler(rec)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                warnings.warn("lbfgs failed to converge", RuntimeWarning, stacklevel=1)
        finally:
            py_logger.removeHandler(rec)
        rec.finish()
        doc = _read(path)
        assert doc["status"] == "ok" and doc["finished"]
        by_msg = {w["message"][:20]: w for w in doc["warnings"]}
        assert by_msg["50 samples imputed"]["count"] == 3
        long = next(w for w in doc["warnings"] if w["level"] == "ERROR")
        assert len(long["message"]) < 2100 and long["message"].endswith("more characters]")
        py = next(w for w in doc["warnings"] if w["logger"] == "py.warnings")
        assert py["message"].startswith("RuntimeWarning: lbfgs failed to converge (test_warnings_log.py:")
        rec.mark_failed()
        rec.finish()
        assert _read(path)["status"] == "failed"
    finally:
        rec.detach(logger)
    # a job warning once per SNP: the first MAX_DISTINCT messages are kept, the rest counted
    rec3 = install_recorder(rule="munge", wildcards={}, log_path="logs/many.log", root=tmp_path, logger=logger,
                            at_exit=False)
    try:
        for i in range(MAX_DISTINCT + 50):
            logger.warning("SNP rs%d has no alleles", i)
        rec3.finish()
    finally:
        rec3.detach(logger)
    many = _read(tmp_path / "many.json")["warnings"]
    assert len(many) == MAX_DISTINCT + 1 and many[-1]["count"] == 50 and "see the job's log" in many[-1]["message"]
    # the job reruns: its sidecar is replaced at once, before any new warning
    rec2 = install_recorder(rule="munge", wildcards={"fold": "fold0"}, log_path="logs/munge/fold0.log",
                            root=tmp_path, logger=logger, at_exit=False)
    rec2.detach(logger)
    assert _read(path)["status"] == "running" and _read(path)["warnings"] == []


def _sidecar(root: Path, name: str, rule: str, inputs: list[str], outputs: list[str], messages: list[str],
             *, started: float, wildcards: dict | None = None, status: str = "ok",
             logger: str = "genoml_core.x") -> None:
    doc = {"format": FORMAT, "rule": rule, "wildcards": wildcards or {}, "log": f"logs/{name}.log",
           "inputs": inputs, "outputs": outputs, "status": status, "started_epoch": started,
           "warnings": [{"level": "WARNING", "logger": logger, "message": m, "count": 2} for m in messages]}
    (root / f"{name}.json").parent.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.json").write_text(json.dumps(doc))


def test_collect_walks_back_from_the_targets_and_merges(tmp_path):
    root = tmp_path / "warnings"
    _sidecar(root, "check_inputs", "check_inputs", ["data/pheno.tsv"], ["results/inputs/samples.tsv"],
             ["covariates missing for 50 people"], started=1)
    for fold in ("fold0", "fold1"):
        _sidecar(root, f"munge/{fold}", "munge", ["results/inputs/samples.tsv"], [f"results/munge/{fold}/r.json"],
                 ["same message"], started=2, wildcards={"fold": fold})
    _sidecar(root, "train/rf", "train", ["results/munge/fold0/r.json", "./results/munge/fold1/r.json"],
             ["results/train/rf.zip"], ["ConvergenceWarning: x"], started=3, logger="py.warnings")
    # a learner since removed from the config: its outputs feed nothing the targets need
    _sidecar(root, "train/old", "train", ["results/munge/fold0/r.json"], ["results/train/old.zip"],
             ["stale"], started=3)
    # an older job that also declared the board (a renamed rule): the newest producer wins
    _sidecar(root, "old_board", "old_board", [], ["results/board.tsv"], ["older producer"], started=0)
    _sidecar(root, "board", "board", ["results/train/rf.zip"], ["results/board.tsv"], [], started=4,
             status="running")
    (root / "broken.json").write_text("{not json")
    (root / "other.json").write_text(json.dumps({"unrelated": True}))

    got = collect_warnings(root, targets=["results/board.tsv"])
    assert got["format"] == FORMAT and got["n_jobs"] == 5
    messages = [w["message"] for w in got["warnings"]]
    assert messages == ["covariates missing for 50 people", "same message", "ConvergenceWarning: x"]  # run order
    same = got["warnings"][1]
    assert same["count"] == 4 and same["n_jobs"] == 2 and same["jobs"] == [{"fold": "fold0"}, {"fold": "fold1"}]
    assert got["warnings"][2]["source"] == "library" and got["warnings"][0]["source"] == "workflow"
    assert got["by_rule"] == {"check_inputs": 2, "munge": 4, "train": 2} and got["n_warnings"] == 8
    assert got["unfinished"] == [{"rule": "board", "wildcards": {}, "status": "running", "log": "logs/board.log"}]
    # without targets: every sidecar; with since: the jobs started since
    assert "stale" in {w["message"] for w in collect_warnings(root)["warnings"]}
    assert {w["message"] for w in collect_warnings(root, since=3)["warnings"]} == {"ConvergenceWarning: x", "stale"}
    both = collect_warnings(root, targets=["results/inputs/samples.tsv"], since=3)  # the results' jobs or this run's
    assert {w["message"] for w in both["warnings"]} == {"covariates missing for 50 people", "ConvergenceWarning: x",
                                                        "stale"}
    assert collect_warnings(tmp_path / "none")["n_jobs"] == 0
    assert len(read_sidecars(root)) == 7


def test_console_summary(tmp_path):
    root = tmp_path / "w"
    _sidecar(root, "check_inputs", "check_inputs", [], ["a"], ["50 of 393 samples have no covariates"], started=1)
    _sidecar(root, "evaluate", "evaluate", ["a"], ["b"], ["too small to judge: the test set has 3 people"],
             started=2, logger=run_size.LOGGER_NAME)
    _sidecar(root, "train", "train", ["a"], ["c"], [f"library warning {i}" for i in range(12)], started=2,
             logger="py.warnings")
    text = console_summary(collect_warnings(root), warnings_file="results/warnings.json", max_lines=5)
    lines = text.splitlines()
    assert lines[0].startswith("genoml-workflow: 28 warning(s), 14 distinct")
    assert "check_inputs 2" in lines[0] and "results/warnings.json" in lines[0] and "logs/warnings/" in lines[0]
    assert lines[1].strip() == "TOO SMALL TO JUDGE:" and lines[2].strip() == "- the test set has 3 people"
    assert "WARNING check_inputs (x2): 50 of 393 samples have no covariates" in lines[3]  # the workflow's own first
    assert lines[-1].strip() == "... and 8 more"
    _sidecar(root, "split", "split_samples", [], ["d"], [], started=3, status="failed")
    doc = json.loads((root / "split.json").read_text())
    doc["warnings"] = [{"level": "ERROR", "logger": "rule.split_samples", "message": "InputError: too few", "count": 1}]
    (root / "split.json").write_text(json.dumps(doc))
    text = console_summary(collect_warnings(root, since=3), failed=True)
    assert text.splitlines()[0].startswith("genoml-workflow: the run failed. 0 warning(s) and 1 error(s), 1 distinct, "
                                           "raised before it stopped (split_samples 1)")
    assert "ERROR split_samples: InputError: too few" in text
    failed = console_summary(collect_warnings(tmp_path / "nothing"), failed=True)
    assert failed == "genoml-workflow: the run failed. no warnings before it stopped."
    assert "no warnings from the jobs" in console_summary(collect_warnings(tmp_path / "nothing"))


_JOB = """
import logging, sys, warnings
from types import SimpleNamespace
sys.path.insert(0, {scripts!r})
from _job import start_job

class Named(list):
    def items(self):
        return list(self._named.items())

def named(**kw):
    out = Named(kw.values()); out._named = kw
    for k, v in kw.items():
        setattr(out, k, v)
    return out

smk = SimpleNamespace(rule="munge", wildcards=named(fold="fold0"), input=named(samples="results/s.tsv"),
                      output=named(recipe="results/munge/fold0/recipe.json"), log=["logs/munge/fold0.log"],
                      params=named(), threads=1, scriptdir={scripts!r})
log = start_job(smk)
logging.getLogger("genoml_core.store").warning("age imputed for %s of the people", "12.7%")
warnings.warn("a library warning", UserWarning)
raise ValueError("the job fails")
"""


def test_start_job_records_warnings_and_the_failure(tmp_path):
    """scripts/_job.py end to end in a real process: the excepthook marks the sidecar failed and
    the atexit write keeps every warning."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(_JOB.format(scripts=str(REPO / "scripts"))))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "ERROR in rule munge: ValueError: the job fails" in proc.stderr
    doc = json.loads((tmp_path / "logs/warnings/munge/fold0.json").read_text())
    assert doc["status"] == "failed" and doc["rule"] == "munge" and doc["wildcards"] == {"fold": "fold0"}
    assert doc["inputs"] == ["results/s.tsv"] and doc["outputs"] == ["results/munge/fold0/recipe.json"]
    got = {(w["level"], w["logger"]): w["message"] for w in doc["warnings"]}
    assert got[("WARNING", "genoml_core.store")] == "age imputed for 12.7% of the people"
    assert got[("WARNING", "py.warnings")].startswith("UserWarning: a library warning (job.py:")
    assert got[("ERROR", "rule.munge")] == "ValueError: the job fails"
    assert "recorded in logs/warnings/munge/fold0.json" in (tmp_path / "logs/munge/fold0.log").read_text()
    assert time.time() - doc["started_epoch"] < 120
