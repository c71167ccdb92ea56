"""The checks of notebook 03 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed, cnn

# ---------------------------------------------------------------- exercise 1: receptive_field


def receptive_field_reference(layers):
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size


def rf_own_stride(layers):
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size


def test_exercise_1_accepts_reference(capsys):
    cnn.exercise_1(receptive_field_reference)
    assert "22×22" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda layers: sum(k for k, _ in layers), "added the kernel sizes"),
    (lambda layers: 1 + sum(k - 1 for k, _ in layers), "the strides are missing"),
    (rf_own_stride, "own stride"),
    (lambda layers: int(np.prod([k for k, _ in layers])), "multiplied the kernel sizes"),
    (lambda layers: receptive_field_reference(layers) + 1, "expected"),
    (lambda layers: [receptive_field_reference(layers)] * 2, "one number"),
])
def test_exercise_1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_1(wrong)


# ---------------------------------------------------------------- exercise 2: conv2d


def conv2d_variant(x, weight, bias, stride, padding, flip=False, pad_one_side=False, use_stride=True):
    C_out, _, k, _ = weight.shape
    if flip:
        weight = weight.flip(-1, -2)
    x = F.pad(x, (0, 2 * padding, 0, 2 * padding) if pad_one_side else (padding,) * 4)
    s = stride if use_stride else 1
    H, W = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    out = torch.zeros(C_out, H, W, dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            patch = x[:, i * s:i * s + k, j * s:j * s + k]
            out[:, i, j] = (patch * weight).sum(dim=(1, 2, 3)) + bias
    return out


def conv2d_reference(x, weight, bias, stride, padding):
    return conv2d_variant(x, weight, bias, stride, padding)


def test_exercise_2_accepts_reference(capsys):
    cnn.exercise_2(conv2d_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_accepts_subsampling_a_stride_1_result(capsys):
    cnn.exercise_2(lambda x, w, b, s, p: conv2d_variant(x, w, b, 1, p)[:, ::s, ::s])
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda x, w, b, s, p: F.conv2d(x[None], w, b, stride=s, padding=p)[0], "calls torch.nn.functional.conv2d"),
    (lambda x, w, b, s, p: torch.conv2d(x[None], w, b, s, p)[0], "calls torch.conv2d"),
    (lambda x, w, b, s, p: torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], s, p).double()(x[None])[0],
     "calls torch.nn.functional.conv2d"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, b, s, p, flip=True), "flipped"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, torch.zeros_like(b), s, p), "bias is missing"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, b, s, p, use_stride=False), "stride is missing"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, b, s, 0), "padding is missing"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, b, s, p, pad_one_side=True), "all on one side"),
    (lambda x, w, b, s, p: conv2d_variant(x, w, b, s, p) * 2, "constant factor"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_2(wrong)


def test_exercise_2_conv2d_works_again_after_the_check():
    with pytest.raises(CheckFailed):
        cnn.exercise_2(lambda x, w, b, s, p: F.conv2d(x[None], w, b, stride=s, padding=p)[0])
    assert F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3)).item() == 9.0


# ---------------------------------------------------------------- exercise 3: max_pool2d


def pool_variant(x, size, reduce="max", stride=None, ceil=False):
    C, H, W = x.shape
    stride = stride or size
    rows = range(0, H - size + 1 if not ceil else H, stride)
    cols = range(0, W - size + 1 if not ceil else W, stride)
    out = torch.empty(C, len(rows), len(cols), dtype=x.dtype)
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            window = x[:, i:i + size, j:j + size]
            out[:, a, b] = window.amax(dim=(1, 2)) if reduce == "max" else window.mean(dim=(1, 2))
    return out


def max_pool2d_reference(x, size):
    return pool_variant(x, size)


def test_exercise_3_accepts_reference_and_reshape(capsys):
    cnn.exercise_3(max_pool2d_reference)

    def by_reshape(x, size):
        C, H, W = x.shape
        x = x[:, :H // size * size, :W // size * size]
        return x.reshape(C, H // size, size, W // size, size).amax(dim=(2, 4))

    cnn.exercise_3(by_reshape)
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda x, size: F.max_pool2d(x, size), "calls torch.nn.functional.max_pool2d"),
    (lambda x, size: torch.nn.MaxPool2d(size)(x), "calls torch.nn.functional.max_pool2d"),
    (lambda x, size: pool_variant(x, size, stride=1), "windows overlap"),
    (lambda x, size: pool_variant(x, size).amax(dim=0), "over the channels"),
    (lambda x, size: pool_variant(x, size).transpose(1, 2), "height and width are swapped"),
    (lambda x, size: -pool_variant(-x, size), "MINIMA"),
    (lambda x, size: pool_variant(x, size, reduce="mean"), "AVERAGES"),
    (lambda x, size: pool_variant(x, size, ceil=True), "leftover row or column"),
])
def test_exercise_3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_3(wrong)


# ---------------------------------------------------------------- exercise 4: batch_norm


def bn_variant(x, gamma, beta, running_mean, running_var, training, momentum, eps,
               norm_unbiased=False, running_unbiased=True, swap=False, batch_in_eval=False):
    if training or batch_in_eval:
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=norm_unbiased)
        if training:
            m = 1 - momentum if swap else momentum
            running_mean = (1 - m) * running_mean + m * mean
            running_var = (1 - m) * running_var + m * x.var(dim=(0, 2, 3), unbiased=running_unbiased)
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + eps)
    return gamma[:, None, None] * x_hat + beta[:, None, None], running_mean, running_var


def batch_norm_reference(*args):
    return bn_variant(*args)


def test_exercise_4_accepts_reference(capsys):
    cnn.exercise_4(batch_norm_reference)
    assert "train and eval mode" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda *a: bn_variant(*a, norm_unbiased=True), "normalises with the unbiased"),
    (lambda *a: bn_variant(*a, running_unbiased=False), "running_var with the biased"),
    (lambda *a: bn_variant(*a, swap=True), "the wrong way round"),
    (lambda *a: bn_variant(*a, batch_in_eval=True), "uses the batch statistics in eval mode"),
    (lambda x, g, b, m, v, training, mom, eps: F.batch_norm(x, m, v, g, b, training, mom, eps),
     "calls torch.nn.functional.batch_norm"),
    (lambda *a: bn_variant(*a)[0], "three tensors"),
    (lambda *a: (bn_variant(*a)[0], a[3] + 1, a[4]), "running"),
])
def test_exercise_4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_4(wrong)


def test_exercise_4_rejects_per_pixel_statistics():
    def per_pixel(x, gamma, beta, running_mean, running_var, training, momentum, eps):
        mean, var = x.mean(dim=0, keepdim=True), x.var(dim=0, unbiased=False, keepdim=True)
        out = (x - mean) / torch.sqrt(var + eps) * gamma[:, None, None] + beta[:, None, None]
        return out, running_mean, running_var

    with pytest.raises(CheckFailed, match="per pixel"):
        cnn.exercise_4(per_pixel)


# ---------------------------------------------------------------- all exercises

@pytest.mark.parametrize("check", [cnn.exercise_1, cnn.exercise_2, cnn.exercise_3, cnn.exercise_4])
def test_an_unfinished_exercise_says_so(check):
    def placeholder(*args):
        raise NotImplementedError("Exercise: write this function")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(placeholder)
