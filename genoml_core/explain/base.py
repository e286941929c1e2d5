"""What every part of :mod:`genoml_core.explain` shares: the options, the :class:`Explanation`
record, the output files, seeds, and the helpers that bring shap's outputs to one layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np

from .. import layout
from ..errors import ConfigError, GenomlError, field_names, reject_unknown

METHODS = ("auto", "gradient", "deep", "tree", "linear", "permutation")
#: Output key -> file name, as written by :func:`explain_final_model`: under results/explain/, but
#: ``values`` (per person: results/individual/explain/, individual-level data).
EXPLAIN_FILES = {
    key: PurePosixPath(pattern).name
    for key, pattern in (
        ("values", layout.EXPLAIN_SHAP_VALUES),
        ("importance", layout.EXPLAIN_IMPORTANCE),
        ("top_snps", layout.EXPLAIN_TOP_SNPS),
        ("summary", layout.EXPLAIN_SUMMARY),
        ("beeswarm", layout.EXPLAIN_BEESWARM),
        ("bar", layout.EXPLAIN_BAR),
        ("dependence", layout.EXPLAIN_DEPENDENCE),
    )
}
_S_BACKGROUND, _S_EXPLAIN, _S_PERMUTATION = 1, 2, 3


class AdditivityError(GenomlError, RuntimeError):
    """SHAP values do not add up to the model output (DeepExplainer's check failed)."""


@dataclass(frozen=True, kw_only=True)
class ExplainOptions:
    """The ``explain`` config section without ``truth`` (defaults equal genoml_core/config.schema.yaml's).

    >>> ExplainOptions.from_dict({"method": "tree", "top_k": 10}).top_k
    10
    >>> ExplainOptions.from_dict({"n_explain": 0})
    Traceback (most recent call last):
    ...
    genoml_core.errors.ConfigError: explain.n_explain=0 must be >= 1 (or null for all)
    """

    method: str = "auto"
    explain_set: str = "test"
    n_explain: int | None = 200
    n_background: int = 100
    gradient_nsamples: int = 200
    permutation_background: int = 10
    max_evaluations: int = 200_000
    top_k: int = 50
    n_display: int = 20
    n_dependence: int = 4
    truth_min_r2: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "ExplainOptions":
        d = dict(d or {})
        reject_unknown(d, field_names(cls), "explain option(s)")
        opts = cls(**d)
        if opts.method not in METHODS:
            raise ConfigError(f"explain.method={opts.method!r}; use one of {list(METHODS)}")
        if opts.explain_set not in ("test", "valid"):
            raise ConfigError(f"explain.explain_set={opts.explain_set!r}; use test or valid")
        for name in ("n_background", "gradient_nsamples", "permutation_background", "max_evaluations", "top_k",
                     "n_display", "n_dependence"):
            if getattr(opts, name) < 1:
                raise ConfigError(f"explain.{name}={getattr(opts, name)} must be >= 1")
        if opts.n_explain is not None and opts.n_explain < 1:
            raise ConfigError(f"explain.n_explain={opts.n_explain} must be >= 1 (or null for all)")
        return opts


@dataclass(frozen=True, kw_only=True)
class ExplainInputs:
    """What explaining a final model takes besides the model itself: shared by
    :func:`~genoml_core.explain.explain_final_model` (one learner) and
    :func:`~genoml_core.explain.explain_final_stack` (a stack).

    Attributes:
        options: :class:`ExplainOptions`.
        task: the task.
        class_names: class names (classification).
        seed: the config seed.
        out: output key (see :data:`EXPLAIN_FILES`) -> path.
        threads: CPU threads (torch).
        truth: optional simulate ``truth.json`` for :func:`~genoml_core.explain.truth_recovery`.
        bfile: PLINK prefix (needed with ``truth``).
        phenotype: phenotype column (picks the trait in ``truth``).
        ld: the ``ld_prune`` config (window, r2) for the proxy rule.
        engine: .bed decoder.
    """

    options: ExplainOptions
    task: str
    class_names: Sequence[str] | None
    seed: int
    out: Mapping[str, str | Path]
    threads: int = 1
    truth: str | Path | None = None
    bfile: str | None = None
    phenotype: str | None = None
    ld: Mapping[str, Any] | None = None
    engine: str = "lut"


@dataclass
class Explanation:
    """SHAP values of one model on some rows.

    Attributes:
        values: ``(n, p, m)`` SHAP values for n rows, p features and m outputs.
        base_values: ``(n, m)`` base value of each row and output.
        outputs: ``(n, m)`` the model's output in the explained space.
        output_names: name of each output (class name, or ``prediction``).
        output_space: what the outputs are (``log-odds of case``...).
        method: ``gradient``, ``deep``, ``tree``, ``linear`` or ``permutation``.
        explainer: the shap class used.
        feature_names: p names.
        rows: indices into the rows given to :func:`explain_model` that were explained.
        exact: whether values + base = output holds exactly by construction.
        details: method-specific numbers (sample sizes, budget) for the summary.
        notes: remarks for the report.
    """

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray
    output_names: list[str]
    output_space: str
    method: str
    explainer: str
    feature_names: list[str]
    rows: np.ndarray
    exact: bool
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def additivity_error(self) -> float:
        """max |sum of SHAP values + base value - model output| over rows and outputs."""
        return float(np.max(np.abs(self.values.sum(axis=1) + self.base_values - self.outputs), initial=0.0))

    def importance(self) -> np.ndarray:
        """``(p, m)`` mean absolute SHAP value per feature and output."""
        return np.abs(self.values).mean(axis=0)


# ----------------------------------------------------------------------------- shap's outputs
def _class_labels(est: Any) -> np.ndarray | None:
    classes = getattr(est, "genoml_classes_", None)
    if classes is None:
        classes = getattr(est, "classes_", None)
    return None if classes is None else np.asarray(classes)


def _name(label: Any, class_names: Sequence[str] | None) -> str:
    if class_names is not None:
        try:
            return str(class_names[int(label)])
        except (IndexError, ValueError, TypeError):
            pass
    return str(label)


def _as_3d(values: Any, n: int, p: int) -> np.ndarray:
    """SHAP output (array, list of arrays, any of shap's layouts) as ``(n, p, m)`` float64."""
    if isinstance(values, list):
        arr = np.stack([np.asarray(v, dtype=np.float64).reshape(n, p) for v in values], axis=2)
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[:, :, None]
    if arr.shape[:2] != (n, p):
        raise RuntimeError(f"unexpected SHAP value shape {arr.shape} for {n} rows x {p} features")
    return arr


def _as_2d(a: Any, n: int) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    return arr.reshape(n, -1)


def _output_names(task: str, m: int, labels: np.ndarray | None, class_names: Sequence[str] | None) -> list[str]:
    """The names of a model's ``m`` explained outputs: ``prediction``, the case class, or every class."""
    if task == "continuous":
        return ["prediction"]
    assert labels is not None  # a classifier has classes_
    if m == 1:
        return [_name(labels[-1], class_names)]
    return [_name(c, class_names) for c in labels]


def _space(task: str, kind: str, m: int, names: Sequence[str]) -> str:
    if task == "continuous":
        return "predicted value (phenotype units)"
    if task == "binary":
        return f"{kind} of {names[0]}"
    return {"log-odds": "class scores (logits / margins; softmax gives the probabilities)",
            "probability": "class probabilities"}[kind]
