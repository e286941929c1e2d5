"""RRFCN architecture search: ENAS-style weight sharing over randomly wired FC networks.

AutoGenome's RRFCN searches a directed acyclic graph of FC units; the search here follows ENAS
(Pham et al. 2018, the "macro" space) adapted from convolutions to fully connected layers:

* **Search space.** ``n_layers`` layers; layer ``k`` picks a width from ``widths`` (those up to
  ``max_width``) and any subset of the nodes ``0 .. k - 2`` as skip inputs (node 0 is the network
  input), see :class:`~genoml_core.nn.rrfcn.Architecture`.
* **Supernet.** :class:`~genoml_core.nn.rrfcn.RRFCNSupernet`: one maximum-width weight matrix per
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
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import __version__
from .errors import ConfigError, InputError, field_names, reject_unknown
from .io import atomic_path, read_json, write_json
from .metrics import encode_labels
from .nn.rrfcn import SKIP_MODES, Architecture, RRFCNSupernet
from .runtime import resolve_device, seed_everything, set_threads
from .loop import EpochEnd, run_epochs
from .training import (
    METRICS,
    TASKS,
    RowSource,
    balanced_class_weights,
    iter_batches,
    load_batch,
    predict_outputs,
    score_outputs,
)

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

log = logging.getLogger(__name__)

FORMAT = "genoml_core.nas/1"
SAMPLERS = ("controller", "random")
#: ENAS's logit squashing (``tanh_constant * tanh(logit)``) keeps the early policy from collapsing.
TANH_CONSTANT = 1.5
#: Gradient-norm bound for the shared weights and the controller (ENAS uses 5).
GRAD_BOUND = 5.0

_RETRAIN_DEFAULTS = {
    "lr": 1e-3,
    "batch_size": 64,
    "weight_decay": 1e-4,
    "max_epochs": 30,
    "patience": 5,
    "dropout": 0.1,
    "n_bags": "auto",
    "input_clip": 0.0,
    "lr_schedule": "constant",
}


def _require(ok: bool | np.bool_, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _pos_int(value: Any) -> bool | np.bool_:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True, kw_only=True)
class NASConfig:
    """Settings of the architecture search (defaults = ``genoml_core/config.schema.yaml``'s ``nas`` section).

    Attributes:
        n_layers: hidden layers of every architecture.
        widths: width choices of each layer.
        max_width: widths above this are left out (AutoGenome's first-layer width cap).
        skip_mode: ``"sum"`` or ``"concat"`` (how a layer combines its inputs).
        sampler: ``"controller"`` (ENAS LSTM policy) or ``"random"`` (uniform baseline).
        budget: sampler steps: architectures sampled, scored on validation and (controller)
            learned from.
        supernet_epochs: passes of the shared weights over the training rows.
        supernet_lr: SGD (Nesterov momentum 0.9) learning rate of the shared weights.
        batch_size: supernet training batch size.
        bn_samples: training rows used to recompute BatchNorm statistics per architecture.
        top_k: architectures handed on to be retrained.
        entropy_weight: weight of the policy entropy added to the reward.
        skip_target: skip density the KL penalty pulls the policy towards.
        skip_weight: weight of that KL penalty.
        baseline_decay: decay of the reward's moving-average baseline.
        controller_lr: Adam learning rate of the controller.
        controller_hidden: LSTM width of the controller.
        retrain: training settings of each retrained architecture (trial hyperparameters).
    """

    n_layers: int = 6
    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)
    max_width: int = 2048
    skip_mode: str = "sum"
    sampler: str = "controller"
    budget: int = 20
    supernet_epochs: int = 4
    supernet_lr: float = 0.02
    batch_size: int = 128
    bn_samples: int = 512
    top_k: int = 5
    entropy_weight: float = 0.001
    skip_target: float = 0.4
    skip_weight: float = 0.8
    baseline_decay: float = 0.9
    controller_lr: float = 0.01
    controller_hidden: int = 64
    retrain: Mapping[str, Any] = field(default_factory=lambda: dict(_RETRAIN_DEFAULTS))

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "retrain", dict(self.retrain))
        for name in ("n_layers", "max_width", "budget", "supernet_epochs", "batch_size", "bn_samples", "top_k",
                     "controller_hidden"):  # fmt: skip
            _require(_pos_int(getattr(self, name)), f"nas.{name}={getattr(self, name)!r} must be an integer > 0")
        _require(self.bn_samples >= 2, f"nas.bn_samples={self.bn_samples!r} must be >= 2 (batch statistics)")
        _require(
            len(self.widths) > 0 and all(_pos_int(w) for w in self.widths),
            f"nas.widths={list(self.widths)} must be a non-empty list of positive integers",
        )
        _require(
            len(self.width_choices) > 0,
            f"nas.max_width={self.max_width} is below every width in nas.widths={list(self.widths)}; raise it",
        )
        _require(self.skip_mode in SKIP_MODES, f"nas.skip_mode={self.skip_mode!r} must be one of {SKIP_MODES}")
        _require(self.sampler in SAMPLERS, f"nas.sampler={self.sampler!r} must be one of {SAMPLERS}")
        _require(self.supernet_lr > 0, f"nas.supernet_lr={self.supernet_lr!r} must be > 0")
        _require(self.controller_lr > 0, f"nas.controller_lr={self.controller_lr!r} must be > 0")
        _require(self.entropy_weight >= 0, f"nas.entropy_weight={self.entropy_weight!r} must be >= 0")
        _require(self.skip_weight >= 0, f"nas.skip_weight={self.skip_weight!r} must be >= 0")
        _require(0 < self.skip_target < 1, f"nas.skip_target={self.skip_target!r} must be in (0, 1)")
        _require(0 <= self.baseline_decay < 1, f"nas.baseline_decay={self.baseline_decay!r} must be in [0, 1)")
        _require(
            self.top_k <= self.budget,
            f"nas.top_k={self.top_k} exceeds nas.budget={self.budget}: the search samples at most `budget` "
            "architectures; raise the budget or lower top_k",
        )
        size = search_space_size(self.n_layers, len(self.width_choices))
        _require(
            self.top_k <= size,
            f"nas.top_k={self.top_k} exceeds the {size} architectures of the search space "
            f"({self.n_layers} layers, widths {list(self.width_choices)}); lower top_k",
        )
        unknown = sorted(set(self.retrain) - set(_RETRAIN_DEFAULTS))
        _require(not unknown, f"nas.retrain: unknown key(s) {unknown}; allowed: {sorted(_RETRAIN_DEFAULTS)}")

    @property
    def width_choices(self) -> tuple[int, ...]:
        """The widths a layer may take: ``widths`` up to ``max_width``, ascending, unique."""
        return tuple(sorted({int(w) for w in self.widths if _pos_int(w) and w <= self.max_width}))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NASConfig:
        """Build from the config's ``nas`` section; unknown keys raise :class:`ConfigError`."""
        reject_unknown(d, field_names(cls), "nas option(s)")
        values = dict(d)
        if "retrain" in values:
            values["retrain"] = {**_RETRAIN_DEFAULTS, **dict(values["retrain"])}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["retrain"] = dict(self.retrain)
        return d


def search_space_size(n_layers: int, n_widths: int) -> int:
    """Architectures in the space: ``n_widths ** n_layers * 2 ** (n_layers * (n_layers - 1) / 2)``.

    Example:
        >>> search_space_size(6, 8)
        8589934592
    """
    return int(n_widths) ** int(n_layers) * 2 ** (int(n_layers) * (int(n_layers) - 1) // 2)


def count_parameters(arch: Architecture, d_in: int, d_out: int) -> int:
    """Trainable parameters of ``RRFCN(d_in, d_out, arch)`` (projections, BatchNorm, head).

    Example:
        >>> count_parameters(Architecture(widths=(4,), skips=((),)), d_in=10, d_out=2)
        58
    """
    node_widths = [d_in, *arch.widths]
    total = 0
    for i, width in enumerate(arch.widths):
        total += sum(node_widths[j] for j in arch.inputs(i)) * width + 2 * width
    return total + arch.widths[-1] * d_out + d_out


# ----------------------------------------------------------------------------- samplers
@dataclass
class Sample:
    """One sampled architecture; the tensors are set (with gradients) by the controller only."""

    arch: Architecture
    log_prob: Tensor | None = None
    entropy: Tensor | None = None
    skip_penalty: Tensor | None = None


class UniformSampler:
    """The baseline: every width equally likely and every skip edge present with probability 1/2,
    so each architecture of the space is equally likely.

    Example:
        >>> s = UniformSampler(n_layers=3, width_choices=[8, 16])
        >>> s.sample(torch.Generator().manual_seed(0)).arch.n_layers
        3
    """

    def __init__(self, *, n_layers: int, width_choices: Sequence[int], skip_mode: str = "sum") -> None:
        self.n_layers = n_layers
        self.width_choices = tuple(width_choices)
        self.skip_mode = skip_mode

    def sample(self, generator: torch.Generator) -> Sample:
        idx = torch.randint(len(self.width_choices), (self.n_layers,), generator=generator).tolist()
        skips = []
        for k in range(self.n_layers):
            present = torch.rand(k, generator=generator) < 0.5 if k > 0 else torch.zeros(0, dtype=torch.bool)
            skips.append(tuple(int(j) for j in torch.nonzero(present).flatten().tolist()))
        widths = tuple(self.width_choices[i] for i in idx)
        return Sample(Architecture(widths=widths, skips=tuple(skips), skip_mode=self.skip_mode))


class Controller(nn.Module):
    """ENAS's macro controller for FC layers: an LSTM that emits, layer by layer, a width and the
    layer's skip inputs.

    For layer ``k`` the LSTM first emits a width (softmax over ``width_choices``), reads that
    width's embedding, then scores each earlier node ``j`` with an attention
    ``v . tanh(W_a anchor_j + W_q h)`` and draws a Bernoulli per node. Anchors are the LSTM
    outputs of the earlier layers; node 0 (the input) has a learned anchor. The next step's input
    is the mean of the chosen anchors (ENAS). Width logits are squashed to ``1.5 * tanh(logit)``
    and skip logits to ``3 * tanh(q)`` (ENAS's two logits ``[-q, q]``, each ``1.5 * tanh``), so
    a skip's probability stays within about [0.05, 0.95].

    Args:
        n_layers: layers per architecture.
        width_choices: the widths a layer may take.
        skip_mode: the ``skip_mode`` written into sampled architectures.
        hidden: LSTM width.

    Example:
        >>> c = Controller(n_layers=4, width_choices=[16, 32])
        >>> s = c.sample(torch.Generator().manual_seed(0), skip_target=0.4)
        >>> s.arch.n_layers, bool(s.log_prob < 0)
        (4, True)
    """

    def __init__(
        self, *, n_layers: int, width_choices: Sequence[int], skip_mode: str = "sum", hidden: int = 64
    ) -> None:
        super().__init__()
        if not _pos_int(n_layers) or not _pos_int(hidden) or len(width_choices) == 0:
            raise ValueError(f"{n_layers=} and {hidden=} must be > 0 and width_choices non-empty")
        self.n_layers = n_layers
        self.width_choices = tuple(int(w) for w in width_choices)
        self.skip_mode = skip_mode
        self.hidden = hidden
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.start = nn.Parameter(torch.empty(1, hidden))
        self.input_anchor = nn.Parameter(torch.empty(1, hidden))
        self.width_embedding = nn.Embedding(len(self.width_choices), hidden)
        self.width_logits = nn.Linear(hidden, len(self.width_choices), bias=False)
        self.attn_anchor = nn.Linear(hidden, hidden, bias=False)
        self.attn_query = nn.Linear(hidden, hidden, bias=False)
        self.attn_v = nn.Linear(hidden, 1, bias=False)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)  # ENAS initialises every controller weight this way

    def forward(self, generator: torch.Generator, skip_target: float = 0.4) -> Sample:
        return self.sample(generator, skip_target=skip_target)

    def sample(self, generator: torch.Generator, *, skip_target: float = 0.4) -> Sample:
        """Draw an architecture; return it with its log-probability, entropy and skip penalty
        (KL divergence of each skip probability from ``skip_target``), all differentiable."""
        device = self.start.device
        zeros = torch.zeros(1, self.hidden, device=device)
        h, c = zeros, zeros
        inputs: Tensor = self.start
        anchors: list[Tensor] = [self.input_anchor]
        keys = [self.attn_anchor(self.input_anchor)]
        log_prob = torch.zeros((), device=device)
        entropy = torch.zeros((), device=device)
        penalty = torch.zeros((), device=device)
        widths: list[int] = []
        skips: list[tuple[int, ...]] = []
        target = torch.tensor(skip_target, device=device)
        for k in range(self.n_layers):
            h, c = self.lstm(inputs, (h, c))
            logits = TANH_CONSTANT * torch.tanh(self.width_logits(h))[0]
            logp_all = F.log_softmax(logits, dim=0)
            idx = int(torch.multinomial(logp_all.detach().exp().cpu(), 1, generator=generator))
            log_prob = log_prob + logp_all[idx]
            entropy = entropy - (logp_all.exp() * logp_all).sum()
            widths.append(self.width_choices[idx])
            h, c = self.lstm(self.width_embedding.weight[idx : idx + 1], (h, c))
            if k == 0:
                skips.append(())
                inputs = self.start
            else:
                # candidates: nodes 0 .. k-1 (node k, the chain input, is always read)
                scores = self.attn_v(torch.tanh(torch.cat(keys[:k]) + self.attn_query(h)))[:, 0]
                # ENAS scores [-q, q] as two squashed logits: P(skip) = sigmoid(2 * 1.5 * tanh(q))
                logit = 2 * TANH_CONSTANT * torch.tanh(scores)
                p = torch.sigmoid(logit)
                chosen = torch.bernoulli(p.detach().cpu(), generator=generator).to(device)
                log_prob = log_prob - F.binary_cross_entropy_with_logits(logit, chosen, reduction="sum")
                entropy = entropy + F.binary_cross_entropy_with_logits(logit, p.detach(), reduction="sum")
                pc = p.clamp(1e-6, 1 - 1e-6)
                penalty = penalty + (
                    pc * torch.log(pc / target) + (1 - pc) * torch.log((1 - pc) / (1 - target))
                ).sum()
                skips.append(tuple(int(j) for j in torch.nonzero(chosen).flatten().tolist()))
                inputs = (chosen[None, :] @ torch.cat(anchors[:k])) / (1.0 + chosen.sum())
            anchors.append(h)
            keys.append(self.attn_anchor(h))
        arch = Architecture(widths=tuple(widths), skips=tuple(skips), skip_mode=self.skip_mode)
        return Sample(arch, log_prob=log_prob, entropy=entropy, skip_penalty=penalty)


# ----------------------------------------------------------------------------- search
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


def _encode_targets(
    task: str, y: np.ndarray, y_valid: np.ndarray, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Class codes (or standardised targets) for train and valid, and the number of outputs."""
    y, y_valid = np.asarray(y), np.asarray(y_valid)
    if task == "continuous":
        mean, std = float(np.mean(y)), float(np.std(y))
        scale = std if std > 0 else 1.0
        return ((y - mean) / scale).astype(np.float32), ((y_valid - mean) / scale).astype(np.float32), 1
    classes, codes = encode_labels(y)
    if len(classes) < 2:
        raise InputError(f"the training rows hold a single class ({classes.tolist()}); the search needs two or more")
    _, codes_valid = encode_labels(y_valid, classes, what="the validation data")
    k = max(len(classes), int(n_classes or 0))
    if task == "binary":
        if len(classes) != 2:
            raise ConfigError(f"task='binary' but y has {len(classes)} classes; use task='multiclass'")
        k = 2
    return codes, codes_valid, k


def _budget_per_epoch(budget: int, epochs: int) -> list[int]:
    """Spread ``budget`` steps over epochs, later epochs first (the shared weights are better)."""
    return [(e + 1) * budget // epochs - e * budget // epochs for e in range(epochs)]


class _SupernetEpochs:
    """The :class:`~genoml_core.loop.Objective` of the supernet: one drawn architecture per batch.

    After each epoch, ``after_epoch`` runs the controller's steps of that epoch (the scores of
    drawn architectures under the shared weights); the supernet has no early stopping.
    """

    def __init__(
        self,
        supernet: RRFCNSupernet,
        X: RowSource,
        y_all: torch.Tensor,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        draw: Callable[[], Sample],
        device: torch.device,
        after_epoch: Callable[[int], None],
        epochs: int,
    ) -> None:
        self.supernet, self.X, self.y_all, self.loss_fn, self.draw = supernet, X, y_all, loss_fn, draw
        self.device, self.after_epoch, self.epochs = device, after_epoch, epochs
        self.running, self.count = 0.0, 0

    def start_epoch(self, epoch: int) -> None:
        self.running, self.count = 0.0, 0

    def batch_loss(self, idx: np.ndarray, epoch: int) -> torch.Tensor:
        arch = self.draw().arch
        xb = load_batch(self.X, idx, self.device)
        loss = self.loss_fn(self.supernet(xb, arch), self.y_all[idx].to(self.device))
        self.running += float(loss.detach()) * len(idx)
        self.count += len(idx)
        return loss

    def end_epoch(self, epoch: int, *, seen: int, seconds: float) -> EpochEnd:
        row = {"epoch": epoch, "train_loss": self.running / max(self.count, 1), "seconds": seconds}
        self.after_epoch(epoch)
        log.info("supernet epoch %d/%d: train_loss=%.4f (%.1f s)", epoch, self.epochs, row["train_loss"], seconds)
        return EpochEnd(row=row, score=-row["train_loss"])


def _reward(task: str, y_valid: np.ndarray, outputs: np.ndarray) -> float:
    """The validation metric; non-finite or undefined values become -1 (worse than any real score
    of a classifier; an R^2 below -1 is clipped to -1 too, so one bad draw cannot dominate)."""
    try:
        value = score_outputs(task, y_valid, outputs)
    except ValueError:  # e.g. one class in y_valid
        value = math.nan
    if not math.isfinite(value):
        return -1.0
    return max(value, -1.0)


def run_search(
    X: RowSource,
    y: np.ndarray,
    *,
    X_valid: RowSource,
    y_valid: np.ndarray,
    task: str,
    config: NASConfig,
    seed: int,
    device: torch.device,
    class_weight: str | None = "balanced",
    n_classes: int | None = None,
) -> SearchResult:
    """Search RRFCN wirings with a weight-sharing supernet and a sampler; return the top-k.

    Args:
        X: training rows (a :class:`~genoml_core.training.RowSource`, e.g. ``store.view("train")``).
        y: training labels (any class labels) or continuous targets.
        X_valid: validation rows: every reward is the metric on all of them.
        y_valid: validation labels or targets.
        task: ``"binary"``, ``"multiclass"`` or ``"continuous"``.
        config: the search settings.
        seed: seeds initialisation, batch order, BatchNorm rows and every architecture draw.
        device: where to compute.
        class_weight: ``"balanced"`` (cross-entropy weighted per class) or ``None``/``"none"``.
        n_classes: number of classes when some are absent from ``y`` (multiclass).

    Returns:
        :class:`SearchResult`. On the CPU the same inputs and seed give the same result.

    Raises:
        ConfigError: for an unknown task or impossible settings.
        InputError: for mismatched or too small inputs.
    """
    if task not in TASKS:
        raise ConfigError(f"{task=} must be one of {TASKS}")
    if len(X) != len(y) or len(X_valid) != len(y_valid):
        raise InputError(f"X/y ({len(X)}/{len(y)}) and X_valid/y_valid ({len(X_valid)}/{len(y_valid)}) must match")
    if len(X) < 2 or len(X_valid) < 1:
        raise InputError(f"the search needs >= 2 training and >= 1 validation rows; got {len(X)} and {len(X_valid)}")
    t0 = time.perf_counter()
    codes, y_val, d_out = _encode_targets(task, y, y_valid, n_classes)
    n_features = int(X.shape[1]) if hasattr(X, "shape") else int(np.asarray(X[np.array([0])]).shape[1])
    seed_everything(seed)
    gen = torch.Generator().manual_seed(int(seed))
    choices = config.width_choices
    supernet = RRFCNSupernet(
        d_in=n_features, d_out=d_out, n_layers=config.n_layers, widths=choices, skip_mode=config.skip_mode
    ).to(device)
    controller: Controller | None = None
    sampler: Any
    if config.sampler == "controller":
        controller = Controller(
            n_layers=config.n_layers, width_choices=choices, skip_mode=config.skip_mode,
            hidden=config.controller_hidden,
        ).to(device)  # fmt: skip
        sampler = controller
        ctrl_opt = torch.optim.Adam(controller.parameters(), lr=config.controller_lr)
    else:
        sampler = UniformSampler(n_layers=config.n_layers, width_choices=choices, skip_mode=config.skip_mode)

    def draw(with_grad: bool = False) -> Sample:
        if controller is None:
            return sampler.sample(gen)
        if with_grad:
            controller.train()
            return controller.sample(gen, skip_target=config.skip_target)
        with torch.no_grad():
            return controller.sample(gen, skip_target=config.skip_target)

    # NOTE[DIFF]: ENAS trains shared weights with SGD; momentum touches only the slices used.
    shared_opt = torch.optim.SGD(supernet.parameters(), lr=config.supernet_lr, momentum=0.9, nesterov=True)
    y_all = torch.from_numpy(codes)
    weight = None
    if task != "continuous" and class_weight not in (None, "none") and len(np.unique(codes)) == d_out:
        weight = torch.as_tensor(balanced_class_weights(codes, d_out), device=device)

    def loss_fn(out: Tensor, yb: Tensor) -> Tensor:
        if task == "continuous":
            return F.mse_loss(out[:, 0], yb)
        return F.cross_entropy(out, yb, weight=weight)

    # fixed training rows for BatchNorm recalibration (same rows for every architecture)
    bn_rows = np.sort(torch.randperm(len(X), generator=gen)[: min(config.bn_samples, len(X))].numpy())
    bn_batches = [
        load_batch(X, bn_rows[idx], device) for idx in iter_batches(len(bn_rows), 1024, merge_singleton=True)
    ]
    metric = METRICS[task]
    n_evaluations = 0

    def evaluate(arch: Architecture) -> float:
        nonlocal n_evaluations
        n_evaluations += 1
        supernet.recalibrate(arch, bn_batches)
        outputs = predict_outputs(supernet, X_valid, device=device, amp=False, fn=lambda m, xb: m(xb, arch))
        return _reward(task, y_val, outputs)

    curve: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    baseline: float | None = None
    step = 0
    steps = _budget_per_epoch(config.budget, config.supernet_epochs)
    log.info(
        "RRFCN search: sampler=%s budget=%d supernet_epochs=%d n_layers=%d widths=%s skip_mode=%s "
        "n_train=%d n_valid=%d n_features=%d device=%s",
        config.sampler, config.budget, config.supernet_epochs, config.n_layers, list(choices), config.skip_mode,
        len(X), len(X_valid), n_features, device,
    )  # fmt: skip

    def controller_steps(epoch: int) -> None:
        """The epoch's controller steps: draw, score with the shared weights, update the sampler."""
        nonlocal step, baseline
        for _ in range(steps[epoch - 1]):
            step += 1
            sample = draw(with_grad=True)
            reward = evaluate(sample.arch)
            entropy = float(sample.entropy.detach()) if sample.entropy is not None else math.nan
            r = reward + (config.entropy_weight * entropy if controller is not None else 0.0)
            baseline = r if baseline is None else config.baseline_decay * baseline + (1 - config.baseline_decay) * r
            advantage = r - baseline
            if controller is not None:
                assert sample.log_prob is not None and sample.skip_penalty is not None  # the controller sets them
                loss = -sample.log_prob * advantage + config.skip_weight * sample.skip_penalty
                ctrl_opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(controller.parameters(), GRAD_BOUND)
                ctrl_opt.step()
            key = sample.arch.to_json()
            if key not in seen:
                seen[key] = {"arch": sample.arch, "search_reward": reward, "first_step": step}
            curve.append({
                "step": step, "epoch": epoch, "reward": reward, "baseline": baseline, "advantage": advantage,
                "entropy": entropy, "skip_density": sample.arch.skip_density, "architecture": sample.arch.describe(),
            })  # fmt: skip
            spent = time.perf_counter() - t0
            log.info(
                "step %d/%d epoch %d: %s=%.4f baseline=%.4f %s; %.2f steps/s, about %.0f s left",
                step, config.budget, epoch, metric, reward, baseline, sample.arch.describe(),
                step / spent if spent > 0 else math.inf, spent / step * (config.budget - step) if step else 0.0,
            )  # fmt: skip

    objective = _SupernetEpochs(supernet, X, y_all, loss_fn=loss_fn, draw=draw, device=device,
                                after_epoch=controller_steps, epochs=config.supernet_epochs)  # fmt: skip
    history = run_epochs(
        supernet, len(X), objective, batch_size=config.batch_size, max_epochs=config.supernet_epochs,
        optimizer=shared_opt, generator=gen, device=device, clip_grad_norm=GRAD_BOUND,
    )  # fmt: skip

    # NOTE[DIFF]: ENAS derives the final cell by sampling anew; here every distinct architecture
    # sampled in the search is rescored with the final shared weights (scores taken earlier came
    # from less-trained weights), topped up with fresh draws if fewer than top_k were distinct.
    tries = 0
    while len(seen) < config.top_k and tries < 100 * config.top_k:
        tries += 1
        arch = draw().arch
        seen.setdefault(arch.to_json(), {"arch": arch, "search_reward": None, "first_step": None})
    if len(seen) < config.top_k:
        raise ConfigError(
            f"the search found only {len(seen)} distinct architectures for nas.top_k={config.top_k}; "
            "raise nas.budget or widen the search space"
        )
    candidates = []
    for entry in seen.values():
        arch = entry["arch"]
        candidates.append({
            "architecture": arch.to_dict(), "describe": arch.describe(),
            "skip_edges": [list(e) for e in arch.skip_edges], "supernet_score": evaluate(arch),
            "search_reward": entry["search_reward"], "first_step": entry["first_step"],
            "n_params": count_parameters(arch, n_features, d_out),
        })  # fmt: skip
    order = sorted(
        range(len(candidates)),
        key=lambda i: (-candidates[i]["supernet_score"], candidates[i]["first_step"] or math.inf, i),
    )
    candidates = [{"rank": r, **candidates[i]} for r, i in enumerate(order)]
    supernet.eval()
    seconds = time.perf_counter() - t0
    log.info(
        "search done in %.1f s: %d evaluations, %d distinct architectures; best %s=%.4f %s",
        seconds, n_evaluations, len(candidates), metric, candidates[0]["supernet_score"], candidates[0]["describe"],
    )  # fmt: skip
    return SearchResult(
        top=candidates[: config.top_k],
        candidates=candidates,
        curve=curve,
        supernet_history=history,
        metric=metric,
        n_evaluations=n_evaluations,
        seconds=seconds,
        config=config,
        task=task,
        seed=int(seed),
        n_features=n_features,
        d_out=d_out,
        supernet=supernet,
        sampler=sampler,
    )


def search_store(
    directory: str | Path,
    config: NASConfig,
    *,
    task: str,
    seed: int,
    class_weight: str | None,
    threads: int | None,
    device: str = "auto",
) -> SearchResult:
    """Run :func:`run_search` on a feature store's training rows, rewarded on its validation rows.

    Genotypes stream from the int8 store batch by batch (``store.view``); the test rows are never read.
    """
    from .munge import FeatureStore

    store = FeatureStore(directory)
    tr, va = store.index("train"), store.index("valid")
    n_classes = len(store.recipe.get("class_names") or []) or None
    previous = set_threads(threads)
    try:
        return run_search(
            store.view("train"), store.labels(tr), X_valid=store.view("valid"), y_valid=store.labels(va),
            task=task, config=config, seed=seed, device=resolve_device(device), class_weight=class_weight,
            n_classes=n_classes,
        )  # fmt: skip
    finally:
        set_threads(previous)


# ----------------------------------------------------------------------------- outputs
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
        raise InputError(f"{path}: not an architectures file written by genoml_core.nas (format {FORMAT!r})")
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


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Any, path: str | Path, *, tight: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    fig.clear()
    return path


def plot_architecture(
    arch: Architecture, path: str | Path, *, d_in: int, d_out: int, title: str | None = None
) -> Path:
    """Draw ``arch``: the input, each layer (labelled with its width) and the output as nodes in a
    row; chain edges as straight arrows, skip edges as arcs above (from the input: below)."""
    from matplotlib.patches import Circle, FancyArrowPatch

    n = arch.n_layers
    x_span, unit = n + 2.6, 1.1  # data units across; inches per data unit
    fig = _figure(x_span * unit, 3.8)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.84))
    points = unit * 72  # points per data unit, for the arrows' shrink
    xs = list(range(n + 2))  # input, layers 1..n, output
    w_max = max(arch.widths)
    radius = [0.36] + [0.2 + 0.18 * math.log2(1 + w) / math.log2(1 + w_max) for w in arch.widths] + [0.26]
    colours = ["#9ecae1"] + ["#fdae6b"] * n + ["#a1d99b"]
    labels = [f"input\n{d_in}"] + [f"L{k + 1}\n{w}" for k, w in enumerate(arch.widths)] + [f"out\n{d_out}"]

    def arrow(a: int, b: int, rad: float, colour: str, width: float) -> None:
        ax.add_patch(FancyArrowPatch(
            (xs[a], 0), (xs[b], 0), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=12,
            shrinkA=radius[a] * points, shrinkB=radius[b] * points, color=colour, lw=width, zorder=1,
        ))  # fmt: skip

    for a in range(n + 1):
        arrow(a, a + 1, 0.0, "#444444", 1.6)
    for j, k in arch.skip_edges:
        rad = min(0.5, 0.3 + 0.04 * (k - j))
        arrow(j, k, rad if j == 0 else -rad, "#d62728" if j == 0 else "#1f77b4", 1.2)
    for i, x in enumerate(xs):
        ax.add_patch(Circle((x, 0), radius[i], facecolor=colours[i], edgecolor="#333333", zorder=2))
        ax.text(x, 0, labels[i], ha="center", va="center", fontsize=8, zorder=3)
    ax.set_xlim(-0.8, n + 1.8)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    mode = "summed" if arch.skip_mode == "sum" else "concatenated"
    fig.suptitle(
        (title + "\n" if title else "")
        + f"{len(arch.skip_edges)} skip edges ({mode}); red: from the input, blue: between layers",
        fontsize=9,
    )
    return _save_png(fig, path, tight=False)


def plot_search_curve(curve: Sequence[Mapping[str, Any]], path: str | Path, *, metric: str, sampler: str) -> Path:
    """Reward per sampler step, its running mean and the controller's baseline."""
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    steps = np.array([row["step"] for row in curve], dtype=float)
    rewards = np.array([row["reward"] for row in curve], dtype=float)
    if len(steps):
        ax.plot(steps, rewards, "o", ms=3, alpha=0.6, label="reward (validation)")
        running = np.cumsum(rewards) / np.arange(1, len(rewards) + 1)
        ax.plot(steps, running, "-", lw=1.5, label="running mean")
        ax.plot(steps, [row["baseline"] for row in curve], "--", lw=1.2, label="baseline")
        ax.plot(steps, np.maximum.accumulate(rewards), ":", lw=1.2, label="best so far")
        for e in sorted({row["epoch"] for row in curve})[1:]:
            first = min(row["step"] for row in curve if row["epoch"] == e)
            ax.axvline(first - 0.5, color="#cccccc", lw=0.8, zorder=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("sampler step")
    ax.set_ylabel(f"validation {metric} (supernet)")
    ax.set_title(f"RRFCN search ({sampler} sampler); grey lines: new supernet epoch", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    return _save_png(fig, path)
