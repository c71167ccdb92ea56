"""Checks for the exercises of notebook 01 (gradient descent).

Every check calls the student's function on its own freshly generated inputs (not the notebook's
data), so an answer that only reproduces the notebook's numbers does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import as_array, as_number, call, close, compare, fail, passed


# --------------------------------------------------------------------------------------------
# Exercise 1: gradient of the mean squared error
# --------------------------------------------------------------------------------------------

def _mse_grad(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 2.0 / len(y) * X.T @ (X @ w - y)


def exercise_1(mse_grad: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> None:
    """Check ``mse_grad(X, y, w)``, the gradient of ``mean((X @ w - y) ** 2)`` w.r.t. ``w``.

    >>> exercise_1(lambda X, y, w: 2 / len(y) * X.T @ (X @ w - y))
    ✅ Exercise 1 (mse_grad): correct.
    """
    rng = np.random.default_rng(101)
    for n, d in ((7, 3), (40, 5)):  # n != d, so a transposed product cannot pass by accident
        X = rng.normal(size=(n, d))
        y = rng.normal(size=n)
        w = rng.normal(size=d)
        expected = _mse_grad(X, y, w)
        answer = as_array(call(mse_grad, X.copy(), y.copy(), w.copy(), name="mse_grad"),
                          "mse_grad(X, y, w)")
        if close(answer, expected / 2):
            fail("mse_grad is half the true gradient: the factor 2 is missing.",
                 "d/dw (Xw - y)^2 = 2 X^T (Xw - y): the square brings down a 2")
        if close(answer, expected * n):
            fail(f"mse_grad is n = {n} times the true gradient: you summed over the examples "
                 "instead of averaging.", "the loss is a mean, so divide by n = len(y)")
        if close(answer, expected * n / 2):
            fail(f"mse_grad is n/2 = {n / 2:g} times the true gradient: both the 2 and the "
                 "1/n are missing.", "gradient = 2 / n * X.T @ (X @ w - y)")
        if close(answer, -expected):
            fail("mse_grad has the wrong sign.",
                 "differentiate (Xw - y)^2, not (y - Xw) with the sign dropped: "
                 "the residual is X @ w - y")
        compare(answer, expected, "mse_grad(X, y, w)",
                hint=f"expected shape {expected.shape} = w's shape: 2 / n * X.T @ (X @ w - y)")
    passed("Exercise 1 (mse_grad)")


# --------------------------------------------------------------------------------------------
# Exercise 2: a gradient-descent loop that returns the trajectory
# --------------------------------------------------------------------------------------------

def _gradient_descent(grad_fn: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float,
                      steps: int) -> np.ndarray:
    x = np.array(x0, dtype=np.float64)
    points = [x.copy()]
    for _ in range(steps):
        x = x - lr * grad_fn(x)
        points.append(x.copy())
    return np.array(points)


def exercise_2(gradient_descent: Callable[..., Any]) -> None:
    """Check ``gradient_descent(grad_fn, x0, lr, steps)``: it returns every point visited, an
    array of shape ``(steps + 1, dim)`` that starts with ``x0``.

    >>> def gd(grad_fn, x0, lr, steps):
    ...     xs = [np.array(x0, dtype=float)]
    ...     for _ in range(steps):
    ...         xs.append(xs[-1] - lr * grad_fn(xs[-1]))
    ...     return np.array(xs)
    >>> exercise_2(gd)
    ✅ Exercise 2 (gradient_descent): correct.
    """
    rng = np.random.default_rng(202)
    for dim, lr, steps in ((2, 0.1, 7), (3, 0.05, 12)):
        q = rng.normal(size=(dim, dim))
        A = q @ q.T + dim * np.eye(dim)  # a well-conditioned convex quadratic
        b = rng.normal(size=dim)

        def grad_fn(x: np.ndarray, A: np.ndarray = A, b: np.ndarray = b) -> np.ndarray:
            return A @ x - b

        x0 = rng.normal(size=dim)
        x0_given = x0.copy()
        expected = _gradient_descent(grad_fn, x0, lr, steps)
        raw = call(gradient_descent, grad_fn, x0_given, lr, steps, name="gradient_descent")
        if not np.array_equal(x0_given, x0):
            fail("gradient_descent changed the caller's x0 in place.",
                 "start with x = np.array(x0, dtype=float) (a copy) before updating x")
        answer = as_array(raw, "the trajectory")
        if answer.ndim != 2 or answer.shape[1] != dim:
            fail(f"the trajectory has shape {answer.shape}; expected (steps + 1, dim) = "
                 f"{expected.shape}.", "return np.array(points) where points is a list of the "
                 "1-D points x0, x1, ..., x_steps")
        if len(answer) > 1 and np.allclose(answer, answer[-1]) and not np.allclose(answer[0], x0):
            fail("every row of the trajectory is the same (final) point: you stored the same "
                 "array object each time and then changed it in place.",
                 "append a copy, points.append(x.copy()), or write x = x - lr * g (a new array)")
        if len(answer) == steps and close(answer, expected[1:]):
            fail(f"the trajectory has {steps} points but must have steps + 1 = {steps + 1}: "
                 "the starting point x0 is missing.", "put x0 in the list before the loop")
        if len(answer) == steps and close(answer, expected[:-1]):
            fail(f"the trajectory has {steps} points but must have steps + 1 = {steps + 1}: "
                 "it stops one step early.", "take exactly `steps` gradient steps and keep x0 too")
        if len(answer) == steps + 2 and close(answer, _gradient_descent(grad_fn, x0, lr, steps + 1)):
            fail(f"the trajectory has {steps + 2} points: one gradient step too many "
                 f"(steps = {steps} should give {steps + 1} points, x0 included).",
                 "loop `for _ in range(steps)`")
        if len(answer) != steps + 1:
            fail(f"the trajectory has {len(answer)} points; expected steps + 1 = {steps + 1} "
                 "(x0 and one point after each step).")
        uphill = _gradient_descent(lambda x, g=grad_fn: -g(x), x0, lr, steps)
        if close(answer, uphill):
            fail("your steps go uphill: you added the gradient.",
                 "gradient DEscent subtracts: x = x - lr * grad_fn(x)")
        if not np.allclose(answer[0], x0):
            fail("the first row of the trajectory should be x0 itself.")
        compare(answer, expected, "the trajectory",
                hint="each step is x_{t+1} = x_t - lr * grad_fn(x_t); check where lr goes")
    passed("Exercise 2 (gradient_descent)")


# --------------------------------------------------------------------------------------------
# Exercise 3: a numerically stable logistic loss (binary cross-entropy from logits)
# --------------------------------------------------------------------------------------------

def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def exercise_3(log_loss: Callable[[np.ndarray, np.ndarray], Any]) -> None:
    """Check ``log_loss(z, y)``: the mean binary cross-entropy of labels ``y`` in {0, 1} given
    logits ``z`` (before the sigmoid), finite even for logits like +-1000.

    >>> exercise_3(lambda z, y: np.mean(np.logaddexp(0, z) - y * z))
    ✅ Exercise 3 (log_loss): correct.
    """
    rng = np.random.default_rng(303)
    n = 25
    z = rng.normal(scale=3.0, size=n)
    y = (rng.random(n) < 0.5).astype(np.float64)
    expected = _log_loss(z, y)
    with np.errstate(all="ignore"):
        answer = as_array(call(log_loss, z.copy(), y.copy(), name="log_loss"), "log_loss(z, y)")
    per_example = np.logaddexp(0.0, z) - y * z
    if answer.shape == per_example.shape and close(answer, per_example):
        fail("log_loss returned one loss per example; it should return their mean (one number).",
             "wrap it in np.mean(...)")
    if answer.size == 1:
        a = float(answer.reshape(()))
        if np.isclose(a, -expected, rtol=1e-6):
            fail("log_loss has the wrong sign: a loss must be >= 0.",
                 "cross-entropy is MINUS the log-likelihood: -[y log p + (1 - y) log(1 - p)]")
        if np.isclose(a, expected * n, rtol=1e-6):
            fail(f"log_loss is n = {n} times too large: you summed over the examples instead "
                 "of taking the mean.", "use np.mean, not np.sum")
        if np.isclose(a, expected / np.log(2), rtol=1e-6):
            fail("log_loss uses log base 2; the course uses the natural logarithm.", "np.log")
        if not np.isclose(a, expected, rtol=1e-6):
            fail(f"log_loss(z, y) = {a:.6g} but the mean cross-entropy is {expected:.6g} for "
                 f"z = {np.array2string(z[:3], precision=3)}..., y = {y[:3]}...",
                 "loss_i = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = "
                 "log(1 + exp(z)) - y * z, averaged over i")
    else:
        compare(answer, np.float64(expected), "log_loss(z, y)", hint="return one number: the mean")

    # Large logits: confident predictions, right and wrong.
    z_big = np.array([1000.0, -1000.0, 40.0, -40.0, 800.0, -800.0])
    y_big = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    expected_big = _log_loss(z_big, y_big)
    with np.errstate(all="ignore"):
        big = as_array(call(log_loss, z_big.copy(), y_big.copy(), name="log_loss"),
                       "log_loss(z, y)")
    if not np.all(np.isfinite(big)):
        fail(f"log_loss gives {big.reshape(-1)[0]} for large logits (z = +-1000): the naive "
             "formula overflows (exp(1000) = inf) or takes log(0).",
             "use log(1 + exp(z)) - y * z with np.logaddexp(0, z), or "
             "max(z, 0) - y * z + log1p(exp(-|z|))")
    if big.size == 1 and not np.isclose(float(big.reshape(())), expected_big, rtol=1e-6):
        fail(f"log_loss is right for ordinary logits but wrong for large ones: "
             f"{float(big.reshape(())):.6g} instead of {expected_big:.6g} for "
             "z = [1000, -1000, 40, -40, 800, -800], y = [1, 0, 0, 1, 0, 1].",
             "clipping the probability (e.g. to [1e-15, 1 - 1e-15]) caps the loss; compute it "
             "from the logits: np.logaddexp(0, z) - y * z")
    passed("Exercise 3 (log_loss)")


# --------------------------------------------------------------------------------------------
# Exercise 4: choose a learning rate for any convex quadratic
# --------------------------------------------------------------------------------------------

def _gd_error_ratio(A: np.ndarray, lr: float, steps: int, rng: np.random.Generator) -> float:
    """Distance to the minimum after ``steps`` GD steps divided by the starting distance."""
    b = rng.normal(size=len(A))
    x_star = np.linalg.solve(A, b)
    x = x_star + rng.normal(size=len(A))  # error components along every eigenvector
    start = np.linalg.norm(x - x_star)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = x - lr * (A @ x - b)
        err = np.linalg.norm(x - x_star)
    return float(err / start) if np.isfinite(err) else float("inf")


def exercise_4(pick_lr: Callable[[np.ndarray], Any]) -> None:
    """Check ``pick_lr(A)``: a learning rate with which gradient descent on
    ``J(x) = 0.5 x^T A x - b^T x`` (A symmetric positive definite) reaches the minimum, shrinking
    the error a million-fold within ``100 * cond(A)`` steps.

    >>> exercise_4(lambda A: 1 / np.linalg.eigvalsh(A).max())
    ✅ Exercise 4 (pick_lr): correct.
    """
    rng = np.random.default_rng(404)
    # Matrices of very different scales, so one fixed number cannot work for all of them.
    for scale, cond, dim in ((0.5, 4.0, 2), (30.0, 10.0, 3), (400.0, 3.0, 4), (0.01, 8.0, 2)):
        q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        eig = scale * np.geomspace(1.0, cond, dim)
        A = q @ np.diag(eig) @ q.T
        A = (A + A.T) / 2
        L, mu = float(eig.max()), float(eig.min())
        value = call(pick_lr, A.copy(), name="pick_lr")
        lr = as_number(value, "pick_lr(A)", "e.g. return 1 / L where L is the largest eigenvalue of A")
        if not np.isfinite(lr) or lr <= 0:
            fail(f"pick_lr(A) returned {lr}; a learning rate must be a positive number.")
        steps = int(np.ceil(100 * L / mu))
        ratio = _gd_error_ratio(A, lr, steps, rng)
        if ratio <= 1e-6:
            continue
        where = f"for a matrix with eigenvalues {np.array2string(eig, precision=3)}"
        if lr >= 2 / L * (1 - 1e-9):
            fail(f"pick_lr gave lr = {lr:.4g} {where}, but the limit is 2/L = {2 / L:.4g} "
                 f"(L = largest eigenvalue = {L:.4g}). Along that eigenvector each step multiplies "
                 f"the error by |1 - lr*L| = {abs(1 - lr * L):.3g} >= 1, so GD "
                 + ("oscillates without converging." if abs(1 - lr * L) < 1 + 1e-6
                    else "blows up."),
                 "use a value safely below 2/L, e.g. 1/L (np.linalg.eigvalsh(A).max())")
        fail(f"pick_lr gave lr = {lr:.4g} {where}: after {steps} steps the error only shrank to "
             f"{ratio:.2g} of its start. That is too small a step (2/L = {2 / L:.4g}).",
             "scale the step to the matrix: 1/L, with L the largest eigenvalue, is a safe choice")
    passed("Exercise 4 (pick_lr)")
