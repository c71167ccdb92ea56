"""Checks for the exercises of notebook 01 (gradient descent).

Each exercise asks for a step beyond what the notebook shows: the fastest constant learning rate
of a quadratic, Nesterov's momentum (checked against ``torch.optim.SGD(nesterov=True)``), a
learning-rate schedule that shrinks the noise ball of SGD, and a numerically stable multi-class
cross-entropy. Every check calls the student's function on its own freshly generated inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.i18n import _

from . import as_array, as_number, call, close, compare, fail, passed

# --------------------------------------------------------------------------------------------
# Exercise 1: the fastest constant learning rate of a quadratic
# --------------------------------------------------------------------------------------------


def _spd(rng: np.random.Generator, eigenvalues: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    A = q @ np.diag(eigenvalues) @ q.T
    return (A + A.T) / 2


def exercise_1(fastest_lr: Callable[[np.ndarray], Any]) -> None:
    """Check ``fastest_lr(A)``: the constant learning rate with which gradient descent on
    ``0.5 x^T A x - b^T x`` (A symmetric positive definite) shrinks the error fastest in the worst
    case, i.e. the alpha minimising ``max_i |1 - alpha * lambda_i|``: ``2 / (L + mu)``.

    >>> exercise_1(lambda A: 2 / (np.linalg.eigvalsh(A).max() + np.linalg.eigvalsh(A).min()))
    ✅ Exercise 1 (fastest_lr): correct. For κ = 10: error × 0.818 per step (1/L gives × 0.900).
    """
    rng = np.random.default_rng(101)
    for scale, cond, dim in ((0.5, 4.0, 2), (30.0, 10.0, 3), (400.0, 3.0, 4), (0.01, 25.0, 3)):
        eig = scale * np.geomspace(1.0, cond, dim)
        A = _spd(rng, eig)
        L, mu = float(eig.max()), float(eig.min())
        lr = as_number(call(fastest_lr, A.copy(), name="fastest_lr"), "fastest_lr(A)",
                       _("return one number, the learning rate"))
        best = 2 / (L + mu)
        if np.isclose(lr, best, rtol=1e-6):
            continue
        where = _("for eigenvalues {eig} (L = {L:.4g}, μ = {mu:.4g})",
                  eig=np.array2string(eig, precision=3), L=L, mu=mu)
        factor = max(abs(1 - lr * L), abs(1 - lr * mu))
        if np.isclose(lr, 1 / L, rtol=1e-6):
            fail(_("fastest_lr gave 1/L {where}. That is safe, but along the flattest direction the "
                   "error only shrinks by |1 - μ/L| = {factor:.3f} per step.", where=where, factor=factor),
                 _("make the factors of the steepest and the flattest direction equal in size: "
                   "1 - α μ = -(1 - α L)"))
        if np.isclose(lr, 2 / L, rtol=1e-6):
            fail(_("fastest_lr gave 2/L {where}: the divergence limit itself. Along the steepest "
                   "direction the factor is |1 - 2| = 1: the error never shrinks there.", where=where),
                 _("balance the steepest and the flattest direction: 1 - α μ = -(1 - α L)"))
        if np.isclose(lr, 1 / mu, rtol=1e-6):
            fail(_("fastest_lr gave 1/μ {where}: one step solves the flattest direction but the "
                   "steepest one is multiplied by |1 - L/μ| = {growth:.3g} > 1 per step.",
                   where=where, growth=abs(1 - L / mu)),
                 _("the worst direction decides; balance L and μ"))
        if np.isclose(lr, 1 / (L + mu), rtol=1e-6) or np.isclose(lr, 2 / (L - mu), rtol=1e-6):
            fail(_("fastest_lr gave {lr:.4g} {where}; the best value is different. Check the algebra "
                   "of 1 - α μ = -(1 - α L).", lr=lr, where=where), _("solve for α: α (L + μ) = 2"))
        fail(_("fastest_lr gave {lr:.4g} {where}: the worst direction then shrinks by "
               "{factor:.3g} per step, but a better α makes it {best:.3g}.", lr=lr, where=where,
               factor=factor, best=(L - mu) / (L + mu)),
             _("the factor per direction is |1 - α λ|; the largest over λ in [μ, L] is smallest "
               "when the two ends are equal: 1 - α μ = -(1 - α L)"))
    kappa = 10.0
    passed(_("Exercise 1 (fastest_lr)"),
           _("For κ = {kappa:g}: error × {best:.3f} per step (1/L gives × {one_over_L:.3f}).",
             kappa=kappa, best=(kappa - 1) / (kappa + 1), one_over_L=1 - 1 / kappa))


# --------------------------------------------------------------------------------------------
# Exercise 2: Nesterov momentum, by hand, equal to torch.optim.SGD(nesterov=True)
# --------------------------------------------------------------------------------------------

def _momentum_paths(grad_fn: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float,
                    mu: float, steps: int) -> dict[str, np.ndarray]:
    """Trajectories of Nesterov (PyTorch's form) and of the usual mistakes."""
    paths = {}
    for kind in ("nesterov", "heavy ball", "look-ahead", "no momentum in the step"):
        x = np.array(x0, dtype=np.float64)
        b = np.zeros_like(x)
        out = [x.copy()]
        for _ in range(steps):
            if kind == "look-ahead":  # Sutskever et al.: gradient at x + mu v, v = mu v - lr g
                g = grad_fn(x + mu * b)
                b = mu * b - lr * g
                x = x + b
            else:
                g = grad_fn(x)
                b = mu * b + g
                step = {"nesterov": g + mu * b, "heavy ball": b, "no momentum in the step": g}[kind]
                x = x - lr * step
            out.append(x.copy())
        paths[kind] = np.array(out)
    return paths


def _torch_nesterov(A: np.ndarray, c: np.ndarray, x0: np.ndarray, lr: float, mu: float,
                    steps: int) -> np.ndarray:
    import torch

    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=True)
    At, ct = torch.tensor(A), torch.tensor(c)
    out = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * p @ At @ p - ct @ p).backward()
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out).numpy()


