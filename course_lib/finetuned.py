"""The fine-tuned sentiment model of notebook 07, shared by the Part II notebooks (08, 09, 10).

Notebook 07 teaches the recipe (WordPiece, dynamic padding, warm-up, fine-tuning all-MiniLM-L6-v2 on
the Rotten Tomatoes snippets) and saves its model here with :func:`save`. Later notebooks call
:func:`sentiment_model`: it returns the model cached for the same :class:`Recipe`, or trains that
recipe (a progress bar, a few minutes on a laptop CPU in full mode) and caches it. The cache folder
is named by a hash of the recipe, so a changed recipe never returns a stale model; the stored
``recipe.json`` is compared with the requested recipe before use.

Files: ``<data_dir>/finetuned/<recipe key>/`` with ``model.safetensors`` + ``config.json`` (the
Hugging Face format, loaded without pickle), the tokenizer files, ``recipe.json`` and
``metrics.json``. A folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import config

FORMAT = 1  # bump when the saved layout changes: old folders are then not reused


@dataclass(frozen=True)
class Recipe:
    """Everything that determines the fine-tuned weights (notebook 07, section 5)."""

    n_train: int | None = None      # first N training snippets (None = all 10,202)
    n_eval: int | None = None       # first N validation/test snippets for the stored metrics
    epochs: int = 2
    lr: float = 5e-5
    batch_size: int = 32
    warmup: float = 0.1             # fraction of the steps with a linear warm-up
    weight_decay: float = 0.01
    clip_grad_norm: float = 1.0
    max_length: int = 128
    freeze_word_embeddings: bool = True
    seed: int = 0
    base_model: str = "all-MiniLM-L6-v2"

    def key(self) -> str:
        """A short hash of the recipe: the name of its cache folder.

        >>> Recipe().key() == Recipe().key() != Recipe(seed=1).key()
        True
        """
        text = json.dumps({"format": FORMAT, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


RECIPES = {
    # notebook 07 in full mode: all training snippets, 2 epochs
    "full": Recipe(),
    # notebook 07 in quick mode: 1,500 snippets, 1 epoch, batches of 16 with a larger rate
    "quick": Recipe(n_train=1500, n_eval=600, epochs=1, lr=1e-4, batch_size=16),
}


def recipe() -> Recipe:
    """The recipe of the current mode (``COURSE_MODE``): notebook 07's quick or full recipe."""
    return RECIPES[config.mode()]


def cache_dir(r: Recipe) -> Path:
    """Where the model of recipe ``r`` is (or will be) cached."""
    return config.data_dir() / "finetuned" / r.key()


@dataclass
class FineTuned:
    """A fine-tuned classifier with its tokenizer, recipe and measured metrics."""

    model: Any            # transformers' BertForSequenceClassification, in eval mode
    tokenizer: Any
    recipe: Recipe
    metrics: dict[str, float]
    path: Path

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``[N, 2]`` (negative, positive) in the order of ``texts``."""
        return predict_proba(self.model, self.tokenizer, texts, batch_size, self.recipe.max_length)


@torch.no_grad()
def predict_proba(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 64,
                  max_length: int = 128) -> np.ndarray:
    """Class probabilities ``[N, classes]`` of a sequence classifier, in the order of ``texts``.

    Texts are batched by length (little padding) and put back in their original order.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string: wrap it as [text]")
    texts = list(texts)
    if not texts:
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        out[idx] = model(**batch).logits.float().softmax(-1).cpu().numpy()
    model.train(was_training)
    return out


