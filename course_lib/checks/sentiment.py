"""Checks for the exercises of notebook 05 (LSTM sentiment).

Each check calls the student's function on a small fixed example and names the typical mistake:
a sigmoid that overflows or loses the small probabilities, a GRU with the gates in the wrong order
or the reset gate in the wrong place, a forget-gate bias set in only one of the two bias vectors,
gradient clipping per tensor instead of over all parameters together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.i18n import _

from . import as_array, as_number, call, close, compare, fail, passed

# ----------------------------------------------------------------------------- exercise 1

_Z = np.array([-1000.0, -600.0, -60.0, -20.0, -1.0, 0.0, 0.5, 20.0, 60.0, 1000.0])
_SIGMOID_LIBRARY = ("scipy.special.expit", "torch.sigmoid", "torch.special.expit",
                    "torch.Tensor.sigmoid", "torch.nn.functional.sigmoid")


def _sigmoid_reference(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def exercise_1(stable_sigmoid: Callable[[np.ndarray], Any]) -> None:
    """Check ``stable_sigmoid(z)`` (NumPy, element-wise σ(z) = 1 / (1 + e^{-z})): no overflow
    for large negative z, full relative precision for the tiny probabilities, any shape.

    >>> exercise_1(_sigmoid_reference)
    ✅ Exercise 1: correct. No overflow from z = -1000 to 1000, and σ(-60) = 8.76e-27 keeps its digits.
    """
    z = np.concatenate([_Z, np.linspace(-8, 8, 6)]).reshape(4, 4)
    expected = _sigmoid_reference(z)
    overflow_hint = _("np.exp overflowed: for z = -1000, exp(-z) = exp(1000) is inf. Only ever take "
                      "exp of a number <= 0: for z >= 0 use 1 / (1 + exp(-z)), for z < 0 use "
                      "exp(z) / (1 + exp(z)). np.where(cond, a, b) computes a and b on ALL elements, "
                      "so select the inputs first (z[z >= 0]) or use exp(-|z|).")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        answer = call(stable_sigmoid, z.copy(), name="stable_sigmoid",
                      hint=_("it receives a NumPy array of any shape"),
                      hints={FloatingPointError: overflow_hint},
                      forbidden=_SIGMOID_LIBRARY)
    p = as_array(answer, "stable_sigmoid(z)")
    if p.shape != z.shape:
        fail(_("stable_sigmoid returned shape {shape} for an input of shape {input_shape}.",
               shape=p.shape, input_shape=z.shape),
             _("apply the sigmoid element-wise and keep the shape (work on a copy, or on "
               "z.ravel() and reshape at the end)"))
    if not np.all(np.isfinite(p)):
        fail(_("stable_sigmoid returned NaN or infinity."), overflow_hint)
    if close(p, 1 - expected, atol=1e-12):
        fail(_("you return σ(-z) = 1 - σ(z), the probability of the other class."),
             _("σ(z) = 1 / (1 + exp(-z)) is close to 1 for large positive z"))
    compare(p, expected, "stable_sigmoid(z)", rtol=1e-9, atol=1e-12,
            hint=_("σ(z) = 1 / (1 + exp(-z)), computed so that exp never sees a large positive number"))
    tiny = (z < -1) & (expected > 0)
    rel = np.abs(p[tiny] - expected[tiny]) / expected[tiny]
    if np.any(rel > 1e-6):
        k = np.flatnonzero(tiny.ravel())[int(np.argmax(rel))]
        zk, pk, ek = z.ravel()[k], p.ravel()[k], expected.ravel()[k]
        fail(_("for z = {zk:g} your sigmoid gives {pk:.3g} where σ(z) = {ek:.3g}: the small "
               "probabilities lose their digits (a loss that takes log σ(z) then sees -inf or a "
               "wrong number).", zk=zk, pk=pk, ek=ek),
             _("1 - 1 / (1 + exp(z)) and 0.5 * (1 + tanh(z / 2)) round to 0 for very negative z; "
               "for z < 0 compute exp(z) / (1 + exp(z)) instead"))
    passed(_("Exercise 1"), _("No overflow from z = -1000 to 1000, and σ(-60) = {p:.3g} keeps its digits.",
                              p=_sigmoid_reference(np.array([-60.0]))[0]))


# ----------------------------------------------------------------------------- exercise 2


def _gru_reference(x: torch.Tensor, gru: nn.GRU, order: str = "rzn", swap_update: bool = False,
                   reset_before: bool = False, bias_outside: bool = False) -> torch.Tensor:
    """nn.GRU's equations step by step, with switches for the usual mistakes."""
    H = gru.hidden_size
    W, U = gru.weight_ih_l0, gru.weight_hh_l0
    b_i, b_h = gru.bias_ih_l0, gru.bias_hh_l0
    idx = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(order)}
    h = torch.zeros(H)
    outputs = []
    for x_t in x:
        gi = W @ x_t + b_i
        gh = U @ h + b_h
        r = torch.sigmoid(gi[idx["r"]] + gh[idx["r"]])
        z = torch.sigmoid(gi[idx["z"]] + gh[idx["z"]])
        if reset_before:
            n = torch.tanh(gi[idx["n"]] + U[idx["n"]] @ (r * h) + b_h[idx["n"]])
        elif bias_outside:
            n = torch.tanh(gi[idx["n"]] + b_h[idx["n"]] + r * (U[idx["n"]] @ h))
        else:
            n = torch.tanh(gi[idx["n"]] + r * gh[idx["n"]])
        h = z * n + (1 - z) * h if swap_update else (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs)


