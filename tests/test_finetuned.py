"""The shared fine-tuned sentiment model: cache hit, cache miss trains, a changed recipe is not reused."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib import config, finetuned

TINY = finetuned.Recipe(n_train=32, n_eval=16, epochs=1, batch_size=16, lr=1e-4)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    return tmp_path


def test_recipes_match_notebook_07_modes(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "full")
    assert finetuned.recipe() == finetuned.Recipe()
    monkeypatch.setenv(config.MODE_ENV, "quick")
    assert finetuned.recipe().n_train == 1500 and finetuned.recipe().batch_size == 16
    assert finetuned.RECIPES["quick"].key() != finetuned.RECIPES["full"].key()


def test_every_field_changes_the_key():
    base = finetuned.Recipe()
    changed = {"n_train": 10, "n_eval": 10, "epochs": 3, "lr": 1e-4, "batch_size": 16, "warmup": 0.2,
               "weight_decay": 0.0, "clip_grad_norm": 0.5, "max_length": 64,
               "freeze_word_embeddings": False, "seed": 1, "base_model": "bert-base-uncased"}
    assert set(changed) == {f.name for f in finetuned.dataclasses.fields(finetuned.Recipe)}
    keys = {finetuned.dataclasses.replace(base, **{k: v}).key() for k, v in changed.items()}
    assert len(keys) == len(changed) and base.key() not in keys


def test_miss_trains_then_hit_loads_and_changed_recipe_trains_again(cache, monkeypatch):
    trained = finetuned.sentiment_model(TINY, device="cpu")          # miss: trains for real
    assert trained.path == finetuned.cache_dir(TINY) and trained.path.is_relative_to(cache)
    assert (trained.path / "model.safetensors").is_file()
    assert 0.0 <= trained.metrics["test_acc"] <= 1.0
    texts = ["A wonderful, moving film.", "Dull.", "It is a film."]
    before = trained.predict_proba(texts)
    assert before.shape == (3, 2) and np.allclose(before.sum(1), 1, atol=1e-5)

    calls = []
    monkeypatch.setattr(finetuned, "train_recipe", lambda r, device=None: calls.append(r))
    again = finetuned.sentiment_model(TINY, device="cpu")              # hit: no training
    assert calls == [] and again.metrics == trained.metrics
    assert np.allclose(again.predict_proba(texts), before, atol=1e-5)
    # order of the answers follows the order of the texts, whatever the lengths
    assert np.allclose(again.predict_proba(texts[::-1]), before[::-1], atol=1e-5)

    other = finetuned.dataclasses.replace(TINY, seed=1)
    finetuned.sentiment_model(other, device="cpu")                     # changed recipe: trains
    assert calls == [other]


def test_stored_recipe_must_match(cache):
    folder = finetuned.cache_dir(TINY)
    folder.mkdir(parents=True)
    (folder / "recipe.json").write_text(json.dumps({**finetuned.dataclasses.asdict(TINY), "lr": 1.0}))
    (folder / "metrics.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    assert finetuned.load(TINY) is None
    with pytest.raises(FileNotFoundError, match="notebook 07"):
        finetuned.sentiment_model(TINY, train_if_missing=False)


def test_predict_proba_rejects_a_single_string():
    with pytest.raises(TypeError, match="list of strings"):
        finetuned.predict_proba(None, None, "one text")


def _notebook_sampler():
    """Notebook 07's LengthBucketSampler class, executed from the notebook's own cell."""
    import ast
    import math

    import nbformat
    from torch.utils.data import Sampler

    path = Path(__file__).resolve().parent.parent / "notebooks" / "07_bert_finetuning.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "class LengthBucketSampler" in cell.source:
            tree = ast.parse(cell.source)
            node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "LengthBucketSampler")
            namespace = {"Sampler": Sampler, "np": np, "torch": torch, "math": math}
            exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
            return namespace["LengthBucketSampler"]
    raise AssertionError("notebook 07 no longer defines LengthBucketSampler")


def test_library_sampler_yields_the_batches_of_notebook_07():
    lengths = np.random.default_rng(1).integers(3, 60, size=523)
    for seed in (0, 3):
        ours = list(finetuned._LengthBuckets(lengths, 16, seed=seed))
        notebook = list(_notebook_sampler()(lengths, 16, seed=seed))
        assert ours == notebook
        assert len(ours) == len(finetuned._LengthBuckets(lengths, 16)) == math.ceil(523 / 16)
