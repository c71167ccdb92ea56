"""Checks for the exercises of notebook 12 (a GPT from scratch).

Typical mistakes get their own message: BPE encoding that applies the merges in the wrong order
(the order of the dictionary, the highest rank first, the leftmost known pair) or merges from the
right; a KV-cache mask aligned top-left (what ``is_causal=True`` does for a non-square mask), that
hides the diagonal or forgets the new keys; a cross-entropy in nats, summed instead of averaged or
overflowing for large logits; a min-p filter with an absolute threshold, zeros instead of -inf or
probabilities instead of logits. The library operation a "by hand" exercise replaces is switched
off while it runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..i18n import _
from . import as_array, as_number, call, compare, fail, passed

# ----------------------------------------------------------------------------- exercise 1

# A small BPE merge table (rank = position: lower ranks were learned first and are applied first).
_MERGES: tuple[tuple[str, str], ...] = (
    ("e", "r"), ("t", "h"), ("th", "e"), ("o", "u"), ("a", "n"), ("the", "r"), ("er", "e"),
    ("n", "d"), ("an", "d"), ("h", "e"), ("a", "a"), ("o", "r"), ("ou", "r"), ("h", "our"),
)
_BPE_WORDS = ("there", "other", "hand", "hour", "aaaaa", "mother", "xyz", "h")
# the ranks dict is built in this scrambled order: its iteration order is NOT the rank order
_SCRAMBLE = (9, 3, 13, 0, 7, 11, 5, 1, 12, 8, 2, 10, 6, 4)


def _bpe_encode(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """GPT-2's BPE encoding: merge the adjacent pair of lowest rank until none is in ``ranks``."""
    pieces = list(word)
    while len(pieces) > 1:
        pairs = [(ranks.get(pair, math.inf), pair) for pair in zip(pieces, pieces[1:])]
        rank, best = min(pairs)
        if rank == math.inf:
            break
        merged, i = [], 0
        while i < len(pieces):  # every occurrence, left to right
            if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == best:
                merged.append(pieces[i] + pieces[i + 1])
                i += 2
            else:
                merged.append(pieces[i])
                i += 1
        pieces = merged
    return pieces


def _merge_once(pieces: list[str], pair: tuple[str, str], from_right: bool = False) -> list[str]:
    seq = pieces[::-1] if from_right else list(pieces)
    want = pair[::-1] if from_right else pair
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and (seq[i], seq[i + 1]) == want:
            out.append(seq[i + 1] + seq[i] if from_right else seq[i] + seq[i + 1])
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out[::-1] if from_right else out


def _apply_in_order(word: str, merges: Sequence[tuple[str, str]]) -> list[str]:
    pieces = list(word)
    for pair in merges:
        pieces = _merge_once(pieces, pair)
    return pieces


def _bpe_variant(word: str, ranks: dict[tuple[str, str], int], how: str) -> list[str]:
    """Typical wrong encoders, to recognise them."""
    pieces = list(word)
    while len(pieces) > 1:
        known = [(i, p) for i, p in enumerate(zip(pieces, pieces[1:])) if p in ranks]
        if not known:
            break
        if how == "highest":
            pair = max(known, key=lambda ip: ranks[ip[1]])[1]
        elif how == "leftmost":
            pair = known[0][1]
        elif how == "from_right":
            pair = min(known, key=lambda ip: ranks[ip[1]])[1]
            pieces = _merge_once(pieces, pair, from_right=True)
            continue
        else:  # "once": a single merge
            pair = min(known, key=lambda ip: ranks[ip[1]])[1]
            return _merge_once(pieces, pair)
        pieces = _merge_once(pieces, pair)
    return pieces


def _ranks() -> dict[tuple[str, str], int]:
    return {_MERGES[i]: i for i in _SCRAMBLE}