def save(model: Any, tokenizer: Any, r: Recipe, metrics: dict[str, float]) -> Path:
    """Store a model trained with recipe ``r`` (notebook 07 calls this); return its folder.

    The folder appears complete or not at all (written under a temporary name, then renamed).
    """
    target = cache_dir(r)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "recipe.json").write_text(json.dumps(dataclasses.asdict(r), indent=2, sort_keys=True))
        clean = {k: float(v) for k, v in metrics.items()}
        (tmp / "metrics.json").write_text(json.dumps(clean, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load(r: Recipe, device: torch.device | str | None = None) -> FineTuned | None:
    """The cached model of recipe ``r``, or ``None`` if there is none (or it is incomplete)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .device import default_device

    folder = cache_dir(r)
    try:
        stored = json.loads((folder / "recipe.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if stored != dataclasses.asdict(r):
        return None  # a different recipe behind the same key: never reuse it
    if not (folder / "model.safetensors").is_file():
        return None
    device = torch.device(device) if device is not None else default_device()
    model = AutoModelForSequenceClassification.from_pretrained(folder).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return FineTuned(model, tokenizer, r, metrics, folder)


def sentiment_model(r: Recipe | None = None, device: torch.device | str | None = None,
                    train_if_missing: bool = True) -> FineTuned:
    """Notebook 07's fine-tuned sentiment model: from the cache, or trained now and cached.

    ``r`` defaults to the current mode's recipe (:func:`recipe`).
    """
    r = r or recipe()
    found = load(r, device)
    if found is not None:
        acc = found.metrics.get("test_acc")
        print(f"Fine-tuned model (recipe {r.key()}) loaded from {found.path}"
              + (f"; test accuracy {acc:.2%}" if acc is not None else ""))
        return found
    if not train_if_missing:
        raise FileNotFoundError(
            f"No fine-tuned model for recipe {r.key()} in {cache_dir(r)}.\nFix: run notebook 07 "
            f"in the same mode ({config.MODE_ENV}={config.mode()}), or call "
            f"finetuned.sentiment_model() without train_if_missing=False to train it now.")
    return train_recipe(r, device)


def train_recipe(r: Recipe, device: torch.device | str | None = None) -> FineTuned:
    """Fine-tune all-MiniLM-L6-v2 with recipe ``r`` (notebook 07's code), evaluate, cache, return."""
    import transformers
    from torch import nn
    from torch.utils.data import DataLoader
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              get_linear_schedule_with_warmup)

    from . import data, train
    from .device import default_device

    device = torch.device(device) if device is not None else default_device()
    sentiment = data.load_sentiment()
    train_split = sentiment.train.texts[:r.n_train], sentiment.train.labels[:r.n_train]
    val_split = sentiment.val.texts[:r.n_eval], sentiment.val.labels[:r.n_eval]
    test_split = sentiment.test.texts[:r.n_eval], sentiment.test.labels[:r.n_eval]
    steps = r.epochs * math.ceil(len(train_split[0]) / r.batch_size)
    print(f"Fine-tuning {r.base_model} with recipe {r.key()} ({len(train_split[0]):,} snippets, "
          f"{r.epochs} epoch(s), {steps} steps) on {device.type}: a few minutes on a laptop CPU "
          f"in full mode, once -- the model is cached in {cache_dir(r)}")
    model_dir = data.bert_model(r.base_model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = np.array([len(ids) for ids in tokenizer(list(train_split[0]))["input_ids"]])
    collate = _Collate(tokenizer, r.max_length)
    train_loader = DataLoader(list(zip(train_split[0], train_split[1].tolist())), collate_fn=collate,
                              batch_sampler=_LengthBuckets(lengths, r.batch_size, seed=r.seed))
    val_loader = DataLoader(list(zip(val_split[0], val_split[1].tolist())), collate_fn=collate,
                            batch_size=128)
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()       # the new head's "missing weights" report
    try:
        torch.manual_seed(r.seed)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    finally:
        transformers.logging.set_verbosity(level)
    if r.freeze_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=r.lr, weight_decay=r.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(r.warmup * steps), steps)
    t0 = time.perf_counter()
    train.fit(model, train_loader, optimizer, nn.CrossEntropyLoss(), r.epochs, val_loader=val_loader,
              metrics={"acc": train.accuracy}, scheduler=scheduler, scheduler_step="batch",
              clip_grad_norm=r.clip_grad_norm, device=device, verbose=False)
    seconds = time.perf_counter() - t0
    model.eval()
    metrics = {"train_seconds": seconds}
    for name, (texts, labels) in (("val", val_split), ("test", test_split)):
        pred = predict_proba(model, tokenizer, texts, 128, r.max_length).argmax(1)
        metrics[f"{name}_acc"] = float((pred == labels).mean())
    path = save(model, tokenizer, r, metrics)
    print(f"Trained in {seconds:.0f} s: validation accuracy {metrics['val_acc']:.2%}, "
          f"test accuracy {metrics['test_acc']:.2%}; cached in {path}")
    return FineTuned(model, tokenizer, r, metrics, path)


class _Collate:
    """(text, label) pairs -> a padded batch dict with ``labels`` (notebook 07's make_collate)."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, items: Sequence[tuple[str, int]]) -> dict[str, torch.Tensor]:
        texts, labels = zip(*items)
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return {**batch, "labels": torch.tensor(labels)}


class _LengthBuckets(torch.utils.data.Sampler):
    """Notebook 07's LengthBucketSampler: random batches of similar lengths."""

    def __init__(self, lengths: np.ndarray, batch_size: int, chunk_batches: int = 50,
                 seed: int = 0) -> None:
        self.lengths, self.batch_size = np.asarray(lengths), batch_size
        self.chunk = chunk_batches * batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths), generator=self.generator).numpy()
        batches = []
        for start in range(0, len(order), self.chunk):
            chunk = order[start:start + self.chunk]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i]

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)
