"""Checks for the exercises of notebook 06 (attention and the Transformer encoder).

Each ``exercise_N`` takes the learner's function, runs it on fixed inputs and compares it with a
reference; typical mistakes (keys taken from the target in cross-attention, an unmasked or inverted
padding mask, a missing sqrt(d_head), a mask that hides the diagonal or looks into the future,
BatchNorm statistics instead of LayerNorm's, a rotation that goes the wrong way) get their own
message. The "by hand" exercises run with the library operation they replace switched off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.i18n import _

from . import as_array, call, compare, fail, passed

# ----------------------------------------------------------------------------- references


def _local_causal_mask(n: int, window: int) -> np.ndarray:
    i = np.arange(n)[:, None]  # query positions (rows)
    j = np.arange(n)[None, :]  # key positions (columns)
    return (j <= i) & (i - j < window)


def _positional_encoding(n: int, d_model: int, pair_step: int = 2) -> np.ndarray:
    pos = np.arange(n)[:, None]
    i = np.arange(0, d_model, 2)[None, :]  # 2i for each (sin, cos) pair
    freq = 1.0 / 10000 ** ((i * pair_step // 2) / d_model)
    pe = np.zeros((n, d_model))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq)
    return pe


def _pe_shift_matrix(k: int, d_model: int, pair_step: int = 2, transpose: bool = False) -> np.ndarray:
    m = np.zeros((d_model, d_model))
    for i in range(0, d_model, 2):
        theta = k / 10000 ** ((i * pair_step // 2) / d_model)
        c, s = np.cos(theta), np.sin(theta)
        block = np.array([[c, -s], [s, c]])  # [sin, cos] @ block = [sin(a+b), cos(a+b)]
        m[i:i + 2, i:i + 2] = block.T if transpose else block
    return m


# ----------------------------------------------------------------------------- exercise 1

_ATTENTION_LIBRARY = ("torch.nn.functional.scaled_dot_product_attention",
                      "torch.nn.functional.multi_head_attention_forward",
                      "torch.nn.MultiheadAttention.forward")


def _cross_reference(target: torch.Tensor, source: torch.Tensor, lengths: torch.Tensor,
                     mha: torch.nn.MultiheadAttention, *, kv_from: str = "source",
                     mask: str = "padding", scale: bool = True, out_proj: bool = True,
                     split: str = "heads") -> torch.Tensor:
    """Cross-attention with ``mha``'s weights, written out, with switches for the usual mistakes."""
    B, Lt, d = target.shape
    h = mha.num_heads
    dh = d // h
    W_q, W_k, W_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    kv = source if kv_from == "source" else target
    Lk = kv.shape[1]

    def heads(x: torch.Tensor) -> torch.Tensor:
        if split == "heads":
            return x.view(B, x.shape[1], h, dh).transpose(1, 2)
        return x.reshape(B, h, x.shape[1], dh)  # the classic bug: view without transpose

    q = heads(target @ W_q.T + b_q)
    k = heads(kv @ W_k.T + b_k)
    v = heads(kv @ W_v.T + b_v)
    scores = q @ k.transpose(-2, -1) / (math.sqrt(dh) if scale else 1.0)   # [B, h, Lt, Lk]
    if mask != "none":
        real = torch.arange(Lk)[None, :] < lengths[:, None]                   # [B, Lk]
        allowed = real if mask == "padding" else ~real
        scores = scores.masked_fill(~allowed[:, None, None, :], float("-inf"))
    weights = torch.exp(scores - scores.amax(-1, keepdim=True))
    weights = weights / weights.sum(-1, keepdim=True)
    out = (weights @ v).transpose(1, 2).reshape(B, Lt, d)
    return out @ mha.out_proj.weight.T + mha.out_proj.bias if out_proj else out


def _cross_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.nn.MultiheadAttention]:
    torch.manual_seed(4)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        mha.out_proj.bias.normal_()
        mha.in_proj_bias.normal_()
    target = torch.randn(2, 3, 8)                   # 2 sentences being written, 3 tokens each
    source = torch.randn(2, 5, 8)                   # 2 source sentences, padded to 5 tokens
    lengths = torch.tensor([5, 2])                  # the second source has 2 real tokens
    source[1, 2:] = 100.0                           # its padding holds garbage: make it loud
    return target, source, lengths, mha


