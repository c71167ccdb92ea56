"""Checks for the exercises of notebook 02 (multi-layer perceptrons).

Exercise 1 asks for the backward pass of a network the notebook does not differentiate (ReLU and a
squared error, autograd switched off), exercise 2 for a variance-preserving initialisation (He for
ReLU, Xavier for tanh, measured through a deep network), exercise 3 for a parameter count. Every
check calls the student's function on its own freshly generated inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from course_lib.i18n import _

from . import as_array, as_number, call, close, compare, fail, passed

# --------------------------------------------------------------------------------------------
# Exercise 1: backpropagation through a ReLU network with a squared error, by hand
# --------------------------------------------------------------------------------------------

_AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward")


def _relu_mlp_grads(X: torch.Tensor, Y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor,
                    W2: torch.Tensor, b2: torch.Tensor, derivative: str = "relu",
                    scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    """The hand-written gradients, with the usual mistakes switchable (for the diagnosis)."""
    Z1 = X @ W1.T + b1
    H = Z1.clamp(min=0)
    out = H @ W2.T + b2
    d_out = scale * 2 * (out - Y) / len(X)
    dW2, db2 = d_out.T @ H, d_out.sum(0)
    dH = d_out @ W2
    dZ1 = dH * {"relu": (Z1 > 0).to(X.dtype), "tanh": 1 - H**2, "output": H}[derivative]
    return dZ1.T @ X, dZ1.sum(0), dW2, db2


def exercise_1(relu_mlp_backward: Callable[..., Any]) -> None:
    """Check ``relu_mlp_backward(X, Y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)``: the gradients of
    ``L = mean over examples of ||relu(X W1^T + b1) W2^T + b2 - Y||^2``, written without autograd
    and compared with autograd.

    >>> def backward(X, Y, W1, b1, W2, b2):
    ...     Z1 = X @ W1.T + b1; H = Z1.clamp(min=0); d = 2 * (H @ W2.T + b2 - Y) / len(X)
    ...     dZ1 = (d @ W2) * (Z1 > 0)
    ...     return dZ1.T @ X, dZ1.sum(0), d.T @ H, d.sum(0)
    >>> exercise_1(backward)
    ✅ Exercise 1 (relu_mlp_backward): correct.
    """
    gen = torch.Generator().manual_seed(202)
    for n, d_in, hidden, d_out in ((6, 4, 5, 3), (9, 3, 7, 2)):  # all different: no transposition passes
        X = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
        Y = torch.randn(n, d_out, generator=gen, dtype=torch.float64)
        params = [torch.randn(hidden, d_in, generator=gen, dtype=torch.float64),
                  torch.randn(hidden, generator=gen, dtype=torch.float64),
                  torch.randn(d_out, hidden, generator=gen, dtype=torch.float64),
                  torch.randn(d_out, generator=gen, dtype=torch.float64)]
        leaves = [p.clone().requires_grad_(True) for p in params]
        W1, b1, W2, b2 = leaves
        loss = ((torch.relu(X @ W1.T + b1) @ W2.T + b2 - Y) ** 2).sum(1).mean()
        expected = torch.autograd.grad(loss, leaves)
        raw = call(relu_mlp_backward, X.clone(), Y.clone(), *(p.clone() for p in params),
                   name="relu_mlp_backward", forbidden=_AUTOGRAD)
        names = ("dW1", "db1", "dW2", "db2")
        if not isinstance(raw, (tuple, list)) or len(raw) != 4:
            fail(_("relu_mlp_backward should return four gradients: (dW1, db1, dW2, db2)."),
                 _("return dW1, db1, dW2, db2"))
        grads = [as_array(g, k) for g, k in zip(raw, names)]
        for g, e, k, p in zip(grads, expected, names, params):
            if g.shape != tuple(e.shape):
                if g.shape == tuple(e.shape)[::-1] and g.ndim == 2:
                    fail(_("{name} is transposed: shape {shape}, but the parameter has shape "
                           "{expected}.", name=k, shape=g.shape, expected=tuple(p.shape)),
                         _("a gradient has the shape of its parameter: dW = dZ.T @ input"))
                if k.startswith("db") and g.ndim == 2 and g.shape[0] == n:
                    fail(_("{name} has shape {shape}: you did not sum over the batch.", name=k,
                           shape=g.shape),
                         _("the bias is used by every example: sum its gradient over dim 0"))
                fail(_("{name} has shape {shape}; expected {expected}, the shape of the parameter.",
                       name=k, shape=g.shape, expected=tuple(e.shape)))
        exp = [e.numpy() for e in expected]
        for how, message in (
            ({"derivative": "tanh"}, _("you used tanh's derivative 1 - a^2. ReLU's derivative is 1 "
                                       "where its input z > 0 and 0 elsewhere")),
            ({"derivative": "output"}, _("you multiplied by the ReLU's output instead of its "
                                         "derivative (1 where z > 0, else 0)")),
            ({"scale": 0.5}, _("all gradients are half the true ones: the 2 from the square is missing")),
            ({"scale": 1.0 / d_out}, _("all gradients are 1/{d_out} of the true ones: you averaged over "
                                       "the outputs too; the loss sums over the outputs and averages "
                                       "over the examples", d_out=d_out)),
            ({"scale": float(n)}, _("all gradients are n = {n} times too large: the 1/n of the mean "
                                    "over the examples is missing", n=n)),
        ):
            wrong = [w.numpy() for w in _relu_mlp_grads(X, Y, *params, **how)]
            if all(close(g, w) for g, w in zip(grads, wrong)):
                fail(_("relu_mlp_backward: {mistake}.", mistake=message),
                     _("dOut = 2 (out - Y) / n; dH = dOut @ W2; dZ1 = dH * (Z1 > 0)"))
        for g, e, k in zip(grads, exp, names):
            compare(g, e, k, hint=_("forward: Z1 = X @ W1.T + b1, H = relu(Z1), out = H @ W2.T + b2; "
                                    "backward from dOut = 2 (out - Y) / n"))
    passed(_("Exercise 1 (relu_mlp_backward)"))


# --------------------------------------------------------------------------------------------
# Exercise 2: variance-preserving initialisation (He for ReLU, Xavier for tanh)
# --------------------------------------------------------------------------------------------

_LIBRARY_INITS = ("torch.nn.init.kaiming_normal_", "torch.nn.init.kaiming_uniform_",
                  "torch.nn.init.xavier_normal_", "torch.nn.init.xavier_uniform_")


def _std_formulas(fan_in: int, fan_out: int) -> dict[str, float]:
    return {"he": (2 / fan_in) ** 0.5, "xavier": (2 / (fan_in + fan_out)) ** 0.5,
            "pytorch": (1 / (3 * fan_in)) ** 0.5, "lecun": (1 / fan_in) ** 0.5,
            "he_fan_out": (2 / fan_out) ** 0.5, "variance_as_std": 2 / fan_in, "one": 1.0}


def _signal_std(init: Callable[[torch.nn.Linear], Any], depth: int = 30, width: int = 256) -> float:
    """Standard deviation of the pre-activations after ``depth`` Linear+ReLU layers, input std 1."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, width, generator=gen)
    with torch.no_grad():
        for _ in range(depth):
            layer = torch.nn.Linear(width, width)
            init(layer)
            z = layer(x)
            x = torch.relu(z)
    return float(z.std())


