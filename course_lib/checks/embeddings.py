"""Checks for the exercises of notebook 04 (word embeddings).

The exercises extend the notebook: the full-softmax skip-gram objective that negative sampling
replaces (written without a library log-softmax), the 3CosMul analogy rule (Levy & Goldberg, 2014)
beside the notebook's 3CosAdd, and fastText's character n-grams for words no vector table has.
Each check calls the student's function on small fixed inputs and names the typical mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.i18n import _

from . import as_number, call, compare, fail, passed

# --------------------------------------------------------------------------------------------
# Exercise 1: the full-softmax skip-gram loss
# --------------------------------------------------------------------------------------------

_LIBRARY_SOFTMAX = ("torch.nn.functional.cross_entropy", "torch.nn.functional.log_softmax",
                    "torch.log_softmax", "torch.Tensor.log_softmax", "torch.logsumexp",
                    "torch.Tensor.logsumexp", "torch.special.logsumexp")


def _full_softmax(u: torch.Tensor, V: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    scores = u @ V.T
    m = scores.max(dim=1, keepdim=True).values
    lse = (m + (scores - m).exp().sum(dim=1, keepdim=True).log())[:, 0]
    return (lse - scores[torch.arange(len(ids)), ids]).mean()


def exercise_1(full_softmax_loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Any]) -> None:
    """Check ``full_softmax_loss(center [B, D], context_vectors [V, D], context_ids [B])``: the
    mean over the batch of ``-log softmax(u_b · v_w over all words w)[o_b]``, finite for large
    scores, differentiable, written without a library log-softmax / logsumexp / cross-entropy.

    >>> def loss(u, V, ids):
    ...     s = u @ V.T
    ...     m = s.max(dim=1, keepdim=True).values
    ...     lse = m[:, 0] + (s - m).exp().sum(dim=1).log()
    ...     return (lse - s[torch.arange(len(ids)), ids]).mean()
    >>> exercise_1(loss)
    ✅ Exercise 1 (full_softmax_loss): correct. One pair costs 50 dot products here (400,000 with GloVe's vocabulary), negative sampling with K = 5 costs 6.
    """
    gen = torch.Generator().manual_seed(41)
    B, V, D = 7, 50, 8
    u = torch.randn(B, D, generator=gen, dtype=torch.float64, requires_grad=True)
    vectors = torch.randn(V, D, generator=gen, dtype=torch.float64, requires_grad=True)
    ids = torch.randint(0, V, (B,), generator=gen)
    with torch.no_grad():
        expected = float(_full_softmax(u, vectors, ids))
    loss = call(full_softmax_loss, u, vectors, ids.clone(), name="full_softmax_loss",
                forbidden=_LIBRARY_SOFTMAX)
    if not isinstance(loss, torch.Tensor):
        fail(_("full_softmax_loss returned a {type}, not a torch tensor.", type=type(loss).__name__),
             _("use torch operations so that autograd can train with it"))
    if loss.numel() != 1:
        fail(_("full_softmax_loss returned shape {shape}; expected one number.",
               shape=tuple(loss.shape)),
             _("average the per-pair losses over the batch with .mean()"))
    if not loss.requires_grad:
        fail(_("full_softmax_loss is detached from the graph: no gradient can flow to the vectors."),
             _("avoid .item(), .detach(), .numpy() and torch.tensor(...) inside the loss"))
    value = float(loss.detach())
    with torch.no_grad():
        scores = u @ vectors.T
        picked = scores[torch.arange(B), ids]
        lse_rows = torch.log(scores.exp().sum(1))
        variants = {
            _("has the wrong sign: it is the log-likelihood; the loss is its negative"): -expected,
            _("sums over the batch instead of averaging (B = {B})", B=B): expected * B,
            _("normalises over the batch (dim 0) instead of over the vocabulary (dim 1)"):
                float((torch.log(scores.exp().sum(0)) [ids] - picked).mean()),
            _("takes column ids of every row (scores[:, ids] is a [B, B] matrix); each pair needs its "
              "own context word, scores[torch.arange(B), ids]"):
                float((lse_rows[:, None] - scores[:, ids]).mean()),
            _("forgets the normaliser: -u·v_o alone is not a log-probability (log Σ_w exp(u·v_w) is "
              "missing)"):
                float(-picked.mean()),
        }
    for message, wrong in variants.items():
        if np.isclose(value, wrong, rtol=1e-6):
            fail(_("full_softmax_loss {mistake}.", mistake=message),
                 _("loss_b = log Σ_w exp(u_b·v_w) - u_b·v_{o_b}, averaged over the batch"))
    compare(value, expected, "full_softmax_loss", rtol=1e-6,
            hint=_("scores = center @ context_vectors.T ([B, V]); "
                   "loss_b = log Σ_w exp(scores[b, w]) - scores[b, o_b]"))
    # confident vectors: scores in the hundreds overflow exp unless the row maximum is subtracted
    big_u = (u.detach() * 400).requires_grad_(True)  # scores in the thousands
    with torch.no_grad():
        expected_big = float(_full_softmax(big_u, vectors, ids))
    big = call(full_softmax_loss, big_u, vectors, ids.clone(), name="full_softmax_loss",
               forbidden=_LIBRARY_SOFTMAX)
    big_value = float(torch.as_tensor(big).detach().reshape(-1)[0])
    if not np.isfinite(big_value):
        fail(_("full_softmax_loss gives {value} when the scores are large (thousands): exp "
               "overflows to inf, or a probability underflows to 0 before the log.", value=big_value),
             _("subtract each row's maximum m first: log Σ exp(s) = m + log Σ exp(s - m); never take "
               "the log of a probability"))
    if not np.isclose(big_value, expected_big, rtol=1e-6):
        fail(_("full_softmax_loss is right for small scores but gives {value:.6g} instead of "
               "{expected:.6g} for large ones.", value=big_value, expected=expected_big),
             _("log(softmax) underflows to log(0) for a word far below the best one; work with "
               "m + log Σ exp(s - m) instead of probabilities"))
    passed(_("Exercise 1 (full_softmax_loss)"),
           _("One pair costs {V} dot products here (400,000 with GloVe's vocabulary), negative "
             "sampling with K = 5 costs 6.", V=V))


# --------------------------------------------------------------------------------------------
# Exercise 2: 3CosMul analogies
# --------------------------------------------------------------------------------------------

def _scores(unit: np.ndarray, a: int, b: int, c: int, rule: str, eps: float = 1e-3) -> np.ndarray:
    cos = unit @ unit[[a, b, c]].T  # [V, 3]
    if rule == "add":
        return cos[:, 1] - cos[:, 0] + cos[:, 2]
    if rule == "mul_raw":
        return cos[:, 1] * cos[:, 2] / (cos[:, 0] + eps)
    s = (cos + 1) / 2
    return s[:, 1] * s[:, 2] / (s[:, 0] + eps)


def _best(scores: np.ndarray, exclude: tuple[int, ...] = ()) -> int:
    scores = scores.copy()
    scores[list(exclude)] = -np.inf
    return int(np.argmax(scores))


def _analogy_cases() -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """A random unit-vector vocabulary and questions on which the rules and the mistakes disagree."""
    rng = np.random.default_rng(42)
    unit = rng.normal(size=(80, 6))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    chosen: list[tuple[int, int, int]] = []
    needs = {"add": 2, "raw": 2, "noexclude": 2}
    for _ in range(5000):
        a, b, c = (int(i) for i in rng.choice(80, size=3, replace=False))
        right = _best(_scores(unit, a, b, c, "mul"), (a, b, c))
        tags = []
        if _best(_scores(unit, a, b, c, "add"), (a, b, c)) != right:
            tags.append("add")
        if _best(_scores(unit, a, b, c, "mul_raw"), (a, b, c)) != right:
            tags.append("raw")
        if _best(_scores(unit, a, b, c, "mul")) != right:
            tags.append("noexclude")
        if any(needs[t] > 0 for t in tags):
            for t in tags:
                needs[t] -= 1
            chosen.append((a, b, c))
        if not any(v > 0 for v in needs.values()):
            break
    return unit, chosen


def exercise_2(analogy_3cosmul: Callable[..., Any]) -> None:
    """Check ``analogy_3cosmul(unit, a, b, c)``: for unit-length word vectors ``unit`` [V, D] and
    the row indices of a : b :: c : ?, the index of the word maximising
    ``s(d, b) s(d, c) / (s(d, a) + 0.001)`` with ``s = (cos + 1) / 2``, excluding a, b and c.

    >>> def analogy_3cosmul(unit, a, b, c, eps=1e-3):
    ...     s = (unit @ unit[[a, b, c]].T + 1) / 2
    ...     scores = s[:, 1] * s[:, 2] / (s[:, 0] + eps)
    ...     scores[[a, b, c]] = -np.inf
    ...     return int(np.argmax(scores))
    >>> exercise_2(analogy_3cosmul)
    ✅ Exercise 2 (analogy_3cosmul): correct.
    """
    unit, cases = _analogy_cases()
    for a, b, c in cases:
        raw = call(analogy_3cosmul, unit.copy(), a, b, c, name="analogy_3cosmul")
        got = as_number(raw, f"analogy_3cosmul(unit, {a}, {b}, {c})", _("return the index of one word"))
        right = _best(_scores(unit, a, b, c, "mul"), (a, b, c))
        if got == right:
            continue
        said = _("analogy_3cosmul(unit, {a}, {b}, {c}) = {got:g}, expected {right}", a=a, b=b, c=c,
                 got=got, right=right)
        if got in (a, b, c):
            fail(_("{said}: your answer is one of the question words. Exclude a, b and c (set their "
                   "scores to -inf), as 3CosAdd does in the notebook.", said=said),
                 _("scores[[a, b, c]] = -np.inf"))
        if got == _best(_scores(unit, a, b, c, "add"), (a, b, c)):
            fail(_("{said}: that is 3CosAdd's answer (cos(d, b) - cos(d, a) + cos(d, c)). 3CosMul "
                   "multiplies and divides the similarities instead of adding them.", said=said),
                 _("score(d) = s(d, b) * s(d, c) / (s(d, a) + 0.001), s = (cos + 1) / 2"))
        if got == _best(_scores(unit, a, b, c, "mul_raw"), (a, b, c)):
            fail(_("{said}: you used the raw cosines. They can be negative, and a negative number "
                   "in a product or a denominator flips the ranking; 3CosMul shifts them to [0, 1] "
                   "first.", said=said),
                 _("s = (cos + 1) / 2"))
        fail(_("{said}.", said=said),
             _("cos(d, x) = unit @ unit[x] for unit vectors; score(d) = s(d, b) * s(d, c) / "
               "(s(d, a) + 0.001) with s = (cos + 1) / 2; exclude a, b, c; argmax"))
    passed(_("Exercise 2 (analogy_3cosmul)"))


# --------------------------------------------------------------------------------------------
# Exercise 3: fastText's character n-grams
# --------------------------------------------------------------------------------------------

def _ngrams(word: str, n_min: int = 3, n_max: int = 6) -> set[str]:
    w = f"<{word}>"
    grams = {w[i:i + n] for n in range(n_min, n_max + 1) for i in range(len(w) - n + 1)}
    return grams | {w}


def exercise_3(char_ngrams: Callable[..., Any]) -> None:
    """Check ``char_ngrams(word, n_min=3, n_max=6)``: the set of character n-grams fastText uses
    for a word -- all substrings of length n_min..n_max of ``"<" + word + ">"``, plus the whole
    ``"<word>"`` -- returned as a set or list.

    >>> exercise_3(lambda w, lo=3, hi=6: {f"<{w}>"[i:i + n] for n in range(lo, hi + 1)
    ...                                   for i in range(len(w) + 3 - n)} | {f"<{w}>"})
    ✅ Exercise 3 (char_ngrams): correct. 'where' has 15 n-grams, e.g. <wh, whe, her, ere, re>, <where>.
    """
    for word, lo, hi in (("where", 3, 3), ("where", 3, 6), ("unfollowable", 3, 6), ("ox", 3, 6),
                         ("banana", 2, 4)):
        raw = call(char_ngrams, word, lo, hi, name="char_ngrams")
        if isinstance(raw, str) or not hasattr(raw, "__iter__"):
            fail(_("char_ngrams({word!r}, {lo}, {hi}) returned {type}; expected a set "
                   "or a list of strings.", word=word, lo=lo, hi=hi, type=type(raw).__name__),
                 _("collect the n-grams in a set"))
        got = set(raw)
        want = _ngrams(word, lo, hi)
        if got == want:
            continue
        said = f"char_ngrams({word!r}, {lo}, {hi})"
        plain = {word[i:i + n] for n in range(lo, hi + 1) for i in range(len(word) - n + 1)}
        if got in (plain, plain | {word}):
            fail(_("{said} has no boundary markers: fastText wraps the word as '<{word}>' so that "
                   "prefixes and suffixes ('<un', 'ble>') differ from the same letters inside a word.",
                   said=said, word=word),
                 _("w = '<' + word + '>'; take the n-grams of w"))
        if got == want - {f"<{word}>"}:
            fail(_("{said} misses the whole word '<{word}>', which fastText adds as one more unit.",
                   said=said, word=word),
                 _("add '<' + word + '>' to the set"))
        if got | {f"<{word}>"} == _ngrams(word, lo, hi - 1):
            fail(_("{said} stops at length {length}: n_max = {hi} is included.", said=said,
                   length=hi - 1, hi=hi),
                 _("range(n_min, n_max + 1)"))
        missing, extra = sorted(want - got)[:5], sorted(got - want)[:5]
        fail(_("{said} differs from fastText's n-grams: missing {missing}, not expected {extra}.",
               said=said, missing=missing, extra=extra),
             _("all substrings of '<' + word + '>' with n_min <= length <= n_max, plus '<' + word + '>'"))
    ex = sorted(_ngrams("where", 3, 3), key=lambda g: (len(g), "<where>".find(g)))
    passed(_("Exercise 3 (char_ngrams)"),
           _("'where' has {count} n-grams, e.g. {examples}.", count=len(_ngrams("where")),
             examples=", ".join(ex)))
