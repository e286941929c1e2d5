"""Runs too small to judge: the cohort floor (with its opt-in) and the judgement of the test set."""

from __future__ import annotations

import inspect
import logging
import math

import pytest

from genoml_core.config import load_config, validate_config
from genoml_core.errors import InputError
from genoml_core.run_size import (
    LOGGER_NAME,
    check_cohort_size,
    judge_run_size,
    log_findings,
    size_options,
)
from tests.conftest import REPO


def test_cohort_below_the_floor_stops_with_count_floor_and_key():
    with pytest.raises(InputError) as err:
        check_cohort_size(30, min_samples=100, allow_small=False)
    msg = str(err.value)
    assert "30 analysis samples" in msg and "split.min_samples = 100" in msg and "split.allow_small: true" in msg
    check_cohort_size(100, min_samples=100, allow_small=False)  # at the floor: runs


def test_opt_in_runs_a_small_cohort_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        check_cohort_size(30, min_samples=100, allow_small=True)
    assert "running anyway because split.allow_small is true" in caplog.text


def test_size_keys_are_in_the_schema_with_the_function_defaults():
    cfg = validate_config({"task": "binary", "data": {"genotypes": "x", "phenotype": "p.tsv",
                                                      "phenotype_column": "y"}})
    size, rest = size_options(cfg["split"])
    defaults = {k: p.default for k, p in inspect.signature(check_cohort_size).parameters.items() if k in size}
    assert size == defaults == {"min_samples": 100, "allow_small": False}
    assert "min_samples" not in rest and rest["method"] == "kfold"
    shipped = load_config(REPO / "config/config.yaml")["split"]
    assert shipped["min_samples"] == 100 and shipped["allow_small"] is False


def _metrics(n_test, ci, **extra):
    return {"selection_metric": "roc_auc", "n_test": n_test, "test": {"roc_auc": 0.5},
            "test_ci95": {"roc_auc": ci}, **extra}


def test_a_three_person_test_set_is_too_small_to_judge():
    split = {"n_samples": 30, "parts": {"test": {"n": 3, "class_counts": {"0": 2, "1": 1}}}}
    found = judge_run_size(_metrics(3, [0.0, 1.0]), split, class_names=["control", "case"], min_samples=100)
    assert found == [
        "the cohort has 30 analysis samples, fewer than split.min_samples = 100 (it ran because split.allow_small is "
        "true)",
        "the test set has 3 people, fewer than 50",
        "class 'control' has 2 people in the test set, fewer than 10",
        "class 'case' has 1 people in the test set, fewer than 10",
        "the 95% CI of roc_auc is 0.000-1.000 (width 1.00), wider than 0.3",
    ]


def test_a_large_enough_run_is_not_flagged():
    split = {"n_samples": 2000, "parts": {"test": {"n": 200, "class_counts": {"0": 130, "1": 70}}}}
    assert judge_run_size(_metrics(200, [0.70, 0.82]), split, min_samples=100) == []
    # continuous: no classes; only the size and the CI (of r2) count
    cont = {"selection_metric": "r2", "n_test": 80, "test_ci95": {"r2": [0.05, 0.45]}}
    assert judge_run_size(cont, {"n_samples": 800, "parts": {"test": {"n": 80, "mean": 0.1}}}) == [
        "the 95% CI of r2 is 0.050-0.450 (width 0.40), wider than 0.3"]


def test_classes_from_the_confusion_matrix_and_an_undefined_ci():
    metrics = _metrics(60, [math.nan, math.nan],
                       confusion_matrix={"classes": ["a", "b", "c"], "matrix": [[20, 5, 0], [5, 20, 2], [3, 3, 2]]})
    assert judge_run_size(metrics) == ["class 'c' has 8 people in the test set, fewer than 10",
                                       "the 95% CI of roc_auc is undefined, wider than 0.3"]
    assert judge_run_size({"n_test": 60}) == []  # no bootstrap: no CI to judge


def test_findings_are_logged_as_warnings(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        log_findings(["the test set has 3 people, fewer than 50"])
    assert [r.getMessage() for r in caplog.records] == ["too small to judge: the test set has 3 people, fewer than 50"]
    assert caplog.records[0].name == LOGGER_NAME