def _normal_init(std: float) -> Callable[[torch.nn.Linear], None]:
    def init(layer: torch.nn.Linear) -> None:
        torch.nn.init.normal_(layer.weight, std=std)
        torch.nn.init.zeros_(layer.bias)
    return init


def exercise_2(init_layer: Callable[[torch.nn.Linear, str], Any]) -> None:
    """Check ``init_layer(layer, nonlinearity)``: set the weight of an ``nn.Linear`` to random
    values with mean 0 and the variance-preserving standard deviation -- He's sqrt(2 / fan_in) for
    "relu", Xavier's sqrt(2 / (fan_in + fan_out)) for "tanh" -- and the bias to 0, without
    ``torch.nn.init``'s kaiming/xavier functions; return the layer.

    >>> def init_layer(layer, nonlinearity):
    ...     fan_out, fan_in = layer.weight.shape
    ...     std = (2 / fan_in) ** 0.5 if nonlinearity == "relu" else (2 / (fan_in + fan_out)) ** 0.5
    ...     with torch.no_grad():
    ...         layer.weight.normal_(0, std); layer.bias.zero_()
    ...     return layer
    >>> exercise_2(init_layer)  # doctest: +ELLIPSIS
    ✅ Exercise 2 (init_layer): correct. Signal std after 30 ReLU layers of width 256: yours ..., Xavier's ..., PyTorch's default ...
    """
    names = {"he": _("He's sqrt(2 / fan_in)"), "xavier": _("Xavier's sqrt(2 / (fan_in + fan_out))"),
             "pytorch": _("PyTorch's default for nn.Linear (uniform, std 1/sqrt(3 fan_in))"),
             "lecun": _("sqrt(1 / fan_in) (LeCun's)"),
             "he_fan_out": _("sqrt(2 / fan_out): fan_out instead of fan_in"),
             "variance_as_std": _("2 / fan_in: that is the VARIANCE; the std is its square root"),
             "one": _("1 (a standard normal)")}
    for seed, (fan_in, fan_out) in enumerate(((400, 200), (150, 600))):
        for nonlinearity in ("relu", "tanh"):
            torch.manual_seed(seed)
            layer = torch.nn.Linear(fan_in, fan_out)
            returned = call(init_layer, layer, nonlinearity, name="init_layer", forbidden=_LIBRARY_INITS)
            if returned is not layer:
                fail(_("init_layer should change the layer in place and return the layer itself."),
                     _("end with `return layer`"))
            w = layer.weight.detach().double()
            bias = layer.bias.detach().double()
            if bias.abs().max() > 0:
                fail(_("the bias is not 0. With variance-preserving weights the biases start at zero."),
                     _("layer.bias.zero_() inside torch.no_grad()"))
            std, mean = float(w.std()), float(w.mean())
            if abs(mean) > 5 * std / w.numel() ** 0.5:
                fail(_("the weights have mean {mean:.3g}; they should be centred on 0.", mean=mean),
                     _("draw them with mean 0, e.g. torch.randn(...) * std"))
            formulas = _std_formulas(fan_in, fan_out)
            want = "he" if nonlinearity == "relu" else "xavier"
            if abs(std / formulas[want] - 1) < 0.03:
                continue
            where = _("for nonlinearity={nonlinearity!r}, fan_in={fan_in}, fan_out={fan_out}",
                      nonlinearity=nonlinearity, fan_in=fan_in, fan_out=fan_out)
            for key, value in formulas.items():
                if abs(std / value - 1) < 0.03:
                    found = dict(std=std, where=where, got=names[key], want=names[want],
                                 value=formulas[want])
                    message = _("the weights have std {std:.4g} {where}: that is {got}, but "
                                "{want} = {value:.4g} was asked for.", **found)
                    if key == "xavier" and nonlinearity == "relu":
                        message = _("the weights have std {std:.4g} {where}: that is {got}, but "
                                    "{want} = {value:.4g} was asked for. ReLU sets half of its inputs "
                                    "to 0, which halves the signal's second moment in every layer; "
                                    "He's factor 2 makes up for it.", **found)
                    if key == "he" and nonlinearity == "tanh":
                        message = _("the weights have std {std:.4g} {where}: that is {got}, but "
                                    "{want} = {value:.4g} was asked for. The factor 2 is for ReLU, "
                                    "which zeroes half its inputs; tanh keeps both signs.", **found)
                    fail(message, _("fan_in = layer.in_features, fan_out = layer.out_features"))
            fail(_("the weights have std {std:.4g} {where}; expected {want} = {value:.4g}.", std=std,
                   where=where, want=names[want], value=formulas[want]),
                 _("layer.weight.normal_(0, std) inside torch.no_grad(); fan_in = layer.in_features"))
    yours = _signal_std(lambda layer: call(init_layer, layer, "relu", name="init_layer",
                                           forbidden=_LIBRARY_INITS))
    xavier = _signal_std(_normal_init((1 / 256) ** 0.5))
    default = _signal_std(lambda layer: None)
    passed(_("Exercise 2 (init_layer)"),
           _("Signal std after 30 ReLU layers of width 256: yours {yours:.2g}, Xavier's {xavier:.1g}, "
             "PyTorch's default {default:.1g}.", yours=yours, xavier=xavier, default=default))


