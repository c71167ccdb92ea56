"""Pick and use the compute device: CUDA GPU -> Apple MPS -> CPU.

Override with the environment variable ``COURSE_DEVICE`` (``auto``, ``cpu``, ``cuda``,
``cuda:1``, ``mps``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .config import DEVICE_ENV  # noqa: F401  (documented in course_lib.config.ENV_VARS)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def default_device() -> torch.device:
    """The device notebooks should use: ``$COURSE_DEVICE``, else cuda, then mps, then cpu."""
    wanted = os.environ.get(DEVICE_ENV, "").strip().lower()
    if wanted in ("", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = wanted.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(
            f"{DEVICE_ENV}={os.environ[DEVICE_ENV]!r} is not a device. "
            f"Use one of: auto, cpu, cuda, cuda:N (N = GPU number), mps -- or unset it."
        )
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{DEVICE_ENV}={wanted} but torch sees no CUDA GPU (torch {torch.__version__}). "
                f"Unset {DEVICE_ENV} to use the CPU, or install a CUDA build of torch "
                f"(see notebook 00)."
            )
        if index and int(index) >= torch.cuda.device_count():
            raise RuntimeError(
                f"{DEVICE_ENV}={wanted} but only {torch.cuda.device_count()} GPU(s) exist "
                f"(numbered from 0)."
            )
    if kind == "mps" and not _mps_available():
        raise RuntimeError(
            f"{DEVICE_ENV}=mps but Apple's MPS backend is not available here "
            f"(it needs an Apple-silicon Mac and a macOS build of torch). Unset {DEVICE_ENV}."
        )
    return torch.device(wanted)


def describe(device: torch.device | None = None) -> str:
    """A human sentence about the device, e.g. ``cpu (2 cores, x86_64), torch 2.14.1``."""
    device = device or default_device()
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        return (
            f"cuda:{idx} -- {props.name}, {props.total_memory / 2**30:.0f} GiB, "
            f"CUDA {torch.version.cuda}, torch {torch.__version__}"
        )
    if device.type == "mps":
        return f"mps -- Apple GPU ({platform.machine()}), torch {torch.__version__}"
    cores = os.cpu_count() or 1
    return (
        f"cpu -- {cores} cores ({platform.machine()}), {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; no GPU found"
    )


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = True) -> Any:
    """Move tensors inside nested dicts / lists / tuples (and namedtuples) to ``device``.

    >>> to_device({"x": torch.zeros(2), "n": [torch.ones(1), 3]}, "cpu")["n"][1]
    3
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        moved = {k: to_device(v, device, non_blocking) for k, v in batch.items()}
        try:
            return type(batch)(moved)  # dict subclasses such as HF BatchEncoding
        except TypeError:
            return moved
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def amp_supported(device: torch.device | str) -> bool:
    """True where mixed precision pays off and is supported: CUDA only.

    >>> amp_supported("cpu")
    False
    """
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def autocast(device: torch.device | str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA; a no-op context elsewhere."""
    device = torch.device(device)
    if enabled and amp_supported(device):
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device | str, enabled: bool = True) -> torch.amp.GradScaler:
    """A GradScaler that is active only on CUDA (a disabled one is a transparent no-op).

    >>> grad_scaler("cpu").is_enabled()
    False
    """
    device = torch.device(device)
    on = bool(enabled and amp_supported(device))
    return torch.amp.GradScaler("cuda" if on else "cpu", enabled=on)


def loader_kwargs(device: torch.device | str | None = None) -> dict[str, Any]:
    """DataLoader settings that fit the device (workers and pinned memory on CUDA only).

    >>> loader_kwargs("cpu")["num_workers"]
    0
    """
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda":
        workers = min(4, os.cpu_count() or 1)
        return {"num_workers": workers, "pin_memory": True, "persistent_workers": workers > 0}
    # In-memory tensor datasets on a CPU or Mac: worker processes cost more than they save.
    return {"num_workers": 0, "pin_memory": False}


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch (all devices); ``deterministic=True`` also asks torch for
    deterministic kernels (slower; raises on ops that have none)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA / MPS device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)
    else:
        torch.use_deterministic_algorithms(False)