def exercise_2(gru_by_hand: Callable[[torch.Tensor, nn.GRU], Any]) -> None:
    """Check ``gru_by_hand(x [T, D], gru) -> [T, H]``: a one-layer ``nn.GRU``'s equations step
    by step, with the module's own weights, without calling the module.

    >>> exercise_2(_gru_reference)
    ✅ Exercise 2: correct. Your GRU matches nn.GRU over 6 steps (largest difference below 1e-6).
    """
    torch.manual_seed(5)
    gru = nn.GRU(input_size=4, hidden_size=3, batch_first=True)
    with torch.no_grad():
        for p in gru.parameters():           # larger weights: every mistake shows clearly
            p.mul_(3.0)
    x = torch.randn(6, 4)
    with torch.no_grad():
        expected = gru(x.unsqueeze(0))[0][0]
        answer = call(gru_by_hand, x.clone(), gru, name="gru_by_hand",
                      hint=_("x is [T, D]; read the weights from gru.weight_ih_l0, gru.weight_hh_l0, "
                             "gru.bias_ih_l0, gru.bias_hh_l0 (gates stacked r, z, n)"),
                      forbidden=("torch.nn.GRU.forward", "torch.nn.GRUCell.forward"))
    got = as_array(answer, "gru_by_hand(x, gru)")
    if got.shape == (3,):
        fail(_("gru_by_hand returned one hidden state of shape (3,); the exercise asks for all of "
               "them, [T, H] = (6, 3)."), _("collect h after every step and torch.stack the list"))
    if got.shape == (1, 6, 3):
        fail(_("the result has shape (1, 6, 3); expected (6, 3) for a single sequence x [T, D]."),
             _("x is one sequence without a batch dimension"))
    if got.shape == (6, 3) and np.all(np.isfinite(got)):
        with torch.no_grad():
            mistakes = {
                _("the gates are taken in the order z, r, n; PyTorch stacks them r, z, n "
                  "(reset, update, new)"): _gru_reference(x, gru, order="zrn"),
                _("the update gate mixes the wrong way round: PyTorch's GRU keeps the old state "
                  "where z is 1, h_t = (1 - z) * n + z * h_{t-1}"): _gru_reference(x, gru, swap_update=True),
                _("the reset gate is applied to h_{t-1} before the matrix product (the variant of "
                  "Cho et al. 2014); PyTorch applies it after: n = tanh(W_n x + b_in + r * (U_n h + b_hn))"):
                    _gru_reference(x, gru, reset_before=True),
                _("the bias b_hn is added outside the reset gate; in PyTorch it is inside: "
                  "r * (U_n h + b_hn)"): _gru_reference(x, gru, bias_outside=True),
            }
        for message, wrong in mistakes.items():
            if close(got, wrong.numpy(), atol=1e-5) and not close(got, expected.numpy(), atol=1e-5):
                fail(_("your GRU differs from nn.GRU: {mistake}.", mistake=message),
                     _("r = σ(W_r x + b_ir + U_r h + b_hr), z = σ(W_z x + b_iz + U_z h + b_hz), "
                       "n = tanh(W_n x + b_in + r * (U_n h + b_hn)), h = (1 - z) * n + z * h"))
    compare(got, expected.numpy(), "gru_by_hand(x, gru)", atol=1e-5,
            hint=_("start from h = 0; per step: r, z, n as in the markdown cell, then "
                   "h = (1 - z) * n + z * h; return torch.stack of all h"))
    passed(_("Exercise 2"), _("Your GRU matches nn.GRU over 6 steps (largest difference below 1e-6)."))


