"""Every check of notebook 06 accepts the reference answer and rejects typical wrong answers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed
from course_lib.checks import attention as checks

_SDPA = F.scaled_dot_product_attention

# ----------------------------------------------------------------------------- exercise 1


def cross_attention(target, source, source_lengths, mha):  # the reference solution, as a student would write it
    B, Lt, d = target.shape
    h = mha.num_heads
    W_q, W_k, W_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)

    def split(x):
        return x.view(B, x.shape[1], h, d // h).transpose(1, 2)

    q, k, v = split(target @ W_q.T + b_q), split(source @ W_k.T + b_k), split(source @ W_v.T + b_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
    real = torch.arange(source.shape[1])[None, :] < source_lengths[:, None]
    scores = scores.masked_fill(~real[:, None, None, :], float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(B, Lt, d)
    return mha.out_proj(out)


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(cross_attention)
    checks.exercise_1(checks._cross_reference)
    assert capsys.readouterr().out.count("correct") == 2


def _library(target, source, source_lengths, mha):
    mask = torch.arange(source.shape[1])[None, :] >= source_lengths[:, None]
    return mha(target, source, source, key_padding_mask=mask)[0]


def _sdpa(target, source, source_lengths, mha):
    B, Lt, d = target.shape
    h = mha.num_heads
    W_q, W_k, W_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)

    def split(x):
        return x.view(B, x.shape[1], h, d // h).transpose(1, 2)

    real = torch.arange(source.shape[1])[None, :] < source_lengths[:, None]
    out = F.scaled_dot_product_attention(split(target @ W_q.T + b_q), split(source @ W_k.T + b_k),
                                         split(source @ W_v.T + b_v), attn_mask=real[:, None, None, :])
    return mha.out_proj(out.transpose(1, 2).reshape(B, Lt, d))


@pytest.mark.parametrize("wrong, message", [
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, kv_from="target"), "self-attention"),
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, mask="none"), "not masked"),
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, mask="inverted"), "NaN"),
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, scale=False), "sqrt"),
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, out_proj=False), "out_proj"),
    (lambda t, s, n, m: checks._cross_reference(t, s, n, m, split="reshape"), "plain reshape"),
    (lambda t, s, n, m: checks._cross_reference(s, t, n, m), "one row per SOURCE token"),
    (_library, "calls torch.nn.MultiheadAttention.forward"),
    (_sdpa, "calls torch.nn.functional.scaled_dot_product_attention"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)
    assert F.scaled_dot_product_attention is _SDPA       # the library is switched back on


def test_ex1_passes_the_placeholder_through():
    def unfinished(target, source, source_lengths, mha):
        raise NotImplementedError("Exercise: write the body")

    with pytest.raises(NotImplementedError, match="Exercise"):
        checks.exercise_1(unfinished)


def test_ex1_reports_a_crash_and_a_missing_return():
    with pytest.raises(CheckFailed, match="raised IndexError.*an array of shape"):
        checks.exercise_1(lambda t, s, n, m: t[99])
    with pytest.raises(CheckFailed, match="returned None"):
        checks.exercise_1(lambda t, s, n, m: None)


# ----------------------------------------------------------------------------- exercise 2


def local_causal_mask(n, window):
    i = torch.arange(n).unsqueeze(1)
    j = torch.arange(n).unsqueeze(0)
    return (j <= i) & (i - j < window)


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(local_causal_mask)
    assert "correct" in capsys.readouterr().out


def test_ex2_accepts_numpy_and_int_masks(capsys):
    checks.exercise_2(lambda n, w: local_causal_mask(n, w).numpy().astype(int))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda n, w: (torch.arange(n)[None] < torch.arange(n)[:, None])
     & (torch.arange(n)[:, None] - torch.arange(n)[None] < w), "diagonal is masked"),
    (lambda n, w: local_causal_mask(n, w).T, "wrong way"),
    (lambda n, w: local_causal_mask(n, w + 1), "off by one"),
    (lambda n, w: local_causal_mask(n, max(w - 1, 1)) if w > 1 else local_causal_mask(n, w), "off by one"),
    (lambda n, w: local_causal_mask(n, n), "window is ignored"),
    (lambda n, w: ~local_causal_mask(n, w), "swapped"),
    (lambda n, w: torch.zeros(n, n).masked_fill(~local_causal_mask(n, w), float("-inf")), "additive"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


# ----------------------------------------------------------------------------- exercise 3


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(layer_norm)
    assert "correct" in capsys.readouterr().out


def _ref(**switches):
    return lambda x, w, b, eps: checks._layer_norm_reference(x, w, b, eps, **switches)


@pytest.mark.parametrize("wrong, message", [
    (_ref(dims=(0, 1)), "BatchNorm"),
    (_ref(dims=(1,)), "over the tokens"),
    (_ref(unbiased=True), "unbiased"),
    (_ref(eps_outside=True), "inside the"),
    (_ref(affine=False), "scale and shift"),
    (lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / x.std(-1, unbiased=False, keepdim=True) * w + b, "NaN"),
    (lambda x, w, b, eps: layer_norm(x, w, b, eps).mean(-1), "shape"),
    (lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps), "calls torch.nn.functional.layer_norm"),
    (lambda x, w, b, eps: torch.nn.LayerNorm(x.shape[-1], eps=eps, dtype=x.dtype)(x) * w + b, "LayerNorm.forward"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)


# ----------------------------------------------------------------------------- exercise 4


def pe_shift_matrix(k, d_model):
    M = np.zeros((d_model, d_model))
    for i in range(0, d_model, 2):
        angle = k / 10000 ** (i / d_model)
        M[i:i + 2, i:i + 2] = [[np.cos(angle), -np.sin(angle)],
                               [np.sin(angle), np.cos(angle)]]
    return M


def test_ex4_accepts_reference(capsys):
    checks.exercise_4(pe_shift_matrix)
    assert "correct" in capsys.readouterr().out


def _swapped(k, d_model):  # reads each pair as (cos, sin): the transposed block
    return pe_shift_matrix(k, d_model).T


def _wrong_frequency(k, d_model):
    M = np.zeros((d_model, d_model))
    for i in range(0, d_model, 2):
        angle = k / 10000 ** ((i // 2) / d_model)
        M[i:i + 2, i:i + 2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    return M


def test_ex4_rejects_sin_cos_swapped():
    with pytest.raises(CheckFailed, match="wrong way"):
        checks.exercise_4(_swapped)


@pytest.mark.parametrize("wrong, message", [
    (_wrong_frequency, "wrong frequencies"),
    (lambda k, d: np.eye(d), "identity"),
    (lambda k, d: pe_shift_matrix(k, d)[:-2, :-2], "shape"),
    (lambda k, d: pe_shift_matrix(1, d), "differs"),
])
def test_ex4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_4(wrong)
