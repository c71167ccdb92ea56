"""Every check of notebook 05 accepts the reference and rejects typical wrong answers."""

from collections import Counter

import numpy as np
import pytest
import torch

from course_lib.checks import CheckFailed
from course_lib.checks import sentiment as ck
from course_lib.text import Vocab, pad_batch


def rejects(check, *answers, must=()):
    with pytest.raises(CheckFailed) as info:
        check(*answers)
    message = str(info.value)
    for fragment in must:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --- exercise 1: vocabulary + encode
def build_ref(docs, min_freq):
    counts = Counter(t for d in docs for t in d)
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, n in counts.most_common():
        if n >= min_freq:
            vocab[token] = len(vocab)
    return vocab


def encode_ref(tokens, vocab):
    return [vocab.get(t, vocab["<unk>"]) for t in tokens]


def test_ex1_accepts_reference_and_course_lib(capsys):
    ck.exercise_1(build_ref, encode_ref)
    ck.exercise_1(lambda d, k: Vocab.build(d, min_freq=k).index, encode_ref)
    assert "correct" in capsys.readouterr().out


def test_ex1_rejects_off_by_specials():
    def no_offset(docs, k):
        words = [t for t, n in Counter(t for d in docs for t in d).most_common() if n >= k]
        return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(words)}}
    rejects(ck.exercise_1, no_offset, encode_ref, must=("share an id", "special"))

    def no_specials(docs, k):
        words = [t for t, n in Counter(t for d in docs for t in d).most_common() if n >= k]
        return {t: i for i, t in enumerate(words)}
    rejects(ck.exercise_1, no_specials, encode_ref, must=("<pad>",))

    def gap(docs, k):
        v = build_ref(docs, k)
        return {t: (i + 1 if i >= 2 else i) for t, i in v.items()}
    rejects(ck.exercise_1, gap, encode_ref, must=("without gaps",))


def test_ex1_rejects_min_freq_mistakes():
    def strict(docs, k):
        return build_ref(docs, k + 1)
    rejects(ck.exercise_1, strict, encode_ref, must=(">=",))
    rejects(ck.exercise_1, lambda d, k: build_ref(d, 1), encode_ref, must=("rare",))


def test_ex1_rejects_bad_encoders():
    rejects(ck.exercise_1, build_ref, lambda toks, v: [v.get(t, 0) for t in toks], must=("<pad>",))
    rejects(ck.exercise_1, build_ref, lambda toks, v: [v[t] for t in toks if t in v],
            must=("dropped",))
    rejects(ck.exercise_1, build_ref, lambda toks, v: [v[t] for t in toks], must=("KeyError",))
    rejects(ck.exercise_1, build_ref, lambda toks, v: [v.get(t, 1) - 2 for t in toks],
            must=("2 too small",))


# --- exercise 2: padding + lengths
def pad_ref(seqs, pad_id):
    T = max(map(len, seqs))
    return [s + [pad_id] * (T - len(s)) for s in seqs], [len(s) for s in seqs]


def test_ex2_accepts_reference(capsys):
    ck.exercise_2(pad_ref)
    ck.exercise_2(lambda s, p: pad_batch(s, p))
    assert "correct" in capsys.readouterr().out


def test_ex2_rejects_left_padding():
    def left(seqs, pad_id):
        T = max(map(len, seqs))
        return [[pad_id] * (T - len(s)) + s for s in seqs], [len(s) for s in seqs]
    rejects(ck.exercise_2, left, must=("left",))


def test_ex2_rejects_wrong_lengths():
    rejects(ck.exercise_2, lambda s, p: (pad_ref(s, p)[0], [max(map(len, s))] * len(s)),
            must=("true lengths",))
    rejects(ck.exercise_2, lambda s, p: (pad_ref(s, p)[0], [len(x) - 1 for x in s]),
            must=("one too short",))


def test_ex2_rejects_other_mistakes():
    rejects(ck.exercise_2, lambda s, p: (np.array(pad_ref(s, p)[0]).T, pad_ref(s, p)[1]),
            must=("transposed",))
    rejects(ck.exercise_2, lambda s, p: pad_ref(s, 0), must=("pads with 0",))

    def fixed(seqs, pad_id):
        return [s + [pad_id] * (10 - len(s)) for s in seqs], [len(s) for s in seqs]
    rejects(ck.exercise_2, fixed, must=("longest",))
    rejects(ck.exercise_2, lambda s, p: pad_ref(s, p)[0], must=("two things",))


# --- exercise 3: bag of words
def bow_ref(docs, vocab):
    x = np.zeros((len(docs), len(vocab)))
    for i, doc in enumerate(docs):
        for t in doc:
            x[i, vocab.get(t, vocab["<unk>"])] += 1
    return x


def test_ex3_accepts_reference(capsys):
    ck.exercise_3(bow_ref)
    ck.exercise_3(lambda docs, v: torch.tensor(bow_ref(docs, v)))
    assert "correct" in capsys.readouterr().out


def test_ex3_rejects_presence_only_and_frequencies():
    rejects(ck.exercise_3, lambda d, v: (bow_ref(d, v) > 0).astype(float), must=("how often",))
    rejects(ck.exercise_3, lambda d, v: bow_ref(d, v) / np.array([len(x) for x in d])[:, None],
            must=("divided by the document length",))


def test_ex3_rejects_shape_and_unknown_mistakes():
    rejects(ck.exercise_3, lambda d, v: bow_ref(d, v).T, must=("transposed",))
    rejects(ck.exercise_3, lambda d, v: bow_ref(d, v)[:, 2:], must=("columns",))

    def skip_unknown(docs, vocab):
        return bow_ref([[t for t in d if t in vocab] for d in docs], vocab)
    rejects(ck.exercise_3, skip_unknown, must=("unknown tokens are not counted",))

    def crash_unknown(docs, vocab):
        x = np.zeros((len(docs), len(vocab)))
        for i, doc in enumerate(docs):
            for t in doc:
                x[i, vocab[t]] += 1
        return x
    rejects(ck.exercise_3, crash_unknown, must=("KeyError",))


# --- exercise 4: logistic prediction
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_ex4_accepts_reference(capsys):
    ck.exercise_4(lambda X, w, b: sigmoid(X @ w + b))
    ck.exercise_4(lambda X, w, b: torch.sigmoid(torch.tensor(X) @ torch.tensor(w) + b))
    assert "correct" in capsys.readouterr().out


def test_ex4_rejects_missing_sigmoid_and_wrong_class():
    rejects(ck.exercise_4, lambda X, w, b: X @ w + b, must=("logits",))
    rejects(ck.exercise_4, lambda X, w, b: sigmoid(-(X @ w + b)), must=("NEGATIVE",))


def test_ex4_rejects_other_mistakes():
    rejects(ck.exercise_4, lambda X, w, b: sigmoid(X @ w), must=("bias",))
    rejects(ck.exercise_4, lambda X, w, b: (X @ w + b > 0).astype(float), must=("hard 0/1",))
    rejects(ck.exercise_4, lambda X, w, b: sigmoid(w @ X.T + b)[:, None], must=("shape",))
    rejects(ck.exercise_4, lambda X, w, b: np.exp(X @ w + b) / np.exp(X @ w + b).sum(),
            must=("softmax",))


def test_unfinished_exercise_passes_the_placeholder_through():
    def unfinished(sequences, pad_id):
        raise NotImplementedError("Exercise: write this function")

    with pytest.raises(NotImplementedError, match="Exercise"):
        ck.exercise_2(unfinished)


def test_a_missing_return_is_named():
    rejects(ck.exercise_4, lambda X, w, b: None, must=("returned None", "return"))
