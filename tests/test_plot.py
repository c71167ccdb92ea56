"""course_lib.plot: check what was drawn -- the lines and their data, colours and styles, labels,
tick values, colour bars, cell texts and where the legend sits."""

import matplotlib.colors as mcolors
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib import plot
from course_lib.train import History


def run(losses, accs, start=1):
    return History([{"epoch": start + i, "train_loss": lo, "val_loss": lo + 0.1, "val_acc": a,
                     "lr": 0.1, "seconds": 1.0} for i, (lo, a) in enumerate(zip(losses, accs))])


def lines_by_label(fig):
    return {line.get_label(): line for ax in fig.axes for line in ax.lines}


def overlaps(a, b):
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def test_history_single_run_panels_data_and_styles():
    h = run([1.0, 0.6, 0.4], [0.5, 0.7, 0.8])
    fig = plot.history(h, title="run")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "acc"
    assert {ln.get_label() for ln in loss_ax.lines} == {"train_loss", "val_loss"}
    lines = lines_by_label(fig)
    assert lines["val_acc"].get_ydata().tolist() == [0.5, 0.7, 0.8]
    assert lines["train_loss"].get_xdata().tolist() == [1, 2, 3]
    assert lines["train_loss"].get_linestyle() == "-" and lines["val_loss"].get_linestyle() == "--"
    assert "lr" not in str(list(lines)) and "seconds" not in str(list(lines))
    assert fig._suptitle.get_text() == "run"


def test_history_epochs_come_from_the_record_and_ticks_are_integers():
    h = run([1.0, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5], start=4)   # a resumed run
    fig = plot.history(h)
    fig.canvas.draw()
    assert lines_by_label(fig)["train_loss"].get_xdata().tolist() == [4, 5, 6, 7, 8]
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_history_compared_runs_one_colour_per_run_one_style_per_split():
    a, b = run([1.0, 0.5], [0.6, 0.8]), run([0.9, 0.7], [0.5, 0.6])
    fig = plot.history({"dropout": a, "plain": b})
    lines = lines_by_label(fig)
    assert {ln.get_label() for ln in fig.axes[1].lines} == {"dropout val_acc", "plain val_acc"}
    colour = {name: mcolors.to_hex(lines[f"{name} val_acc"].get_color()) for name in ("dropout", "plain")}
    assert colour["dropout"] != colour["plain"]
    for name in ("dropout", "plain"):   # the same colour for a run in every panel and split
        assert {mcolors.to_hex(lines[f"{name} {k}"].get_color())
                for k in ("train_loss", "val_loss", "val_acc")} == {colour[name]}
    assert {lines[f"{n} val_loss"].get_linestyle() for n in ("dropout", "plain")} == {"--"}
    assert {lines[f"{n} train_loss"].get_linestyle() for n in ("dropout", "plain")} == {"-"}
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["dropout", "plain", "training", "validation"]


def test_history_legend_covers_no_data():
    runs = {f"run {i}": run([1.0 - 0.1 * i, 0.5, 0.2], [0.3, 0.6, 0.9 - 0.01 * i]) for i in range(5)}
    fig = plot.history(runs, title="five runs")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert fig.legends, "compared runs need a legend"
    box = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not overlaps(box, ax.get_window_extent(renderer))
        assert ax.get_legend() is None


def test_history_several_metrics_and_plain_dicts():
    h = History([{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_token_acc": 0.1 * e,
                  "val_seq_acc": 0.05 * e} for e in range(1, 4)])
    fig = plot.history(h)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "token acc", "seq acc"]
    only_loss = plot.history({"train_loss": [3.0, 2.0]})
    assert len(only_loss.axes) == 1
    assert only_loss.axes[0].lines[0].get_xdata().tolist() == [1, 2]
    with pytest.raises(ValueError, match="no loss or metric"):
        plot.history({"lr": [0.1, 0.2]})


def test_image_grid_shapes_and_shared_colour_bar():
    imgs = torch.rand(10, 1, 28, 28)
    fig = plot.image_grid(imgs, labels=list(range(10)), ncols=5)
    assert len(fig.axes) == 10
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    assert np.allclose(fig.axes[3].images[0].get_array(), imgs[3, 0].numpy())
    assert plot.image_grid(np.random.rand(3, 8, 8, 3)) is not None
    filters = torch.randn(6, 5, 5)
    fig = plot.image_grid(filters, colorbar="weight")
    assert len(fig.axes) == 7                               # 6 images + one colour bar
    limit = float(filters.abs().max())
    assert {im.get_clim() for ax in fig.axes[:6] for im in ax.images} == {(-limit, limit)}
    assert fig.axes[-1].get_ylabel() == "weight"
    with pytest.raises(ValueError, match="images but"):
        plot.image_grid(imgs, labels=[1, 2])
    with pytest.raises(ValueError, match="expects"):
        plot.image_grid(np.zeros(5))


