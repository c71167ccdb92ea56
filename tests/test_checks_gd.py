"""The checks of notebook 01 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import numpy as np
import pytest

from course_lib.checks import CheckFailed, gd

# ---------------------------------------------------------------- exercise 1: mse_grad

def mse_grad_reference(X, y, w):
    residual = X @ w - y
    return 2 / len(y) * X.T @ residual


def test_exercise_1_accepts_reference(capsys):
    gd.exercise_1(mse_grad_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda X, y, w: 1 / len(y) * X.T @ (X @ w - y), "factor 2 is missing"),
    (lambda X, y, w: 2 * X.T @ (X @ w - y), "summed over the examples"),
    (lambda X, y, w: X.T @ (X @ w - y), "both the 2 and the 1/n"),
    (lambda X, y, w: 2 / len(y) * X.T @ (y - X @ w), "wrong sign"),
    (lambda X, y, w: (2 / len(y) * X.T @ (X @ w - y))[None, :], "right numbers but shape"),
    (lambda X, y, w: 2 / len(y) * (X @ w - y) @ X @ np.ones((len(w), len(w))), "differs"),
    (lambda X, y, w: 2 / len(y) * X @ (X @ w - y), "raised ValueError"),
])
def test_exercise_1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_1(wrong)


def test_exercise_1_rejects_hard_coded_answer():
    answer = mse_grad_reference(np.eye(3), np.ones(3), np.zeros(3))
    with pytest.raises(CheckFailed, match="shape"):
        gd.exercise_1(lambda X, y, w: answer)


# ---------------------------------------------------------------- exercise 2: gradient_descent

def gd_variant(grad_fn, x0, lr, steps, sign=-1.0, keep_x0=True, extra_steps=0):
    """The reference (defaults) and the typical mistakes: wrong sign, x0 left out, step count off."""
    x = np.array(x0, dtype=float)
    trajectory = [x.copy()] if keep_x0 else []
    for _ in range(steps + extra_steps):
        x = x + sign * lr * grad_fn(x)
        trajectory.append(x.copy())
    return np.array(trajectory)


def gradient_descent_reference(grad_fn, x0, lr, steps):
    return gd_variant(grad_fn, x0, lr, steps)


def gd_ascent(grad_fn, x0, lr, steps):
    return gd_variant(grad_fn, x0, lr, steps, sign=+1.0)


def gd_without_x0(grad_fn, x0, lr, steps):
    return gd_variant(grad_fn, x0, lr, steps, keep_x0=False)


def gd_one_step_too_many(grad_fn, x0, lr, steps):
    return gd_variant(grad_fn, x0, lr, steps, extra_steps=1)


def gd_stops_early(grad_fn, x0, lr, steps):
    return gd_variant(grad_fn, x0, lr, steps, extra_steps=-1)


def gd_aliased(grad_fn, x0, lr, steps):
    x = np.array(x0, dtype=float)
    trajectory = [x]
    for _ in range(steps):
        x -= lr * grad_fn(x)  # in place: every list entry is the same array
        trajectory.append(x)
    return np.array(trajectory)


def gd_mutates_x0(grad_fn, x0, lr, steps):
    trajectory = [x0.copy()]
    for _ in range(steps):
        x0 -= lr * grad_fn(x0)
        trajectory.append(x0.copy())
    return np.array(trajectory)


def gd_lr_squared(grad_fn, x0, lr, steps):
    return gradient_descent_reference(grad_fn, x0, lr**2, steps)


def test_exercise_2_accepts_reference(capsys):
    gd.exercise_2(gradient_descent_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_accepts_a_list_of_points(capsys):
    gd.exercise_2(lambda *args: list(gradient_descent_reference(*args)))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (gd_ascent, "added the gradient"),
    (gd_without_x0, "starting point x0 is missing"),
    (gd_stops_early, "stops one step early"),
    (gd_one_step_too_many, "one gradient step too many"),
    (gd_aliased, "same array object"),
    (gd_mutates_x0, "changed the caller's x0 in place"),
    (gd_lr_squared, "differs"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_2(wrong)


# ---------------------------------------------------------------- exercise 3: log_loss

def log_loss_reference(z, y):
    return np.mean(np.logaddexp(0, z) - y * z)


def log_loss_naive(z, y):
    p = 1 / (1 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def log_loss_clipped(z, y):
    p = np.clip(1 / (1 + np.exp(-z)), 1e-15, 1 - 1e-15)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_exercise_3_accepts_reference(capsys):
    gd.exercise_3(log_loss_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_3_accepts_the_max_log1p_form_and_torch(capsys):
    import torch
    import torch.nn.functional as F

    gd.exercise_3(lambda z, y: np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))
    gd.exercise_3(lambda z, y: F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)))
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda z, y: -log_loss_reference(z, y), "wrong sign"),
    (lambda z, y: np.sum(np.logaddexp(0, z) - y * z), "summed over the examples"),
    (lambda z, y: np.logaddexp(0, z) - y * z, "one loss per example"),
    (log_loss_naive, "large logits"),
    (log_loss_clipped, "clipping"),
    (lambda z, y: log_loss_reference(z, y) / np.log(2), "base 2"),
    (lambda z, y: np.mean(np.logaddexp(0, z) - (1 - y) * z), "but the mean cross-entropy is"),
])
def test_exercise_3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        gd.exercise_3(wrong)


def test_exercise_3_naive_version_is_reported_as_overflow():
    with pytest.raises(CheckFailed, match="overflows"):
        gd.exercise_3(log_loss_naive)


# ---------------------------------------------------------------- exercise 4: pick_lr

def test_exercise_4_accepts_reference_and_other_safe_choices(capsys):
    gd.exercise_4(lambda A: 1 / np.linalg.eigvalsh(A).max())
    gd.exercise_4(lambda A: 2 / (np.linalg.eigvalsh(A).max() + np.linalg.eigvalsh(A).min()))
    gd.exercise_4(lambda A: 1 / np.trace(A))
    assert capsys.readouterr().out.count("correct") == 3


@pytest.mark.parametrize("wrong, message", [
    (lambda A: 2 / np.linalg.eigvalsh(A).max(), "oscillates without converging"),
    (lambda A: 1 / np.linalg.eigvalsh(A).min(), "blows up"),
    (lambda A: 0.1, "2/L"),
    (lambda A: 0.01 / np.linalg.eigvalsh(A).max(), "too small a step"),
    (lambda A: -1 / np.linalg.eigvalsh(A).max(), "positive"),
    (lambda A: np.linalg.eigvalsh(A), "one number"),
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


def test_a_crash_in_the_answer_is_reported_with_the_inputs():
    with pytest.raises(CheckFailed, match=r"raised IndexError.*a function, an array of shape \(2,\)"):
        gd.exercise_2(lambda grad_fn, x0, lr, steps: x0[5])