def exercise_1(bpe_encode: Callable) -> None:
    """BPE encoding of one word by merge rank: start from the characters and merge the adjacent
    pair with the lowest rank, again and again, until no adjacent pair is in ``ranks``.

    >>> exercise_1(_bpe_encode)
    ✅ Exercise 1: correct. there -> th|ere, other -> o|th|er, hour -> hour, aaaaa -> aa|aa|a.
    """
    ranks = _ranks()
    got_all: dict[str, list[str]] = {}
    for word in _BPE_WORDS:
        answer = call(bpe_encode, word, dict(ranks), name="bpe_encode",
                      hint=_("it receives one word (a string) and a dict {(left, right): rank}"))
        if isinstance(answer, str) or not isinstance(answer, (list, tuple)) or not all(
                isinstance(p, str) for p in answer):
            fail(_("bpe_encode({word}, ranks) returned {answer}; expected a list of strings such "
                   "as {example}.", word=repr(word), answer=repr(answer),
                   example=_bpe_encode(word, ranks)),
                 _("start with pieces = list(word) and return the list of pieces"))
        got_all[word] = list(answer)
    expected_all = {word: _bpe_encode(word, ranks) for word in _BPE_WORDS}
    wrong = [word for word in _BPE_WORDS if got_all[word] != expected_all[word]]
    if wrong:
        word = wrong[0]
        got, expected = got_all[word], expected_all[word]
        where = _("bpe_encode({word}, ranks) gave {got}; expected {expected}", word=repr(word),
                  got=got, expected=expected)

        def same_as(encoder: Callable[[str], list[str]]) -> bool:
            return all(got_all[w] == encoder(w) for w in _BPE_WORDS)

        if "".join(got) != word:
            fail(_("{where}: your pieces do not spell the word any more.", where=where),
                 _("a merge joins two neighbouring pieces into one: pieces[i] + pieces[i + 1]"))
        if same_as(lambda w: _apply_in_order(w, list(ranks))):
            fail(_("{where}: you applied the merges in the order of the dictionary. A dict's order "
                   "is the order its entries were inserted, not the rank order.", where=where),
                 _("use the rank VALUES: merge the pair with the smallest ranks[pair] first"))
        if same_as(lambda w: _bpe_variant(w, ranks, "highest")):
            fail(_("{where}: you merged the pair with the HIGHEST rank first. Rank 0 is the merge "
                   "learned first (the most frequent pair): it must be applied first.",
                   where=where),
                 _("min(..., key=lambda pair: ranks[pair])"))
        if same_as(lambda w: _bpe_variant(w, ranks, "leftmost")):
            fail(_("{where}: you merged the leftmost pair that is in the table, whatever its rank.",
                   where=where),
                 _("among ALL adjacent pairs, pick the one with the lowest rank"))
        if same_as(lambda w: _bpe_variant(w, ranks, "once")):
            fail(_("{where}: you stopped after one merge.", where=where),
                 _("repeat until no adjacent pair is in ranks (a while loop)"))
        if same_as(lambda w: _bpe_variant(w, ranks, "from_right")):
            fail(_("{where}: overlapping occurrences are merged from the right. In 'aaaaa' the "
                   "pair ('a', 'a') is merged left to right: aa|aa|a.", where=where),
                 _("scan i = 0, 1, ... and skip i + 1 after a merge"))
        fail(_("{where}.", where=where),
             _("pieces = list(word); repeat: find the adjacent pair with the lowest rank, "
               "merge all its occurrences left to right; stop when no pair is in ranks"))
    shown = ", ".join(f"{w} -> {'|'.join(got_all[w])}" for w in ("there", "other", "hour", "aaaaa"))
    passed(_("Exercise 1"), _("{examples}.", examples=shown))


# ----------------------------------------------------------------------------- exercise 2


def _kv_causal_mask(n_new: int, n_past: int) -> torch.Tensor:
    i = torch.arange(n_new)[:, None] + n_past  # absolute positions of the new queries
    j = torch.arange(n_past + n_new)[None, :]  # positions of all keys (cached + new)
    return j <= i


