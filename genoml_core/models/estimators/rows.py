"""Input handling: row sources (read batch by batch), the early-stopping hold-out and the bags'
row splits."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ...errors import InputError

#: Share of the training rows held out for early stopping when no validation set is given.
VALIDATION_FRACTION = 0.1


# ----------------------------------------------------------------------------- input handling
def is_row_source(X: Any) -> bool:
    """True for objects read batch by batch (``shape``, ``len``, fancy row indexing) rather than
    validated whole with ``check_array`` (arrays, lists, data frames, tensors, sparse)."""
    if isinstance(X, (np.ndarray, list, tuple, torch.Tensor)) or sp.issparse(X) or hasattr(X, "iloc"):
        return False
    return hasattr(X, "__len__") and hasattr(X, "__getitem__") and hasattr(X, "shape")


def _row_source_features(X: Any) -> int:
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise InputError(f"X has shape {shape}; expected (n_samples, n_features)")
    return int(shape[1])


def _holdout_rows(
    n: int, *, stratify: np.ndarray | None, random_state: int, fraction: float = VALIDATION_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (stratified) split of ``range(n)`` into sorted train and validation rows.

    Each class with at least two members gives ``round(fraction * count)`` rows (at least one,
    never all) to validation, so every class stays in training.
    """
    rng = np.random.default_rng(random_state)
    if stratify is None:
        n_valid = min(n - 1, max(1, int(round(fraction * n))))
        valid = rng.permutation(n)[:n_valid] if n > 1 else np.empty(0, dtype=np.int64)
    else:
        parts = []
        for k in np.unique(stratify):
            members = np.flatnonzero(stratify == k)
            if len(members) >= 2:
                n_k = min(len(members) - 1, max(1, int(round(fraction * len(members)))))
                parts.append(rng.permutation(members)[:n_k])
        valid = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    valid = np.sort(valid).astype(np.int64)
    train = np.setdiff1d(np.arange(n), valid).astype(np.int64)
    if len(valid) == 0 or len(train) < 2:
        raise ValueError(
            f"cannot hold out a validation set from n_samples={n} rows; pass more rows, or X_valid and y_valid"
        )
    return train, valid


def _bag_rows(
    n: int, n_bags: int, *, stratify: np.ndarray | None, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """An inner K-fold of ``range(n)``: ``n_bags`` pairs of sorted (train, early-stopping) rows.

    Rows are dealt to the parts at random, class by class when ``stratify`` is given, so every
    part has its share of each class; every row stops early for exactly one bag.
    """
    rng = np.random.default_rng([random_state, 0xBA6])
    part = np.empty(n, dtype=np.int64)
    strata = np.zeros(n, dtype=np.int64) if stratify is None else np.asarray(stratify)
    offset = 0
    for k in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == k))
        part[members] = (np.arange(len(members)) + offset) % n_bags
        offset += len(members)
    out = []
    for b in range(n_bags):
        stop = np.flatnonzero(part == b)
        train = np.flatnonzero(part != b)
        if len(stop) == 0 or len(train) < 2:
            raise ValueError(f"cannot cut n_samples={n} rows into n_bags={n_bags} bags; lower n_bags")
        out.append((train, stop))
    return out


def _bag_seed(seed: int, bag: int) -> int:
    """The seed of bag ``bag`` >= 1 (bag 0 uses ``seed`` itself, as one network would)."""
    return int(np.random.SeedSequence([seed, bag]).generate_state(1)[0] % (2**31 - 1))


def _fit_rows(
    n: int, n_bags: int, *, stratify: np.ndarray | None, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, early-stopping) rows of each network of a fit on ``n`` rows: the hold-out
    (:func:`_holdout_rows`) for one network, the inner K-fold (:func:`_bag_rows`) for bags."""
    if n_bags == 1:
        return [_holdout_rows(n, stratify=stratify, random_state=random_state)]
    return _bag_rows(n, n_bags, stratify=stratify, random_state=random_state)