def exercise_1(cross_attention: Callable) -> None:
    """Cross-attention by hand with an ``nn.MultiheadAttention``'s weights: queries from the
    target, keys and values from the source, padded source tokens ignored. ``[B, Lt, d]``.

    >>> exercise_1(_cross_reference)
    ✅ Exercise 1: correct. Your cross-attention equals nn.MultiheadAttention(target, source, source, key_padding_mask=...) to 1e-5; the weights are 3 x 5 per head: one row per target token, one column per source token.
    """
    target, source, lengths, mha = _cross_inputs()
    with torch.no_grad():
        expected, _weights = mha(target, source, source, need_weights=False,
                          key_padding_mask=torch.arange(5)[None, :] >= lengths[:, None])
        answer = call(cross_attention, target.clone(), source.clone(), lengths.clone(), mha,
                      name="cross_attention",
                      hint=_("target [B, Lt, d], source [B, Ls, d], source_lengths [B], mha; "
                             "print the shapes of q, k, v and the scores"),
                      forbidden=_ATTENTION_LIBRARY)
    got = as_array(answer, "cross_attention(...)")
    exp = expected.numpy()
    if got.shape == (2, 5, 8):
        fail(_("the result has one row per SOURCE token, shape (2, 5, 8); cross-attention gives one "
               "output per TARGET token, (2, 3, 8): the queries come from the target."),
             _("q = target @ W_q.T + b_q; k and v from the source"))
    if got.shape != exp.shape:
        fail(_("the result has shape {shape}; expected {expected} = [batch, target length, d_model].",
               shape=got.shape, expected=exp.shape),
             _("split into heads [B, h, L, d_head], attend, merge back to [B, Lt, d_model], then out_proj"))
    if np.any(np.isnan(got)):
        fail(_("the result contains NaN: some query has every key blocked, so its softmax is 0/0. "
               "Is the mask inverted (True = padding where your code expects True = may attend)?"),
             _("allow key j of sequence b when j < source_lengths[b]"))
    with torch.no_grad():
        mistakes = {
            _("the keys and values come from the target: that is self-attention. In cross-attention "
              "the target asks (queries) and the source answers (keys and values)"):
                dict(kv_from="target"),
            _("the padded source tokens are not masked: the second source has 2 real tokens and 3 "
              "padding positions full of garbage, and your output depends on them"): dict(mask="none"),
            _("the mask is inverted: the queries attend only to the padding"):
                dict(mask="inverted"),
            _("the scores are not divided by sqrt(d_head)"): dict(scale=False),
            _("the output projection mha.out_proj is missing"): dict(out_proj=False),
            _("the heads are split with a plain reshape to [B, h, L, d_head]; that mixes tokens "
              "across heads"): dict(split="reshape"),
        }
        for message, switches in mistakes.items():
            wrong = _cross_reference(target, source, lengths, mha, **switches).numpy()
            if np.allclose(got, wrong, atol=1e-4) and not np.allclose(got, exp, atol=1e-4):
                fail(_("{mistake}.", mistake=message),
                     _("per head: softmax((target W_q)(source W_k)^T / sqrt(d_head) with padded "
                       "keys at -inf) (source W_v); concatenate the heads; apply out_proj"))
    compare(got, exp, "cross_attention(...)", atol=1e-5,
            hint=_("W_q, W_k, W_v = mha.in_proj_weight.chunk(3) (and the same for in_proj_bias); "
                   "d_head = d_model / mha.num_heads; split heads with view(B, L, h, d_head)."
                   "transpose(1, 2)"))
    passed(_("Exercise 1"), _("Your cross-attention equals nn.MultiheadAttention(target, source, source, "
                              "key_padding_mask=...) to 1e-5; the weights are 3 x 5 per head: one row per "
                              "target token, one column per source token."))


# ----------------------------------------------------------------------------- exercise 2


def _as_bool_mask(value: Any, n: int) -> np.ndarray:
    arr = as_array(value, _("your mask"))
    if arr.shape != (n, n):
        fail(_("the mask for n={n} has shape {shape}; expected ({n}, {n}) = [queries, keys].",
               n=n, shape=arr.shape),
             _("build an n x n matrix: rows are query positions i, columns key positions j"))
    finite = arr[np.isfinite(arr)]
    if np.any(np.isinf(arr)) or not np.all(np.isin(finite, (0.0, 1.0))):
        fail(_("the mask should be boolean (True = may attend), not an additive mask with -inf "
               "or other numbers."),
             _("return a comparison such as (j <= i) & ..., which gives True/False"))
    return arr.astype(bool)