# ----------------------------------------------------------------------------- exercise 3


def _bias_names(lstm: nn.LSTM) -> list[tuple[str, str]]:
    suffixes = ["", "_reverse"] if lstm.bidirectional else [""]
    return [(f"bias_ih_l{k}{s}", f"bias_hh_l{k}{s}") for k in range(lstm.num_layers) for s in suffixes]


def _set_forget_bias_reference(lstm: nn.LSTM, value: float) -> nn.LSTM:
    H = lstm.hidden_size
    with torch.no_grad():
        for ih, hh in _bias_names(lstm):
            getattr(lstm, ih)[H:2 * H] = value
            getattr(lstm, hh)[H:2 * H] = 0.0
    return lstm


def exercise_3(set_forget_bias: Callable[[nn.LSTM, float], Any]) -> None:
    """Check ``set_forget_bias(lstm, value) -> lstm``: in every layer and direction the
    forget-gate bias (the sum b_ih + b_hh of the slice H:2H) becomes ``value``; the other gates'
    biases do not change.

    >>> exercise_3(_set_forget_bias_reference)
    ✅ Exercise 3: correct. All 4 (layer, direction) pairs start with forget bias 1.0; the other gates are untouched.
    """
    torch.manual_seed(3)
    lstm = nn.LSTM(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    H, value = lstm.hidden_size, 1.0
    before = {n: p.detach().clone() for n, p in lstm.named_parameters()}
    result = call(set_forget_bias, lstm, value, name="set_forget_bias",
                  hint=_("it receives an nn.LSTM and a number; change the biases in place "
                         "(inside torch.no_grad()) and return the LSTM"))
    if not isinstance(result, nn.LSTM):
        fail(_("set_forget_bias returned a {type}; return the LSTM itself.", type=type(result).__name__),
             _("end with `return lstm`"))
    params = dict(result.named_parameters())
    gates = {"input": slice(0, H), "forget": slice(H, 2 * H), "cell (g)": slice(2 * H, 3 * H),
             "output": slice(3 * H, 4 * H)}
    gate_names = {"input": _("input gate"), "forget": _("forget gate"), "cell (g)": _("cell (g) gate"),
                  "output": _("output gate")}
    for name, p in params.items():
        if name.startswith("weight") and not torch.equal(p.detach(), before[name]):
            fail(_("{name} changed; only biases should.", name=name),
                 _("touch bias_ih_l* and bias_hh_l* only"))
    wrong_place, missed, only_ih, doubled = [], [], [], []
    for ih, hh in _bias_names(result):
        total = (params[ih] + params[hh]).detach()
        total_before = before[ih] + before[hh]
        for gate, sl in gates.items():
            if gate != "forget" and not torch.allclose(total[sl], total_before[sl]):
                wrong_place.append(f"{ih[5:]}: {gate_names[gate]}")
        f_total = total[gates["forget"]]
        if torch.allclose(f_total, torch.full_like(f_total, value), atol=1e-6):
            continue
        if torch.allclose(f_total, total_before[gates["forget"]]):
            missed.append(ih[8:])
        elif torch.allclose(f_total, 2 * torch.full_like(f_total, value), atol=1e-6):
            doubled.append(ih[8:])
        elif torch.allclose(params[ih][gates["forget"]].detach(), torch.full_like(f_total, value)):
            only_ih.append(ih[8:])
        else:
            fail(_("in {layer} the forget-gate bias b_ih + b_hh is {total}; expected "
                   "{value} everywhere.", layer=ih[8:], total=f_total.tolist(), value=value),
                 _("set b_ih[H:2H] = value and b_hh[H:2H] = 0"))
    if wrong_place:
        fail(_("you changed other gates' biases: {where}. PyTorch stacks the gates "
               "i, f, g, o: the forget gate is the slice H:2H.", where=wrong_place[:4]),
             _("with H = lstm.hidden_size, use [H:2 * H]"))
    if missed:
        fail(_("the forget bias is unchanged in {missed}: an nn.LSTM with num_layers=2 and "
               "bidirectional=True has one pair of bias vectors per layer AND direction "
               "(bias_ih_l0, bias_ih_l0_reverse, bias_ih_l1, ...).", missed=missed),
             _("loop over k in range(lstm.num_layers) and the suffixes '' and '_reverse'"))
    if doubled:
        fail(_("the forget bias is {doubled_value} in {doubled}: you set both b_ih and b_hh to the "
               "value, and the gate adds them.", doubled_value=2 * value, doubled=doubled),
             _("set b_ih[H:2H] = value and b_hh[H:2H] = 0"))
    if only_ih:
        fail(_("you set only b_ih in {only_ih}: the gate uses the SUM b_ih + b_hh, so the forget bias "
               "is value + (PyTorch's random b_hh), not value. (The demonstration in section 4 took "
               "this shortcut.)", only_ih=only_ih), _("also set b_hh[H:2H] = 0"))
    n = len(_bias_names(result))
    passed(_("Exercise 3"), _("All {n} (layer, direction) pairs start with forget bias {value}; the "
                              "other gates are untouched.", n=n, value=value))


# ----------------------------------------------------------------------------- exercise 4

_CLIP_LIBRARY = ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_norm",
                 "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                 "torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.get_total_norm")


def _lstm_with_gradients(scale: float) -> list[nn.Parameter]:
    """An LSTM's parameters with gradients from one backward pass (scaled by ``scale``), plus a
    frozen parameter whose ``.grad`` is None."""
    torch.manual_seed(11)
    lstm = nn.LSTM(input_size=5, hidden_size=6, batch_first=True)
    head = nn.Linear(6, 1)
    x = torch.randn(4, 12, 5)
    out, _state = lstm(x)
    loss = scale * head(out[:, -1]).pow(2).sum()
    loss.backward()
    frozen = nn.Parameter(torch.ones(3), requires_grad=False)
    return [*lstm.parameters(), frozen, *head.parameters()]


def _clip_reference(parameters: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total


def exercise_4(clip_gradients: Callable[[list[nn.Parameter], float], Any]) -> None:
    """Check ``clip_gradients(parameters, max_norm) -> total norm``: rescale all gradients
    together (in place) when their joint L2 norm exceeds ``max_norm``; skip ``grad is None``.

    >>> exercise_4(_clip_reference)
    ✅ Exercise 4: correct. A gradient of norm 332 is scaled to max_norm 1 (its direction kept); one of norm 1.3 < 5 is left alone.
    """
    norms = []
    for scale, max_norm in ((250.0, 1.0), (1.0, 5.0)):
        params = _lstm_with_gradients(scale)
        grads = [None if p.grad is None else p.grad.clone() for p in params]
        expected_params = _lstm_with_gradients(scale)
        expected_total = float(torch.nn.utils.clip_grad_norm_(
            [p for p in expected_params if p.grad is not None], max_norm))
        expected = [None if p.grad is None else p.grad.clone() for p in expected_params]
        result = call(clip_gradients, params, max_norm, name="clip_gradients",
                      hint=_("it receives a list of parameters (some with .grad None) and max_norm"),
                      hints={TypeError: _("some parameters have .grad None (frozen ones): skip them"),
                             AttributeError: _("some parameters have .grad None (frozen ones): skip them")},
                      forbidden=_CLIP_LIBRARY)
        total = as_number(result, _("the returned norm"), hint=_("return the total norm as one number"))
        got = [None if p.grad is None else p.grad for p in params]
        flat_got = torch.cat([g.reshape(-1) for g in got if g is not None])
        flat_exp = torch.cat([g.reshape(-1) for g in expected if g is not None])
        flat_orig = torch.cat([g.reshape(-1) for g in grads if g is not None])
        per_tensor = [None if g is None else g * min(1.0, max_norm / (float(g.norm()) + 1e-6)) for g in grads]
        flat_per_tensor = torch.cat([g.reshape(-1) for g in per_tensor if g is not None])
        where = _("(gradient norm {norm:.3g}, max_norm {max_norm})", norm=expected_total, max_norm=max_norm)
        if expected_total > max_norm:
            if torch.allclose(flat_got, flat_orig):
                fail(_("the gradients did not change {where}: clip them in place.", where=where),
                     _("multiply each p.grad in place: p.grad.mul_(max_norm / total)"))
            if torch.allclose(flat_got, flat_orig.clamp(-max_norm, max_norm)):
                fail(_("you clipped each gradient ELEMENT to [-max_norm, max_norm] {where} (that is "
                       "clip_grad_value_); the exercise rescales the whole gradient vector, which "
                       "keeps its direction.", where=where),
                     _("total = sqrt(sum of all squared gradient entries); "
                       "multiply every gradient by max_norm / total"))
            if torch.allclose(flat_got, flat_per_tensor, rtol=1e-4, atol=1e-7):
                fail(_("you clipped each parameter's gradient separately {where}; the norm is over "
                       "ALL gradients together, so that the update keeps its direction.", where=where),
                     _("first total = sqrt(sum over parameters of (p.grad ** 2).sum()), then scale "
                       "every gradient by the same factor"))
            if abs(total - float(flat_got.norm())) < 1e-3 * max(1.0, total) and \
                    abs(total - expected_total) > 1e-3 * expected_total:
                fail(_("you returned the norm AFTER clipping ({total:.4g}); return the norm before "
                       "clipping ({expected:.4g}), which is what one monitors.",
                       total=total, expected=expected_total),
                     _("compute the total first, keep it, then clip"))
        else:
            if not torch.allclose(flat_got, flat_orig):
                fail(_("the gradients changed although their norm is already below max_norm {where}: "
                       "clipping only ever shrinks.", where=where), _("scale only when total > max_norm"))
        sum_of_norms = sum(float(g.norm()) for g in grads if g is not None)
        if abs(total - sum_of_norms) < 1e-4 * sum_of_norms and abs(total - expected_total) > 1e-3 * expected_total:
            fail(_("the returned norm {total:.4g} is the SUM of the parameters' norms; the total norm "
                   "is the square root of the sum of their SQUARES ({expected:.4g}).",
                   total=total, expected=expected_total),
                 _("total = sqrt(sum over parameters of (p.grad ** 2).sum())"))
        if abs(total - expected_total) > 1e-4 * expected_total:
            fail(_("you returned {total:.6g}; the total gradient norm before clipping is "
                   "{expected:.6g} {where}.", total=total, expected=expected_total, where=where),
                 _("total = sqrt(sum over parameters of (p.grad ** 2).sum())"))
        compare(flat_got, flat_exp, _("the clipped gradients {where}", where=where), rtol=1e-4, atol=1e-7,
                hint=_("multiply every gradient by max_norm / total when total > max_norm"))
        norms.append(expected_total)
    passed(_("Exercise 4"), _("A gradient of norm {first:.3g} is scaled to max_norm 1 (its direction "
                              "kept); one of norm {second:.2g} < 5 is left alone.",
                              first=norms[0], second=norms[1]))
