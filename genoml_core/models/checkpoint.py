"""Checkpoints of a training loop: save everything the next epoch depends on, resume, discard.

Given a :class:`CheckpointSpec`, :class:`Checkpointer` saves the weights, the optimizer, the loss
scaler, the shuffling generator, the global torch/CUDA/NumPy/Python RNG states, the
early-stopping state with its copy of the best weights and the history every ``every`` epochs,
atomically, and a rerun resumes after the saved epoch, so an interrupted CPU run ends
bit-identical to an uninterrupted one. A checkpoint written for another configuration (options,
seed, task, data sizes and sample rows, targets, network, initial weights, device, genoml_core and
torch versions: :func:`fingerprint`) is ignored with a warning; the file is deleted when
training ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from .. import __version__
from ..errors import ConfigError
from ..io import atomic_path
from .loop import RowSource, load_batch

__all__ = ["CheckpointSpec", "Checkpointer", "fingerprint"]

log = logging.getLogger("genoml_core.models.training")  # where these messages came from before the one loop: warnings.json records it


@dataclass(frozen=True, kw_only=True)
class CheckpointSpec:
    """Where and how often a training loop saves its state so that a rerun can resume.

    Not a :class:`TrainOptions` field on purpose: it changes nothing about the result, so it
    is neither a hyperparameter nor part of the checkpoint's fingerprint.

    Attributes:
        path: the checkpoint file (parent directories are created); deleted when training ends.
        every: save after every ``every``-th epoch; ``0`` turns checkpointing off (nothing is
            saved, an existing file is neither read nor deleted).

    Example:
        >>> CheckpointSpec(path="ckpt/fold0.pt", every=5).enabled
        True
    """

    path: Path
    every: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not (isinstance(self.every, (int, np.integer)) and not isinstance(self.every, bool) and self.every >= 0):
            raise ConfigError(f"checkpoint every={self.every!r} must be an integer >= 0 (0 = off)")

    @property
    def enabled(self) -> bool:
        return self.every > 0



class _Stateful(Protocol):
    """The early-stopping state a checkpoint carries (:class:`~genoml_core.models.loop.EarlyStopping`)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None: ...


