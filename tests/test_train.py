import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib import train
from course_lib.device import seed_everything


def blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.7 + (y.float() * 2 - 1)[:, None] * 1.5
    return TensorDataset(x, y)


def small_model():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def loaders(seed=0):
    ds = blobs(seed=seed)
    return (DataLoader(ds, batch_size=32, shuffle=True), DataLoader(blobs(128, seed=1), batch_size=64))


def quiet_fit(model, epochs, **kw):
    tl, vl = loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    kw.setdefault("scheduler", torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.8))
    return train.fit(model, tl, opt, nn.CrossEntropyLoss(), epochs, val_loader=vl,
                     metrics={"acc": train.accuracy}, progress=False, verbose=False, **kw)


def test_fit_converges_on_a_tiny_problem():
    seed_everything(0)
    model = small_model()
    hist = quiet_fit(model, 5)
    assert len(hist) == 5
    assert hist["train_loss"][-1] < 0.5 * hist["train_loss"][0]
    assert hist["val_acc"][-1] >= 0.95
    assert hist["lr"][1] == pytest.approx(0.1 * 0.8**2)
    assert set(hist.keys()) >= {"epoch", "train_loss", "val_loss", "val_acc", "seconds"}


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    seed_everything(0)
    reference = small_model()
    ref_hist = quiet_fit(reference, 4)

    # Interrupted run: the loss function crashes in epoch 3 (like a kernel dying mid-epoch).
    seed_everything(0)
    calls = {"n": 0}
    batches_per_epoch = math.ceil(256 / 32)

    def crashing_loss(out, y):
        calls["n"] += 1
        if calls["n"] > 2 * batches_per_epoch + 3:
            raise KeyboardInterrupt("simulated kernel restart")
        return nn.functional.cross_entropy(out, y)

    model = small_model()
    tl, vl = loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.8)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, tl, opt, crashing_loss, 4, val_loader=vl, scheduler=sched,
                  checkpoint=ckpt, progress=False, verbose=False)
    assert ckpt.exists()

    # "After the restart": fresh objects, the notebook's cells re-run with the same seed.
    seed_everything(0)
    resumed = small_model()
    hist = quiet_fit(resumed, 4, checkpoint=ckpt)
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs after resume"
    assert [r["train_loss"] for r in hist.rows] == [r["train_loss"] for r in ref_hist.rows]

    # Running the same cell again resumes a finished run: nothing more is trained.
    again = small_model()
    hist2 = quiet_fit(again, 4, checkpoint=ckpt)
    assert len(hist2) == 4 and torch.equal(again[0].weight, resumed[0].weight)


def test_nan_loss_stops_with_a_hint():
    seed_everything(0)
    model = small_model()
    tl, _ = loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def bad_loss(out, y):
        return nn.functional.cross_entropy(out, y) * float("nan")

    with pytest.raises(train.NonFiniteLossError, match=r"(?s)nan at epoch 1, batch 1.*learning rate"):
        train.fit(model, tl, opt, bad_loss, 2, progress=False, verbose=False)


def test_diverging_learning_rate_is_caught():
    seed_everything(0)
    model = nn.Linear(2, 1)
    x = torch.randn(64, 2) * 100
    data = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
    opt = torch.optim.SGD(model.parameters(), lr=10.0)
    with pytest.raises(train.NonFiniteLossError, match="inf|nan"):
        train.fit(model, data, opt, nn.MSELoss(), 20, progress=False, verbose=False)


def test_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    seed_everything(0)
    ckpt = tmp_path / "a.pt"
    quiet_fit(small_model(), 1, checkpoint=ckpt)
    other = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    with pytest.raises(train.CheckpointMismatchError, match=r"(?s)different model.*shape.*Delete"):
        quiet_fit(other, 2, checkpoint=ckpt)
    adam = torch.optim.Adam(small_model().parameters())
    with pytest.raises(train.CheckpointMismatchError, match="SGD optimizer"):
        train.load_checkpoint(ckpt, small_model(), adam)