def exercise_2(local_causal_mask: Callable) -> None:
    """A causal sliding-window mask: query ``i`` may attend to keys ``i-window+1 .. i``.

    >>> exercise_2(_local_causal_mask)
    ✅ Exercise 2: correct. Each token sees itself and the window-1 tokens before it, never the future.
    """
    for n, window in ((7, 3), (5, 1), (4, 10)):
        mask = _as_bool_mask(call(local_causal_mask, n, window, name="local_causal_mask"), n)
        ref = _local_causal_mask(n, window)
        if np.array_equal(mask, ref):
            continue
        where = f"(n={n}, window={window})"
        if np.array_equal(mask, ~ref):
            fail(_("True and False are swapped {where}: your mask is True where attention is "
                   "forbidden.", where=where),
                 _("the convention here (and in F.scaled_dot_product_attention) is True = may attend"))
        if np.array_equal(mask, ref.T):
            fail(_("the mask points the wrong way {where}: it lets a token look at FUTURE tokens "
                   "(upper triangle) instead of past ones.", where=where),
                 _("row i is the query, column j the key: allow j <= i (the lower triangle)"))
        if not mask.diagonal().any() and np.array_equal(mask | np.eye(n, dtype=bool), ref):
            fail(_("the diagonal is masked {where}: a token is not allowed to attend to itself.", where=where),
                 _("use j <= i, not j < i: the current token is part of its own window"))
        if np.array_equal(mask, _local_causal_mask(n, n)) and window < n:
            fail(_("this is the plain causal mask {where}: the window is ignored, so token i sees "
                   "all earlier tokens.", where=where),
                 _("also require i - j < window"))
        for off in (1, -1):
            if window + off >= 1 and np.array_equal(mask, _local_causal_mask(n, window + off)):
                fail(_("off by one {where}: each token sees {seen} tokens instead of "
                       "{window} (itself and the {before} before it).",
                       where=where, seen=window + off, window=window, before=window - 1),
                     _("count the diagonal: keys j with i - window < j <= i, i.e. i - j < window"))
        if np.any(mask & ~np.tril(np.ones((n, n), dtype=bool))):
            fail(_("your mask lets some tokens see the future {where} (True above the diagonal).", where=where),
                 _("a causal mask never allows j > i"))
        bad = np.argwhere(mask != ref)[0]
        fail(_("the mask is wrong {where}, e.g. at query {query}, key {key}: you have "
               "{got}, expected {expected}.", where=where, query=bad[0], key=bad[1],
               got=bool(mask[tuple(bad)]), expected=bool(ref[tuple(bad)])),
             _("draw the 7 x 3 case on paper: row i has True in columns i-2, i-1, i (those >= 0)"))
    passed(_("Exercise 2"), _("Each token sees itself and the window-1 tokens before it, never the future."))


# ----------------------------------------------------------------------------- exercise 3

_LAYER_NORM_LIBRARY = ("torch.nn.functional.layer_norm", "torch.layer_norm",
                       "torch.nn.LayerNorm.forward")


def _layer_norm_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                          eps: float = 1e-5, dims: tuple[int, ...] = (-1,), unbiased: bool = False,
                          eps_outside: bool = False, affine: bool = True) -> torch.Tensor:
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
    y = (x - mean) / (var.sqrt() + eps if eps_outside else torch.sqrt(var + eps))
    return y * weight + bias if affine else y


def _layer_norm_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(9)
    x = 3.0 + 2.0 * torch.randn(2, 4, 6, generator=g)      # [batch, tokens, d_model]
    x[0, 1] = 0.7 + 1e-3 * torch.randn(6, generator=g)      # a token with tiny variance: eps matters
    x[1, 3] = 4.2                                           # a constant token: variance 0
    weight = 1.0 + 0.5 * torch.randn(6, generator=g)
    bias = 0.3 * torch.randn(6, generator=g)
    return x.double(), weight.double(), bias.double()   # float64: the tiny variance stays exact