def exercise_2(kv_causal_mask: Callable) -> None:
    """The causal mask for ``n_new`` new queries against ``n_past`` cached keys plus the new ones:
    ``[n_new, n_past + n_new]``, True = may attend (bottom-right aligned).

    >>> exercise_2(_kv_causal_mask)
    ✅ Exercise 2: correct. The new tokens see the whole cache and the new tokens up to themselves; attention with the cache equals the full computation.
    """
    for n_new, n_past in ((3, 4), (1, 6), (4, 0), (2, 1)):
        where = f"(n_new={n_new}, n_past={n_past})"
        mask = call(kv_causal_mask, n_new, n_past, name="kv_causal_mask")
        arr = as_array(mask, _("your mask"))
        ref = _kv_causal_mask(n_new, n_past).numpy()
        if arr.shape == (n_new, n_past) and n_past:
            fail(_("the mask has shape {shape} {where}: it covers only the cached keys. The new "
                   "tokens' own keys are appended to the cache, so there are n_past + n_new keys.",
                   shape=arr.shape, where=where),
                 _("shape [n_new, n_past + n_new]"))
        if arr.shape == ref.T.shape and arr.shape != ref.shape:
            fail(_("the mask has shape {shape} {where}; expected {expected} = [queries, keys].",
                   shape=arr.shape, where=where, expected=ref.shape),
                 _("rows are the n_new queries, columns all n_past + n_new keys"))
        if arr.shape != ref.shape:
            fail(_("the mask has shape {shape} {where}; expected {expected} = "
                   "[n_new, n_past + n_new].", shape=arr.shape, where=where, expected=ref.shape),
                 _("rows = new queries, columns = cached + new keys"))
        finite = arr[np.isfinite(arr)]
        if np.any(np.isinf(arr)) or not np.all(np.isin(finite, (0.0, 1.0))):
            fail(_("the mask should be boolean (True = may attend), not an additive mask with -inf."),
                 _("return a comparison such as j <= i"))
        got = arr.astype(bool)
        if np.array_equal(got, ref):
            continue
        if np.array_equal(got, ~ref):
            fail(_("True and False are swapped {where}: True must mean 'may attend'.", where=where),
                 _("the convention of F.scaled_dot_product_attention: True = attend"))
        top_left = np.tril(np.ones(ref.shape, dtype=bool))
        if np.array_equal(got, top_left):
            fail(_("your mask is aligned to the top-left corner {where}: new query 0 sees only "
                   "key 0, but it sits at position n_past and must see the whole cache. (This is "
                   "what is_causal=True does when there are fewer queries than keys -- the "
                   "KV-cache trap.)", where=where),
                 _("query i is at absolute position n_past + i: allow keys j <= n_past + i"))
        if np.array_equal(got | (np.arange(ref.shape[1])[None, :] == np.arange(n_new)[:, None] + n_past),
                          ref) and not np.array_equal(got, ref):
            fail(_("the diagonal is masked {where}: a new token must attend to itself.",
                   where=where),
                 _("use j <= n_past + i, not <"))
        bad = np.argwhere(got != ref)[0]
        fail(_("the mask is wrong {where}, e.g. at new query {query}, key {key}: you have "
               "{got}, expected {expected}.", where=where, query=bad[0], key=bad[1],
               got=bool(got[tuple(bad)]), expected=bool(ref[tuple(bad)])),
             _("draw n_new=2, n_past=3 on paper: row 0 allows keys 0..3, row 1 keys 0..4"))
    # functional test: attention of the new queries over cache + new keys = the full computation
    g = torch.Generator().manual_seed(12)
    n_past, n_new = 5, 3
    q, k, v = (torch.randn(1, 2, n_past + n_new, 4, generator=g) for _ in range(3))
    full = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    mask = torch.as_tensor(kv_causal_mask(n_new, n_past)).bool()
    step = torch.nn.functional.scaled_dot_product_attention(q[:, :, n_past:], k, v, attn_mask=mask)
    compare(step, full[:, :, n_past:], _("attention of the new tokens with your mask"), atol=1e-5)
    passed(_("Exercise 2"), _("The new tokens see the whole cache and the new tokens up to "
                              "themselves; attention with the cache equals the full computation."))