def test_corrupt_or_foreign_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointMismatchError, match="Could not read"):
        train.load_checkpoint(bad, small_model())
    torch.save({"weights": torch.ones(1)}, tmp_path / "foreign.pt")
    with pytest.raises(train.CheckpointMismatchError, match="not a checkpoint written by"):
        train.load_checkpoint(tmp_path / "foreign.pt", small_model())


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    train.save_checkpoint(path, {"model": {}, "epoch": 1})

    def broken_save(obj, f):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        train.save_checkpoint(path, {"model": {}, "epoch": 2})
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_early_stopping_restores_best_weights():
    seed_everything(0)
    model = small_model()
    tl, vl = loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = train.fit(model, tl, opt, nn.CrossEntropyLoss(), 30, val_loader=vl, metrics={"acc": train.accuracy},
                     early_stopping=2, monitor="val_acc", progress=False, verbose=False)
    assert hist.stopped_early and len(hist) < 30
    best_epoch = max(range(len(hist)), key=lambda i: hist["val_acc"][i])
    after = train.evaluate(model, vl, metrics={"acc": train.accuracy})["acc"]
    assert after == pytest.approx(hist["val_acc"][best_epoch])


def test_early_stopping_needs_validation():
    model = small_model()
    with pytest.raises(ValueError, match="val_loader"):
        train.fit(model, [], torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 1,
                  early_stopping=2)