class _Options(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


_CHECKPOINT_FORMAT = "genoml_core.train_checkpoint/1"


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            part = part.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _probe_rows(X: RowSource) -> np.ndarray:
    """The first, middle and last rows of ``X``: a cheap check that the data are the same."""
    n = len(X)
    return load_batch(X, np.unique(np.array([0, n // 2, n - 1])), torch.device("cpu")).numpy()


def fingerprint(
    loop: str,
    module: nn.Module,
    X: RowSource,
    X_valid: RowSource,
    *,
    options: _Options,
    seed: int,
    device: torch.device,
    dtype: torch.dtype | None,
    **extra: Any,
) -> dict[str, Any]:
    """What a checkpoint must have been written for to be resumed (plain, comparable values).

    Call it before training: ``initial_weights`` hashes the module's starting weights. The
    data are compared by size and by three rows of each set (hashing all of a large
    memory-mapped store would cost a pass over it).
    """
    state = module.state_dict()
    probe = _probe_rows(X)
    return {
        "format": _CHECKPOINT_FORMAT,
        "versions": f"genoml_core {__version__}, torch {torch.__version__}",
        "loop": loop,
        "options": _digest(options.to_dict()),
        "seed": int(seed),
        "n_rows": len(X),
        "n_valid": len(X_valid),
        "n_features": int(probe.shape[1]),
        "data_rows": _digest(probe, _probe_rows(X_valid)),
        "module": f"{type(module).__module__}.{type(module).__qualname__}",
        "shapes": _digest([(k, list(v.shape), str(v.dtype)) for k, v in state.items()]),
        "initial_weights": _digest(*state.values()),
        "device": device.type,
        "amp_dtype": str(dtype),
        **{k: v if isinstance(v, (str, int, float, type(None))) else _digest(v) for k, v in extra.items()},
    }


def _numpy_rng_state() -> dict[str, Any]:
    state = np.random.get_state(legacy=False)
    # plain ints, so that torch.load(weights_only=True) accepts the file
    return {
        "key": state["state"]["key"].tolist(),
        "pos": int(state["state"]["pos"]),
        "has_gauss": int(state["has_gauss"]),
        "gauss": float(state["gauss"]),
    }


def _set_numpy_rng_state(state: dict[str, Any]) -> None:
    key = np.asarray(state["key"], dtype=np.uint32)
    np.random.set_state(("MT19937", key, state["pos"], state["has_gauss"], state["gauss"]))


class Checkpointer:
    """Save, resume and discard the state of one training loop (a no-op without a spec).

    Everything saved is a tensor, a state dict or a plain Python value, so the file loads
    with ``torch.load(weights_only=True)`` and cannot run code.
    """

    def __init__(
        self,
        spec: CheckpointSpec | None,
        fingerprint: Callable[[], dict[str, Any]],
        *,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        generator: torch.Generator,
        tracker: _Stateful,
        device: torch.device,
        max_epochs: int,
    ) -> None:
        self.spec = spec if spec is not None and spec.enabled else None
        # computed now, before any training step changes the weights it hashes
        self.fingerprint = fingerprint() if self.spec is not None else {}
        self.module = module
        self.optimizer = optimizer
        self.scaler = scaler
        self.generator = generator
        self.tracker = tracker
        self.device = device
        self.max_epochs = max_epochs

    def _read(self) -> dict[str, Any] | None:
        if self.spec is None or not self.spec.path.is_file():
            return None
        path = self.spec.path
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001  (truncated, foreign or unpicklable: start afresh)
            log.warning("ignoring checkpoint %s: cannot read it (%s); training from scratch", path, err)
            return None
        saved = ckpt.get("fingerprint") if isinstance(ckpt, dict) else None
        if saved != self.fingerprint:
            saved = saved if isinstance(saved, dict) else {}
            differ = sorted(k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k))
            log.warning(
                "ignoring checkpoint %s: it was written for another configuration (differs in %s); "
                "training from scratch",
                path,
                ", ".join(differ),
            )
            return None
        return ckpt

    def resume(self) -> tuple[int, list[dict[str, float]]]:
        """Restore a matching checkpoint; return (last epoch done, history), or (0, [])."""
        ckpt = self._read()
        if ckpt is None:
            return 0, []
        self.module.load_state_dict(ckpt["module"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.tracker.load_state_dict(ckpt["tracker"], self.device)
        self.generator.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        if self.device.type == "cuda" and len(ckpt["cuda_rng"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        _set_numpy_rng_state(ckpt["numpy_rng"])
        version, internal, gauss_next = ckpt["python_rng"]
        random.setstate((version, tuple(internal), gauss_next))
        epoch = int(ckpt["epoch"])
        assert self.spec is not None  # _read found a checkpoint, so there is a spec
        log.info("resuming from epoch %d of %d (checkpoint %s)", epoch, self.max_epochs, self.spec.path)
        return epoch, list(ckpt["history"])

    def save(self, epoch: int, history: list[dict[str, float]]) -> None:
        """Write the state after ``epoch`` when it is a multiple of ``every`` (not the last epoch)."""
        if self.spec is None or epoch % self.spec.every != 0 or epoch >= self.max_epochs:
            return
        state = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "module": {k: v.detach().cpu() for k, v in self.module.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "tracker": self.tracker.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "numpy_rng": _numpy_rng_state(),
            "python_rng": random.getstate(),
            "history": history,
        }
        with atomic_path(self.spec.path) as tmp:
            torch.save(state, tmp)
        log.info("checkpoint after epoch %d written to %s", epoch, self.spec.path)

    def discard(self) -> None:
        """Delete the checkpoint: training ended (completed, stopped early or diverged)."""
        if self.spec is not None:
            self.spec.path.unlink(missing_ok=True)