# ----------------------------------------------------------------------------- exercise 3

_CE_FORBIDDEN = (
    "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
    "torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
    "torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax",
    "torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp",
)


def _ce_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(10, 7, generator=g) * 3
    logits[2] += 1000.0  # a row that overflows a naive exp()
    logits[5, 4] = 900.0  # a row dominated by one huge logit
    targets = torch.randint(0, 7, (10,), generator=g)
    targets[5] = 4
    return logits, targets


def _bits(logits: torch.Tensor, targets: torch.Tensor) -> float:
    lp = torch.log_softmax(logits.double(), dim=-1)
    return float(-lp[torch.arange(len(targets)), targets].mean() / math.log(2))


def _bits_per_token(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    z = logits - logits.max(dim=-1, keepdim=True).values
    log_probs = z - z.exp().sum(dim=-1, keepdim=True).log()
    return -log_probs[torch.arange(len(targets)), targets].mean() / math.log(2)


def exercise_3(bits_per_token: Callable) -> None:
    """Cross-entropy in bits per token from logits ``[N, V]`` and targets ``[N]``, by hand
    (numerically stable; ``F.cross_entropy``, softmax and log-softmax are switched off).

    >>> exercise_3(_bits_per_token)
    ✅ Exercise 3: correct. Your cross-entropy is 4.2081 bits per token; it survives logits of 1000.
    """
    logits, targets = _ce_inputs()
    small = slice(0, 2)  # rows without huge logits first: a clearer message for the formula
    expected_small = _bits(logits[small], targets[small])
    got = as_number(call(bits_per_token, logits[small].clone(), targets[small].clone(),
                         name="bits_per_token", forbidden=_CE_FORBIDDEN), "bits_per_token")
    if not math.isfinite(got):
        fail(_("bits_per_token returned {got} on ordinary logits.", got=got),
             _("check for log(0)"))
    if not math.isclose(got, expected_small, rel_tol=1e-4):
        if math.isclose(got, expected_small * math.log(2), rel_tol=1e-4):
            fail(_("that is the cross-entropy in nats (natural log); the exercise asks for bits."),
                 _("divide by ln 2 (math.log(2)), or use log2"))
        if math.isclose(got, expected_small * 2, rel_tol=1e-4):
            fail(_("your value is twice the expected one: you summed over the tokens instead of "
                   "averaging."), _("take the mean over the N tokens"))
        if math.isclose(got, expected_small * math.log10(2) / 1, rel_tol=1e-4) or math.isclose(
                got, expected_small * math.log(2) / math.log(10), rel_tol=1e-4):
            fail(_("that looks like log base 10; bits use log base 2."),
                 _("divide the natural log by ln 2"))
        if math.isclose(got, -expected_small, rel_tol=1e-4):
            fail(_("your value has the wrong sign: a cross-entropy is -log p, positive."),
                 _("mean of MINUS log2 p(target)"))
        fail(_("on two ordinary rows you get {got:.6g} bits; expected {expected:.6g}.",
               got=got, expected=expected_small),
             _("log p(target) = logit[target] - log(sum(exp(logits))); bits = -mean(log p) / ln 2"))
    expected = _bits(logits, targets)
    with np.errstate(all="ignore"):
        got = as_number(call(bits_per_token, logits.clone(), targets.clone(), name="bits_per_token",
                             forbidden=_CE_FORBIDDEN), "bits_per_token")
    if not math.isfinite(got):
        fail(_("with logits around 1000 your result is {got}: exp(1000) overflows to inf.",
               got=got),
             _("subtract each row's maximum before exp: log-sum-exp(x) = m + log(sum(exp(x - m)))"))
    if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
        fail(_("with large logits you get {got:.6g} bits; expected {expected:.6g}.",
               got=got, expected=expected),
             _("subtract each row's maximum before exp (the same m in log-sum-exp and in the "
               "logit)"))
    passed(_("Exercise 3"), _("Your cross-entropy is {bits:.4f} bits per token; it survives logits "
                              "of 1000.", bits=got))


# ----------------------------------------------------------------------------- exercise 4


def _min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    probs = torch.softmax(logits, dim=-1)
    keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(~keep, float("-inf"))


def _min_p_inputs() -> torch.Tensor:
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 12, generator=g) * 2
    logits[1] = logits[1] * 0.2  # a flat row: min-p keeps many tokens
    logits[2, 3] = 7.0  # a peaked row: min-p keeps one or two
    return logits