# --------------------------------------------------------------------------------------------
# Exercise 3: counting the parameters of an MLP
# --------------------------------------------------------------------------------------------

def _count(sizes: Sequence[int]) -> int:
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def exercise_3(count_parameters: Callable[[list[int]], Any]) -> None:
    """Check ``count_parameters(sizes)``: the number of weights and biases of an MLP made of
    ``nn.Linear`` layers with the given layer sizes, e.g. ``[784, 256, 10]``.

    >>> exercise_3(lambda s: sum((a + 1) * b for a, b in zip(s[:-1], s[1:])))
    ✅ Exercise 3 (count_parameters): correct.
    """
    for sizes in ([784, 512, 256, 10], [3, 5, 2], [10, 1], [7, 7, 7, 7]):
        expected = _count(sizes)
        got = as_number(call(count_parameters, list(sizes), name="count_parameters"),
                        f"count_parameters({sizes})", _("add the counts of all layers up"))
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        if got == expected:
            continue
        if got == weights:
            fail(_("count_parameters({sizes}) = {got:.0f} counts only the weights: the biases "
                   "are missing.", sizes=sizes, got=got),
                 _("each nn.Linear(a, b) has a*b weights AND b biases"))
        if got == weights + sum(sizes):
            fail(_("count_parameters({sizes}) = {got:.0f}: you gave the input layer biases too.",
                   sizes=sizes, got=got),
                 _("the input is not a layer: biases belong to the b outputs of each nn.Linear(a, b)"))
        if got == weights + sum(sizes[:-1]):
            fail(_("count_parameters({sizes}) = {got:.0f}: the biases are counted on the input "
                   "side of each layer.", sizes=sizes, got=got),
                 _("nn.Linear(a, b) has b biases, one per output"))
        if got == sum(a * b for a, b in zip(sizes, sizes[1:] + [0])) or got == float(np.prod(sizes)):
            fail(_("count_parameters({sizes}) = {got:.0f} is not the sum over consecutive pairs.",
                   sizes=sizes, got=got),
                 _("loop over pairs of neighbouring sizes: zip(sizes[:-1], sizes[1:])"))
        fail(_("count_parameters({sizes}) = {got:.0f}; expected {expected}.", sizes=sizes, got=got,
               expected=expected),
             _("compare with sum(p.numel() for p in model.parameters()) for a small MLP"))
    passed(_("Exercise 3 (count_parameters)"))
