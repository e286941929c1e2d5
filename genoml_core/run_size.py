"""Runs too small to judge: refuse tiny cohorts unless asked, and say when a test set is too small.

Two checks, both on counts only (no sample ids):

* :func:`check_cohort_size` runs in ``split_samples``, before anything is fitted: a cohort with
  fewer analysis samples (after sample QC) than ``split.min_samples`` stops the run with an error
  naming the count, the floor and the opt-in key, unless ``split.allow_small`` is true; then it
  only warns.
* :func:`judge_run_size` reads the split summary and the test metrics and returns what makes the
  held-out evaluation too small to judge the model: too few test people, too few of a class in
  the test set, or a 95% confidence interval of the main metric wider than
  :data:`MAX_CI_WIDTH`. ``evaluate`` logs each finding as a warning (so it reaches
  ``results/warnings.json`` and the console summary) and the report shows them as a banner.

The thresholds are deliberately simple: below 50 test people a metric's standard error is
~0.05-0.1 (an AUC's CI spans 0.2-0.4), and a class with fewer than 10 test people makes
per-class metrics and the AUC swing with a single person.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Mapping, Sequence

from .errors import InputError

__all__ = [
    "LOGGER_NAME",
    "MAX_CI_WIDTH",
    "MIN_TEST_PER_CLASS",
    "MIN_TEST_SAMPLES",
    "SIZE_KEYS",
    "check_cohort_size",
    "judge_run_size",
    "log_findings",
    "size_options",
]

#: The logger of these checks: consumers of ``results/warnings.json`` pick its records out.
LOGGER_NAME = __name__
log = logging.getLogger(LOGGER_NAME)

#: Fewer test people than this: the test metrics cannot judge the model.
MIN_TEST_SAMPLES = 50
#: Fewer test people than this in any class (binary, multiclass): same.
MIN_TEST_PER_CLASS = 10
#: A 95% CI of the main metric (0-1 scale) wider than this: same.
MAX_CI_WIDTH = 0.3
#: The ``split`` config keys of :func:`check_cohort_size` (not options of the split itself).
SIZE_KEYS = ("min_samples", "allow_small")


def size_options(split: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the ``split`` config section into (size-check options, split options).

    Returns:
        ``({"min_samples": ..., "allow_small": ...}, the other keys)``; a key missing from
        ``split`` is simply absent from the first dict (the schema fills both).
    """
    size = {k: split[k] for k in SIZE_KEYS if k in split}
    rest = {k: v for k, v in split.items() if k not in SIZE_KEYS}
    return size, rest


def check_cohort_size(n_samples: int, *, min_samples: int = 100, allow_small: bool = False) -> None:
    """Stop a run whose cohort is below the floor, unless the user opted in.

    Args:
        n_samples: Analysis samples after sample QC (phenotyped, genotyped, kept).
        min_samples: The floor (config ``split.min_samples``).
        allow_small: Run anyway (config ``split.allow_small``); a warning is logged instead.

    Raises:
        InputError: ``n_samples < min_samples`` and not ``allow_small``; the message names the
            count, the floor and the key to set.
    """
    if n_samples >= min_samples:
        return
    what = (
        f"{n_samples} analysis samples after QC, fewer than split.min_samples = {min_samples}: too few to train "
        "a model and judge it on a held-out test set"
    )
    if not allow_small:
        raise InputError(
            f"split: {what}. Add samples, or set split.allow_small: true to run anyway (the console summary and "
            "the report then say the run is too small to judge), or lower split.min_samples."
        )
    log.warning("%s; running anyway because split.allow_small is true", what)


def _ci_width(ci: Sequence[float] | None) -> float | None:
    if not ci or len(ci) < 2:
        return None
    lo, hi = float(ci[0]), float(ci[1])
    return math.nan if math.isnan(lo) or math.isnan(hi) else hi - lo


def judge_run_size(
    metrics: Mapping[str, Any],
    split: Mapping[str, Any] | None = None,
    *,
    class_names: Sequence[str] | None = None,
    min_samples: int | None = None,
    min_test: int = MIN_TEST_SAMPLES,
    min_per_class: int = MIN_TEST_PER_CLASS,
    max_ci_width: float = MAX_CI_WIDTH,
) -> list[str]:
    """Reasons why the held-out evaluation is too small to judge the model (empty: none).

    Args:
        metrics: ``results/evaluate/metrics.json`` (``n_test``, ``selection_metric``,
            ``test_ci95``; ``confusion_matrix`` gives the class counts when ``split`` lacks them).
        split: ``results/split/summary.json`` (``n_samples``, ``parts.test.class_counts``).
        class_names: Names of the class labels 0, 1, ... (for the messages).
        min_samples: ``split.min_samples``: a cohort below it is named (it ran with allow_small;
            ``evaluate`` leaves it out: ``split_samples`` has already warned).
        min_test: Fewer test people than this is too small.
        min_per_class: Fewer test people than this in any class is too small.
        max_ci_width: A wider 95% CI of the main metric is too small.

    Returns:
        One sentence per finding, in the order cohort, test set, classes, CI.
    """
    found: list[str] = []
    split = split or {}
    n_all = split.get("n_samples")
    if min_samples is not None and n_all is not None and int(n_all) < min_samples:
        found.append(f"the cohort has {int(n_all)} analysis samples, fewer than split.min_samples = {min_samples} "
                     "(it ran because split.allow_small is true)")
    test = (split.get("parts") or {}).get("test") or {}
    n_test = metrics.get("n_test", test.get("n"))
    if n_test is not None and int(n_test) < min_test:
        found.append(f"the test set has {int(n_test)} people, fewer than {min_test}")
    counts = {str(k): int(v) for k, v in (test.get("class_counts") or {}).items()}
    cm = metrics.get("confusion_matrix")
    if not counts and cm:
        counts = {str(c): int(sum(row)) for c, row in zip(cm.get("classes") or [], cm.get("matrix") or [])}
    names = list(class_names or (cm or {}).get("classes") or [])
    for label, count in counts.items():
        if count < min_per_class:
            name = names[int(label)] if label.isdigit() and int(label) < len(names) else label
            found.append(f"class '{name}' has {count} people in the test set, fewer than {min_per_class}")
    main = metrics.get("selection_metric")
    ci = (metrics.get("test_ci95") or {}).get(main) if main else None
    width = _ci_width(ci)
    if width is not None and (math.isnan(width) or width > max_ci_width):
        assert ci is not None  # a width comes only from a CI
        shown = "undefined" if math.isnan(width) else f"{float(ci[0]):.3f}-{float(ci[1]):.3f} (width {width:.2f})"
        found.append(f"the 95% CI of {main} is {shown}, wider than {max_ci_width}")
    return found


def log_findings(findings: Sequence[str]) -> None:
    """Log each finding of :func:`judge_run_size` as a warning (they reach ``results/warnings.json``)."""
    for finding in findings:
        log.warning("too small to judge: %s", finding)