def exercise_4(min_p_filter: Callable) -> None:
    """Min-p filtering: keep the tokens whose probability is at least ``min_p`` times the most
    likely token's, set the other logits to ``-inf``; row by row for ``[batch, vocab]`` logits.

    >>> exercise_4(_min_p_filter)
    ✅ Exercise 4: correct. With min_p=0.1 a flat row keeps 12 tokens, a peaked one 1: the cut adapts to the model's confidence.
    """
    logits = _min_p_inputs()
    for min_p in (0.1, 0.3):
        ref = _min_p_filter(logits, min_p)
        out = call(min_p_filter, logits.clone(), min_p, name="min_p_filter")
        arr = as_array(out, _("filtered logits"))
        if arr.shape != tuple(ref.shape):
            fail(_("the result has shape {shape}; expected {expected} (the same shape as "
                   "the logits).", shape=arr.shape, expected=tuple(ref.shape)),
                 _("return the logits with the removed tokens set to -inf"))
        want = ref.double().numpy()
        if np.array_equal(arr, want):
            continue
        probs = torch.softmax(logits, dim=-1)
        if np.all(np.isfinite(arr)) and np.allclose(arr.sum(-1), 1.0, atol=1e-5):
            fail(_("you returned probabilities; the exercise asks for filtered LOGITS (the "
                   "sampler applies the softmax afterwards)."),
                 _("logits.masked_fill(~keep, float('-inf'))"))
        if np.all(np.isfinite(arr)) and np.allclose(arr[np.isfinite(want)], want[np.isfinite(want)]):
            fail(_("the removed tokens are not -inf (0 is an ordinary logit: exp(0) = 1 still "
                   "gives them probability)."), _("set them to float('-inf')"))
        overall = logits.masked_fill(probs < min_p * probs.max(), float("-inf")).double().numpy()
        if np.array_equal(arr, overall):
            fail(_("you took the maximum probability over the whole batch; each row (each "
                   "sequence) needs its own maximum."), _("probs.max(dim=-1, keepdim=True)"))
        absolute = logits.masked_fill(probs < min_p, float("-inf")).double().numpy()
        if np.array_equal(arr, absolute):
            fail(_("you kept the tokens with probability >= {min_p}: an absolute threshold. Min-p "
                   "scales it by the top token's probability, so a flat distribution keeps many "
                   "tokens and a peaked one few.", min_p=min_p),
                 _("keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values"))
        kept, kept_ref = np.isfinite(arr), np.isfinite(want)
        if np.array_equal(kept, kept_ref):
            fail(_("the right tokens are kept but their logits changed."),
                 _("keep the kept logits exactly as they were (no rescaling, no softmax)"))
        fail(_("with min_p={min_p} you keep {got} tokens per row; expected {expected}.",
               min_p=min_p, got=kept.sum(-1).tolist(), expected=kept_ref.sum(-1).tolist()),
             _("keep = probs >= min_p * (each row's largest probability)"))
    n_kept = np.isfinite(_min_p_filter(logits, 0.1).numpy()).sum(-1)
    passed(_("Exercise 4"), _("With min_p=0.1 a flat row keeps {flat} tokens, a peaked one "
                              "{peaked}: the cut adapts to the model's confidence.",
                              flat=n_kept[1], peaked=n_kept[2]))

