"""Every check of notebook 05 accepts the reference and rejects typical wrong answers."""

import numpy as np
import pytest
import scipy.special
import torch
from scipy.special import expit
from torch import nn

from course_lib.checks import CheckFailed
from course_lib.checks import sentiment as ck


def rejects(check, *answers, must=()):
    with pytest.raises(CheckFailed) as info:
        check(*answers)
    message = str(info.value)
    for fragment in must:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --- exercise 1: a numerically stable sigmoid
def sigmoid_ref(z):
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out


def test_ex1_accepts_reference_and_exp_of_minus_abs(capsys):
    ck.exercise_1(sigmoid_ref)

    def via_abs(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    ck.exercise_1(via_abs)
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("wrong, message", [
    (lambda z: 1 / (1 + np.exp(-z)), "overflowed"),                                      # the naive formula
    (lambda z: np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z))), "np.where"),
    (lambda z: sigmoid_ref(-z), "other class"),
    (lambda z: 0.5 * (1 + np.tanh(z / 2)), "lose their digits"),
    (lambda z: np.array([sigmoid_ref(z.ravel())]), "shape"),
    (lambda z: z, "differs"),
])
def test_ex1_rejects(wrong, message):
    rejects(ck.exercise_1, wrong, must=(message,))


def test_ex1_rejects_the_library_sigmoid():
    rejects(ck.exercise_1, lambda z: expit(z), must=("calls scipy.special.expit",))   # a global name
    rejects(ck.exercise_1, lambda z: scipy.special.expit(z), must=("calls scipy.special.expit",))
    rejects(ck.exercise_1, lambda z: torch.sigmoid(torch.from_numpy(z)).numpy(), must=("calls torch.sigmoid",))
    assert expit(0.0) == 0.5 and scipy.special.expit(0.0) == 0.5   # switched back on afterwards


# --- exercise 2: a GRU by hand
def gru_ref(x, gru):
    return ck._gru_reference(x, gru)


def test_ex2_accepts_reference(capsys):
    ck.exercise_2(gru_ref)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda x, g: ck._gru_reference(x, g, order="zrn"), "order z, r, n"),
    (lambda x, g: ck._gru_reference(x, g, swap_update=True), "wrong way round"),
    (lambda x, g: ck._gru_reference(x, g, reset_before=True), "before the matrix product"),
    (lambda x, g: ck._gru_reference(x, g, bias_outside=True), "outside the reset gate"),
    (lambda x, g: ck._gru_reference(x, g)[-1], "one hidden state"),
    (lambda x, g: g(x.unsqueeze(0))[0][0], "calls torch.nn.GRU.forward"),
])
def test_ex2_rejects(wrong, message):
    rejects(ck.exercise_2, wrong, must=(message,))


def test_ex2_rejects_a_gru_cell_from_the_library():
    def via_cell(x, gru):
        cell = nn.GRUCell(gru.input_size, gru.hidden_size)
        cell.load_state_dict({k[:-3]: v for k, v in gru.state_dict().items()})
        h, out = torch.zeros(1, gru.hidden_size), []
        for x_t in x:
            h = cell(x_t.unsqueeze(0), h)
            out.append(h[0])
        return torch.stack(out)
    rejects(ck.exercise_2, via_cell, must=("GRUCell.forward",))
    assert nn.GRU(2, 2)(torch.zeros(1, 3, 2))[0].shape == (1, 3, 2)   # switched back on afterwards


# --- exercise 3: the forget-gate bias of every layer and direction
def test_ex3_accepts_reference_and_any_split(capsys):
    ck.exercise_3(ck._set_forget_bias_reference)

    def split(lstm, value):
        H = lstm.hidden_size
        with torch.no_grad():
            for name, p in lstm.named_parameters():
                if name.startswith("bias_ih"):
                    hh = getattr(lstm, name.replace("bias_ih", "bias_hh"))
                    p[H:2 * H] = value - hh[H:2 * H]
        return lstm
    ck.exercise_3(split)
    assert capsys.readouterr().out.count("correct") == 2


def only_ih(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
    return lstm


def both(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias"):
                p[H:2 * H] = value
    return lstm


def first_layer_only(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        lstm.bias_ih_l0[H:2 * H] = value
        lstm.bias_hh_l0[H:2 * H] = 0
    return lstm


def input_gate(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[:H] = value
            elif name.startswith("bias_hh"):
                p[:H] = 0
    return lstm


@pytest.mark.parametrize("wrong, message", [
    (only_ih, "SUM b_ih + b_hh"),
    (both, "set both b_ih and b_hh"),
    (first_layer_only, "per layer AND direction"),
    (input_gate, "other gates' biases"),
    (lambda lstm, value: None, "returned None"),
])
def test_ex3_rejects(wrong, message):
    rejects(ck.exercise_3, wrong, must=(message,))


# --- exercise 4: gradient clipping by the global norm
def clip_ref(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / total)
    return total


def test_ex4_accepts_reference(capsys):
    ck.exercise_4(clip_ref)
    ck.exercise_4(ck._clip_reference)
    assert capsys.readouterr().out.count("correct") == 2


def per_tensor(parameters, max_norm):
    for p in parameters:
        if p.grad is not None:
            n = p.grad.norm()
            if n > max_norm:
                p.grad.mul_(max_norm / n)
    return torch.sqrt(sum((p.grad ** 2).sum() for p in parameters if p.grad is not None))


def by_value(parameters, max_norm):
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in parameters if p.grad is not None))
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(-max_norm, max_norm)
    return total


def always_rescale(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / total)
    return total


def norm_after(parameters, max_norm):
    clip_ref(parameters, max_norm)
    return torch.sqrt(sum((p.grad ** 2).sum() for p in parameters if p.grad is not None))


def sum_of_norms(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = sum(g.norm() for g in grads)
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / total)
    return total


def crashes_on_frozen(parameters, max_norm):
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in parameters))
    return total


@pytest.mark.parametrize("wrong, message", [
    (per_tensor, "each parameter's gradient separately"),
    (by_value, "each gradient ELEMENT"),
    (always_rescale, "only ever shrinks"),
    (norm_after, "AFTER clipping"),
    (sum_of_norms, "SUM of the parameters' norms"),
    (crashes_on_frozen, ".grad None"),
    (lambda params, max_norm: torch.nn.utils.clip_grad_norm_(params, max_norm), "calls torch.nn.utils.clip_grad_norm_"),
])
def test_ex4_rejects(wrong, message):
    rejects(ck.exercise_4, wrong, must=(message,))


def test_checks_pass_the_placeholder_through():
    def unfinished(*args):
        raise NotImplementedError("Exercise: write the body")

    for check in (ck.exercise_1, ck.exercise_2, ck.exercise_3, ck.exercise_4):
        with pytest.raises(NotImplementedError, match="Exercise"):
            check(unfinished)
