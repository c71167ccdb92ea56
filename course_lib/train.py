"""A small, readable training loop: ``fit`` / ``evaluate`` / ``predict``.

What it adds to the loop you would write by hand (notebook 01 writes that one):
progress bars, a per-epoch history, an optional live plot, mixed precision on CUDA, gradient
clipping, early stopping, a checkpoint after every epoch that ``fit`` resumes from after a kernel
restart (same final weights as an uninterrupted run), and a clear stop on a NaN/Inf loss.

A batch is ``(inputs, targets)``, ``(input1, input2, ..., targets)`` or a dict with a
``"labels"`` entry (Hugging Face style); see :func:`forward`.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .device import autocast, default_device, grad_scaler, to_device

Metric = Callable[[torch.Tensor, torch.Tensor], float]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training was stopped."""


class CheckpointMismatchError(ValueError):
    """A checkpoint does not belong to this model/optimizer."""


@dataclass
class History:
    """Per-epoch records, e.g. ``history["val_acc"]`` is a list with one value per epoch.

    >>> h = History(); h.append({"epoch": 1, "train_loss": 0.5}); h["train_loss"]
    [0.5]
    """

    rows: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False

    def append(self, row: Mapping[str, float]) -> None:
        """Add one epoch's record."""
        self.rows.append(dict(row))

    def __getitem__(self, key: str) -> list[float]:
        if self.rows and key not in self.rows[-1]:
            raise KeyError(f"history has no {key!r}; it has {sorted(self.rows[-1])}")
        return [row[key] for row in self.rows if key in row]

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> list[str]:
        """The recorded quantities.

        >>> History([{"epoch": 1, "train_loss": 1.0}]).keys()
        ['epoch', 'train_loss']
        """
        return list(self.rows[-1]) if self.rows else []

    @property
    def last(self) -> dict[str, float]:
        """The most recent epoch's record."""
        return dict(self.rows[-1]) if self.rows else {}

    def plot(self, **kwargs: Any) -> Any:
        """Loss and metric curves (see :func:`course_lib.plot.history`)."""
        from .plot import history as plot_history

        return plot_history(self, **kwargs)


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct predictions; ``outputs`` are logits ``[N, C]`` (or ``[N]`` for a
    single-logit binary classifier).

    >>> accuracy(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    0.5
    """
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        pred = (outputs.reshape(-1) > 0).long()
    else:
        pred = outputs.argmax(dim=-1)
    if pred.shape != targets.shape:
        raise ValueError(
            f"accuracy: predictions have shape {tuple(pred.shape)} but targets {tuple(targets.shape)}."
        )
    return (pred == targets).float().mean().item()


def forward(model: nn.Module, batch: Any) -> tuple[Any, Any]:
    """Run ``model`` on a batch and return ``(outputs, targets)``.

    ``(x, y)`` -> ``model(x)``; ``(x1, x2, y)`` -> ``model(x1, x2)``; a dict -> ``model(**batch
    without "labels")`` with ``batch["labels"]`` as targets. Hugging Face outputs give ``.logits``.

    >>> forward(nn.Identity(), (torch.ones(1), torch.zeros(1)))
    (tensor([1.]), tensor([0.]))
    """
    if isinstance(batch, Mapping):
        if "labels" not in batch:
            raise ValueError(f"a dict batch needs a 'labels' entry; it has {sorted(batch)}")
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        outputs, targets = model(**inputs), batch["labels"]
    elif isinstance(batch, (tuple, list)) and len(batch) >= 2:
        outputs, targets = model(*batch[:-1]), batch[-1]
    else:
        raise ValueError(
            "a batch must be (inputs, targets), (inputs..., targets) or a dict with 'labels'; "
            f"got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    logits = getattr(outputs, "logits", None)
    return (logits if logits is not None else outputs), targets


def _batch_size(targets: Any) -> int:
    return int(targets.shape[0]) if isinstance(targets, torch.Tensor) and targets.ndim else 1


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable | None = None,
             metrics: Mapping[str, Metric] | None = None, device: torch.device | str | None = None,
             amp: bool | str = "auto", prefix: str = "") -> dict[str, float]:
    """Average loss and metrics over ``loader`` (weighted by batch size), model in eval mode.

    >>> m = nn.Linear(2, 2); _ = nn.init.zeros_(m.weight), nn.init.zeros_(m.bias)  # logits 0
    >>> evaluate(m, [(torch.ones(4, 2), torch.tensor([0, 1, 1, 1]))], nn.CrossEntropyLoss(),
    ...          {"acc": accuracy})                       # loss ln 2; argmax of a tie is class 0
    {'loss': 0.693147..., 'acc': 0.25}
    """
    device = torch.device(device) if device is not None else _model_device(model)
    metrics = dict(metrics or {})
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    for batch in loader:
        batch = to_device(batch, device)
        with autocast(device, enabled=amp is not False):
            outputs, targets = forward(model, batch)
            loss = loss_fn(outputs, targets) if loss_fn is not None else None
        n = _batch_size(targets)
        count += n
        if loss is not None:
            totals["loss"] = totals.get("loss", 0.0) + loss.item() * n
        for name, fn in metrics.items():
            totals[name] = totals.get(name, 0.0) + float(fn(outputs.float(), targets)) * n
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches (is the dataset empty?)")
    return {f"{prefix}{k}": v / count for k, v in totals.items()}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: torch.device | str | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """All outputs and targets of ``loader``, concatenated on the CPU (for confusion matrices,
    error analysis, F1...).

    >>> out, y = predict(nn.Linear(2, 3), [(torch.ones(4, 2), torch.zeros(4))]); out.shape
    torch.Size([4, 3])
    """
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    outs, tgts = [], []
    for batch in loader:
        outputs, targets = forward(model, to_device(batch, device))
        outs.append(outputs.float().cpu())
        tgts.append(targets.cpu())
    model.train(was_training)
    return torch.cat(outs), torch.cat(tgts)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


# ----------------------------------------------------------------------------- checkpoints

def _signature(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _rng_state(loader: Any) -> dict[str, Any]:
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    for i, gen in enumerate(_loader_generators(loader)):
        state[f"loader{i}"] = gen.get_state()
    return state


def _set_rng_state(state: Mapping[str, Any], loader: Any) -> None:
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for i, gen in enumerate(_loader_generators(loader)):
        if f"loader{i}" in state:
            gen.set_state(state[f"loader{i}"])


def _loader_generators(loader: Any) -> list[torch.Generator]:
    gens = []
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        gen = getattr(obj, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in gens):
            gens.append(gen)
    return gens


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` atomically (temp file + rename): a crash mid-write
    never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(dict(state), tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`fit` into ``model`` (and ``optimizer``) after checking
    that it belongs to them; returns the whole checkpoint dict. Uses ``weights_only=True``."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or foreign format
        raise CheckpointMismatchError(
            f"Could not read checkpoint {path}: {exc}\nDelete the file to start training afresh."
        ) from exc
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise CheckpointMismatchError(
            f"{path} is not a checkpoint written by course_lib.train.fit. Delete it or pass "
            f"another checkpoint= path."
        )
    _check_signature(path, ckpt, model, optimizer)
    model.load_state_dict(ckpt["model"])
    if optimizer is not None and ckpt.get("optimizer") is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


def _check_signature(path: Path, ckpt: Mapping[str, Any], model: nn.Module,
                     optimizer: torch.optim.Optimizer | None) -> None:
    saved = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    mine = _signature(model)
    problems = []
    if ckpt.get("model_class") and ckpt["model_class"] != type(model).__name__:
        problems.append(f"it was saved from a {ckpt['model_class']}, this model is a "
                        f"{type(model).__name__}")
    missing = sorted(set(mine) - set(saved))
    extra = sorted(set(saved) - set(mine))
    if missing:
        problems.append(f"missing weights: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if extra:
        problems.append(f"unexpected weights: {extra[:5]}{' ...' if len(extra) > 5 else ''}")
    for k in sorted(set(mine) & set(saved)):
        if mine[k] != saved[k]:
            problems.append(f"{k!r} has shape {saved[k]} in the checkpoint but {mine[k]} in the model")
            break
    if optimizer is not None and ckpt.get("optimizer_class") not in (None, type(optimizer).__name__):
        problems.append(f"it was saved with a {ckpt['optimizer_class']} optimizer, not "
                        f"{type(optimizer).__name__}")
    if problems:
        raise CheckpointMismatchError(
            f"Checkpoint {path} belongs to a different model or optimizer: " + "; ".join(problems)
            + ".\nDelete the file (or pass another checkpoint= path) to train this model afresh."
        )


# ----------------------------------------------------------------------------- fit

_NAN_HINT = (
    "Common causes: a learning rate that is too high (try 10x smaller), inputs that are not "
    "normalised (scale pixels to [0, 1]), log(0) or division by zero in a hand-written loss "
    "(use nn.CrossEntropyLoss on raw logits), or exploding gradients (try clip_grad_norm=1.0)."
)


def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer,
        loss_fn: Callable, epochs: int, *, val_loader: Iterable | None = None,
        metrics: Mapping[str, Metric] | None = None, scheduler: Any = None,
        scheduler_step: str = "epoch", device: torch.device | str | None = None,
        amp: bool | str = "auto", clip_grad_norm: float | None = None,
        checkpoint: str | os.PathLike | None = None, early_stopping: int | None = None,
        monitor: str = "val_loss", progress: bool = True, live_plot: bool = False,
        verbose: bool = True, log_every: int | None = None) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    - ``metrics``: e.g. ``{"acc": accuracy}``, computed on ``val_loader`` after each epoch.
    - ``scheduler``: stepped after every epoch, or every batch with ``scheduler_step="batch"``.
    - ``amp``: ``"auto"`` = float16 mixed precision on CUDA only.
    - ``checkpoint``: file written after each epoch; if it exists, training *resumes* from it.
    - ``early_stopping``: patience in epochs on ``monitor`` (``val_loss`` is minimised, anything
      else maximised); the best weights are restored at the end.
    - ``verbose``: print one line per *logged* epoch: the first, every ``log_every``-th and the
      last (``log_every=None`` picks it so that at most about 10 lines are printed; the returned
      History always holds every epoch). The epochs bar shows the latest epoch's numbers.

    >>> m = nn.Linear(2, 2); data = [(torch.randn(8, 2), torch.randint(0, 2, (8,)))]
    >>> len(fit(m, data, torch.optim.SGD(m.parameters(), 0.1), nn.CrossEntropyLoss(), 2,
    ...         progress=False, verbose=False))
    2
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if early_stopping is not None and val_loader is None and not monitor.startswith("train_"):
        raise ValueError("early_stopping needs a val_loader (or monitor='train_loss')")
    if not any(True for _ in model.parameters()):
        raise ValueError("the model has no parameters to train")
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    use_amp = amp == "auto" or amp is True
    scaler = grad_scaler(device, enabled=use_amp)
    history = History()
    best: dict[str, Any] = {"value": None, "epoch": 0, "state": None}
    start_epoch = 1

    if checkpoint is not None and Path(checkpoint).exists():
        ckpt = load_checkpoint(checkpoint, model, optimizer)
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        history = History(list(ckpt["history"]), bool(ckpt.get("stopped_early")))
        best.update(ckpt.get("best") or {})
        _set_rng_state(ckpt["rng"], train_loader)
        start_epoch = int(ckpt["epoch"]) + 1
        if verbose:
            print(f"Resuming from checkpoint {checkpoint} after epoch {ckpt['epoch']}.")
        if history.stopped_early or start_epoch > epochs:
            if verbose:
                print("Training had already finished; delete the checkpoint to train again.")
            _restore_best(model, best)
            return history

    every = log_every if log_every is not None else log_interval(epochs)
    if every < 1:
        raise ValueError(f"log_every must be at least 1, got {log_every}")
    bar = _epoch_bar(progress, initial=start_epoch - 1, total=epochs)
    live = _LivePlot() if live_plot else None
    if verbose and every > 1:
        bar.write(f"Printing epoch {start_epoch}, every {_ordinal(every)} epoch and the last one "
                  f"(the returned history has all {epochs}).")
    try:
        history = _fit_epochs(model, train_loader, optimizer, loss_fn, epochs, start_epoch, history,
                              best, bar, live, every, val_loader=val_loader, metrics=metrics,
                              scheduler=scheduler, scheduler_step=scheduler_step, device=device,
                              amp=amp, use_amp=use_amp, scaler=scaler, clip_grad_norm=clip_grad_norm,
                              checkpoint=checkpoint, early_stopping=early_stopping, monitor=monitor,
                              progress=progress, verbose=verbose)
    except BaseException:
        bar.close()  # an unfinished bar: tqdm shows it red (the error explains why)
        raise
    if history.stopped_early:
        # Stopping early is a normal way to finish: close the bar as complete (green), with the
        # epoch it stopped at, instead of leaving a red "unfinished" bar behind.
        _finish_bar(bar, f"stopped early at epoch {len(history)}, best epoch {best['epoch']}")
    bar.close()
    _restore_best(model, best)
    return history


def log_interval(epochs: int, max_lines: int = 10) -> int:
    """How often :func:`fit` prints an epoch: every epoch up to ``max_lines`` epochs, otherwise
    every k-th with k chosen so that the first, every k-th and the last epoch fit in about
    ``max_lines`` lines.

    >>> [log_interval(n) for n in (5, 10, 11, 30, 100)]
    [1, 1, 2, 4, 13]
    """
    if epochs <= max_lines:
        return 1
    return math.ceil(epochs / (max_lines - 2))


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _fit_epochs(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer,
                loss_fn: Callable, epochs: int, start_epoch: int, history: History,
                best: dict[str, Any], bar: Any, live: Any, every: int, *, val_loader: Any,
                metrics: Any, scheduler: Any, scheduler_step: str, device: torch.device, amp: Any,
                use_amp: bool, scaler: Any, clip_grad_norm: float | None, checkpoint: Any,
                early_stopping: int | None, monitor: str, progress: bool, verbose: bool) -> History:
    for epoch in range(start_epoch, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        batches = _tqdm(train_loader, progress, desc=f"epoch {epoch}", leave=False)
        for step, batch in enumerate(batches, 1):
            batch = to_device(batch, device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, enabled=use_amp):
                outputs, targets = forward(model, batch)
                loss = loss_fn(outputs, targets)
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"The loss became {value} at epoch {epoch}, batch {step}; training stopped "
                    f"(the last checkpoint, if any, holds the weights before this epoch).\n{_NAN_HINT}"
                )
            scaler.scale(loss).backward()
            if clip_grad_norm is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            n = _batch_size(targets)
            total += value * n
            count += n
            if progress and step % 20 == 0:
                batches.set_postfix(loss=f"{total / count:.4f}", refresh=False)
        if count == 0:
            raise ValueError("fit: the training loader yielded no batches (is the dataset empty?)")
        if scheduler is not None and scheduler_step == "epoch":
            scheduler.step()
        row: dict[str, float] = {"epoch": epoch, "train_loss": total / count}
        if val_loader is not None:
            row.update(evaluate(model, val_loader, loss_fn, metrics, device, amp, prefix="val_"))
        row["lr"] = optimizer.param_groups[0]["lr"]
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        stop = _early_stop(history, best, model, monitor, early_stopping)
        history.stopped_early = stop
        bar.update(1)
        if progress:
            bar.set_postfix_str(_row_text(row, with_epoch=False), refresh=True)
        if verbose and (epoch == start_epoch or epoch % every == 0 or epoch == epochs or stop):
            bar.write(_row_text(row, epochs))
        if live is not None:
            live.update(history)
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "model": model.state_dict(), "model_class": type(model).__name__,
                "optimizer": optimizer.state_dict(), "optimizer_class": type(optimizer).__name__,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict() if scaler.is_enabled() else None,
                "epoch": epoch, "history": history.rows, "stopped_early": stop,
                "best": best if early_stopping is not None else None,
                "rng": _rng_state(train_loader),
            })
        if stop:
            if verbose:
                bar.write(f"Early stopping: {monitor} has not improved for {early_stopping} epochs; "
                          f"restoring the weights of epoch {best['epoch']}.")
            break
    return history


def _early_stop(history: History, best: dict[str, Any], model: nn.Module, monitor: str,
                patience: int | None) -> bool:
    if patience is None:
        return False
    row = history.rows[-1]
    if monitor not in row:
        raise KeyError(f"early stopping monitors {monitor!r}, but the epoch record has "
                       f"{sorted(row)}; pass monitor= one of those")
    value, minimise = row[monitor], monitor.endswith("loss")
    improved = best["value"] is None or (value < best["value"] if minimise else value > best["value"])
    if improved:
        best.update(value=value, epoch=int(row["epoch"]),
                    state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
    return int(row["epoch"]) - best["epoch"] >= patience


def _restore_best(model: nn.Module, best: Mapping[str, Any]) -> None:
    if best.get("state") is not None:
        model.load_state_dict(best["state"])


def _row_text(row: Mapping[str, float], epochs: int = 0, with_epoch: bool = True) -> str:
    parts = [f"epoch {int(row['epoch'])}/{epochs}"] if with_epoch else []
    parts += [f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "lr", "seconds")]
    parts.append(f"({row['seconds']:.1f} s)")
    return "  ".join(parts)


def _tqdm(iterable: Iterable, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return _Quiet(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _epoch_bar(enabled: bool, initial: int, total: int) -> Any:
    """The epochs bar, advanced by hand (``update``) so that it can be closed as finished when
    training stops early."""
    if not enabled:
        return _Quiet(())
    from tqdm.auto import tqdm

    return tqdm(desc="epochs", initial=initial, total=total)


def _finish_bar(bar: Any, note: str) -> None:
    """Mark a bar that ends before its total as complete: its total becomes its count."""
    if isinstance(bar, _Quiet) or not bar.total or bar.n >= bar.total:
        return
    bar.total = bar.n
    container = getattr(bar, "container", None)  # tqdm.notebook: the widget's progress child
    if container is not None:
        container.children[1].max = bar.n
    bar.set_postfix_str(note, refresh=True)


class _Quiet:
    """Stands in for a tqdm bar when progress is off (``write`` still prints)."""

    total = 0
    n = 0

    def __init__(self, iterable: Iterable) -> None:
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(line: str) -> None:
        print(line)


class _LivePlot:
    """Redraws the history figure in place in a notebook after each epoch."""

    def __init__(self) -> None:
        self.handle = None

    def update(self, history: History) -> None:
        try:
            from IPython.display import display
        except ImportError:
            return
        import matplotlib.pyplot as plt

        fig = history.plot()
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
