"""Every check of notebook 04 accepts the reference and rejects typical wrong answers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed
from course_lib.checks import embeddings as ck

# ---------------------------------------------------------------- exercise 1: full_softmax_loss


def full_softmax_reference(u, V, ids):
    scores = u @ V.T
    m = scores.max(dim=1, keepdim=True).values
    lse = m[:, 0] + (scores - m).exp().sum(dim=1).log()
    return (lse - scores[torch.arange(len(ids)), ids]).mean()


def naive(u, V, ids):
    scores = u @ V.T
    return (scores.exp().sum(1).log() - scores[torch.arange(len(ids)), ids]).mean()


def via_softmax(u, V, ids):
    p = torch.softmax(u @ V.T, dim=1)
    return -p[torch.arange(len(ids)), ids].log().mean()


def test_ex1_accepts_reference(capsys):
    ck.exercise_1(full_softmax_reference)
    assert "400,000" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda u, V, ids: F.cross_entropy(u @ V.T, ids), "calls torch.nn.functional.cross_entropy"),
    (lambda u, V, ids: -(u @ V.T).log_softmax(1)[torch.arange(len(ids)), ids].mean(),
     "calls torch.Tensor.log_softmax"),
    (lambda u, V, ids: (torch.logsumexp(u @ V.T, 1) - (u @ V.T)[torch.arange(len(ids)), ids]).mean(),
     "calls torch.logsumexp"),
    (naive, "exp overflows"),
    (via_softmax, "underflows to 0 before the log"),
    (lambda u, V, ids: -full_softmax_reference(u, V, ids), "wrong sign"),
    (lambda u, V, ids: len(ids) * full_softmax_reference(u, V, ids), "sums over the batch"),
    (lambda u, V, ids: ((u @ V.T).exp().sum(0).log()[ids] - (u @ V.T)[torch.arange(len(ids)), ids]).mean(),
     "dim 0"),
    (lambda u, V, ids: ((u @ V.T).exp().sum(1).log()[:, None] - (u @ V.T)[:, ids]).mean(), r"scores\[:, ids\]"),
    (lambda u, V, ids: -(u @ V.T)[torch.arange(len(ids)), ids].mean(), "forgets the normaliser"),
    (lambda u, V, ids: full_softmax_reference(u, V, ids).item(), "not a torch tensor"),
    (lambda u, V, ids: full_softmax_reference(u, V, ids).detach(), "detached"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ck.exercise_1(wrong)


# ---------------------------------------------------------------- exercise 2: analogy_3cosmul


def cosmul(unit, a, b, c, eps=1e-3, shift=True, exclude=True):
    cos = unit @ unit[[a, b, c]].T
    s = (cos + 1) / 2 if shift else cos
    scores = s[:, 1] * s[:, 2] / (s[:, 0] + eps)
    if exclude:
        scores[[a, b, c]] = -np.inf
    return int(np.argmax(scores))


def cosadd(unit, a, b, c):
    scores = unit @ (unit[b] - unit[a] + unit[c])
    scores[[a, b, c]] = -np.inf
    return int(np.argmax(scores))


def test_ex2_accepts_reference(capsys):
    ck.exercise_2(cosmul)
    ck.exercise_2(lambda unit, a, b, c: torch.tensor(cosmul(unit, a, b, c)))
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize("wrong, message", [
    (cosadd, "3CosAdd's answer"),
    (lambda unit, a, b, c: cosmul(unit, a, b, c, shift=False), "raw cosines"),
    (lambda unit, a, b, c: cosmul(unit, a, b, c, exclude=False), "one of the question words"),
    (lambda unit, a, b, c: cosmul(unit, b, a, c), "expected"),
    (lambda unit, a, b, c: [cosmul(unit, a, b, c)] * 2, "one number"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ck.exercise_2(wrong)


# ---------------------------------------------------------------- exercise 3: char_ngrams


def ngrams(word, n_min=3, n_max=6, markers=True, whole=True, top=None):
    w = f"<{word}>" if markers else word
    top = n_max + 1 if top is None else top
    grams = {w[i:i + n] for n in range(n_min, top) for i in range(len(w) - n + 1)}
    return grams | ({w} if whole else set())


def test_ex3_accepts_reference_and_lists(capsys):
    ck.exercise_3(ngrams)
    ck.exercise_3(lambda word, lo=3, hi=6: sorted(ngrams(word, lo, hi)))
    out = capsys.readouterr().out
    assert out.count("correct") == 2 and "<where>" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda word, lo=3, hi=6: ngrams(word, lo, hi, markers=False), "no boundary markers"),
    (lambda word, lo=3, hi=6: ngrams(word, lo, hi, whole=False), "misses the whole word"),
    (lambda word, lo=3, hi=6: ngrams(word, lo, hi, top=hi), "n_max = .* is included"),
    (lambda word, lo=3, hi=6: ngrams(word, 1, hi), "differs from fastText"),
    (lambda word, lo=3, hi=6: f"<{word}>", "expected a set"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        ck.exercise_3(wrong)


@pytest.mark.parametrize("check", [ck.exercise_1, ck.exercise_2, ck.exercise_3])
def test_an_unfinished_exercise_says_so(check):
    def placeholder(*args):
        raise NotImplementedError("Exercise: write this function")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(placeholder)