def exercise_3(layer_norm: Callable) -> None:
    """LayerNorm by hand: normalise each token over its features (biased variance, eps inside
    the square root), then scale and shift. ``layer_norm(x, weight, bias, eps)``.

    >>> exercise_3(_layer_norm_reference)
    ✅ Exercise 3: correct. Each token is normalised over its own 6 features, so its result does not depend on the other tokens in the batch (unlike BatchNorm).
    """
    x, weight, bias = _layer_norm_inputs()
    eps = 1e-5
    expected = torch.nn.functional.layer_norm(x, (6,), weight, bias, eps)
    answer = call(layer_norm, x.clone(), weight.clone(), bias.clone(), eps, name="layer_norm",
                  hint=_("x is [batch, tokens, d_model]; weight and bias are [d_model]"),
                  forbidden=_LAYER_NORM_LIBRARY)
    got = as_array(answer, "layer_norm(x, weight, bias, eps)")
    if got.shape != tuple(x.shape):
        fail(_("the result has shape {shape}; expected {expected}, the shape of x.",
               shape=got.shape, expected=tuple(x.shape)),
             _("keep the reduced dimension: mean(dim=-1, keepdim=True)"))
    if np.any(~np.isfinite(got)):
        fail(_("the result contains NaN or inf: token 4 of sentence 2 is constant (variance 0), and "
               "0 / sqrt(0) is NaN."), _("add eps inside the square root: sqrt(var + eps)"))
    mistakes = {
        _("the statistics are taken over the batch and the tokens for each feature: that is "
          "BatchNorm. LayerNorm normalises each token over its own features"): dict(dims=(0, 1)),
        _("the statistics are taken over the tokens of each sentence, not over each token's "
          "features"): dict(dims=(1,)),
        _("the variance is the unbiased one (divided by d - 1); LayerNorm divides by d"):
            dict(unbiased=True),
        _("eps is added to the standard deviation; LayerNorm adds it to the variance, inside the "
          "square root (token 2 of sentence 1 has a tiny variance, and there it matters)"):
            dict(eps_outside=True),
        _("the learned scale and shift (weight and bias) are missing"): dict(affine=False),
    }
    for message, switches in mistakes.items():
        wrong = _layer_norm_reference(x, weight, bias, eps, **switches).numpy()
        if np.allclose(got, wrong, atol=1e-4) and not np.allclose(got, expected.numpy(), atol=1e-4):
            fail(_("{mistake}.", mistake=message),
                 _("y = (x - mean) / sqrt(var + eps) * weight + bias, with mean and "
                   "the biased var over the last dimension (keepdim=True)"))
    compare(got, expected.numpy(), "layer_norm(x, weight, bias, eps)", atol=1e-5,
            hint=_("y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension"))
    passed(_("Exercise 3"), _("Each token is normalised over its own 6 features, so its result does not "
                              "depend on the other tokens in the batch (unlike BatchNorm)."))


# ----------------------------------------------------------------------------- exercise 4


def exercise_4(pe_shift_matrix: Callable) -> None:
    """The matrix ``M_k`` with ``PE[p + k] = PE[p] @ M_k`` for the sinusoidal encoding.

    >>> exercise_4(_pe_shift_matrix)
    ✅ Exercise 4: correct. Moving k positions is a rotation of each (sin, cos) pair -- the same for every p.
    """
    d = 16
    pe = _positional_encoding(40, d)
    for k in (1, 5):
        m = as_array(call(pe_shift_matrix, k, d, name="pe_shift_matrix"), f"M_{k}")
        ref = _pe_shift_matrix(k, d)
        if m.shape != ref.shape:
            fail(_("M_{k} has shape {shape}; expected ({d}, {d}).", k=k, shape=m.shape, d=d),
                 _("PE rows have d_model numbers, so the matrix is d_model x d_model"))
        if np.allclose(m, ref, atol=1e-8):
            continue
        if np.allclose(m, np.eye(d)):
            fail(_("M_{k} is the identity: it does not move anything.", k=k),
                 _("each (sin, cos) pair rotates by the angle k * omega_i"))
        if np.allclose(m, _pe_shift_matrix(k, d, transpose=True), atol=1e-8):
            fail(_("M_{k} rotates the wrong way: PE[p] @ M_{k} gives PE[p - {k}], not PE[p + {k}]. "
                   "Usually this means the pair was read as (cos, sin) or sin and cos were swapped "
                   "in the block.", k=k),
                 _("each pair is (sin, cos) in that order and the rows are multiplied from the left: "
                   "[sin a, cos a] @ [[cos b, -sin b], [sin b, cos b]] = [sin(a+b), cos(a+b)]"))
        if np.allclose(m, _pe_shift_matrix(k, d, pair_step=1), atol=1e-8):
            fail(_("M_{k} uses the wrong frequencies: pair i (dimensions 2i and 2i+1) has "
                   "omega_i = 1 / 10000**(2i / d_model), not 1 / 10000**(i / d_model).", k=k),
                 _("loop over i in range(0, d_model, 2) and use i / d_model as the exponent"))
        if np.allclose(pe[:-k] @ m, pe[k:], atol=1e-6):
            continue  # a different but valid matrix on these positions
        compare(pe[:-k] @ m, pe[k:], f"PE[p] @ M_{k}",
                hint=_("the block for pair i is [[cos(k w), -sin(k w)], [sin(k w), cos(k w)]]"))
    passed(_("Exercise 4"), _("Moving k positions is a rotation of each (sin, cos) pair -- the same for every p."))
