"""RRFCN architecture search: ENAS-style weight sharing over randomly wired FC networks.

AutoGenome's RRFCN searches a directed acyclic graph of FC units; the search here follows ENAS
(Pham et al. 2018, the "macro" space) adapted from convolutions to fully connected layers:

* **Search space.** ``n_layers`` layers; layer ``k`` picks a width from ``widths`` (those up to
  ``max_width``) and any subset of the nodes ``0 .. k - 2`` as skip inputs (node 0 is the network
  input), see :class:`~genoml_core.models.nn.rrfcn.Architecture`.
* **Supernet.** :class:`~genoml_core.models.nn.rrfcn.RRFCNSupernet`: one maximum-width weight matrix per
  (input node, layer) pair, sliced for the sampled widths; BatchNorm per (layer, width), with
  its statistics recomputed on training rows for each architecture before it is scored.
* **Samplers.** :class:`UniformSampler` (every width and every skip edge equally likely: the
  baseline) and :class:`Controller`, an LSTM policy trained with REINFORCE: a moving-average
  baseline, an entropy bonus and a KL penalty pulling the skip density towards ``skip_target``.
* **Loop.** ``supernet_epochs`` epochs; each trains the shared weights for one pass over the
  training rows (one sampled architecture per batch), then takes its share of the ``budget``
  sampler steps: sample an architecture, score it on the full validation split (the reward),
  update the controller. The search curve is one reward per step.
* **Result.** Every distinct architecture sampled in a step is rescored with the final shared
  weights; the ``top_k`` best (by that supernet score) go to ``architectures.json``. The workflow
  retrains each of them from scratch as an ordinary trial of learner ``rrfcn`` and selection on
  validation decides, as for every other learner. Nothing here touches the test rows.

One module per concern:

* :mod:`~genoml_core.models.nas.config`: :class:`NASConfig` and the size of the search space.
* :mod:`~genoml_core.models.nas.samplers`: :class:`UniformSampler` and the ENAS :class:`Controller`.
* :mod:`~genoml_core.models.nas.search`: :func:`run_search` (its setup, the supernet epochs on
  :func:`genoml_core.models.loop.run_epochs`, the result) and :func:`search_store`.
* :mod:`~genoml_core.models.nas.steps`: the supernet's epochs, the sampler steps after each and the final
  rescoring of every distinct architecture drawn.
* :mod:`~genoml_core.models.nas.result`: :class:`SearchResult` and the search's files
  (:func:`write_search_outputs`, :func:`read_architectures`, :func:`architecture_params`).
* :mod:`~genoml_core.models.nas.plots`: the winner's diagram and the search curve.

Every public name is importable from :mod:`genoml_core.models.nas` itself.
"""

from __future__ import annotations

import torch as torch  # the globals of the examples in __test__ (below)

from ..nn.rrfcn import Architecture as Architecture
from .config import FORMAT, SAMPLERS, NASConfig, count_parameters, search_space_size
from .config import GRAD_BOUND as GRAD_BOUND
from .config import TANH_CONSTANT as TANH_CONSTANT
from .plots import plot_architecture, plot_search_curve
from .result import SearchResult, architecture_params, read_architectures, write_search_outputs
from .samplers import Controller, Sample, UniformSampler
from .search import run_search, search_store

__all__ = [
    "FORMAT",
    "SAMPLERS",
    "NASConfig",
    "Sample",
    "UniformSampler",
    "Controller",
    "SearchResult",
    "search_space_size",
    "count_parameters",
    "run_search",
    "search_store",
    "write_search_outputs",
    "read_architectures",
    "architecture_params",
    "plot_architecture",
    "plot_search_curve",
]

#: The docstring examples of the submodules, so ``doctest.testmod(genoml_core.models.nas)`` still runs them
#: (with this module's globals: hence ``torch`` and ``Architecture`` above).
__test__ = {
    "search_space_size": search_space_size,
    "count_parameters": count_parameters,
    "UniformSampler": UniformSampler,
    "Controller": Controller,
}
