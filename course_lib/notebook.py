"""The first code cell of every notebook: ``setup = start(seed=0)``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import config
from .device import default_device, describe, seed_everything


@dataclass(frozen=True)
class Setup:
    """What a notebook runs with: mode, device and seed."""

    mode: str
    quick: bool
    device: torch.device
    seed: int


def start(seed: int = 0, deterministic: bool = False) -> Setup:
    """Print the mode and device, seed every random generator, and return the :class:`Setup`.

    >>> setup = start(seed=0)  # doctest: +ELLIPSIS
    Course mode: ...
    """
    mode = config.mode()
    device = default_device()
    seed_everything(seed, deterministic=deterministic)
    print(config.mode_banner())
    print(f"Device: {describe(device)}")
    print(f"Seed: {seed}" + (" (deterministic algorithms on)" if deterministic else ""))
    return Setup(mode=mode, quick=mode == "quick", device=device, seed=seed)