def cell_texts(ax):
    return [t.get_text() for t in ax.texts]


def test_confusion_matrix_counts_labels_texts_and_colour_bar():
    fig = plot.confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2], class_names=["a", "b", "c"])
    ax, cbar_ax = fig.axes
    assert ax.images[0].get_array().tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert cell_texts(ax) == ["1", "0", "0", "1", "1", "0", "0", "0", "1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert cbar_ax.get_ylabel() == "count"
    # readable: dark cells get white numbers, light cells black ones
    colours = {t.get_text(): mcolors.to_hex(t.get_color()) for t in ax.texts}
    assert colours["1"] == "#ffffff" and colours["0"] == "#000000"


@pytest.mark.parametrize("mode, row1, label", [
    (True, [0.5, 0.5], "fraction of the true class"),
    ("pred", [0.5, 1.0], "fraction of the predicted class"),
    ("all", [1 / 3, 1 / 3], "fraction of all examples"),
])
def test_confusion_matrix_normalisation(mode, row1, label):
    fig = plot.confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), normalize=mode)
    ax, cbar_ax = fig.axes
    assert np.allclose(ax.images[0].get_array()[1], row1)
    assert ax.images[0].get_clim() == (0, 1)
    assert cbar_ax.get_ylabel() == label
    assert all(t.endswith("%") for t in cell_texts(ax))


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        plot.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="normalize"):
        plot.confusion_matrix([0, 1], [0, 1], normalize="rows")


def test_heatmap_labels_range_colour_bar_and_numbers():
    fig = plot.heatmap(np.arange(6).reshape(2, 3), row_labels=["r1", "r2"], col_labels=list("abc"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r1", "r2"]
    assert cell_texts(ax) == ["0.00", "1.00", "2.00", "3.00", "4.00", "5.00"]
    assert len(fig.axes) == 2                                      # the colour bar
    fig = plot.heatmap(np.eye(3) * 0.4, vmin=0, vmax=1, colorbar="attention weight", fmt=None)
    ax, cbar_ax = fig.axes
    assert ax.images[0].get_clim() == (0, 1) and cbar_ax.get_ylabel() == "attention weight"
    assert len(ax.texts) == 0
    assert len(plot.heatmap(np.eye(3), colorbar=False).axes) == 1
    assert len(plot.heatmap(np.eye(30)).axes[0].texts) == 0        # 900 cells: no numbers


def test_heatmap_into_given_axes():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    out = plot.heatmap(np.eye(2), ax=axes[1], title="right", xlabel="key", ylabel="query")
    assert out is fig and axes[1].get_title() == "right" and len(axes[1].images) == 1
    assert (axes[1].get_xlabel(), axes[1].get_ylabel()) == ("key", "query")
    assert len(axes[0].images) == 0
    with pytest.raises(ValueError, match="2-D"):
        plot.heatmap(np.zeros(3))
    with pytest.raises(ValueError, match="row labels"):
        plot.heatmap(np.zeros((2, 2)), row_labels=["a"])


def test_projection_groups_labels_legend_outside_and_no_overlap():
    pts = np.random.default_rng(0).normal(size=(12, 5))
    pts[:6] *= 0.01                                         # six words crowd in one spot
    fig = plot.projection(pts, labels=[f"w{i}" for i in range(12)], groups=[i % 2 for i in range(12)])
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"w{i}" for i in range(12))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_box = ax.get_legend().get_window_extent(renderer)
    assert not overlaps(legend_box, ax.get_window_extent(renderer))
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    clashes = sum(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert clashes == 0
    with pytest.raises(ValueError, match="pca"):
        plot.projection(pts, method="umap")
    with pytest.raises(ValueError, match="labels"):
        plot.projection(pts, labels=["a"])


def test_split_key():
    assert plot.split_key("val_acc") == ("val", "acc")
    assert plot.split_key("test_seq_acc") == ("test", "seq_acc")
    assert plot.split_key("accuracy") == ("", "accuracy")
