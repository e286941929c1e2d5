"""Samplers of the search: :class:`UniformSampler` (the baseline) and the ENAS :class:`Controller`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn.rrfcn import Architecture
from .config import TANH_CONSTANT, _pos_int


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