def exercise_2(nesterov: Callable[..., Any]) -> None:
    """Check ``nesterov(grad_fn, x0, lr, mu, steps)``: the trajectory (``steps + 1`` points, x0
    first) of Nesterov momentum in PyTorch's form, ``b = mu b + g; x = x - lr (g + mu b)``, written
    without ``torch.optim``; compared with ``torch.optim.SGD(momentum=mu, nesterov=True)``.

    >>> def nesterov(grad_fn, x0, lr, mu, steps):
    ...     x, b, out = np.array(x0, dtype=float), np.zeros(len(x0)), [np.array(x0, dtype=float)]
    ...     for _ in range(steps):
    ...         g = grad_fn(x); b = mu * b + g; x = x - lr * (g + mu * b); out.append(x)
    ...     return np.array(out)
    >>> exercise_2(nesterov)
    ✅ Exercise 2 (nesterov): correct. It matches torch.optim.SGD(nesterov=True) step for step.
    """
    rng = np.random.default_rng(202)
    for dim, lr, mu, steps in ((2, 0.05, 0.9, 15), (3, 0.02, 0.8, 25)):
        A = _spd(rng, np.geomspace(1.0, 12.0, dim))
        c = rng.normal(size=dim)

        def grad_fn(x: np.ndarray, A: np.ndarray = A, c: np.ndarray = c) -> np.ndarray:
            return A @ x - c

        x0 = rng.normal(size=dim) * 3
        given = x0.copy()
        expected = _torch_nesterov(A, c, x0, lr, mu, steps)
        raw = call(nesterov, grad_fn, given, lr, mu, steps, name="nesterov",
                   forbidden=("torch.optim.SGD",))
        if not np.array_equal(given, x0):
            fail(_("nesterov changed the caller's x0 in place."),
                 _("start from x = np.array(x0, dtype=float)"))
        path = as_array(raw, _("the trajectory"))
        if path.shape != expected.shape:
            if path.shape == (steps, dim):
                fail(_("the trajectory has {steps} points; it must have steps + 1 = {points}, "
                       "starting with x0.", steps=steps, points=steps + 1),
                     _("put x0 in the list before the loop"))
            fail(_("the trajectory has shape {shape}; expected (steps + 1, dim) = {expected}.",
                   shape=path.shape, expected=expected.shape))
        mistakes = _momentum_paths(grad_fn, x0, lr, mu, steps)
        assert np.allclose(mistakes["nesterov"], expected)  # our own formula is PyTorch's
        if close(path, mistakes["heavy ball"]):
            fail(_("that is heavy-ball momentum (section 5), x = x - lr * b. Nesterov steps along "
                   "g + mu * b: the velocity's next move is added once more (it looks ahead)."),
                 _("b = mu * b + g; x = x - lr * (g + mu * b)"))
        if close(path, mistakes["look-ahead"]):
            fail(_("that is the look-ahead form (gradient at x + mu v, Sutskever et al. 2013). It is "
                   "the same method written for another variable, so its points differ from "
                   "PyTorch's."), _("use PyTorch's form: b = mu * b + g; x = x - lr * (g + mu * b)"))
        if close(path, mistakes["no momentum in the step"]):
            fail(_("your steps are plain gradient steps: the velocity b never enters the update."),
                 _("x = x - lr * (g + mu * b)"))
        compare(path, expected, _("the trajectory"),
                hint=_("b starts at 0; each step: g = grad_fn(x); b = mu * b + g; "
                       "x = x - lr * (g + mu * b)"))
    passed(_("Exercise 2 (nesterov)"), _("It matches torch.optim.SGD(nesterov=True) step for step."))


