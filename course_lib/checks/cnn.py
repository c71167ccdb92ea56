"""Checks for the exercises of notebook 03 (convolutional networks on MNIST).

Every check calls the student's function on its own freshly generated inputs (not the notebook's
data), so an answer that only reproduces the notebook's numbers does not pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from . import as_array, as_number, call, close, compare, fail, passed


# --------------------------------------------------------------------------------------------
# Exercise 1: the output-size formula
# --------------------------------------------------------------------------------------------

_SIZE_CASES = ((28, 3, 0, 1), (28, 3, 1, 1), (28, 5, 2, 2), (7, 3, 0, 2), (32, 4, 1, 3),
               (10, 3, 1, 2), (13, 2, 0, 2), (5, 5, 0, 1))


def exercise_1(conv_output_size: Callable[[int, int, int, int], Any]) -> None:
    """Check ``conv_output_size(n, kernel_size, padding, stride)``: the output width of a
    convolution (or pooling) over an input of width ``n``.

    >>> exercise_1(lambda n, k, p, s: (n + 2 * p - k) // s + 1)
    ✅ Exercise 1 (conv_output_size): correct.
    """
    wrong = {
        "padding is missing: it adds p pixels on BOTH sides, so the input grows by 2p":
            lambda n, k, p, s: (n - k) // s + 1,
        "the padding is counted once; it is added on both sides (2p)":
            lambda n, k, p, s: (n + p - k) // s + 1,
        "the stride is missing: the window jumps s pixels, so divide by s":
            lambda n, k, p, s: n + 2 * p - k + 1,
        "the +1 is missing: the first window position counts too":
            lambda n, k, p, s: (n + 2 * p - k) // s,
        "the +1 is inside the division; it belongs after it":
            lambda n, k, p, s: (n + 2 * p - k + 1) // s,
        "you rounded up; a window that would stick out past the (padded) border is dropped, so round down":
            lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1,
    }
    answers = []
    for n, k, p, s in _SIZE_CASES:
        got = as_number(call(conv_output_size, n, k, p, s, name="conv_output_size"),
                      f"conv_output_size({n}, {k}, {p}, {s})")
        if got != int(got):
            fail(f"conv_output_size({n}, {k}, {p}, {s}) = {got}, not a whole number of pixels.",
                 "use integer (floor) division: (n + 2 * p - k) // s + 1")
        answers.append(int(got))
    expected = [(n + 2 * p - k) // s + 1 for n, k, p, s in _SIZE_CASES]
    if answers != expected:
        for problem, formula in wrong.items():
            if answers == [formula(*case) for case in _SIZE_CASES]:
                fail(f"{problem}.", "out = floor((n + 2p - k) / s) + 1")
        i = next(i for i, (a, e) in enumerate(zip(answers, expected)) if a != e)
        n, k, p, s = _SIZE_CASES[i]
        fail(f"conv_output_size({n}, {k}, {p}, {s}) = {answers[i]}; expected {expected[i]}.",
             "out = floor((n + 2p - k) / s) + 1; draw a 1-D example with 7 pixels on paper")
    passed("Exercise 1 (conv_output_size)")


# --------------------------------------------------------------------------------------------
# Exercise 2: a convolution layer by hand
# --------------------------------------------------------------------------------------------

def exercise_2(conv2d: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Any]) -> None:
    """Check ``conv2d(x, weight, bias)`` for one image ``x`` [C_in, H, W], ``weight``
    [C_out, C_in, k, k] and ``bias`` [C_out] (stride 1, no padding) against ``F.conv2d``.

    >>> exercise_2(lambda x, w, b: F.conv2d(x[None], w, b)[0])
    ✅ Exercise 2 (conv2d): correct.
    """
    gen = torch.Generator().manual_seed(404)
    for c_in, c_out, h, w, k in ((3, 2, 6, 5, 3), (2, 4, 5, 7, 2)):  # H != W, C_in != C_out
        x = torch.randn(c_in, h, w, generator=gen, dtype=torch.float64)
        weight = torch.randn(c_out, c_in, k, k, generator=gen, dtype=torch.float64)
        bias = torch.randn(c_out, generator=gen, dtype=torch.float64)
        expected = F.conv2d(x[None], weight, bias)[0]
        raw = call(conv2d, x.clone(), weight.clone(), bias.clone(), name="conv2d")
        a = as_array(raw, "conv2d(x, weight, bias)")
        out_shape = (c_out, h - k + 1, w - k + 1)
        if close(a, F.conv2d(x[None], weight.flip(-1, -2), bias)[0]):
            fail("your kernel is flipped: that is the convolution of signal processing. Deep "
                 "learning's 'convolution' (nn.Conv2d) is a cross-correlation: no flipping.",
                 "out[o, i, j] = sum over c, u, v of x[c, i+u, j+v] * weight[o, c, u, v] + bias[o]")
        if a.shape == (c_out, c_in, h - k + 1, w - k + 1):
            fail(f"conv2d returned shape {a.shape}: you did not sum over the input channels.",
                 "each output channel sums the products over ALL input channels c (and u, v)")
        if a.shape == (c_out, w - k + 1, h - k + 1) and h != w:
            fail(f"conv2d returned shape {a.shape}: height and width are swapped; expected "
                 f"{out_shape}.", "x is [C, H, W]: the row index i runs over the height")
        if a.shape != out_shape:
            fail(f"conv2d returned shape {a.shape}; expected {out_shape} = "
                 "(C_out, H - k + 1, W - k + 1).",
                 "one output channel per filter; the window fits H - k + 1 times vertically")
        if close(a, F.conv2d(x[None], weight)[0]):
            fail("the bias is missing.", "add bias[o] to every pixel of output channel o")
        if close(a, F.conv2d(x[None], weight)[0] + bias.sum()):
            fail("every output channel got the sum of all biases.", "add bias[o] to channel o only")
        compare(a, expected, "conv2d(x, weight, bias)",
                hint="out[o, i, j] = sum over c, u, v of x[c, i+u, j+v] * weight[o, c, u, v] + bias[o]")
    passed("Exercise 2 (conv2d)")


# --------------------------------------------------------------------------------------------
# Exercise 3: parameters of a convolution layer
# --------------------------------------------------------------------------------------------

def exercise_3(conv_parameter_count: Callable[..., Any]) -> None:
    """Check ``conv_parameter_count(in_channels, out_channels, kernel_size, bias)``: the number of
    parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)``.

    >>> exercise_3(lambda i, o, k, bias=True: o * i * k * k + (o if bias else 0))
    ✅ Exercise 3 (conv_parameter_count): correct.
    """
    for c_in, c_out, k, bias in ((1, 32, 3, True), (32, 64, 3, True), (3, 16, 5, True),
                                 (64, 128, 3, False), (6, 4, 1, True)):
        expected = sum(p.numel() for p in torch.nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
        got = as_number(call(conv_parameter_count, c_in, c_out, k, bias, name="conv_parameter_count"),
                      f"conv_parameter_count({c_in}, {c_out}, {k}, bias={bias})")
        if got == expected:
            continue
        said = f"conv_parameter_count({c_in}, {c_out}, {k}, bias={bias}) = {got:g}"
        weights = c_out * c_in * k * k
        if bias and got == weights:
            fail(f"{said}: the biases are missing.", "with bias=True each output channel has one bias")
        if not bias and got == weights + c_out:
            fail(f"{said}: with bias=False the layer has no biases.", "add the biases only if bias is True")
        if got == c_out * k * k + (c_out if bias else 0):
            fail(f"{said}: the input channels are missing. Each filter spans ALL input channels: "
                 f"it has in_channels * k * k weights.", "weights = out * in * k * k")
        if got == c_out * c_in * k + (c_out if bias else 0):
            fail(f"{said}: a k x k kernel has k * k weights per channel, not k.",
                 "weights = out * in * k * k")
        if got == weights + (c_in if bias else 0) or got == weights + (c_in * c_out if bias else 0):
            fail(f"{said}: there is one bias per OUTPUT channel.", "biases = out_channels")
        fail(f"{said}; expected {expected}.", "weights = out * in * k * k, plus out biases if bias")
    passed("Exercise 3 (conv_parameter_count)")


# --------------------------------------------------------------------------------------------
# Exercise 4: max-pooling by hand
# --------------------------------------------------------------------------------------------

def exercise_4(max_pool2d: Callable[[torch.Tensor, int], Any]) -> None:
    """Check ``max_pool2d(x, size)`` for ``x`` [C, H, W]: the maximum of each non-overlapping
    ``size`` x ``size`` window (stride = size), per channel, like ``F.max_pool2d(x, size)``.

    >>> exercise_4(lambda x, size: F.max_pool2d(x, size))
    ✅ Exercise 4 (max_pool2d): correct.
    """
    gen = torch.Generator().manual_seed(505)
    for c, h, w, size in ((3, 6, 4, 2), (2, 9, 12, 3), (4, 7, 5, 2)):  # 7 x 5: a leftover row/column
        x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
        expected = F.max_pool2d(x, size)
        a = as_array(call(max_pool2d, x.clone(), size, name="max_pool2d"), f"max_pool2d(x, {size})")
        if a.shape == tuple(F.max_pool2d(x, size, stride=1).shape) and a.shape != expected.shape:
            fail(f"max_pool2d(x, {size}) has shape {a.shape}: your windows overlap (stride 1). "
                 f"Pooling windows are side by side: stride = size.",
                 "output pixel (i, j) looks at rows size*i ... size*i + size - 1")
        if a.shape == expected.shape[1:] or a.shape == (1, *expected.shape[1:]):
            fail(f"max_pool2d(x, {size}) has shape {a.shape}: you took the maximum over the "
                 "channels too. Pooling works on each channel separately.",
                 "reduce only over the window's rows and columns, never over dim 0")
        if a.shape == (c, w // size, h // size) and h != w:
            fail(f"max_pool2d(x, {size}) has shape {a.shape}: height and width are swapped.",
                 f"expected {tuple(expected.shape)} = (C, H // size, W // size)")
        if a.shape != tuple(expected.shape):
            fail(f"max_pool2d(x, {size}) has shape {a.shape}; expected {tuple(expected.shape)} = "
                 "(C, H // size, W // size) -- a leftover row or column that does not fill a "
                 "window is dropped.", "loop over i in range(H // size), j in range(W // size)")
        if close(a, F.avg_pool2d(x, size)):
            fail("max_pool2d returns the window AVERAGES (average pooling), not the maxima.",
                 "take .max() of each window")
        if close(a, -F.max_pool2d(-x, size)):
            fail("max_pool2d returns the window MINIMA.", "take .max() of each window")
        compare(a, expected, f"max_pool2d(x, {size})",
                hint="out[c, i, j] = max of x[c, size*i : size*i + size, size*j : size*j + size]")
    passed("Exercise 4 (max_pool2d)")
