import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib import plot
from course_lib.train import History


def test_history_single_and_compared_runs():
    h = History([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "val_acc": 0.5},
                 {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "val_acc": 0.8}])
    fig = plot.history(h, title="run")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert {line.get_label() for line in fig.axes[0].lines} == {"train_loss", "val_loss"}
    fig2 = plot.history({"dropout": h, "plain": {"train_loss": [1, 0.2], "val_acc": [0.4, 0.9]}})
    labels = {line.get_label() for line in fig2.axes[1].lines}
    assert labels == {"dropout val_acc", "plain val_acc"}
    only_loss = plot.history({"train_loss": [3.0, 2.0]})
    assert len(only_loss.axes) == 1


def test_image_grid_shapes():
    imgs = torch.rand(10, 1, 28, 28)
    fig = plot.image_grid(imgs, labels=list(range(10)), ncols=5)
    assert len(fig.axes) == 10
    assert plot.image_grid(np.random.rand(3, 8, 8, 3)) is not None
    with pytest.raises(ValueError, match="images but"):
        plot.image_grid(imgs, labels=[1, 2])
    with pytest.raises(ValueError, match="expects"):
        plot.image_grid(np.zeros(5))


def test_confusion_matrix_counts():
    fig = plot.confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2], class_names=["a", "b", "c"])
    image = fig.axes[0].images[0].get_array()
    assert image.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    norm = plot.confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), normalize=True)
    assert np.allclose(norm.axes[0].images[0].get_array()[1], [0.5, 0.5])
    with pytest.raises(ValueError, match="differ in length"):
        plot.confusion_matrix([0, 1], [0])


def test_heatmap_and_projection():
    fig = plot.heatmap(np.arange(6).reshape(2, 3), row_labels=["r1", "r2"], col_labels=list("abc"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2-D"):
        plot.heatmap(np.zeros(3))
    pts = np.random.default_rng(0).normal(size=(12, 5))
    fig = plot.projection(pts, labels=[f"w{i}" for i in range(12)], groups=[i % 2 for i in range(12)])
    assert len(fig.axes[0].collections) == 2
    with pytest.raises(ValueError, match="pca"):
        plot.projection(pts, method="umap")