# --------------------------------------------------------------------------------------------
# Exercise 3: a learning-rate schedule that shrinks the noise ball of SGD
# --------------------------------------------------------------------------------------------

_SGD_STEPS = 4000
_SGD_LR0 = 0.05


def _sgd_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(303)
    X = rng.normal(size=(200, 2)) * np.array([1.0, 0.5])
    w_true = np.array([2.0, -1.0])
    y = X @ w_true + rng.normal(scale=1.0, size=200)  # noisy targets: per-example gradients disagree
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y, w_star


def _sgd_final_error(X: np.ndarray, y: np.ndarray, w_star: np.ndarray, lrs: np.ndarray) -> float:
    """Mean squared distance to the minimum after single-example SGD, over 8 seeds."""
    errors = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(y), size=len(lrs))
        w = w_star + np.array([4.0, -4.0])  # start far from the minimum
        with np.errstate(all="ignore"):
            for lr, i in zip(lrs, idx):
                w = w - lr * 2 * X[i] * (X[i] @ w - y[i])
        errors.append(float(np.sum((w - w_star) ** 2)))
    return float(np.mean(errors))


def exercise_3(lr_schedule: Callable[[float, int], Any]) -> None:
    """Check ``lr_schedule(lr0, steps)``: ``steps`` learning rates, starting at ``lr0``, never
    increasing, with which single-example SGD ends at least 10x closer (in squared distance) to
    the minimum than with the constant ``lr0`` -- the noise ball shrinks.

    >>> exercise_3(lambda lr0, steps: lr0 / (1 + np.arange(steps) / (steps / 50)))
    ✅ Exercise 3 (lr_schedule): correct. Squared distance to the minimum after 4000 SGD steps: constant α 0.051, your schedule 0.0016 (31x smaller).
    """
    raw = call(lr_schedule, _SGD_LR0, _SGD_STEPS, name="lr_schedule")
    lrs = as_array(raw, "lr_schedule(lr0, steps)").reshape(-1)
    if len(lrs) != _SGD_STEPS:
        fail(_("lr_schedule(lr0, {steps}) returned {count} values; expected one per step.",
               steps=_SGD_STEPS, count=len(lrs)),
             _("return an array of length steps, e.g. lr0 / (1 + np.arange(steps) / tau)"))
    if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        fail(_("some learning rates are negative, NaN or infinite."))
    if not np.isclose(lrs[0], _SGD_LR0, rtol=1e-6):
        fail(_("the schedule starts at {first:.4g}, not at lr0 = {lr0}. Large steps at the start "
               "are what makes fast progress towards the minimum; shrink them later.",
               first=lrs[0], lr0=_SGD_LR0),
             _("the first value should be lr0 itself"))
    if np.any(np.diff(lrs) > 1e-12):
        fail(_("the schedule increases somewhere; a decay never makes the step larger."),
             _("e.g. lr0 / (1 + t / tau), lr0 / sqrt(1 + t / tau), or a cosine from lr0 to 0"))
    X, y, w_star = _sgd_problem()
    constant = _sgd_final_error(X, y, w_star, np.full(_SGD_STEPS, _SGD_LR0))
    yours = _sgd_final_error(X, y, w_star, lrs)
    if not np.isfinite(yours) or yours > 0.1 * constant:
        total = float(lrs.sum())
        if total < 10 or yours > constant:
            fail(_("the steps shrink so fast that SGD stops before it reaches the minimum: they add up "
                   "to only {total:.3g} (constant lr0 adds up to {constant_total:g}). Squared "
                   "distance at the end: yours {yours:.3g}, constant α {constant:.3g}.", total=total,
                   constant_total=_SGD_LR0 * _SGD_STEPS, yours=yours, constant=constant),
                 _("the sum of all steps must stay large (Robbins & Monro: Σ α_t = ∞): decay like "
                   "1/t, not exponentially fast"))
        fail(_("the noise ball did not shrink enough: squared distance to the minimum at the end "
               "{yours:.3g}, with the constant lr0 {constant:.3g} (need at least 10x smaller). The "
               "last learning rate is {last:.3g}.", yours=yours, constant=constant, last=lrs[-1]),
             _("the noise ball's size is proportional to α: the last steps must be much smaller "
               "than lr0, e.g. lr0 / (1 + t / tau) with tau a small share of the steps"))
    passed(_("Exercise 3 (lr_schedule)"),
           _("Squared distance to the minimum after {steps} SGD steps: constant α {constant:.2g}, "
             "your schedule {yours:.2g} ({ratio:.0f}x smaller).", steps=_SGD_STEPS,
             constant=constant, yours=yours, ratio=constant / yours))


