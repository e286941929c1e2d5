"""Run-time set-up for torch work: seeding, device choice and CPU threads.

Everything here changes process-wide state on purpose, so the library's modules never do it
themselves: an ``nn.Module`` takes no seed and picks no device; the training loop and the
estimators call these functions once, at the start of a job.
"""

from __future__ import annotations

import logging
import os
import random

import numpy as np
import torch

from .errors import ConfigError

__all__ = ["DEVICE_CHOICES", "seed_everything", "resolve_device", "set_threads"]

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) and ask for determinism.

    Sets ``torch.backends.cudnn.deterministic = True``, ``cudnn.benchmark = False`` and
    ``torch.use_deterministic_algorithms(True, warn_only=True)``: a CPU run is then bit-identical
    for the same seed and thread count; CUDA kernels without a deterministic variant warn instead
    of failing. ``CUBLAS_WORKSPACE_CONFIG`` is set (if unset) so cuBLAS can be deterministic too.

    Args:
        seed: a non-negative integer below 2**32.

    Raises:
        ValueError: when ``seed`` is not an integer in [0, 2**32).

    Example:
        >>> seed_everything(0)
        >>> a = torch.rand(1); seed_everything(0); bool(a == torch.rand(1))
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"{seed=} must be an integer in [0, 2**32)")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn a device request into a ``torch.device``, logging the choice.

    ``"auto"`` is CUDA when ``torch.cuda.is_available()`` and the CPU otherwise. The decision is
    made by asking torch, not by reading ``CUDA_VISIBLE_DEVICES`` (SLURM may set that on a node
    whose job got no usable GPU).

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:<index>"`` or a ``torch.device``.

    Returns:
        The device to use.

    Raises:
        ConfigError: for an unknown name, or ``"cuda"`` asked for where torch sees no GPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device.strip().lower()
    else:
        raise ConfigError(f"{device=} must be one of {DEVICE_CHOICES} or a torch.device")
    if name == "auto":
        chosen = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    elif name == "cpu":
        chosen = torch.device("cpu")
    elif name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"{device=} but torch sees no CUDA device (torch {torch.__version__}, "
                f"cuda build {torch.version.cuda}); use device='auto' to fall back to the CPU, "
                "or run on a GPU node with a CUDA build of torch"
            )
        chosen = torch.device(name)
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ConfigError(f"{device=} but only {torch.cuda.device_count()} CUDA device(s) are visible")
    else:
        raise ConfigError(f"{device=} must be one of {DEVICE_CHOICES} or 'cuda:<index>'")
    if chosen.type == "cuda":
        index = chosen.index if chosen.index is not None else torch.cuda.current_device()
        log.info("device: %s (%s), requested %r", chosen, torch.cuda.get_device_name(index), device)
    else:
        log.info("device: cpu (%d threads), requested %r", torch.get_num_threads(), device)
    return chosen


def set_threads(n: int | None) -> int:
    """Set the number of CPU threads torch uses for intra-op work.

    Args:
        n: threads to use (>= 1), e.g. Snakemake's ``threads``; ``None`` leaves torch's setting.

    Returns:
        The previous thread count, so a caller can restore it.

    Raises:
        ValueError: when ``n`` is not a positive integer.

    Example:
        >>> old = set_threads(1); _ = set_threads(old)
    """
    previous = torch.get_num_threads()
    if n is None:
        return previous
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{n=} must be an integer >= 1 (or None to keep torch's setting)")
    if int(n) != previous:
        torch.set_num_threads(int(n))
    return previous
