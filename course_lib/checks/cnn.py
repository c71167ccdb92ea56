"""Checks for the exercises of notebook 03 (convolutional networks on MNIST).

The exercises go beyond the notebook's code: the receptive field of a stack of layers, a
convolution with stride and padding, max-pooling and BatchNorm (train and eval mode) written by
hand -- the library operations they replace are switched off while the student's function runs.
Every check calls the student's function on its own freshly generated inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.i18n import _

from . import as_array, as_number, call, close, compare, fail, passed

# --------------------------------------------------------------------------------------------
# Exercise 1: the receptive field of a stack of layers
# --------------------------------------------------------------------------------------------

_RF_CASES: tuple[tuple[tuple[int, int], ...], ...] = (
    ((3, 1),),
    ((3, 1), (3, 1)),
    ((3, 1), (3, 1), (3, 1)),
    ((5, 1), (2, 2), (5, 1), (2, 2)),             # LeNet-like
    ((7, 2), (3, 2), (3, 1), (3, 1)),             # a ResNet-like stem
    ((3, 2), (3, 2), (3, 2)),
    ((1, 1), (3, 1)),
)
_MNIST_CNN = ((3, 1), (2, 2), (3, 1), (2, 2), (3, 1), (2, 2))  # notebook 03: conv, pool x 3


def _receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size


def _rf_own_stride(layers: Sequence[tuple[int, int]]) -> int:
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size


def exercise_1(receptive_field: Callable[[list[tuple[int, int]]], Any]) -> None:
    """Check ``receptive_field(layers)``: the width of the input region one output unit of the last
    layer sees, for ``layers`` a list of ``(kernel_size, stride)`` pairs (convolutions and
    poolings alike, first layer first).

    >>> def receptive_field(layers):
    ...     size, jump = 1, 1
    ...     for k, s in layers:
    ...         size, jump = size + (k - 1) * jump, jump * s
    ...     return size
    >>> exercise_1(receptive_field)
    ✅ Exercise 1 (receptive_field): correct. The CNN of this notebook: one unit after block 3 sees 22×22 of the 28×28 pixels.
    """
    wrong = {
        _("you added the kernel sizes; two stacked 3x3 layers see 5 pixels, not 6 (they overlap)"):
            lambda layers: sum(k for k, _s in layers),
        _("the strides are missing: after a stride-2 layer (or a 2x2 pooling) one step of the next "
          "layer moves 2 input pixels, so its kernel adds (k - 1) * 2"):
            lambda layers: 1 + sum(k - 1 for k, _s in layers),
        _("a layer's own stride does not widen what it sees; only the strides of the layers BEFORE it "
          "do (update the jump after adding the layer's (k - 1) * jump)"): _rf_own_stride,
        _("you multiplied the kernel sizes"): lambda layers: int(np.prod([k for k, _s in layers])),
    }
    answers = []
    for layers in _RF_CASES:
        got = as_number(call(receptive_field, [tuple(l) for l in layers], name="receptive_field"),
                        f"receptive_field({list(layers)})")
        answers.append(got)
    expected = [_receptive_field(layers) for layers in _RF_CASES]
    if answers != expected:
        for message, formula in wrong.items():
            if answers == [formula(layers) for layers in _RF_CASES]:
                fail(_("receptive_field: {mistake}.", mistake=message),
                     _("keep two numbers while walking through the layers: the size seen so far and the "
                       "jump (input pixels between neighbouring units); size += (k - 1) * jump, then "
                       "jump *= s"))
        i = next(i for i, (a, e) in enumerate(zip(answers, expected)) if a != e)
        fail(_("receptive_field({layers}) = {got:g}; expected {expected}.", layers=list(_RF_CASES[i]),
               got=answers[i], expected=expected[i]),
             _("draw it in 1-D: which input pixels can change one output pixel of each layer?"))
    rf = _receptive_field(_MNIST_CNN)
    passed(_("Exercise 1 (receptive_field)"),
           _("The CNN of this notebook: one unit after block 3 sees {rf}×{rf} of the 28×28 pixels.",
             rf=rf))


# --------------------------------------------------------------------------------------------
# Exercise 2: a convolution layer with stride and padding, by hand
# --------------------------------------------------------------------------------------------

_LIBRARY_CONV = ("torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.functional.unfold")


def exercise_2(conv2d: Callable[..., Any]) -> None:
    """Check ``conv2d(x, weight, bias, stride, padding)`` for one image ``x`` [C_in, H, W], filters
    ``weight`` [C_out, C_in, k, k] and ``bias`` [C_out] against ``F.conv2d``, with ``F.conv2d``,
    ``torch.conv2d`` and ``F.unfold`` switched off while it runs.

    >>> def conv2d(x, weight, bias, stride, padding):
    ...     C_out, _, k, _ = weight.shape
    ...     x = F.pad(x, (padding,) * 4)
    ...     H, W = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    ...     out = torch.zeros(C_out, H, W, dtype=x.dtype)
    ...     for i in range(H):
    ...         for j in range(W):
    ...             patch = x[:, i * stride:i * stride + k, j * stride:j * stride + k]
    ...             out[:, i, j] = (patch * weight).sum(dim=(1, 2, 3)) + bias
    ...     return out
    >>> exercise_2(conv2d)
    ✅ Exercise 2 (conv2d): correct.
    """
    gen = torch.Generator().manual_seed(404)
    for c_in, c_out, h, w, k, stride, padding in ((3, 2, 6, 5, 3, 1, 0), (2, 4, 7, 9, 3, 2, 1),
                                                  (1, 3, 8, 6, 2, 2, 0), (2, 2, 5, 7, 3, 1, 2)):
        x = torch.randn(c_in, h, w, generator=gen, dtype=torch.float64)
        weight = torch.randn(c_out, c_in, k, k, generator=gen, dtype=torch.float64)
        bias = torch.randn(c_out, generator=gen, dtype=torch.float64)
        expected = F.conv2d(x[None], weight, bias, stride=stride, padding=padding)[0]
        raw = call(conv2d, x.clone(), weight.clone(), bias.clone(), stride, padding, name="conv2d",
                   forbidden=_LIBRARY_CONV)
        a = as_array(raw, "conv2d(x, weight, bias, stride, padding)")
        out_shape = tuple(expected.shape)
        said = _("for x of shape {shape}, k = {k}, stride = {stride}, padding = {padding}",
                 shape=(c_in, h, w), k=k, stride=stride, padding=padding)
        if a.shape == (c_out, c_in, *out_shape[1:]):
            fail(_("conv2d returned shape {shape} {said}: you did not sum over the input channels.",
                   shape=a.shape, said=said),
                 _("each output channel sums the products over ALL input channels c (and u, v)"))
        if a.shape != out_shape:
            if stride > 1 and a.shape == tuple(F.conv2d(x[None], weight, padding=padding)[0].shape):
                fail(_("conv2d returned shape {shape} {said}: the stride is missing (expected "
                       "{expected}).", shape=a.shape, said=said, expected=out_shape),
                     _("output pixel (i, j) starts at input row i * stride, column j * stride"))
            if padding > 0 and a.shape == tuple(F.conv2d(x[None], weight, stride=stride)[0].shape):
                fail(_("conv2d returned shape {shape} {said}: the padding is missing (expected "
                       "{expected}).", shape=a.shape, said=said, expected=out_shape),
                     _("add `padding` zeros on all four sides first, e.g. with F.pad"))
            fail(_("conv2d returned shape {shape} {said}; expected {expected} = (C_out, "
                   "(H + 2p - k) // s + 1, (W + 2p - k) // s + 1).", shape=a.shape, said=said,
                   expected=out_shape),
                 _("pad first, then slide the window in steps of `stride`"))
        if close(a, F.conv2d(x[None], weight.flip(-1, -2), bias, stride=stride, padding=padding)[0]):
            fail(_("your kernel is flipped: that is the convolution of signal processing. Deep "
                   "learning's 'convolution' (nn.Conv2d) is a cross-correlation: no flipping."),
                 _("out[o, i, j] = sum over c, u, v of x[c, i*s+u, j*s+v] * weight[o, c, u, v] + bias[o]"))
        if close(a, F.conv2d(x[None], weight, stride=stride, padding=padding)[0]):
            fail(_("the bias is missing."), _("add bias[o] to every pixel of output channel o"))
        if padding > 0 and close(a, F.conv2d(F.pad(x, (0, 2 * padding, 0, 2 * padding))[None], weight,
                                             bias, stride=stride)[0]):
            fail(_("the padding is all on one side {said}; it goes on every side.", said=said),
                 _("F.pad(x, (p, p, p, p)) pads left, right, top and bottom"))
        compare(a, expected, "conv2d(x, weight, bias, stride, padding)",
                hint=_("out[o, i, j] = sum over c, u, v of x_padded[c, i*s+u, j*s+v] * "
                       "weight[o, c, u, v] + bias[o]"))
    passed(_("Exercise 2 (conv2d)"))


# --------------------------------------------------------------------------------------------
# Exercise 3: max-pooling by hand
# --------------------------------------------------------------------------------------------

_LIBRARY_POOL = ("torch.nn.functional.max_pool2d", "torch.max_pool2d",
                 "torch.nn.functional.max_pool2d_with_indices", "torch.nn.functional.adaptive_max_pool2d")


def exercise_3(max_pool2d: Callable[[torch.Tensor, int], Any]) -> None:
    """Check ``max_pool2d(x, size)`` for ``x`` [C, H, W]: the maximum of each non-overlapping
    ``size`` x ``size`` window (stride = size), per channel, like ``F.max_pool2d(x, size)`` --
    which is switched off while it runs.

    >>> def max_pool2d(x, size):
    ...     C, H, W = x.shape
    ...     x = x[:, :H // size * size, :W // size * size]
    ...     return x.reshape(C, H // size, size, W // size, size).amax(dim=(2, 4))
    >>> exercise_3(max_pool2d)
    ✅ Exercise 3 (max_pool2d): correct.
    """
    gen = torch.Generator().manual_seed(505)
    for c, h, w, size in ((3, 6, 4, 2), (2, 9, 12, 3), (4, 7, 5, 2)):  # 7 x 5: a leftover row/column
        x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
        expected = F.max_pool2d(x, size)
        a = as_array(call(max_pool2d, x.clone(), size, name="max_pool2d", forbidden=_LIBRARY_POOL),
                     f"max_pool2d(x, {size})")
        if a.shape == tuple(F.max_pool2d(x, size, stride=1).shape) and a.shape != expected.shape:
            fail(_("max_pool2d(x, {size}) has shape {shape}: your windows overlap (stride 1). "
                   "Pooling windows are side by side: stride = size.", size=size, shape=a.shape),
                 _("output pixel (i, j) looks at rows size*i ... size*i + size - 1"))
        if a.shape == expected.shape[1:] or a.shape == (1, *expected.shape[1:]):
            fail(_("max_pool2d(x, {size}) has shape {shape}: you took the maximum over the "
                   "channels too. Pooling works on each channel separately.", size=size, shape=a.shape),
                 _("reduce only over the window's rows and columns, never over dim 0"))
        if a.shape == (c, w // size, h // size) and h != w:
            fail(_("max_pool2d(x, {size}) has shape {shape}: height and width are swapped.", size=size,
                   shape=a.shape),
                 _("expected {expected} = (C, H // size, W // size)", expected=tuple(expected.shape)))
        if a.shape != tuple(expected.shape):
            fail(_("max_pool2d(x, {size}) has shape {shape}; expected {expected} = "
                   "(C, H // size, W // size) -- a leftover row or column that does not fill a "
                   "window is dropped.", size=size, shape=a.shape, expected=tuple(expected.shape)),
                 _("loop over i in range(H // size), j in range(W // size)"))
        if close(a, F.avg_pool2d(x, size)):
            fail(_("max_pool2d returns the window AVERAGES (average pooling), not the maxima."),
                 _("take .max() of each window"))
        if close(a, -F.max_pool2d(-x, size)):
            fail(_("max_pool2d returns the window MINIMA."), _("take .max() of each window"))
        compare(a, expected, f"max_pool2d(x, {size})",
                hint=_("out[c, i, j] = max of x[c, size*i : size*i + size, size*j : size*j + size]"))
    passed(_("Exercise 3 (max_pool2d)"))


# --------------------------------------------------------------------------------------------
# Exercise 4: BatchNorm in training and in evaluation mode, by hand
# --------------------------------------------------------------------------------------------

_LIBRARY_BN = ("torch.nn.functional.batch_norm", "torch.batch_norm")


def _bn(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, mean: torch.Tensor,
        var: torch.Tensor, training: bool, momentum: float, eps: float, *, norm_unbiased: bool = False,
        running_unbiased: bool = True, swap_momentum: bool = False, batch_in_eval: bool = False,
        axes: tuple[int, ...] = (0, 2, 3)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BatchNorm2d by hand, with the usual mistakes switchable (for the diagnosis)."""
    shape = (1, -1, 1, 1)
    if training or batch_in_eval:
        mu = x.mean(dim=axes, keepdim=True)
        v = x.var(dim=axes, unbiased=norm_unbiased, keepdim=True)
        out = (x - mu) / torch.sqrt(v + eps)
        if axes != (0, 2, 3):
            return out * gamma.view(shape) + beta.view(shape), mean, var
        if training:
            v_run = x.var(dim=axes, unbiased=running_unbiased)
            m = 1 - momentum if swap_momentum else momentum
            mean = (1 - m) * mean + m * mu.flatten()
            var = (1 - m) * var + m * v_run
    else:
        out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    return out * gamma.view(shape) + beta.view(shape), mean, var


def exercise_4(batch_norm: Callable[..., Any]) -> None:
    """Check ``batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)`` for
    ``x`` [N, C, H, W]: returns ``(out, new_running_mean, new_running_var)`` exactly as
    ``nn.BatchNorm2d`` computes them in train mode (batch statistics; running statistics updated)
    and in eval mode (running statistics; nothing updated). ``F.batch_norm`` is switched off.

    >>> def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    ...     if training:
    ...         mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    ...         n = x.numel() / x.shape[1]
    ...         running_mean = (1 - momentum) * running_mean + momentum * mean
    ...         running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    ...     else:
    ...         mean, var = running_mean, running_var
    ...     x_hat = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + eps)
    ...     return gamma[:, None, None] * x_hat + beta[:, None, None], running_mean, running_var
    >>> exercise_4(batch_norm)
    ✅ Exercise 4 (batch_norm): correct. It matches nn.BatchNorm2d in train and eval mode.
    """
    gen = torch.Generator().manual_seed(606)
    for n, c, h, w, momentum in ((4, 3, 5, 6, 0.1), (3, 2, 2, 4, 0.3)):
        x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 2 + 1
        gamma = torch.rand(c, generator=gen, dtype=torch.float64) + 0.5
        beta = torch.randn(c, generator=gen, dtype=torch.float64)
        mean0 = torch.randn(c, generator=gen, dtype=torch.float64)
        var0 = torch.rand(c, generator=gen, dtype=torch.float64) + 0.5
        eps = 1e-5
        bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum).double()
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(mean0)
            bn.running_var.copy_(var0)
        for training in (True, False):
            bn.train(training)
            bn.running_mean.copy_(mean0)
            bn.running_var.copy_(var0)
            with torch.no_grad():
                expected = bn(x)
            exp = (expected, bn.running_mean.clone(), bn.running_var.clone())
            mode = "train" if training else "eval"
            raw = call(batch_norm, x.clone(), gamma.clone(), beta.clone(), mean0.clone(), var0.clone(),
                       training, momentum, eps, name="batch_norm", forbidden=_LIBRARY_BN)
            if not isinstance(raw, (tuple, list)) or len(raw) != 3:
                fail(_("batch_norm should return three tensors: (out, running_mean, running_var)."),
                     _("return out, running_mean, running_var (unchanged in eval mode)"))
            got = [as_array(t, k) for t, k in zip(raw, ("out", "running_mean", "running_var"))]
            if got[0].shape != tuple(x.shape):
                fail(_("out has shape {shape}; expected {expected}, the shape of x.", shape=got[0].shape,
                       expected=tuple(x.shape)))
            args = (x, gamma, beta, mean0, var0, training, momentum, eps)
            mistakes = {
                _("normalises with the unbiased (n - 1) batch variance; BatchNorm normalises with the "
                  "biased one (divide by n) and uses the unbiased one only for the running estimate"):
                    dict(norm_unbiased=True),
                _("updates running_var with the biased batch variance; PyTorch stores the unbiased "
                  "estimate (times n / (n - 1), n = N * H * W values per channel)"):
                    dict(running_unbiased=False),
                _("mixes the running statistics the wrong way round: new = (1 - momentum) * old + "
                  "momentum * batch (momentum is the weight of the NEW batch)"):
                    dict(swap_momentum=True),
                _("uses the batch statistics in eval mode; at test time BatchNorm uses the running "
                  "statistics, so a prediction does not depend on the other images in the batch"):
                    dict(batch_in_eval=True),
                _("computes a mean and variance per pixel (over the batch only); BatchNorm2d pools "
                  "each channel over the batch AND all positions (dims 0, 2, 3)"):
                    dict(axes=(0,)),
            }
            for message, how in mistakes.items():
                if training and how.get("batch_in_eval"):
                    continue
                wrong = _bn(*args, **how)
                if all(close(g, t) for g, t in zip(got, wrong)) and not all(
                        close(g, t) for g, t in zip(got, exp)):
                    fail(_("batch_norm ({mode} mode) {mistake}.", mode=mode, mistake=message),
                         _("train: x_hat = (x - mean) / sqrt(var + eps) with the batch's mean and "
                           "biased variance per channel; eval: the running statistics"))
            if not training and not (close(got[1], mean0) and close(got[2], var0)):
                fail(_("batch_norm changed the running statistics in eval mode; they are only updated "
                       "while training."),
                     _("in eval mode return running_mean and running_var unchanged"))
            for g, t, k in zip(got, exp, ("out", "running_mean", "running_var")):
                compare(g, t, _("{name} ({mode} mode)", name=k, mode=mode),
                        hint=_("per channel c: statistics over dims (0, 2, 3); "
                               "out = gamma * x_hat + beta"))
    passed(_("Exercise 4 (batch_norm)"), _("It matches nn.BatchNorm2d in train and eval mode."))