# --------------------------------------------------------------------------------------------
# Exercise 4: a numerically stable multi-class cross-entropy
# --------------------------------------------------------------------------------------------

_LIBRARY_LOSSES = ("scipy.special.logsumexp", "scipy.special.log_softmax", "scipy.special.softmax",
                   "torch.nn.functional.cross_entropy", "torch.nn.functional.log_softmax",
                   "torch.logsumexp", "torch.log_softmax")


def _cross_entropy(Z: np.ndarray, y: np.ndarray) -> float:
    m = Z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(lse - Z[np.arange(len(y)), y]))


def exercise_4(cross_entropy: Callable[[np.ndarray, np.ndarray], Any]) -> None:
    """Check ``cross_entropy(Z, y)``: the mean of ``-log softmax(Z)[i, y_i]`` for logits ``Z``
    [n, C] and integer labels ``y`` [n], finite for logits like 1000, written without a library's
    logsumexp / log_softmax / cross_entropy.

    >>> def ce(Z, y):
    ...     m = Z.max(axis=1, keepdims=True)
    ...     lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
    ...     return np.mean(lse - Z[np.arange(len(y)), y])
    >>> exercise_4(ce)
    ✅ Exercise 4 (cross_entropy): correct.
    """
    rng = np.random.default_rng(404)
    n, C = 9, 4
    Z = rng.normal(scale=2.0, size=(n, C))
    y = rng.integers(0, C, size=n)
    y[:C] = np.arange(C)  # every class occurs
    expected = _cross_entropy(Z, y)
    with np.errstate(all="ignore"):
        answer = as_array(call(cross_entropy, Z.copy(), y.copy(), name="cross_entropy",
                               forbidden=_LIBRARY_LOSSES), "cross_entropy(Z, y)")
    m = Z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]
    per_example = lse - Z[np.arange(n), y]
    if answer.shape == per_example.shape and close(answer, per_example):
        fail(_("cross_entropy returned one loss per example; it should return their mean (one number)."),
             _("wrap it in np.mean(...)"))
    if answer.size != 1:
        fail(_("cross_entropy returned shape {shape}; expected one number.", shape=answer.shape),
             _("pick each row's true-class logit with Z[np.arange(n), y], not Z[:, y]"))
    a = float(answer.reshape(()))
    variants = {
        _("has the wrong sign: a loss must be >= 0 (it is MINUS the log-probability)"): -expected,
        _("is n = {n} times too large: you summed over the examples instead of averaging", n=n):
            expected * n,
        _("takes the column y[j] of every row (Z[:, y] is an n x n matrix); each example needs its own "
          "label's logit, Z[np.arange(n), y]"): float(np.mean(lse[:, None] - Z[:, y])),
        _("normalises over the examples (axis 0) instead of over the classes (axis 1)"):
            float(np.mean((np.log(np.exp(Z).sum(axis=0, keepdims=True)) - Z)[np.arange(n), y])),
        _("uses log base 2; the course uses the natural logarithm"): expected / np.log(2),
    }
    for message, value in variants.items():
        if np.isclose(a, value, rtol=1e-6):
            fail(_("cross_entropy {mistake}.", mistake=message),
                 _("loss_i = log Σ_c exp(Z[i, c]) - Z[i, y_i], averaged over i"))
    if not np.isclose(a, expected, rtol=1e-6):
        fail(_("cross_entropy(Z, y) = {a:.6g}, expected {expected:.6g}.", a=a, expected=expected),
             _("loss_i = log Σ_c exp(Z[i, c]) - Z[i, y_i], averaged over i"))
    # confident logits: exp(1000) overflows unless each row's maximum is subtracted first
    Z_big = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 790.0], [5.0, 700.0, 3.0]])
    y_big = np.array([0, 2, 0])
    expected_big = _cross_entropy(Z_big, y_big)
    with np.errstate(all="ignore"):
        big = as_array(call(cross_entropy, Z_big.copy(), y_big.copy(), name="cross_entropy",
                            forbidden=_LIBRARY_LOSSES), "cross_entropy(Z, y)")
    if big.size != 1 or not np.all(np.isfinite(big)):
        fail(_("cross_entropy is not finite for logits like 1000: exp(1000) overflows to inf."),
             _("subtract each row's maximum m first: log Σ exp(z_c) = m + log Σ exp(z_c - m)"))
    if not np.isclose(float(big.reshape(())), expected_big, rtol=1e-9):
        fail(_("cross_entropy is right for ordinary logits but gives {got:.6g} instead of "
               "{expected:.6g} for large ones (Z = {Z}, y = {y}).", got=float(big.reshape(())),
               expected=expected_big, Z=Z_big.tolist(), y=y_big.tolist()),
             _("clipping probabilities caps the loss; work with logits: m + log Σ exp(z_c - m) - z_y"))
    passed(_("Exercise 4 (cross_entropy)"))
