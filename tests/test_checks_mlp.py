"""The checks of notebook 02 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import pytest
import torch

from course_lib.checks import CheckFailed, mlp

# ---------------------------------------------------------------- exercise 1: relu and softmax


def relu_reference(z):
    return torch.clamp(z, min=0)


def softmax_reference(z):
    shifted = z - z.max(dim=1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=1, keepdim=True)


def relu_in_place(z):
    z[z < 0] = 0
    return z


def softmax_no_shift(z):
    return torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True)


def test_exercise_1_accepts_reference(capsys):
    mlp.exercise_1(relu_reference, softmax_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_accepts_other_correct_forms(capsys):
    mlp.exercise_1(lambda z: z * (z > 0), lambda z: torch.softmax(z, dim=-1))
    mlp.exercise_1(lambda z: torch.maximum(z, torch.zeros_like(z)),
                   lambda z: torch.exp(z - torch.logsumexp(z, dim=1, keepdim=True)))
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize("wrong_relu, message", [
    (relu_in_place, "changed its input in place"),
    (lambda z: torch.max(z, 0), "returned a tuple"),
    (lambda z: z.abs(), "returns |z|"),
    (lambda z: (z > 0).double(), "step function"),
    (lambda z: z.clamp(min=0).sum(0), "has shape"),
    (lambda z: z.clamp(min=0.1), "differs"),
])
def test_exercise_1_rejects_wrong_relu(wrong_relu, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_1(wrong_relu, softmax_reference)


@pytest.mark.parametrize("wrong_softmax, message", [
    (lambda z: torch.softmax(z, dim=0), "wrong axis"),
    (lambda z: (z - z.max()).exp() / (z - z.max()).exp().sum(), "whole batch"),
    (softmax_no_shift, "NaN for logits like 1000"),
    (lambda z: torch.log_softmax(z, dim=1), "log-probabilities"),
    (lambda z: (z - z.max(1, keepdim=True).values).exp() / (z - z.max(1, keepdim=True).values).exp().sum(1),
     "raised RuntimeError"),
    (lambda z: (z - z.max(1).values[:, None]).exp().T, "shape"),
    (lambda z: torch.sigmoid(z), "differs"),
])
def test_exercise_1_rejects_wrong_softmax(wrong_softmax, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_1(relu_reference, wrong_softmax)


def test_exercise_1_unfinished_says_not_implemented():
    def placeholder(z):
        raise NotImplementedError("Exercise: write the body")

    with pytest.raises(NotImplementedError):
        mlp.exercise_1(placeholder, softmax_reference)


# ---------------------------------------------------------------- exercise 2: linear_backward


def linear_backward_reference(x, W, b, grad_y):
    return grad_y @ W, grad_y.T @ x, grad_y.sum(dim=0)


def test_exercise_2_accepts_reference(capsys):
    mlp.exercise_2(linear_backward_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda x, W, b, g: (g @ W, x.T @ g, g.sum(0)), "grad_W is transposed"),
    (lambda x, W, b, g: (g @ W, g.T @ x, g), "did not sum over the batch"),
    (lambda x, W, b, g: (g @ W, g.T @ x, g.mean(0)), "averaged over the batch"),
    (lambda x, W, b, g: (g @ W, g.T @ x / len(x), g.sum(0)), "averaged over the batch"),
    (lambda x, W, b, g: (g @ W.T, g.T @ x, g.sum(0)), "raised RuntimeError"),
    (lambda x, W, b, g: (-(g @ W), g.T @ x, g.sum(0)), "grad_x has the wrong sign"),
    (lambda x, W, b, g: (g @ W, g.T @ x), "three gradients"),
    (lambda x, W, b, g: (g @ W, g.T @ x, b), "grad_b"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_2(wrong)


# ---------------------------------------------------------------- exercise 3: count_parameters


def count_parameters_reference(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def test_exercise_3_accepts_reference(capsys):
    mlp.exercise_3(count_parameters_reference)
    assert "correct" in capsys.readouterr().out


def test_exercise_3_reference_matches_torch():
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    assert count_parameters_reference([784, 512, 10]) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("wrong, message", [
    (lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])), "biases are missing"),
    (lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])) + sum(s), "input layer biases"),
    (lambda s: sum((a + 1) * b for a, b in zip(s[:-1], s[1:])) - s[-1] + s[0], "input side"),
    (lambda s: [a * b + b for a, b in zip(s[:-1], s[1:])], "one number"),
    (lambda s: 535818, "expected"),
    (lambda s: None, "returned None"),
])
def test_exercise_3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_3(wrong)
