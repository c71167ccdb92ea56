"""The checks of notebook 02 accept the reference solutions and reject typical wrong answers
with a message that names the problem."""

import pytest
import torch

from course_lib.checks import CheckFailed, mlp

# ---------------------------------------------------------------- exercise 1: relu_mlp_backward


def backward_variant(X, Y, W1, b1, W2, b2, derivative="relu", scale=1.0, sum_bias=True):
    Z1 = X @ W1.T + b1
    H = Z1.clamp(min=0)
    d_out = scale * 2 * (H @ W2.T + b2 - Y) / len(X)
    dH = d_out @ W2
    dZ1 = dH * {"relu": (Z1 > 0).double(), "tanh": 1 - H**2}[derivative]
    if not sum_bias:
        return dZ1.T @ X, dZ1, d_out.T @ H, d_out
    return dZ1.T @ X, dZ1.sum(0), d_out.T @ H, d_out.sum(0)


def relu_mlp_backward_reference(X, Y, W1, b1, W2, b2):
    return backward_variant(X, Y, W1, b1, W2, b2)


def with_autograd(X, Y, W1, b1, W2, b2):
    params = [p.requires_grad_(True) for p in (W1, b1, W2, b2)]
    loss = ((torch.relu(X @ W1.T + b1) @ W2.T + b2 - Y) ** 2).sum(1).mean()
    loss.backward()
    return tuple(p.grad for p in params)


def test_exercise_1_accepts_reference(capsys):
    mlp.exercise_1(relu_mlp_backward_reference)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda *a: backward_variant(*a, derivative="tanh"), "tanh's derivative"),
    (lambda *a: backward_variant(*a, scale=0.5), "the 2 from the square is missing"),
    (lambda *a: backward_variant(*a, scale=1 / a[1].shape[1]), "averaged over the outputs too"),
    (lambda *a: backward_variant(*a, scale=len(a[0])), "1/n of the mean"),
    (lambda *a: backward_variant(*a, sum_bias=False), "did not sum over the batch"),
    (with_autograd, "calls torch.Tensor.backward, the operation this exercise asks you to write"),
    (lambda *a: tuple(g.T if g.ndim == 2 else g for g in backward_variant(*a)), "transposed"),
    (lambda *a: backward_variant(*a)[:3], "four gradients"),
])
def test_exercise_1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_1(wrong)


def test_exercise_1_autograd_works_again_after_the_check():
    with pytest.raises(CheckFailed):
        mlp.exercise_1(with_autograd)
    x = torch.ones(2, requires_grad=True)
    (x ** 2).sum().backward()
    assert torch.equal(x.grad, torch.full((2,), 2.0))


# ---------------------------------------------------------------- exercise 2: init_layer


def init_with_std(std_of):
    def init_layer(layer, nonlinearity):
        fan_out, fan_in = layer.weight.shape
        with torch.no_grad():
            layer.weight.normal_(0, std_of(fan_in, fan_out, nonlinearity))
            layer.bias.zero_()
        return layer
    return init_layer


def he_or_xavier(fan_in, fan_out, nonlinearity):
    return (2 / fan_in) ** 0.5 if nonlinearity == "relu" else (2 / (fan_in + fan_out)) ** 0.5


def test_exercise_2_accepts_reference_and_uniform(capsys):
    mlp.exercise_2(init_with_std(he_or_xavier))

    def uniform(layer, nonlinearity):
        fan_out, fan_in = layer.weight.shape
        bound = 3 ** 0.5 * he_or_xavier(fan_in, fan_out, nonlinearity)   # uniform(-a, a) has std a / sqrt(3)
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound)
            layer.bias.zero_()
        return layer

    mlp.exercise_2(uniform)
    out = capsys.readouterr().out
    assert out.count("correct") == 2 and "Xavier's" in out


def library_init(layer, nonlinearity):
    torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    torch.nn.init.zeros_(layer.bias)
    return layer


def keeps_bias(layer, nonlinearity):
    with torch.no_grad():
        layer.weight.normal_(0, he_or_xavier(layer.in_features, layer.out_features, nonlinearity))
    return layer


@pytest.mark.parametrize("wrong, message", [
    (init_with_std(lambda fi, fo, nl: (2 / (fi + fo)) ** 0.5), "halves the signal's second moment"),
    (init_with_std(lambda fi, fo, nl: (2 / fi) ** 0.5), "tanh keeps both signs"),
    (init_with_std(lambda fi, fo, nl: (2 / fo) ** 0.5 if nl == "relu" else (2 / (fi + fo)) ** 0.5),
     "fan_out instead of fan_in"),
    (init_with_std(lambda fi, fo, nl: 2 / fi if nl == "relu" else (2 / (fi + fo)) ** 0.5), "VARIANCE"),
    (init_with_std(lambda fi, fo, nl: 1.0), "standard normal"),
    (lambda layer, nl: layer, "bias is not 0"),
    (keeps_bias, "bias is not 0"),
    (library_init, "calls torch.nn.init.kaiming_normal_"),
    (lambda layer, nl: init_with_std(he_or_xavier)(layer, nl).weight, "return the layer itself"),
])
def test_exercise_2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        mlp.exercise_2(wrong)


def test_exercise_2_rejects_pytorch_default_weights_with_zero_bias():
    def default_weights(layer, nonlinearity):
        torch.nn.init.zeros_(layer.bias)
        return layer

    with pytest.raises(CheckFailed, match="PyTorch's default"):
        mlp.exercise_2(default_weights)


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
