"""The checks of notebook 03 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed, cnn

# ---------------------------------------------------------------- exercise 1: conv_output_size


def conv_output_size_reference(n, kernel_size, padding, stride):
    return (n + 2 * padding - kernel_size) // stride + 1


def test_exercise_1_accepts_reference(capsys):
    cnn.exercise_1(conv_output_size_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_accepts_floor_of_a_float():
    cnn.exercise_1(lambda n, k, p, s: math.floor((n + 2 * p - k) / s) + 1)


@pytest.mark.parametrize("wrong, message", [
    (lambda n, k, p, s: (n - k) // s + 1, "padding is missing"),
    (lambda n, k, p, s: (n + p - k) // s + 1, "padding is counted once"),
    (lambda n, k, p, s: n + 2 * p - k + 1, "stride is missing"),
    (lambda n, k, p, s: (n + 2 * p - k) // s, r"\+1 is missing"),
    (lambda n, k, p, s: (n + 2 * p - k + 1) // s, r"\+1 is inside"),
    (lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1, "rounded up"),
    (lambda n, k, p, s: (n + 2 * p - k) / s + 1, "not a whole number"),
    (lambda n, k, p, s: n - k + 1, "expected"),
    (lambda n, k, p, s: None, "returned None"),
])
def test_exercise_1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_1(wrong)


# ---------------------------------------------------------------- exercise 2: conv2d


def conv2d_reference(x, weight, bias):
    c_out, c_in, k, _ = weight.shape
    _, h, w = x.shape
    out = torch.zeros(c_out, h - k + 1, w - k + 1, dtype=x.dtype)
    for o in range(c_out):
        for i in range(h - k + 1):
            for j in range(w - k + 1):
                out[o, i, j] = (x[:, i:i + k, j:j + k] * weight[o]).sum() + bias[o]
    return out


def conv2d_flipped(x, weight, bias):
    return conv2d_reference(x, weight.flip(-1, -2), bias)


def conv2d_no_channel_sum(x, weight, bias):
    c_out, c_in, k, _ = weight.shape
    _, h, w = x.shape
    out = torch.zeros(c_out, c_in, h - k + 1, w - k + 1, dtype=x.dtype)
    for o in range(c_out):
        for i in range(h - k + 1):
            for j in range(w - k + 1):
                out[o, :, i, j] = (x[:, i:i + k, j:j + k] * weight[o]).sum(dim=(1, 2)) + bias[o]
    return out


def test_exercise_2_accepts_reference(capsys):
    cnn.exercise_2(conv2d_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (conv2d_flipped, "kernel is flipped"),
    (conv2d_no_channel_sum, "did not sum over the input channels"),
    (lambda x, w, b: conv2d_reference(x, w, b).transpose(1, 2), "height and width are swapped"),
    (lambda x, w, b: conv2d_reference(x, w, torch.zeros_like(b)), "bias is missing"),
    (lambda x, w, b: conv2d_reference(x, w, torch.zeros_like(b)) + b.sum(), "sum of all biases"),
    (lambda x, w, b: F.conv2d(x[None], w, b, padding=1)[0], "shape"),
    (lambda x, w, b: conv2d_reference(x, w, b) / w[0].numel(), "constant factor|differs"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_2(wrong)


# ---------------------------------------------------------------- exercise 3: conv_parameter_count


def conv_parameter_count_reference(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size * kernel_size + (out_channels if bias else 0)


def test_exercise_3_accepts_reference(capsys):
    cnn.exercise_3(conv_parameter_count_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda i, o, k, bias=True: o * i * k * k, "biases are missing"),
    (lambda i, o, k, bias=True: o * i * k * k + o, "no biases"),
    (lambda i, o, k, bias=True: o * k * k + (o if bias else 0), "input channels are missing"),
    (lambda i, o, k, bias=True: o * i * k + (o if bias else 0), "k \\* k weights"),
    (lambda i, o, k, bias=True: o * i * k * k + (i if bias else 0), "one bias per OUTPUT"),
    (lambda i, o, k, bias=True: (o * i * k * k + (o if bias else 0), 0), "one number"),
])
def test_exercise_3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_3(wrong)


# ---------------------------------------------------------------- exercise 4: max_pool2d


def max_pool2d_reference(x, size):
    c, h, w = x.shape
    out = torch.empty(c, h // size, w // size, dtype=x.dtype)
    for i in range(h // size):
        for j in range(w // size):
            out[:, i, j] = x[:, i * size:(i + 1) * size, j * size:(j + 1) * size].amax(dim=(1, 2))
    return out


def test_exercise_4_accepts_reference(capsys):
    cnn.exercise_4(max_pool2d_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda x, size: F.avg_pool2d(x, size), "AVERAGES"),
    (lambda x, size: F.max_pool2d(x, size, stride=1), "windows overlap"),
    (lambda x, size: F.max_pool2d(x, size).amax(dim=0), "over the channels"),
    (lambda x, size: F.max_pool2d(x, size).transpose(1, 2), "height and width are swapped"),
    (lambda x, size: -F.max_pool2d(-x, size), "MINIMA"),
    (lambda x, size: F.max_pool2d(x, size, ceil_mode=True), "leftover row or column"),
    (lambda x, size: F.max_pool2d(x.transpose(1, 2), size).transpose(1, 2) * 0.5, "constant factor"),
])
def test_exercise_4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        cnn.exercise_4(wrong)
