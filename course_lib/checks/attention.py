"""Checks for the exercises of notebook 06 (attention and the Transformer encoder).

Each ``exercise_N`` takes the learner's function, runs it on fixed inputs and compares it with a
reference; typical mistakes (missing sqrt(d_k), softmax over the wrong axis, a mask that hides the
diagonal or looks into the future, a padding mask in the wrong convention, a rotation that goes
the wrong way) get their own message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import as_array, call, compare, fail, passed

# ----------------------------------------------------------------------------- references


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _attention_np(Q: np.ndarray, K: np.ndarray, V: np.ndarray, scale: float | None = None,
                  axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    d_k = Q.shape[-1]
    scores = Q @ K.T / (np.sqrt(d_k) if scale is None else scale)
    weights = _softmax(scores, axis=axis)
    return weights @ V, weights


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


def exercise_1(attention_numpy: Callable) -> None:
    """Scaled dot-product attention in NumPy for one sequence: ``(output, weights)``.

    >>> exercise_1(lambda Q, K, V: _attention_np(Q, K, V))
    ✅ Exercise 1: correct. Each row of the weights sums to 1 and large scores do not overflow.
    """
    rng = np.random.default_rng(6)
    Q, K, V = rng.normal(size=(3, 8)), rng.normal(size=(5, 8)), rng.normal(size=(5, 4))
    result = call(attention_numpy, Q, K, V, name="attention_numpy")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail("attention_numpy should return two things: (output, weights).",
             "end with `return weights @ V, weights`")
    out, weights = as_array(result[0], "output"), as_array(result[1], "weights")
    ref_out, ref_w = _attention_np(Q, K, V)
    if weights.shape == ref_w.T.shape and weights.shape != ref_w.shape:
        fail(f"weights have shape {weights.shape}; expected {ref_w.shape} = [n_queries, n_keys].",
             "weights[i, j] says how much query i looks at key j: compute Q @ K.T, not K @ Q.T")
    if weights.shape != ref_w.shape:
        fail(f"weights have shape {weights.shape}; expected {ref_w.shape} = [n_queries, n_keys].",
             "scores = Q @ K.T has one row per query and one column per key")
    if np.all(np.isfinite(weights)):
        if np.allclose(weights, _attention_np(Q, K, V, axis=0)[1], atol=1e-6):
            fail("the softmax runs over the wrong axis: your weights sum to 1 down each column "
                 "(over the queries), not along each row.",
                 "every query distributes its attention over the keys: softmax with axis=-1 "
                 "(and keepdims=True for the max and the sum)")
        if np.allclose(weights, _attention_np(Q, K, V, scale=1.0)[1], atol=1e-6):
            fail("the scores are not scaled: you computed softmax(Q K^T) without dividing by sqrt(d_k).",
                 "divide the scores by np.sqrt(d_k), d_k = Q.shape[-1], before the softmax")
        if np.allclose(weights, _attention_np(Q, K, V, scale=8.0)[1], atol=1e-6):
            fail("the scores are divided by d_k instead of sqrt(d_k).",
                 "the dot product of two random d_k-vectors has variance d_k, so its standard "
                 "deviation is sqrt(d_k): divide by np.sqrt(d_k)")
        if not np.allclose(weights.sum(axis=-1), 1.0, atol=1e-6):
            fail("each row of the weights should sum to 1 (a probability distribution over the keys); "
                 f"your row sums are {np.round(weights.sum(axis=-1), 4).tolist()}.",
                 "softmax(x) = exp(x) / exp(x).sum(axis=-1, keepdims=True)")
    compare(weights, ref_w, "weights", atol=1e-6,
            hint="weights = softmax(Q @ K.T / sqrt(d_k)) along the last axis")
    compare(out, ref_out, "output", atol=1e-6, hint="output = weights @ V")
    # numerical stability: scores of size ~1000 overflow a naive exp()
    big = call(attention_numpy, Q * 1000.0, K, V, name="attention_numpy")
    big_w = as_array(big[1], "weights")
    if not np.all(np.isfinite(big_w)):
        fail("with large scores (Q multiplied by 1000) your weights contain NaN or inf: "
             "np.exp overflows.",
             "subtract each row's maximum before np.exp: softmax(x) = softmax(x - x.max(axis=-1, "
             "keepdims=True)), the result is the same but exp never sees a big number")
    compare(big_w, _attention_np(Q * 1000.0, K, V)[1], "weights for large scores", atol=1e-6)
    passed("Exercise 1", "Each row of the weights sums to 1 and large scores do not overflow.")


# ----------------------------------------------------------------------------- exercise 2


def _as_bool_mask(value: Any, n: int) -> np.ndarray:
    arr = as_array(value, "your mask")
    if arr.shape != (n, n):
        fail(f"the mask for n={n} has shape {arr.shape}; expected ({n}, {n}) = [queries, keys].",
             "build an n x n matrix: rows are query positions i, columns key positions j")
    finite = arr[np.isfinite(arr)]
    if np.any(np.isinf(arr)) or not np.all(np.isin(finite, (0.0, 1.0))):
        fail("the mask should be boolean (True = may attend), not an additive mask with -inf "
             "or other numbers.",
             "return a comparison such as (j <= i) & ..., which gives True/False")
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
            fail(f"True and False are swapped {where}: your mask is True where attention is "
                 "forbidden.",
                 "the convention here (and in F.scaled_dot_product_attention) is True = may attend")
        if np.array_equal(mask, ref.T):
            fail(f"the mask points the wrong way {where}: it lets a token look at FUTURE tokens "
                 "(upper triangle) instead of past ones.",
                 "row i is the query, column j the key: allow j <= i (the lower triangle)")
        if not mask.diagonal().any() and np.array_equal(mask | np.eye(n, dtype=bool), ref):
            fail(f"the diagonal is masked {where}: a token is not allowed to attend to itself.",
                 "use j <= i, not j < i: the current token is part of its own window")
        if np.array_equal(mask, _local_causal_mask(n, n)) and window < n:
            fail(f"this is the plain causal mask {where}: the window is ignored, so token i sees "
                 "all earlier tokens.",
                 "also require i - j < window")
        for off in (1, -1):
            if window + off >= 1 and np.array_equal(mask, _local_causal_mask(n, window + off)):
                fail(f"off by one {where}: each token sees {window + off} tokens instead of "
                     f"{window} (itself and the {window - 1} before it).",
                     "count the diagonal: keys j with i - window < j <= i, i.e. i - j < window")
        if np.any(mask & ~np.tril(np.ones((n, n), dtype=bool))):
            fail(f"your mask lets some tokens see the future {where} (True above the diagonal).",
                 "a causal mask never allows j > i")
        bad = np.argwhere(mask != ref)[0]
        fail(f"the mask is wrong {where}, e.g. at query {bad[0]}, key {bad[1]}: you have "
             f"{bool(mask[tuple(bad)])}, expected {bool(ref[tuple(bad)])}.",
             "draw the 7 x 3 case on paper: row i has True in columns i-2, i-1, i (those >= 0)")
    passed("Exercise 2", "Each token sees itself and the window-1 tokens before it, never the future.")


# ----------------------------------------------------------------------------- exercise 3


def _key_padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    return torch.arange(max_len)[None, :] >= lengths[:, None]


def exercise_3(key_padding_mask: Callable) -> None:
    """A ``key_padding_mask`` in ``nn.MultiheadAttention``'s convention (True = padding, ignore).

    >>> exercise_3(_key_padding_mask)
    ✅ Exercise 3: correct. With your mask nn.MultiheadAttention ignores the padding: changing the padded tokens changes no real token's output.
    """
    for lengths, max_len in ((torch.tensor([5, 3, 1, 6]), 6), (torch.tensor([2]), 4)):
        where = f"(lengths={lengths.tolist()}, max_len={max_len})"
        mask = call(key_padding_mask, lengths.clone(), max_len, name="key_padding_mask")
        if not isinstance(mask, torch.Tensor):
            fail(f"key_padding_mask returned a {type(mask).__name__}; nn.MultiheadAttention needs a "
                 "torch tensor.", "build it with torch operations, e.g. a comparison of torch.arange(...)")
        ref = _key_padding_mask(lengths, max_len)
        if tuple(mask.shape) == (max_len, len(lengths)) and mask.shape != ref.shape:
            fail(f"the mask has shape {tuple(mask.shape)} = [length, batch]; nn.MultiheadAttention wants "
                 f"[batch, length] = {tuple(ref.shape)}.", "one row per sequence in the batch")
        if mask.shape != ref.shape:
            fail(f"the mask has shape {tuple(mask.shape)} {where}; expected {tuple(ref.shape)} = "
                 "[batch, max_len].", "compare torch.arange(max_len)[None, :] with lengths[:, None]")
        if mask.dtype != torch.bool:
            fail(f"the mask has dtype {mask.dtype}; it must be torch.bool. nn.MultiheadAttention "
                 "ADDS a float mask to the scores (0/1 would barely change anything) instead of "
                 "blocking positions.", "return the comparison itself (a bool tensor), or .bool() it")
        if torch.equal(mask, ref):
            continue
        if torch.equal(mask, ~ref):
            fail(f"True and False are swapped {where}: this is the convention of "
                 "F.scaled_dot_product_attention (True = attend). nn.MultiheadAttention's "
                 "key_padding_mask uses the opposite: True = padding, ignore this key.",
                 "mark positions j >= length with True")
        for off in (1, -1):
            if torch.equal(mask, _key_padding_mask(lengths + off, max_len)):
                fail(f"off by one {where}: " + ("the first padding position is treated as a real "
                     "token." if off == 1 else "the last real token is masked as padding.")
                     + " Positions 0 .. length-1 are real.", "padding is j >= length (not > or >= length-1)")
        bad = torch.nonzero(mask != ref)[0].tolist()
        fail(f"the mask is wrong {where}, e.g. sequence {bad[0]}, position {bad[1]}: you have "
             f"{bool(mask[bad[0], bad[1]])}, expected {bool(ref[bad[0], bad[1]])}.",
             "True exactly at the padding positions j >= lengths[b]")
    # the functional test: with the mask, padding content must not change the real tokens' outputs
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    lengths = torch.tensor([5, 3, 1, 6])
    x = torch.randn(4, 6, 8)
    x2 = x.clone()
    x2[_key_padding_mask(lengths, 6)] = 100.0
    mask = key_padding_mask(lengths, 6)
    with torch.no_grad():
        a, _ = mha(x, x, x, key_padding_mask=mask)
        b, _ = mha(x2, x2, x2, key_padding_mask=mask)
    real = ~_key_padding_mask(lengths, 6)
    compare(b[real], a[real], "outputs of the real tokens after changing the padding", atol=1e-4)
    passed("Exercise 3", "With your mask nn.MultiheadAttention ignores the padding: changing the "
                         "padded tokens changes no real token's output.")


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
            fail(f"M_{k} has shape {m.shape}; expected ({d}, {d}).",
                 "PE rows have d_model numbers, so the matrix is d_model x d_model")
        if np.allclose(m, ref, atol=1e-8):
            continue
        if np.allclose(m, np.eye(d)):
            fail(f"M_{k} is the identity: it does not move anything.",
                 "each (sin, cos) pair rotates by the angle k * omega_i")
        if np.allclose(m, _pe_shift_matrix(k, d, transpose=True), atol=1e-8):
            fail(f"M_{k} rotates the wrong way: PE[p] @ M_{k} gives PE[p - {k}], not PE[p + {k}]. "
                 "Usually this means the pair was read as (cos, sin) or sin and cos were swapped "
                 "in the block.",
                 "each pair is (sin, cos) in that order and the rows are multiplied from the left: "
                 "[sin a, cos a] @ [[cos b, -sin b], [sin b, cos b]] = [sin(a+b), cos(a+b)]")
        if np.allclose(m, _pe_shift_matrix(k, d, pair_step=1), atol=1e-8):
            fail(f"M_{k} uses the wrong frequencies: pair i (dimensions 2i and 2i+1) has "
                 "omega_i = 1 / 10000**(2i / d_model), not 1 / 10000**(i / d_model).",
                 "loop over i in range(0, d_model, 2) and use i / d_model as the exponent")
        if np.allclose(pe[:-k] @ m, pe[k:], atol=1e-6):
            continue  # a different but valid matrix on these positions
        compare(pe[:-k] @ m, pe[k:], f"PE[p] @ M_{k}",
                hint="the block for pair i is [[cos(k w), -sin(k w)], [sin(k w), cos(k w)]]")
    passed("Exercise 4", "Moving k positions is a rotation of each (sin, cos) pair -- the same for every p.")