class TinyHF(nn.Module):
    """Looks like a Hugging Face model: keyword inputs, output object with .logits."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, input_ids, attention_mask):
        h = (self.emb(input_ids) * attention_mask[..., None]).sum(1)
        return SimpleNamespace(logits=self.out(h))


def test_dict_batches_with_labels_and_batch_scheduler():
    seed_everything(0)
    ids = torch.randint(0, 10, (40, 5))
    batches = [{"input_ids": ids[i:i + 8], "attention_mask": torch.ones(8, 5),
                "labels": (ids[i:i + 8, 0] > 4).long()} for i in range(0, 40, 8)]
    model = TinyHF()
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / 30)
    hist = train.fit(model, batches, opt, nn.CrossEntropyLoss(), 3, val_loader=batches,
                     metrics={"acc": train.accuracy}, scheduler=sched, scheduler_step="batch",
                     clip_grad_norm=1.0, progress=False, verbose=False)
    assert hist["lr"][-1] == pytest.approx(0.05 * (1 - 15 / 30))
    out, y = train.predict(model, batches)
    assert out.shape == (40, 2) and y.shape == (40,)


def test_bad_batches_and_arguments():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), 0.1)
    with pytest.raises(ValueError, match=r"\(inputs, targets\)"):
        train.fit(model, [torch.ones(2, 2)], opt, nn.CrossEntropyLoss(), 1, progress=False)
    with pytest.raises(ValueError, match="'labels'"):
        train.fit(model, [{"x": torch.ones(2, 2)}], opt, nn.CrossEntropyLoss(), 1, progress=False)
    with pytest.raises(ValueError, match="at least 1"):
        train.fit(model, [], opt, nn.CrossEntropyLoss(), 0)
    with pytest.raises(ValueError, match="no batches"):
        train.fit(model, [], opt, nn.CrossEntropyLoss(), 1, progress=False, verbose=False)
    with pytest.raises(ValueError, match="no batches"):
        train.evaluate(model, [], nn.CrossEntropyLoss())


def test_accuracy_and_history_helpers():
    assert train.accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5
    assert train.accuracy(torch.tensor([2.0, -1.0]), torch.tensor([1, 0])) == 1.0
    with pytest.raises(ValueError, match="shape"):
        train.accuracy(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))
    h = train.History()
    h.append({"epoch": 1, "train_loss": 1.0})
    assert h.last == {"epoch": 1, "train_loss": 1.0}
    with pytest.raises(KeyError, match="train_loss"):
        h["val_acc"]


def test_progress_bars_and_printed_epochs(capsys):
    seed_everything(0)
    tl, vl = loaders()
    model = small_model()
    train.fit(model, tl, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 2,
              val_loader=vl, metrics={"acc": train.accuracy})
    captured = capsys.readouterr()
    assert "epoch 2/2" in captured.out + captured.err
    assert "val_acc" in captured.out + captured.err


def test_live_plot_redraws_one_display(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", fig))

    def fake_display(fig, display_id=False):
        shown.append(("display", fig))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    seed_everything(0)
    hist = quiet_fit(small_model(), 3, live_plot=True)
    assert [kind for kind, _ in shown] == ["display", "update", "update"]
    assert len(hist) == 3


def printed_epochs(out):
    return [int(line.split()[1].split("/")[0]) for line in out.splitlines() if line.startswith("epoch ")]


@pytest.mark.parametrize("epochs, expected", [
    (3, [1, 2, 3]),
    (10, list(range(1, 11))),
    (30, [1, 4, 8, 12, 16, 20, 24, 28, 30]),
])
def test_log_prints_first_every_kth_and_last_epoch(capsys, epochs, expected):
    seed_everything(0)
    model = nn.Linear(2, 2)
    data = [(torch.randn(8, 2), torch.randint(0, 2, (8,)))]
    hist = train.fit(model, data, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(),
                     epochs, val_loader=data, progress=False)
    out = capsys.readouterr().out
    assert printed_epochs(out) == expected
    assert len(out.splitlines()) <= 10
    assert len(hist) == epochs                      # the history keeps every epoch
    assert ("every 4th epoch" in out) == (epochs == 30)


def test_log_every_override_and_early_stop_prints_the_last_epoch(capsys):
    model = nn.Linear(2, 2)
    data = [(torch.randn(8, 2), torch.randint(0, 2, (8,)))]
    train.fit(model, data, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 7,
              progress=False, log_every=3)
    assert printed_epochs(capsys.readouterr().out) == [1, 3, 6, 7]
    seed_everything(0)
    model = small_model()
    tl, vl = loaders()
    hist = train.fit(model, tl, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 40,
                     val_loader=vl, metrics={"acc": train.accuracy}, early_stopping=2,
                     monitor="val_acc", progress=False)
    out = capsys.readouterr().out
    assert hist.stopped_early and printed_epochs(out)[-1] == len(hist)
    assert "Early stopping" in out.splitlines()[-1]
    with pytest.raises(ValueError, match="log_every"):
        train.fit(model, tl, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 2,
                  progress=False, log_every=0)


def test_log_interval():
    assert [train.log_interval(n) for n in (1, 10, 11, 30, 100, 1000)] == [1, 1, 2, 4, 13, 125]
    for n in range(1, 300):
        k = train.log_interval(n)
        lines = {1, n} | set(range(k, n + 1, k))
        assert len(lines) <= 10, (n, k)


def notebook_bars(monkeypatch):
    """Make fit use tqdm's notebook widget bars (as in JupyterLab) and keep the epochs bar."""
    pytest.importorskip("ipywidgets")
    import tqdm.auto
    import tqdm.notebook

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    made = []
    real = train._epoch_bar

    def keep(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(train, "_epoch_bar", keep)
    return made


def test_early_stopped_notebook_bar_closes_as_finished(monkeypatch, capsys):
    made = notebook_bars(monkeypatch)
    seed_everything(0)
    model = small_model()
    tl, vl = loaders()
    hist = train.fit(model, tl, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 40,
                     val_loader=vl, metrics={"acc": train.accuracy}, early_stopping=2,
                     monitor="val_acc", verbose=False)
    assert hist.stopped_early and len(hist) < 40
    (bar,) = made
    _, progress, text = bar.container.children
    shown = text.value.replace("\u2007", " ")            # tqdm pads the widget text with U+2007
    assert progress.bar_style == "success"                     # green, not red 'danger'
    assert progress.value == progress.max == len(hist)
    assert f"{len(hist)}/{len(hist)}" in shown and "stopped early" in shown


def test_failed_notebook_bar_stays_red(monkeypatch, capsys):
    made = notebook_bars(monkeypatch)
    model = nn.Linear(2, 2)
    data = [(torch.randn(4, 2), torch.randint(0, 2, (4,)))]

    def bad_loss(outputs, targets):
        return (outputs * float("nan")).sum()

    with pytest.raises(train.NonFiniteLossError):
        train.fit(model, data, torch.optim.SGD(model.parameters(), 0.1), bad_loss, 3, verbose=False)
    assert made[0].container.children[1].bar_style == "danger"


def test_finished_notebook_bar_is_green(monkeypatch, capsys):
    made = notebook_bars(monkeypatch)
    model = nn.Linear(2, 2)
    data = [(torch.randn(4, 2), torch.randint(0, 2, (4,)))]
    train.fit(model, data, torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), 3,
              verbose=False)
    _, progress, text = made[0].container.children
    shown = text.value.replace("\u2007", " ")
    assert progress.bar_style == "success" and progress.value == 3 and "3/3" in shown
    assert "train_loss" in shown                # the latest epoch's numbers on the bar
