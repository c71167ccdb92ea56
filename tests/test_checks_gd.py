"""The checks of notebook 01 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import numpy as np
import pytest
import torch

from course_lib.checks import CheckFailed, gd

# ---------------------------------------------------------------- exercise 1: fastest_lr


def fastest_lr_reference(A):
    eigenvalues = np.linalg.eigvalsh(A)
    return 2 / (eigenvalues.max() + eigenvalues.min())


def test_exercise_1_accepts_reference(capsys):
    gd.exercise_1(fastest_lr_reference)
    out = capsys.readouterr().out
    assert "correct" in out and "0.818" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda A: 1 / np.linalg.eigvalsh(A).max(), "That is safe, but"),
    (lambda A: 2 / np.linalg.eigvalsh(A).max(), "divergence limit itself"),
    (lambda A: 1 / np.linalg.eigvalsh(A).min(), "one step solves the flattest"),
    (lambda A: 1.5 / np.linalg.eigvalsh(A).max(), "the worst direction then shrinks"),
    (lambda A: 1 / (np.linalg.eigvalsh(A).max() + np.linalg.eigvalsh(A).min()), "Check the algebra"),
    (lambda A: 0.01, "fastest_lr gave 0.01"),
    (lambda A: np.linalg.eigvalsh(A), "one number"),
])
def test_exercise_1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_1(wrong)


# ---------------------------------------------------------------- exercise 2: nesterov


def momentum_variant(grad_fn, x0, lr, mu, steps, kind="nesterov"):
    x = np.array(x0, dtype=float)
    b = np.zeros_like(x)
    out = [x.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        b = mu * b + g
        x = x - lr * (g + mu * b if kind == "nesterov" else b)
        out.append(x.copy())
    return np.array(out)


def nesterov_reference(grad_fn, x0, lr, mu, steps):
    return momentum_variant(grad_fn, x0, lr, mu, steps)


def heavy_ball(grad_fn, x0, lr, mu, steps):
    return momentum_variant(grad_fn, x0, lr, mu, steps, kind="heavy ball")


def look_ahead(grad_fn, x0, lr, mu, steps):
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    out = [x.copy()]
    for _ in range(steps):
        v = mu * v - lr * grad_fn(x + mu * v)
        x = x + v
        out.append(x.copy())
    return np.array(out)


def calls_torch_optim(grad_fn, x0, lr, mu, steps):
    p = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=True)
    out = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        p.grad = torch.tensor(grad_fn(p.detach().numpy()))
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out).numpy()


def test_exercise_2_accepts_reference(capsys):
    gd.exercise_2(nesterov_reference)
    assert "step for step" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (heavy_ball, "heavy-ball momentum"),
    (look_ahead, "look-ahead form"),
    (calls_torch_optim, "calls torch.optim.SGD, the operation this exercise asks you to write"),
    (lambda g, x0, lr, mu, steps: nesterov_reference(g, x0, lr, mu, steps)[1:], "starting with x0"),
    (lambda g, x0, lr, mu, steps: momentum_variant(g, x0, lr, 0.0, steps), "plain gradient steps"),
    (lambda g, x0, lr, mu, steps: nesterov_reference(g, x0, lr, mu ** 2, steps), "differs"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_2(wrong)


def test_exercise_2_torch_optim_works_again_after_the_check():
    with pytest.raises(CheckFailed):
        gd.exercise_2(calls_torch_optim)
    assert torch.optim.SGD.__name__ == "SGD"


# ---------------------------------------------------------------- exercise 3: lr_schedule


def lr_schedule_reference(lr0, steps):
    return lr0 / (1 + np.arange(steps) / (steps / 50))


def test_exercise_3_accepts_reference_and_other_decays(capsys):
    gd.exercise_3(lr_schedule_reference)
    gd.exercise_3(lambda lr0, steps: lr0 * 0.5 * (1 + np.cos(np.pi * np.arange(steps) / steps)))
    gd.exercise_3(lambda lr0, steps: lr0 * 0.1 ** np.searchsorted([steps // 2, 3 * steps // 4], np.arange(steps),
                                                                   side="right"))
    assert capsys.readouterr().out.count("correct") == 3


@pytest.mark.parametrize("wrong, message", [
    (lambda lr0, steps: np.full(steps, lr0), "noise ball did not shrink enough"),
    (lambda lr0, steps: lr0 * 0.99 ** np.arange(steps), "shrink so fast"),
    (lambda lr0, steps: lr0 / (1 + np.arange(steps)), "shrink so fast"),
    (lambda lr0, steps: np.full(steps, lr0 / 100), "not at lr0"),
    (lambda lr0, steps: lr0 * (1 + np.arange(steps) / steps), "increases"),
    (lambda lr0, steps: lr0 / (1 + np.arange(steps - 1)), "one per step"),
    (lambda lr0, steps: lr0 * np.where(np.arange(steps) < steps // 2, 1.0, 0.5), "did not shrink enough"),
])
def test_exercise_3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_3(wrong)


# ---------------------------------------------------------------- exercise 4: cross_entropy


def cross_entropy_reference(Z, y):
    m = Z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
    return np.mean(lse - Z[np.arange(len(y)), y])


def cross_entropy_naive(Z, y):
    p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def cross_entropy_scipy(Z, y):
    from scipy.special import logsumexp

    return np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])


def test_exercise_4_accepts_reference(capsys):
    gd.exercise_4(cross_entropy_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (cross_entropy_naive, "not finite for logits like 1000"),
    (cross_entropy_scipy, "calls scipy.special.logsumexp"),
    (lambda Z, y: float(torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(y))),
     "calls torch.nn.functional.cross_entropy"),
    (lambda Z, y: -cross_entropy_reference(Z, y), "wrong sign"),
    (lambda Z, y: len(y) * cross_entropy_reference(Z, y), "summed over the examples"),
    (lambda Z, y: np.mean(np.log(np.exp(Z).sum(1))[:, None] - Z[:, y]), r"Z\[:, y\]"),
    (lambda Z, y: np.log(np.exp(Z).sum(1)) - Z[np.arange(len(y)), y], "one loss per example"),
    (lambda Z, y: cross_entropy_reference(Z, y) / np.log(2), "base 2"),
    (lambda Z, y: np.mean(np.log(np.exp(Z).sum(0, keepdims=True)) - Z, axis=0)[0], "expected"),
])
def test_exercise_4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_4(wrong)


# ---------------------------------------------------------------- all exercises

@pytest.mark.parametrize("check", [gd.exercise_1, gd.exercise_2, gd.exercise_3, gd.exercise_4])
def test_an_unfinished_exercise_says_so(check):
    def placeholder(*args):
        raise NotImplementedError("Exercise: write this function")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(placeholder)
