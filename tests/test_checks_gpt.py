"""Every check of notebook 12 accepts the reference answer and rejects typical wrong answers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.functional import cross_entropy

from course_lib.checks import CheckFailed
from course_lib.checks import gpt as checks

# ----------------------------------------------------------------------------- exercise 1


def bpe_encode(word, ranks):  # the reference solution, as a student would write it
    pieces = list(word)
    while len(pieces) > 1:
        pairs = list(zip(pieces, pieces[1:]))
        best = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(pieces):
            if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == best:
                merged.append(pieces[i] + pieces[i + 1])
                i += 2
            else:
                merged.append(pieces[i])
                i += 1
        pieces = merged
    return pieces


def in_dict_order(word, ranks):  # applies the merges in the dict's insertion order
    pieces = list(word)
    for pair in ranks:
        merged, i = [], 0
        while i < len(pieces):
            if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == pair:
                merged.append(pieces[i] + pieces[i + 1])
                i += 2
            else:
                merged.append(pieces[i])
                i += 1
        pieces = merged
    return pieces


def highest_first(word, ranks):
    return bpe_encode(word, {pair: -rank for pair, rank in ranks.items()})


def leftmost_known(word, ranks):
    pieces = list(word)
    while True:
        known = [i for i in range(len(pieces) - 1) if (pieces[i], pieces[i + 1]) in ranks]
        if not known:
            return pieces
        i = known[0]
        pieces[i:i + 2] = [pieces[i] + pieces[i + 1]]


def one_merge(word, ranks):
    pieces = list(word)
    pairs = [p for p in zip(pieces, pieces[1:]) if p in ranks]
    if not pairs:
        return pieces
    best = min(pairs, key=ranks.get)
    return in_dict_order(word, {best: 0})


def from_the_right(word, ranks):
    flipped = {(b[::-1], a[::-1]): r for (a, b), r in ranks.items()}
    return [p[::-1] for p in bpe_encode(word[::-1], flipped)][::-1]


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(bpe_encode)
    out = capsys.readouterr().out
    assert "correct" in out and "there -> th|ere" in out


def test_ex1_reference_equals_applying_the_merges_in_rank_order():
    ranks = checks._ranks()
    in_rank_order = sorted(ranks, key=ranks.get)
    for word in checks._BPE_WORDS + ("thereother", "handhour", "aaaa"):
        assert checks._bpe_encode(word, ranks) == checks._apply_in_order(word, in_rank_order)


@pytest.mark.parametrize("wrong, message", [
    (in_dict_order, "order of the dictionary"),
    (highest_first, "HIGHEST rank"),
    (leftmost_known, "leftmost pair"),
    (one_merge, "one merge"),
    (from_the_right, "from the right"),
    (lambda word, ranks: "".join(bpe_encode(word, ranks)), "list of strings"),
    (lambda word, ranks: bpe_encode(word, ranks)[:-1] or ["?"], "do not spell"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


def test_ex1_passes_the_placeholder_through_and_reports_a_crash():
    def unfinished(word, ranks):
        raise NotImplementedError("Exercise: write the body")

    with pytest.raises(NotImplementedError, match="Exercise"):
        checks.exercise_1(unfinished)
    with pytest.raises(CheckFailed, match="raised KeyError"):
        checks.exercise_1(lambda word, ranks: [ranks[("q", "q")]])
    with pytest.raises(CheckFailed, match="returned None"):
        checks.exercise_1(lambda word, ranks: None)


# ----------------------------------------------------------------------------- exercise 2


def kv_causal_mask(n_new, n_past):
    i = torch.arange(n_new).unsqueeze(1) + n_past
    j = torch.arange(n_past + n_new).unsqueeze(0)
    return j <= i


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(kv_causal_mask)
    assert "correct" in capsys.readouterr().out


def test_ex2_accepts_numpy_masks(capsys):
    checks.exercise_2(lambda n, p: kv_causal_mask(n, p).numpy())
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda n, p: torch.tril(torch.ones(n, n + p, dtype=torch.bool)), "top-left"),
    (lambda n, p: ~kv_causal_mask(n, p), "swapped"),
    (lambda n, p: torch.arange(n + p)[None, :] < torch.arange(n)[:, None] + p, "diagonal is masked"),
    (lambda n, p: torch.ones(n, p, dtype=torch.bool), "only the cached keys"),
    (lambda n, p: kv_causal_mask(n, p).T, "queries, keys"),
    (lambda n, p: torch.where(kv_causal_mask(n, p), 0.0, float("-inf")), "boolean"),
    (lambda n, p: torch.ones(n, n + p, dtype=torch.bool), "is wrong"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


# ----------------------------------------------------------------------------- exercise 3


def bits_per_token(logits, targets):
    z = logits - logits.max(dim=-1, keepdim=True).values
    log_probs = z - z.exp().sum(dim=-1, keepdim=True).log()
    return -log_probs[torch.arange(len(targets)), targets].mean() / math.log(2)


def naive(logits, targets):
    p = logits.exp() / logits.exp().sum(-1, keepdim=True)
    return -torch.log2(p[torch.arange(len(targets)), targets]).mean()


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(bits_per_token)
    assert "correct" in capsys.readouterr().out


def test_ex3_accepts_a_numpy_float(capsys):
    checks.exercise_3(lambda logits, targets: float(bits_per_token(logits, targets)))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda lo, t: bits_per_token(lo, t) * math.log(2), "nats"),
    (lambda lo, t: bits_per_token(lo, t) * len(t), "summed"),
    (lambda lo, t: -bits_per_token(lo, t), "wrong sign"),
    (lambda lo, t: bits_per_token(lo, t) * math.log10(2) / math.log(2) * math.log(2), "base 10"),
    (naive, "overflows"),
    (lambda lo, t: F.cross_entropy(lo, t) / math.log(2), "calls torch.nn.functional.cross_entropy"),
    (lambda lo, t: -torch.log_softmax(lo, -1)[torch.arange(len(t)), t].mean() / math.log(2),
     "calls torch.log_softmax"),
    (lambda lo, t: -(lo.log_softmax(-1)[torch.arange(len(t)), t]).mean() / math.log(2),
     "calls torch.Tensor.log_softmax"),
    (lambda lo, t: -torch.log2(torch.softmax(lo, -1)[torch.arange(len(t)), t]).mean(), "calls torch.softmax"),
    (lambda lo, t: bits_per_token(lo, t) + 0.5, "expected"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)


def sneaky(logits, targets):  # uses a name imported with "from torch.nn.functional import ..."
    return cross_entropy(logits, targets) / math.log(2)


def test_ex3_rejects_a_directly_imported_library_function():
    with pytest.raises(CheckFailed, match="calls torch.nn.functional.cross_entropy"):
        checks.exercise_3(sneaky)
    assert F.cross_entropy is cross_entropy, "the library function is restored afterwards"


# ----------------------------------------------------------------------------- exercise 4


def min_p_filter(logits, min_p):
    probs = torch.softmax(logits, dim=-1)
    keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(~keep, float("-inf"))


def top_p_filter(logits, p):  # the notebook's top-p: must not pass the min-p check
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    remove = cumulative - torch.softmax(sorted_logits, dim=-1) >= p
    sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def test_ex4_accepts_reference(capsys):
    checks.exercise_4(min_p_filter)
    out = capsys.readouterr().out
    assert "correct" in out and "flat row keeps" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda lo, p: torch.softmax(min_p_filter(lo, p), -1), "probabilities"),
    (lambda lo, p: min_p_filter(lo, p).nan_to_num(neginf=0.0), "not -inf"),
    (lambda lo, p: lo.masked_fill(torch.softmax(lo, -1) < p, float("-inf")), "absolute threshold"),
    (lambda lo, p: lo.masked_fill(torch.softmax(lo, -1) < p * torch.softmax(lo, -1).max(), float("-inf")),
     "whole batch"),
    (lambda lo, p: min_p_filter(lo, p) - 1.0, "logits changed"),
    (top_p_filter, "tokens per row"),
    (lambda lo, p: min_p_filter(lo, p)[0], "shape"),
])
def test_ex4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_4(wrong)


def test_ex4_inputs_tell_min_p_from_top_p():
    logits = checks._min_p_inputs()
    kept_min_p = np.isfinite(min_p_filter(logits, 0.1).numpy()).sum(-1)
    kept_top_p = np.isfinite(top_p_filter(logits, 0.1).numpy()).sum(-1)
    assert kept_min_p[1] > kept_min_p[2] and not np.array_equal(kept_min_p, kept_top_p)
