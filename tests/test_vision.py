"""course_lib.vision: the MNIST benchmark's copy of notebook 03's CNN and recipe, kept equal to the notebook."""

import ast
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn
from torchvision.transforms import v2

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


# ---------------------------------------------------------------- the library copy equals notebook 03

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_cnn_mnist.ipynb"
RECIPE_NAMES = {"conv_block", "MnistCNN", "make_optimizer", "EPOCHS", "BATCH_SIZE", "MAX_LR", "WARMUP",
                "WEIGHT_DECAY", "augment"}


def _notebook_recipe():
    """Execute the notebook's definitions of the model and the recipe (nothing else) and return them."""
    wanted = []
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in RECIPE_NAMES:
                wanted.append(node)
            elif isinstance(node, ast.Assign):
                targets = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if targets & RECIPE_NAMES:
                    wanted.append(node)
    namespace = {"torch": torch, "nn": nn, "v2": v2}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
    missing = RECIPE_NAMES - set(namespace)
    assert not missing, f"notebook 03 no longer defines {sorted(missing)}"
    return namespace


def test_library_model_equals_the_notebooks():
    nb = _notebook_recipe()
    for kwargs in ({}, {"channels": (8, 16)}, {"channels_last": False}):
        torch.manual_seed(0)
        ours = vision.MnistCNN(**kwargs)
        torch.manual_seed(0)
        theirs = nb["MnistCNN"](**kwargs)
        assert repr(ours) == repr(theirs)
        assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
               [(k, v.shape) for k, v in theirs.state_dict().items()]
        for a, b in zip(ours.parameters(), theirs.parameters()):   # same seed, same initialisation
            assert torch.equal(a, b)
        assert ours.features[0][0].weight.is_contiguous(memory_format=torch.channels_last) == \
               theirs.features[0][0].weight.is_contiguous(memory_format=torch.channels_last)
        x = torch.rand(4, 1, 28, 28)
        ours.train(), theirs.train()
        assert torch.allclose(ours(x), theirs(x))
    assert sum(p.numel() for p in nb["MnistCNN"]().parameters()) == 29_178
    assert repr(nb["conv_block"](3, 5)) == repr(vision.conv_block(3, 5))


def test_library_recipe_equals_the_notebooks():
    nb = _notebook_recipe()
    for name in ("EPOCHS", "BATCH_SIZE", "MAX_LR", "WARMUP", "WEIGHT_DECAY"):
        assert nb[name] == getattr(vision, name), name
    assert repr(nb["augment"]) == repr(vision.augmentation())
    schedules = []
    for make in (vision.make_optimizer, nb["make_optimizer"]):
        optimizer, scheduler = make(vision.MnistCNN(), steps_per_epoch=7, epochs=3)
        lrs = []
        for _ in range(21):
            optimizer.step()
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
        group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        schedules.append((type(optimizer), type(scheduler), group, lrs))
    assert schedules[0] == schedules[1]


def test_the_notebook_builds_its_model_from_its_own_definitions():
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    for name in ("vision.MnistCNN", "vision.make_optimizer", "vision.EPOCHS", "vision.BATCH_SIZE",
                 "vision.augmentation"):
        assert name not in source, f"notebook 03 uses {name}: the lesson's model and recipe belong in the notebook"
