"""Shapley values through a link: a score that features move additively, carried through a sigmoid
or softmax along sampled orderings (exact additivity, Monte Carlo split between the features)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import _S_PERMUTATION

#: Random orderings per (explained row, background row) pair for a linear classifier explained in
#: probability space: at least LINK_PERMUTATIONS (in antithetic pairs), more while the work
#: (rows x background rows x features x outputs x orderings) stays within LINK_WORK, up to 256.
LINK_PERMUTATIONS = 8
LINK_WORK = 2e8


def _link(z: np.ndarray) -> np.ndarray:
    """Probabilities from log-odds ``(..., 1)`` (sigmoid) or class scores ``(..., K)`` (softmax).

    >>> _link(np.array([[0.0], [np.log(3.0)]])).round(6).tolist()
    [[0.5], [0.75]]
    >>> _link(np.array([[0.0, 0.0, np.log(2.0)]])).round(6).tolist()
    [[0.25, 0.25, 0.5]]
    """
    if z.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _link_shapley(z_b: np.ndarray, deltas: Any, n: int, p: int, active: np.ndarray, seed: int,
                  n_permutations: int | None = None) -> np.ndarray:
    """Shapley values of ``link(z)`` where each feature moves the score z additively.

    ``deltas(rows)`` gives, for explained rows ``rows`` (a slice) and every background row b, each
    active feature's shift of the score from ``z_b`` towards the row's: ``(c, b, a, K)``. Along a
    random order of the features, a feature's contribution is the change in ``link`` when its
    shift is added; every ordering's contributions add up to ``link(z_b + sum of shifts) -
    link(z_b)`` exactly, so the values (averaged over antithetic pairs of orderings and over the
    background rows) add up exactly; only their split between features is sampled. Returns
    ``(n, p, m)`` with ``m = K`` (1 for a sigmoid); inactive features get exactly zero.
    """
    k_out = z_b.shape[1]
    m = k_out
    values = np.zeros((n, p, m))
    a = len(active)
    if not a:
        return values
    rng = np.random.default_rng([seed, _S_PERMUTATION, 7])
    nb = len(z_b)
    if n_permutations is None:
        n_permutations = int(np.clip(LINK_WORK // max(1, n * nb * a * k_out), LINK_PERMUTATIONS, 256))
    n_perm = max(2, n_permutations - n_permutations % 2)
    # one chunk of explained rows at a time keeps memory at ~ chunk x b x a x K floats
    chunk = max(1, int(4e6 // max(1, nb * a * k_out)))
    for r0 in range(0, n, chunk):
        rows = slice(r0, min(n, r0 + chunk))
        delta = np.asarray(deltas(rows), dtype=np.float64)  # (c, b, a, K)
        acc = np.zeros((delta.shape[0], a, m))
        start = np.broadcast_to(z_b[None, :, None, :], (delta.shape[0], nb, 1, k_out))
        for _ in range(n_perm // 2):
            order = rng.permutation(a)
            for perm in (order, order[::-1]):
                z = np.concatenate([start, start + np.cumsum(delta[:, :, perm, :], axis=2)], axis=2)
                acc[:, perm, :] += np.diff(_link(z), axis=2).mean(axis=1)
        values[rows][:, active, :] = acc / n_perm  # values[rows] is a view
    return values
