"""Checks for the exercises of notebook 05 (LSTM sentiment).

Each check calls the student's function on a small fixed example and names the typical mistake
(off-by-specials, padding on the wrong side, presence instead of counts, a missing sigmoid...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import as_array, call, close, compare, fail, passed

_DOCS = [
    ["the", "movie", "is", "good"],
    ["the", "movie", "is", "not", "good", "at", "all"],
    ["a", "bad", "movie"],
    ["the", "plot"],
]


def exercise_1(build_vocab: Callable[[list[list[str]], int], Mapping[str, int]],
               encode: Callable[[Sequence[str], Mapping[str, int]], Any]) -> None:
    """Check ``build_vocab(token_lists, min_freq) -> dict`` (``"<pad>"`` = 0, ``"<unk>"`` = 1,
    then every token seen at least ``min_freq`` times, ids 2, 3, ...) and
    ``encode(tokens, vocab) -> list[int]`` (unknown tokens -> the id of ``"<unk>"``).

    >>> from course_lib.text import Vocab
    >>> exercise_1(lambda docs, k: Vocab.build(docs, min_freq=k).index,
    ...            lambda toks, v: [v.get(t, v["<unk>"]) for t in toks])
    ✅ Exercise 1: correct.
    """
    counts = Counter(t for doc in _DOCS for t in doc)
    min_freq = 2
    wanted = {t for t, n in counts.items() if n >= min_freq}  # the, movie, is, good
    vocab = call(build_vocab, [list(d) for d in _DOCS], min_freq, name="build_vocab",
                 hint="it receives a list of token lists and min_freq")
    if not isinstance(vocab, Mapping):
        fail(f"build_vocab returned a {type(vocab).__name__}; expected a dict token -> id.",
             "e.g. {'<pad>': 0, '<unk>': 1, 'the': 2, ...}")
    if "<pad>" not in vocab or "<unk>" not in vocab:
        missing = [s for s in ("<pad>", "<unk>") if s not in vocab]
        fail(f"the vocabulary has no {' / '.join(missing)} entry.",
             "start from {'<pad>': 0, '<unk>': 1} and add the words after them")
    if vocab["<pad>"] != 0 or vocab["<unk>"] != 1:
        fail(f"'<pad>' has id {vocab['<pad>']} and '<unk>' id {vocab['<unk>']}; expected 0 and 1.",
             "the special tokens come first, the words get ids 2, 3, ...")
    ids = list(vocab.values())
    if len(set(ids)) != len(ids):
        dup = sorted(t for t in vocab if ids.count(vocab[t]) > 1)
        fail(f"several tokens share an id: {dup}. The words' ids collide with the specials' ids "
             "(off by the number of special tokens).",
             "number the words starting after the specials: id = 2 + position in the word list")
    words = set(vocab) - {"<pad>", "<unk>"}
    exact = {t for t, n in counts.items() if n == min_freq}
    if words == wanted - exact:
        fail(f"tokens seen exactly min_freq={min_freq} times are missing ({sorted(exact)}).",
             "keep a token when count >= min_freq (not >)")
    if words == set(counts):
        fail(f"every token is in the vocabulary; rare ones (seen < min_freq={min_freq} times) "
             "should be left out.", "they become <unk> when encoded")
    if words != wanted:
        fail(f"the vocabulary's words are {sorted(words)}; expected {sorted(wanted)} "
             f"(the tokens seen at least {min_freq} times).", "count tokens with collections.Counter")
    if sorted(ids) != list(range(len(vocab))):
        fail(f"the ids are {sorted(ids)}; expected 0 .. {len(vocab) - 1} without gaps.",
             "nn.Embedding(len(vocab), dim) needs every id to be < len(vocab)")
    tokens = ["the", "plot", "is", "good", "zzz"]
    encoded = call(encode, list(tokens), vocab, name="encode",
                   hint="it receives a token list and the vocab",
                   hints={KeyError: "unknown tokens must not crash: use vocab.get(token, vocab['<unk>'])"})
    got = [int(i) for i in as_array(encoded, "encode(tokens, vocab)").reshape(-1)]
    expected = [vocab.get(t, vocab["<unk>"]) for t in tokens]
    if len(got) != len(expected):
        fail(f"encode returned {len(got)} ids for {len(tokens)} tokens: unknown tokens were "
             "dropped." if len(got) < len(expected) else
             f"encode returned {len(got)} ids for {len(tokens)} tokens.",
             "every token gets exactly one id; unknown ones get vocab['<unk>']")
    if got == [vocab.get(t, 0) for t in tokens] and got != expected:
        fail("encode maps unknown tokens to 0, the id of <pad>; they should get <unk> (1).",
             "<pad> is ignored by the model; use vocab.get(token, vocab['<unk>'])")
    if got == [e - 2 for e in expected]:
        fail("encode's ids are 2 too small (off by the number of special tokens).",
             "look the ids up in the vocabulary dict instead of recomputing them")
    if got != expected:
        fail(f"encode({tokens}) gave {got}; expected {expected}.",
             "look every token up in the vocab; unknown tokens -> vocab['<unk>']")
    passed("Exercise 1")


def exercise_2(pad: Callable[[list[list[int]], int], Any]) -> None:
    """Check ``pad(sequences, pad_id) -> (ids [B, T], lengths [B])``: right padding to the
    longest sequence, lengths = the true lengths.

    >>> from course_lib.text import pad_batch
    >>> exercise_2(lambda seqs, pad_id: pad_batch(seqs, pad_id))
    ✅ Exercise 2: correct.
    """
    seqs = [[4, 8, 15], [16, 23], [42, 5, 6, 7], [9], [10, 11]]
    for pad_id in (0, 3):
        result = call(pad, [list(s) for s in seqs], pad_id, name="pad",
                      hint="it receives a list of id lists and the padding id")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail("pad should return two things: (ids, lengths).", "return ids, lengths")
        ids, lengths = as_array(result[0], "ids"), as_array(result[1], "lengths")
        T = max(len(s) for s in seqs)
        right = np.full((len(seqs), T), pad_id)
        left = np.full((len(seqs), T), pad_id)
        for i, s in enumerate(seqs):
            right[i, : len(s)] = s
            left[i, T - len(s):] = s
        true_len = np.array([len(s) for s in seqs])
        if close(ids, left) and not close(ids, right):
            fail("the padding is on the left; this course pads on the right (tokens first, then "
                 "<pad>), which is what pack_padded_sequence and the lengths assume.",
                 "ids[i, :len(seq)] = seq")
        if ids.ndim == 2 and ids.shape[0] == len(seqs) and ids.shape[1] > T:
            fail(f"ids has {ids.shape[1]} columns but the longest sequence has {T} tokens.",
                 "pad to the longest sequence of the batch, not to a fixed length")
        if pad_id != 0 and close(ids, np.where(right == pad_id, 0, right)):
            fail(f"pad(..., pad_id={pad_id}) still pads with 0.", "fill with pad_id, not 0")
        compare(ids, right, "ids", hint="shape [batch, longest length]: row i is seq i, then pad_id")
        if close(lengths, np.full(len(seqs), T)):
            fail("every length equals the padded length; lengths must be the true lengths.",
                 "lengths = [len(seq) for seq in sequences]")
        if close(lengths, true_len - 1):
            fail("lengths are one too short.", "lengths = [len(seq) for seq in sequences]")
        compare(lengths, true_len, "lengths", hint="lengths = [len(seq) for seq in sequences]")
    passed("Exercise 2")


_VOCAB = {"<pad>": 0, "<unk>": 1, "good": 2, "bad": 3, "not": 4, "movie": 5, "very": 6}
_BOW_DOCS = [["very", "very", "good", "movie"], ["not", "good", "awful"], ["bad", "bad", "bad"]]


def _bow_reference(docs: Sequence[Sequence[str]], vocab: Mapping[str, int]) -> np.ndarray:
    x = np.zeros((len(docs), len(vocab)))
    for i, doc in enumerate(docs):
        for t in doc:
            x[i, vocab.get(t, vocab["<unk>"])] += 1
    return x


def exercise_3(bag_of_words: Callable[[list[list[str]], Mapping[str, int]], Any]) -> None:
    """Check ``bag_of_words(token_lists, vocab) -> [N, len(vocab)]``: row i counts how often each
    vocabulary id occurs in document i (unknown tokens count as ``"<unk>"``).

    >>> exercise_3(lambda docs, v: _bow_reference(docs, v))
    ✅ Exercise 3: correct.
    """
    expected = _bow_reference(_BOW_DOCS, _VOCAB)
    answer = call(bag_of_words, [list(d) for d in _BOW_DOCS], dict(_VOCAB), name="bag_of_words",
                  hint="it receives a list of token lists and a dict token -> id",
                  hints={KeyError: "unknown tokens must not crash: count them in the '<unk>' column, "
                                   "vocab.get(token, vocab['<unk>'])"})
    a = as_array(answer, "bag_of_words(docs, vocab)")
    if close(a, (expected > 0).astype(float)):
        fail("your vectors only record whether a word occurs (0/1), not how often.",
             "add 1 for every occurrence: 'very very good' has a 2 in the 'very' column")
    no_unk = expected.copy()
    no_unk[:, _VOCAB["<unk>"]] = 0
    if close(a, no_unk):
        fail("unknown tokens are not counted.", "count them in the '<unk>' column")
    lengths = np.array([len(d) for d in _BOW_DOCS], dtype=float)[:, None]
    if close(a, expected / lengths):
        fail("your rows are divided by the document length (frequencies, not counts).",
             "return the raw counts; scaling is the vectoriser's job (TF-IDF)")
    if a.shape == (len(_BOW_DOCS), len(_VOCAB) - 2):
        fail(f"bag_of_words has {a.shape[1]} columns; expected len(vocab) = {len(_VOCAB)} "
             "(one per id, specials included).", "column j counts the token with id j")
    compare(a, expected, "bag_of_words(docs, vocab)",
            hint="shape [number of documents, len(vocab)], column j counts the token with id j")
    passed("Exercise 3")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def exercise_4(logistic_predict: Callable[[np.ndarray, np.ndarray, float], Any]) -> None:
    """Check ``logistic_predict(X [N, V], w [V], b) -> [N]``: the probability of the positive
    class, σ(X w + b).

    >>> exercise_4(lambda X, w, b: 1 / (1 + np.exp(-(X @ w + b))))
    ✅ Exercise 4: correct.
    """
    rng = np.random.default_rng(11)
    X = rng.poisson(0.7, size=(6, 5)).astype(float)
    w = rng.normal(size=5)
    b = -0.4
    z = X @ w + b
    expected = _sigmoid(z)
    answer = call(logistic_predict, X.copy(), w.copy(), b, name="logistic_predict",
                  hint="X is [N, V], w is [V], b a number: X @ w + b is [N]")
    p = as_array(answer, "logistic_predict(X, w, b)")
    if close(p, z):
        fail("you returned the scores X w + b (logits), not probabilities.",
             "squash them with the sigmoid 1 / (1 + exp(-z))")
    if close(p, 1 - expected):
        fail("you return the probability of the NEGATIVE class (σ(-z)).",
             "p(positive) = 1 / (1 + exp(-(X w + b)))")
    if close(p, _sigmoid(X @ w)):
        fail("the bias b is missing.", "σ(X w + b)")
    if close(p, (z > 0).astype(float)):
        fail("you return hard 0/1 labels; the exercise asks for probabilities.",
             "return σ(X w + b); labels are (p > 0.5)")
    if close(p, np.exp(z) / np.exp(z).sum()):
        fail("you applied a softmax across the examples; each example gets its own "
             "probability.", "use the sigmoid element-wise")
    compare(p, expected, "logistic_predict(X, w, b)", rtol=1e-6, hint="σ(X w + b), shape [N]")
    passed("Exercise 4")
