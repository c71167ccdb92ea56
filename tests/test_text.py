"""course_lib.text: tokenizer, vocabulary, padding and collate."""

import pytest
import torch
from torch.utils.data import DataLoader

from course_lib.text import PAD, UNK, Vocab, collate, pad_batch, tokenize


def test_tokenize_splits_negation_punctuation_and_sentences():
    assert tokenize("It isn't good. Not bad, though!") == [
        "it", "is", "n't", "good", ".", "not", "bad", ",", "though", "!"]
    # a period in the middle of a text is split off too (the Treebank tokenizer alone would not)
    assert "good" in tokenize("Good. Really good.")
    assert tokenize("Hello World", lower=False) == ["Hello", "World"]
    assert tokenize("") == [] and tokenize("   ") == []


def test_tokenize_needs_no_nltk_data(monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", ["/nonexistent"])
    assert tokenize("Doesn't need punkt.") == ["does", "n't", "need", "punkt", "."]


def test_tokenize_rejects_non_strings():
    with pytest.raises(TypeError, match="list of texts"):
        tokenize(["a list", "of texts"])
    with pytest.raises(TypeError):
        tokenize(None)


def test_vocab_build_min_freq_order_and_specials():
    docs = [["b", "a", "a"], ["c", "b", "a"], ["d"]]
    v = Vocab.build(docs, min_freq=2)
    assert v.tokens == [PAD, UNK, "a", "b"]          # most frequent first
    assert (v.pad_id, v.unk_id) == (0, 1)
    assert len(v) == 4 and "a" in v and "d" not in v
    assert Vocab.build([["y", "x"]]).tokens[2:] == ["x", "y"]   # ties alphabetical
    assert len(Vocab.build(docs, max_size=3)) == 3


def test_vocab_build_from_training_split_only_maps_unseen_to_unk():
    v = Vocab.build([["good", "film"], ["bad", "film"]])
    assert v.encode(["good", "unseen", "film"]) == [v.index["good"], v.unk_id, v.index["film"]]
    assert v.decode(v.encode(["bad", "film"])) == ["bad", "film"]
    assert v.decode(torch.tensor([0, 1])) == [PAD, UNK]


def test_vocab_errors_are_clear():
    with pytest.raises(TypeError, match="tokenize the texts first"):
        Vocab.build(["a text", "another text"])
    with pytest.raises(TypeError, match="list of token lists"):
        Vocab.build("just a string")
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(ValueError, match="twice"):
        Vocab([PAD, UNK, "a", "a"])
    with pytest.raises(ValueError, match="not among"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="no room"):
        Vocab.build([["a"]], max_size=1)
    v = Vocab.build([["a"]])
    with pytest.raises(TypeError, match="not a string"):
        v.encode("a b")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        v.decode([99])
    strict = Vocab(["a", "b"], unk=None, pad=None)
    with pytest.raises(KeyError, match="no <unk>"):
        strict.encode(["c"])


def test_pad_batch_right_pads_and_truncates():
    ids, lengths = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    ids, lengths = pad_batch([[5, 6, 7], [8]], pad_id=9, max_len=2)
    assert ids.tolist() == [[5, 6], [8, 9]] and lengths.tolist() == [2, 1]


def test_pad_batch_errors():
    with pytest.raises(ValueError, match="no sequences"):
        pad_batch([])
    with pytest.raises(ValueError, match="empty"):
        pad_batch([[1], []])
    with pytest.raises(ValueError, match="max_len"):
        pad_batch([[1]], max_len=0)


def test_collate_in_a_dataloader_feeds_pack_padded_sequence():
    data = [([1, 2, 3], 1), ([4], 0), ([5, 6], 1)]
    ids, lengths, labels = next(iter(DataLoader(data, batch_size=3, collate_fn=collate)))
    assert ids.shape == (3, 3) and lengths.tolist() == [3, 1, 2] and labels.tolist() == [1, 0, 1]
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.nn.Embedding(7, 2)(ids), lengths, batch_first=True, enforce_sorted=False)
    assert int(packed.batch_sizes.sum()) == 6   # the 3 padding positions are skipped
    with pytest.raises(ValueError, match="pairs"):
        collate([[1, 2, 3]])
    with pytest.raises(ValueError, match="pairs"):
        collate([])
