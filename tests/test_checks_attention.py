"""Every check of notebook 06 accepts the reference answer and rejects typical wrong answers."""

import numpy as np
import pytest
import torch

from course_lib.checks import CheckFailed
from course_lib.checks import attention as checks

# ----------------------------------------------------------------------------- exercise 1


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention_numpy(Q, K, V):  # the reference solution, as a student would write it
    d_k = Q.shape[-1]
    weights = _softmax(Q @ K.T / np.sqrt(d_k), axis=-1)
    return weights @ V, weights


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(attention_numpy)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda Q, K, V: ((w := _softmax(Q @ K.T)) @ V, w), "without dividing by sqrt"),
    (lambda Q, K, V: ((w := _softmax(Q @ K.T / Q.shape[-1])) @ V, w), "instead of sqrt"),
    (lambda Q, K, V: ((w := _softmax(Q @ K.T / np.sqrt(Q.shape[-1]), axis=0)) @ V, w), "wrong axis"),
    (lambda Q, K, V: ((w := np.exp(Q @ K.T / np.sqrt(8)) / np.exp(Q @ K.T / np.sqrt(8)).sum(-1, keepdims=True)) @ V, w),
     "overflows"),
    (lambda Q, K, V: ((w := _softmax(K @ Q.T / np.sqrt(8))) @ Q, w), "Q @ K.T"),
    (lambda Q, K, V: _softmax(Q @ K.T / np.sqrt(8)) @ V, "two things"),
    (lambda Q, K, V: ((w := np.exp(Q @ K.T / np.sqrt(8)) / np.exp(Q @ K.T / np.sqrt(8)).sum()) @ V, w),
     "sum to 1"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the naive softmax overflows on purpose
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


def test_ex1_passes_the_placeholder_through():
    def unfinished(Q, K, V):
        raise NotImplementedError("Exercise: write the body")

    with pytest.raises(NotImplementedError, match="Exercise"):
        checks.exercise_1(unfinished)


def test_ex1_reports_a_crash_and_a_missing_return():
    with pytest.raises(CheckFailed, match="raised IndexError.*an array of shape"):
        checks.exercise_1(lambda Q, K, V: Q[99])
    with pytest.raises(CheckFailed, match="returned None"):
        checks.exercise_1(lambda Q, K, V: None)


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


def key_padding_mask(lengths, max_len):
    positions = torch.arange(max_len).unsqueeze(0)  # [1, max_len]
    return positions >= lengths.unsqueeze(1)  # True = padding


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(key_padding_mask)
    assert "correct" in capsys.readouterr().out


def test_ex3_rejects_the_sdpa_convention():
    # True = attend is right for F.scaled_dot_product_attention, wrong for nn.MultiheadAttention
    with pytest.raises(CheckFailed, match="opposite"):
        checks.exercise_3(lambda lengths, n: torch.arange(n)[None] < lengths[:, None])


@pytest.mark.parametrize("wrong, message", [
    (lambda lengths, n: key_padding_mask(lengths, n).float(), "dtype"),
    (lambda lengths, n: key_padding_mask(lengths, n).T, r"\[length, batch\]"),
    (lambda lengths, n: torch.arange(n)[None] > lengths[:, None], "first padding position"),
    (lambda lengths, n: torch.arange(n)[None] >= lengths[:, None] - 1, "last real token"),
    (lambda lengths, n: key_padding_mask(lengths, n).numpy(), "torch tensor"),
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
