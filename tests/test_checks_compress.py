"""Every check of notebook 09 accepts the reference answer and rejects typical wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed
from course_lib.checks import compress as checks

# ----------------------------------------------------------------------------- exercise 1


def quantize_per_channel(w):
    scale = w.abs().amax(dim=1) / 127
    q = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
    return q, scale


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(quantize_per_channel)
    assert "correct" in capsys.readouterr().out


def test_ex1_accepts_numpy(capsys):
    def numpy_version(w):
        w = w.numpy()
        scale = abs(w).max(axis=1) / 127
        return (w / scale[:, None]).round().astype("int8"), scale
    checks.exercise_1(numpy_version)
    assert "correct" in capsys.readouterr().out


def _library(w):
    scale = w.abs().amax(dim=1) / 127
    q = torch.quantize_per_channel(w, scale.double(), torch.zeros(len(w), dtype=torch.long), 0, torch.qint8)
    return q.int_repr(), scale


@pytest.mark.parametrize("wrong, message", [
    (lambda w: (torch.round(w / (w.abs().max() / 127)), w.abs().max() / 127), "one scale for the whole"),
    (lambda w: (torch.round(w / (w.abs().amax(0) / 127)), w.abs().amax(0) / 127), "one per input column"),
    (lambda w: (torch.round(w / (w.abs().amax(1, keepdim=True) / 255)), w.abs().amax(1) / 255), "255"),
    (lambda w: (torch.round(w / (w.abs().amax(1, keepdim=True) / 128)), w.abs().amax(1) / 128), "128"),
    (lambda w: (torch.round(w / (w.amax(1, keepdim=True) / 127)), w.amax(1) / 127), "magnitude"),
    (lambda w: ((w / (w.abs().amax(1, keepdim=True) / 127)).to(torch.int8), w.abs().amax(1) / 127), "truncate"),
    (lambda w: (torch.floor(w / (w.abs().amax(1, keepdim=True) / 127)), w.abs().amax(1) / 127), "floor"),
    (lambda w: (quantize_per_channel(w)[0].float() * quantize_per_channel(w)[1][:, None],
                quantize_per_channel(w)[1]), "de-quantised"),
    (lambda w: quantize_per_channel(w)[0], "pair"),
    (_library, "torch.quantize_per_channel, the operation"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


# ----------------------------------------------------------------------------- exercise 2


def global_magnitude_masks(weights, sparsity):
    scores = torch.cat([w.abs().flatten() for w in weights])
    k = round(sparsity * scores.numel())
    if k == 0:
        return [torch.ones_like(w, dtype=torch.bool) for w in weights]
    threshold = scores.kthvalue(k).values
    return [w.abs() > threshold for w in weights]


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(global_magnitude_masks)
    out = capsys.readouterr().out
    assert "correct" in out and "14%" in out


def _layerwise(weights, sparsity):
    out = []
    for w in weights:
        k = round(sparsity * w.numel())
        out.append(w.abs() > w.abs().flatten().kthvalue(k).values if k else torch.ones_like(w, dtype=torch.bool))
    return out


def _library(weights, sparsity):
    import torch.nn.utils.prune as prune
    modules = [torch.nn.Linear(w.shape[1], w.shape[0], bias=False) for w in weights]
    for m, w in zip(modules, weights):
        m.weight.data = w.clone()
    prune.global_unstructured([(m, "weight") for m in modules], prune.L1Unstructured, amount=sparsity)
    return [m.weight_mask for m in modules]


@pytest.mark.parametrize("wrong, message", [
    (_layerwise, "each layer separately"),
    (lambda ws, s: [~m for m in global_magnitude_masks(ws, s)], "keep the smallest"),
    (lambda ws, s: global_magnitude_masks(ws, 1 - s), r"sparsity is the fraction"),
    (lambda ws, s: [w * m for w, m in zip(ws, global_magnitude_masks(ws, s))], "only 0"),
    (lambda ws, s: global_magnitude_masks(ws, s)[:2], "list of 3 masks"),
    (lambda ws, s: [m.flatten() for m in global_magnitude_masks(ws, s)], "shape"),
    (_library, "global_unstructured, the operation"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


def test_ex2_rejects_signed_ranking():
    def signed(weights, sparsity):
        scores = torch.cat([w.flatten() for w in weights])
        k = round(sparsity * scores.numel())
        if k == 0:
            return [torch.ones_like(w, dtype=torch.bool) for w in weights]
        t = scores.kthvalue(k).values
        return [w > t for w in weights]
    with pytest.raises(CheckFailed, match="signed value"):
        checks.exercise_2(signed)


# ----------------------------------------------------------------------------- exercise 3


def _lp(z):
    return z - torch.logsumexp(z, dim=-1, keepdim=True)


def _kl(s, t, T, reduction="batchmean"):
    lt, ls = _lp(t / T), _lp(s / T)
    per = lt.exp() * (lt - ls)
    return {"batchmean": per.sum(-1).mean(), "mean": per.mean(), "none": per}[reduction]


def _ce(s, y):
    return -_lp(s)[torch.arange(len(y)), y].mean()


def kd_loss(student_logits, teacher_logits, labels, T, alpha):
    return alpha * T * T * _kl(student_logits, teacher_logits, T) + (1 - alpha) * _ce(student_logits, labels)


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(kd_loss)
    assert "correct" in capsys.readouterr().out


def test_ex3_accepts_exp_and_log(capsys):
    def by_hand(s, t, y, T, alpha):
        p = (t / T).exp() / (t / T).exp().sum(-1, keepdim=True)
        q = (s / T).exp() / (s / T).exp().sum(-1, keepdim=True)
        kl = (p * (p.log() - q.log())).sum(-1).mean()
        ce = -(s - s.exp().sum(-1, keepdim=True).log())[torch.arange(len(y)), y].mean()
        return alpha * T * T * kl + (1 - alpha) * ce
    checks.exercise_3(by_hand)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda s, t, y, T, a: a * _kl(s, t, T) + (1 - a) * _ce(s, y), "T²"),
    (lambda s, t, y, T, a: (1 - a) * T * T * _kl(s, t, T) + a * _ce(s, y), "wrong term"),
    (lambda s, t, y, T, a: a * T * T * (_lp(t).exp() * (_lp(t) - _lp(s / T))).sum(-1).mean()
     + (1 - a) * _ce(s, y), "not softened"),
    (lambda s, t, y, T, a: a * T * T * _kl(t, s, T) + (1 - a) * _ce(s, y), "wrong way round"),
    (lambda s, t, y, T, a: a * T * T * _kl(s, t, T, "mean") + (1 - a) * _ce(s, y), "batchmean"),
    (lambda s, t, y, T, a: a * T * T * _kl(s, t, T) + (1 - a) * _ce(s / T, y), "raw logits"),
    (lambda s, t, y, T, a: T * T * _kl(s, t, T), "differs|constant factor"),
    (lambda s, t, y, T, a: a * T * T * _kl(s, t, T, "none").sum(-1), "one number"),
    (lambda s, t, y, T, a: a * T * T * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean")
     + (1 - a) * F.cross_entropy(s, y), "calls torch.nn.functional"),
    (lambda s, t, y, T, a: a * T * T * _kl(s, t, T) + (1 - a) * -(s.log_softmax(-1)[torch.arange(len(y)), y].mean()),
     "calls torch.Tensor.log_softmax"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)
