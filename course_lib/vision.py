"""A copy of notebook 03's MNIST CNN and training recipe, for ``scripts/bench_mnist_vs_pytorch_example.py``.

The lesson lives in the notebook: students read ``conv_block``, ``MnistCNN``, the augmentation and
``make_optimizer`` there. The benchmark imports this copy so that it measures exactly what the
notebook teaches; ``tests/test_vision.py`` executes the notebook's definitions and fails when the two
differ (architecture, parameter count, outputs for the same weights, recipe constants, schedule).
``GroupAugment`` is plumbing (per-group augmentation of a batch) and lives only here.

The recipe: three conv blocks (3x3 conv -> 2x2 max-pool -> BatchNorm -> ReLU), a linear classifier,
AdamW with a one-cycle learning-rate schedule, batch 256, and small random affine transforms
(torchvision.transforms.v2) applied to groups of images of each batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torchvision.transforms import v2

EPOCHS = 5
BATCH_SIZE = 256
MAX_LR = 0.01
WARMUP = 0.25  # share of the steps spent raising the learning rate to MAX_LR
WEIGHT_DECAY = 5e-4


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (padding 1) -> 2x2 max-pool -> BatchNorm -> ReLU: halves height and width.

    Pooling right after the convolution (instead of last) makes BatchNorm and ReLU work on a
    quarter of the pixels: about 1.3x faster on a CPU, and as accurate here.

    >>> conv_block(1, 8)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 8, 14, 14])
    """
    return nn.Sequential(
        # no bias: the BatchNorm after it has its own shift (beta)
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class MnistCNN(nn.Module):
    """Conv blocks 1 -> 16 -> 32 -> 64 channels (28 -> 14 -> 7 -> 3 pixels), then one linear layer
    from the 64 x 3 x 3 features to the 10 classes. About 29k parameters.

    With ``channels_last=True`` the weights are stored channels-last ([out, k, k, in] in memory),
    the layout in which the CPU (oneDNN) and GPU (cuDNN) kernels for convolution and pooling are
    fastest: about 2x faster training on a 2-core CPU. The inputs need no change (one channel).

    >>> MnistCNN()(torch.zeros(4, 1, 28, 28)).shape
    torch.Size([4, 10])
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), num_classes: int = 10,
                 channels_last: bool = True) -> None:
        super().__init__()
        sizes = [1, *channels]
        self.features = nn.Sequential(*(conv_block(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        side = 28
        for _ in channels:
            side //= 2  # each block halves the image (floor)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(sizes[-1] * side * side, num_classes))
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for images [N, 1, 28, 28] with pixels in [0, 1].

        >>> MnistCNN()(torch.zeros(1, 1, 28, 28)).shape
        torch.Size([1, 10])
        """
        return self.classifier(self.features(x))


def augmentation() -> v2.Transform:
    """The small random distortions of the recipe: rotate up to 10 degrees, shift up to 10 %,
    scale by 0.9-1.1 (a digit stays the same digit).

    >>> augmentation()(torch.zeros(1, 28, 28)).shape
    torch.Size([1, 28, 28])
    """
    return v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))


class GroupAugment:
    """Wraps a DataLoader and applies ``transform`` to each batch in groups of ``group_size``
    images: v2 transforms draw ONE random transformation per call, so a batch of 256 gets 16
    different ones with the default group size 16. Calling the transform once per image (inside the
    Dataset) gives every image its own draw, but costs ~5 s per MNIST epoch on 2 CPU cores;
    groups cost ~0.5 s. The training loop sees ``(augmented images, labels)`` batches.

    >>> batches = [(torch.zeros(32, 1, 28, 28), torch.zeros(32, dtype=torch.long))]
    >>> [x.shape[0] for x, y in GroupAugment(batches, augmentation())]
    [32]
    """

    def __init__(self, loader: Iterable, transform: Callable[[torch.Tensor], torch.Tensor],
                 group_size: int = 16) -> None:
        if group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {group_size}")
        self.loader, self.transform, self.group_size = loader, transform, group_size

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, Any]]:
        for x, y in self.loader:
            groups = [self.transform(g) for g in x.split(self.group_size)]
            yield torch.cat(groups), y


def make_optimizer(model: nn.Module, steps_per_epoch: int, epochs: int = EPOCHS,
                   max_lr: float = MAX_LR, weight_decay: float = WEIGHT_DECAY
                   ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW and a one-cycle schedule (warm up to ``max_lr`` over the first 25 % of the steps,
    then anneal to almost 0); step the scheduler after every batch.

    >>> opt, sched = make_optimizer(MnistCNN(), steps_per_epoch=10, epochs=2); sched.total_steps
    20
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr,
                                                    total_steps=epochs * steps_per_epoch, pct_start=WARMUP)
    return optimizer, scheduler
