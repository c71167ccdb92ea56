"""course_lib.vision: the MNIST CNN and its recipe (notebook 03 and the MNIST benchmark script)."""

import pytest
import torch
from torch import nn

from course_lib import vision


def test_cnn_shapes_and_size():
    model = vision.MnistCNN()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # bias-free 3x3 convs + BatchNorm (weight, bias) per block, then Linear(64*3*3 -> 10)
    conv_bn = sum(a * b * 9 + 2 * b for a, b in [(1, 16), (16, 32), (32, 64)])
    assert sum(p.numel() for p in model.parameters()) == conv_bn + 64 * 3 * 3 * 10 + 10  # 29,178
    assert vision.MnistCNN(channels=(8, 16))(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_cnn_learns_a_tiny_problem():
    torch.manual_seed(0)
    x = torch.zeros(32, 1, 28, 28)
    x[16:, :, :14] = 1.0  # class 1: the top half is bright
    y = torch.tensor([0] * 16 + [1] * 16)
    model = vision.MnistCNN(channels=(4, 8))
    optimizer, scheduler = vision.make_optimizer(model, steps_per_epoch=20, epochs=1, max_lr=0.01)
    for _ in range(20):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    assert (model(x).argmax(1) == y).all()


def test_group_augment_draws_one_transform_per_group():
    torch.manual_seed(0)
    image = torch.zeros(1, 28, 28)
    image[:, 10:18, 12:16] = 1.0
    batch = image.expand(32, 1, 28, 28).clone()
    labels = torch.arange(32)
    (out, out_labels), = list(vision.GroupAugment([(batch, labels)], vision.augmentation(), group_size=8))
    assert out.shape == batch.shape and torch.equal(out_labels, labels)
    groups = out.split(8)
    for g in groups:  # within a group: the same transformation
        assert torch.equal(g, g[:1].expand_as(g))
    distinct = {tuple(g[0].flatten().tolist()) for g in groups}
    assert len(distinct) > 1  # across groups: different draws
    assert not torch.equal(out, batch)


def test_group_augment_rejects_bad_group_size():
    with pytest.raises(ValueError, match="group_size"):
        vision.GroupAugment([], vision.augmentation(), group_size=0)


def test_one_cycle_schedule_warms_up_and_anneals():
    optimizer, scheduler = vision.make_optimizer(vision.MnistCNN(), steps_per_epoch=10, epochs=2)
    lrs = []
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    peak = max(lrs)
    assert abs(peak - vision.MAX_LR) < 1e-3 * vision.MAX_LR
    assert lrs.index(peak) < 10 and lrs[-2] < peak / 1000  # lrs[-2]: the rate of the last batch
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["weight_decay"] == vision.WEIGHT_DECAY
