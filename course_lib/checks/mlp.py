"""Checks for the exercises of notebook 02 (multi-layer perceptrons).

Every check calls the student's function on its own freshly generated inputs (not the notebook's
data), so an answer that only reproduces the notebook's numbers does not pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from . import as_array, as_number, call, close, compare, fail, passed


# --------------------------------------------------------------------------------------------
# Exercise 1: ReLU and a numerically stable softmax
# --------------------------------------------------------------------------------------------

def exercise_1(relu: Callable[[torch.Tensor], Any], softmax: Callable[[torch.Tensor], Any]) -> None:
    """Check ``relu(z)`` (element-wise) and ``softmax(z)`` over the last axis of ``z`` [N, C].

    >>> exercise_1(lambda z: z.clamp(min=0),
    ...            lambda z: (z - z.max(1, keepdim=True).values).exp()
    ...            / (z - z.max(1, keepdim=True).values).exp().sum(1, keepdim=True))
    ✅ Exercise 1 (relu and softmax): correct.
    """
    gen = torch.Generator().manual_seed(202)
    # ---- ReLU
    z = torch.randn(5, 7, generator=gen, dtype=torch.float64)
    z_given = z.clone()
    answer = call(relu, z_given, name="relu")
    if not torch.equal(z_given, z):
        fail("relu changed its input in place (the caller's tensor lost its negative values).",
             "return a new tensor: torch.clamp(z, min=0), torch.maximum(z, torch.zeros_like(z)) "
             "or z * (z > 0); avoid z[z < 0] = 0 on the input")
    if isinstance(answer, tuple):
        fail("relu returned a tuple: torch.max(z, 0) is the maximum ALONG axis 0 (values and "
             "indices), not max(z, 0) element by element.",
             "use torch.clamp(z, min=0) or torch.maximum(z, torch.zeros_like(z))")
    a = as_array(answer, "relu(z)")
    expected = np.maximum(z.numpy(), 0)
    if a.shape != expected.shape:
        fail(f"relu(z) has shape {a.shape}; expected {expected.shape}, the shape of z.",
             "ReLU works element by element: it never reduces an axis")
    if close(a, np.abs(z.numpy())):
        fail("relu(z) returns |z|: negative inputs must become 0, not positive.",
             "ReLU(z) = max(z, 0)")
    if close(a, (z.numpy() > 0).astype(float)):
        fail("relu(z) returns the step function (0 or 1) -- that is ReLU's derivative, not ReLU.",
             "ReLU(z) = max(z, 0) keeps positive values as they are")
    compare(a, expected, "relu(z)", hint="ReLU(z) = max(z, 0) element by element")

    # ---- softmax
    z = torch.randn(4, 6, generator=gen, dtype=torch.float64) * 3  # 4 examples, 6 classes
    expected = torch.softmax(z, dim=1).numpy()
    a = as_array(call(softmax, z.clone(), name="softmax"), "softmax(z)")
    if a.shape != expected.shape:
        fail(f"softmax(z) has shape {a.shape}; expected {expected.shape} (one probability per class "
             "and example).", "divide by the sum with keepdim=True so the shapes broadcast")
    if close(a, torch.softmax(z, dim=0).numpy()):
        fail("softmax normalised the wrong axis: each COLUMN sums to 1, but each ROW (one "
             "example) should.", "sum over the classes, the last axis: dim=1 (or dim=-1)")
    if close(a, (z.exp() / z.exp().sum()).numpy()):
        fail("softmax divided by the sum over the whole batch: the rows do not sum to 1.",
             "sum over the classes only, dim=1, keepdim=True")
    if close(a, torch.log_softmax(z, dim=1).numpy()):
        fail("softmax returned log-probabilities (log_softmax).", "exponentiate and normalise")
    compare(a, expected, "softmax(z)",
            hint="softmax(z)_c = exp(z_c) / sum_k exp(z_k), over the last axis")
    # large logits: exp(1000) overflows unless the row maximum is subtracted first
    big = torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1000.0]], dtype=torch.float64)
    expected = torch.softmax(big, dim=1).numpy()
    raw = call(softmax, big.clone(), name="softmax")
    a = as_array(raw, "softmax(z) for large logits")
    if not np.all(np.isfinite(a)):
        fail("softmax returns NaN for logits like 1000: exp(1000) overflows to inf and inf/inf "
             "is NaN.", "subtract each row's maximum first, z - z.max(dim=1, keepdim=True).values; "
             "softmax does not change when you shift a row by a constant")
    compare(a, expected, "softmax(z) for large logits",
            hint="subtract each row's maximum before exp (it cancels in the ratio)")
    passed("Exercise 1 (relu and softmax)")


# --------------------------------------------------------------------------------------------
# Exercise 2: the backward pass of a linear layer
# --------------------------------------------------------------------------------------------

def exercise_2(linear_backward: Callable[..., Any]) -> None:
    """Check ``linear_backward(x, W, b, grad_y) -> (grad_x, grad_W, grad_b)`` for the layer
    ``y = x @ W.T + b`` (x [N, d_in], W [d_out, d_in], b [d_out], grad_y = dL/dy [N, d_out]).

    >>> exercise_2(lambda x, W, b, g: (g @ W, g.T @ x, g.sum(0)))
    ✅ Exercise 2 (linear_backward): correct.
    """
    gen = torch.Generator().manual_seed(303)
    for n, d_in, d_out in ((5, 4, 3), (8, 2, 6)):  # all different: a transposition cannot pass
        x = torch.randn(n, d_in, generator=gen, dtype=torch.float64, requires_grad=True)
        W = torch.randn(d_out, d_in, generator=gen, dtype=torch.float64, requires_grad=True)
        b = torch.randn(d_out, generator=gen, dtype=torch.float64, requires_grad=True)
        grad_y = torch.randn(n, d_out, generator=gen, dtype=torch.float64)
        (x @ W.T + b).backward(grad_y)  # autograd gives the expected gradients
        raw = call(linear_backward, x.detach().clone(), W.detach().clone(), b.detach().clone(),
                    grad_y.clone(), name="linear_backward")
        if not isinstance(raw, (tuple, list)) or len(raw) != 3:
            fail("linear_backward should return three gradients: (grad_x, grad_W, grad_b).",
                 "return grad_x, grad_W, grad_b")
        gx, gW, gb = (as_array(g, f"grad_{k}") for g, k in zip(raw, ("x", "W", "b")))
        if gW.shape == (d_in, d_out) and close(gW, W.grad.numpy().T):
            fail(f"grad_W is transposed: shape {gW.shape}, but W has shape {(d_out, d_in)}.",
                 "a gradient always has the shape of its parameter: grad_W = grad_y.T @ x")
        if gb.shape == (n, d_out) and close(gb.sum(0), b.grad.numpy()):
            fail(f"grad_b has shape {gb.shape}: you did not sum over the batch. b is added to "
                 f"every example, so its gradient collects all {n} contributions.",
                 "grad_b = grad_y.sum(dim=0), shape (d_out,)")
        if gb.shape == (d_out,) and close(gb * n, b.grad.numpy()):
            fail(f"grad_b is 1/n = 1/{n} of the right value: you averaged over the batch. The "
                 "mean over the batch is already inside grad_y (the loss did it).",
                 "grad_b = grad_y.sum(dim=0)")
        if gW.shape == (d_out, d_in) and close(gW * n, W.grad.numpy()):
            fail(f"grad_W is 1/n = 1/{n} of the right value: you averaged over the batch.",
                 "grad_W = grad_y.T @ x, a sum over the examples")
        if gx.shape != (n, d_in):
            fail(f"grad_x has shape {gx.shape}; expected {(n, d_in)}, the shape of x.",
                 "grad_x = grad_y @ W: [N, d_out] @ [d_out, d_in] = [N, d_in]")
        compare(gx, x.grad, "grad_x", hint="grad_x = grad_y @ W")
        compare(gW, W.grad, "grad_W", hint="grad_W = grad_y.T @ x (shape of W: [d_out, d_in])")
        compare(gb, b.grad, "grad_b", hint="grad_b = grad_y.sum(dim=0)")
    passed("Exercise 2 (linear_backward)")


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
                        f"count_parameters({sizes})", "add the counts of all layers up")
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        if got == expected:
            continue
        if got == weights:
            fail(f"count_parameters({sizes}) = {got:.0f} counts only the weights: the biases "
                 f"are missing.", "each nn.Linear(a, b) has a*b weights AND b biases")
        if got == weights + sum(sizes):
            fail(f"count_parameters({sizes}) = {got:.0f}: you gave the input layer biases too.",
                 "the input is not a layer: biases belong to the b outputs of each nn.Linear(a, b)")
        if got == weights + sum(sizes[:-1]):
            fail(f"count_parameters({sizes}) = {got:.0f}: the biases are counted on the input "
                 f"side of each layer.", "nn.Linear(a, b) has b biases, one per output")
        if got == sum(a * b for a, b in zip(sizes, sizes[1:] + [0])) or got == float(np.prod(sizes)):
            fail(f"count_parameters({sizes}) = {got:.0f} is not the sum over consecutive pairs.",
                 "loop over pairs of neighbouring sizes: zip(sizes[:-1], sizes[1:])")
        fail(f"count_parameters({sizes}) = {got:.0f}; expected {expected}.",
             "compare with sum(p.numel() for p in model.parameters()) for a small MLP")
    passed("Exercise 3 (count_parameters)")
