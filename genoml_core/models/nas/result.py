"""The search's result (:class:`SearchResult`) and its files: ``architectures.json``, the
winner's diagram, the search curve (TSV) and its plot."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import __version__
from ...errors import InputError
from ...io import atomic_path, read_json, write_json
from ..nn.rrfcn import Architecture, RRFCNSupernet
from .config import FORMAT, NASConfig, search_space_size
from .plots import plot_architecture, plot_search_curve


@dataclass
class SearchResult:
    """What :func:`run_search` returns.

    Attributes:
        top: the ``top_k`` architectures, best first: dicts with ``rank``, ``architecture``
            (``Architecture.to_dict()``), ``describe``, ``skip_edges``, ``supernet_score`` (the
            validation metric with the final shared weights), ``search_reward`` (its score when
            first sampled), ``first_step`` and ``n_params``.
        candidates: every distinct architecture rescored at the end, in the same form, best first.
        curve: one row per sampler step (``step``, ``epoch``, ``reward``, ``baseline``,
            ``advantage``, ``entropy``, ``skip_density``, ``architecture``).
        supernet_history: one row per supernet epoch (``epoch``, ``train_loss``, ``seconds``).
        metric: the validation metric used as reward.
        n_evaluations: architectures scored on validation (steps + final rescoring).
        seconds: wall time of the search.
        config: the :class:`NASConfig` used.
        task, seed, n_features, d_out: as given / derived.
        supernet: the trained supernet (eval mode).
        sampler: the sampler (a trained :class:`Controller` or a :class:`UniformSampler`).
    """

    top: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    curve: list[dict[str, Any]]
    supernet_history: list[dict[str, float]]
    metric: str
    n_evaluations: int
    seconds: float
    config: NASConfig
    task: str
    seed: int
    n_features: int
    d_out: int
    supernet: RRFCNSupernet
    sampler: Any

    def to_json(self) -> dict[str, Any]:
        """The content of ``architectures.json``."""
        return {
            "format": FORMAT,
            "genoml_core_version": __version__,
            "task": self.task,
            "metric": self.metric,
            "sampler": self.config.sampler,
            "seed": self.seed,
            "n_features": self.n_features,
            "d_out": self.d_out,
            "search_space_size": search_space_size(self.config.n_layers, len(self.config.width_choices)),
            "budget": self.config.budget,
            "n_evaluations": self.n_evaluations,
            "n_candidates": len(self.candidates),
            "seconds": self.seconds,
            "config": self.config.to_dict(),
            "supernet_history": self.supernet_history,
            "architectures": self.top,
        }


def write_search_outputs(
    result: SearchResult,
    *,
    architectures: str | Path,
    winner: str | Path,
    curve: str | Path,
    curve_plot: str | Path,
) -> None:
    """Write ``architectures.json`` (top-k with supernet scores), the winner's diagram (PNG), the
    search curve (TSV, one row per sampler step) and its plot (PNG), each atomically."""
    write_json(result.to_json(), architectures)
    best = Architecture.from_dict(result.top[0]["architecture"])
    plot_architecture(
        best, winner, d_in=result.n_features, d_out=result.d_out,
        title=f"RRFCN winner: supernet {result.metric}={result.top[0]['supernet_score']:.3f}",
    )  # fmt: skip
    columns = ["step", "epoch", "reward", "baseline", "advantage", "entropy", "skip_density", "architecture"]
    with atomic_path(curve) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            for row in result.curve:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    plot_search_curve(result.curve, curve_plot, metric=result.metric, sampler=result.config.sampler)


def read_architectures(path: str | Path) -> dict[str, Any]:
    """Read and check an ``architectures.json`` written by :func:`write_search_outputs`."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not data.get("architectures"):
        raise InputError(f"{path}: not an architectures file written by genoml_core.models.nas (format {FORMAT!r})")
    return data


def architecture_params(path: str | Path, trial: int) -> dict[str, Any]:
    """The ``rrfcn`` params of trial ``trial``: architecture ``trial`` of ``architectures.json``.

    Returns:
        ``{"arch_json": <canonical JSON of the architecture>}`` (merged into the trial's params).

    Raises:
        InputError: when the file has fewer than ``trial + 1`` architectures.
    """
    entries = read_architectures(path)["architectures"]
    if not 0 <= int(trial) < len(entries):
        raise InputError(
            f"{path} holds {len(entries)} architectures; trial {trial} has none (trials of rrfcn are 0..top_k-1)"
        )
    return {"arch_json": Architecture.from_dict(entries[int(trial)]["architecture"]).to_json()}
