"""Every check of notebook 07 accepts the reference answer and rejects typical wrong answers."""

import numpy as np
import pytest
import torch

from course_lib.checks import CheckFailed
from course_lib.checks import bert as checks

# ----------------------------------------------------------------------------- exercise 1


def attention_mask_from_ids(input_ids, pad_id):
    return (input_ids != pad_id).long()


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(attention_mask_from_ids)
    out = capsys.readouterr().out
    assert "correct" in out and "[4, 3, 6]" in out


def test_ex1_accepts_bool_mask(capsys):
    checks.exercise_1(lambda ids, pad_id: ids != pad_id)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda ids, pad_id: torch.ones_like(ids), "counts the padding"),
    (lambda ids, pad_id: (ids == pad_id).long(), "inverted"),
    (lambda ids, pad_id: (ids != 0).long(), "ignores the pad_id"),
    (lambda ids, pad_id: (ids != pad_id).sum(1), "shape"),
    (lambda ids, pad_id: ((ids != pad_id) & (ids > 2)).long(), "differs"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


# ----------------------------------------------------------------------------- exercise 2


def max_pool(hidden, mask):
    hidden = hidden.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))
    return hidden.max(dim=1).values


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(max_pool)
    assert "correct" in capsys.readouterr().out


def test_ex2_rejects_the_maximum_over_padding():
    with pytest.raises(CheckFailed, match="padding included"):
        checks.exercise_2(lambda h, m: h.max(dim=1).values)


@pytest.mark.parametrize("wrong, message", [
    (lambda h, m: (h * m.unsqueeze(-1)).max(dim=1).values, "replaced the padding by 0"),
    (lambda h, m: (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True), "MEAN"),
    (lambda h, m: h[:, 0], r"\[CLS\]"),
    (lambda h, m: h.masked_fill(m.unsqueeze(-1) == 0, float("-inf")).max(dim=1), "shape"),
    (lambda h, m: h.masked_fill(m.unsqueeze(-1) == 0, float("-inf")).max(dim=2).values, "shape"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


# ----------------------------------------------------------------------------- exercise 3


def warmup_linear_lr(step, base_lr, warmup_steps, total_steps):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return base_lr * max(0.0, (total_steps - step) / (total_steps - warmup_steps))


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(warmup_linear_lr)
    assert "correct" in capsys.readouterr().out


def test_ex3_reference_matches_transformers():
    transformers = pytest.importorskip("transformers")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=5e-5)
    sched = transformers.get_linear_schedule_with_warmup(opt, 10, 100)
    for step in range(105):
        assert opt.param_groups[0]["lr"] == pytest.approx(warmup_linear_lr(step, 5e-5, 10, 100), abs=1e-15)
        opt.step()
        sched.step()


def test_ex3_rejects_a_schedule_without_decay():
    with pytest.raises(CheckFailed, match="stays constant"):
        checks.exercise_3(lambda t, lr, w, T: lr * t / w if t < w else lr)


@pytest.mark.parametrize("wrong, message", [
    (lambda t, lr, w, T: lr * t / w if t < w else lr * max(0.0, (T - t) / T), "wrong place"),
    (lambda t, lr, w, T: lr * t / w if t < w else lr * (T - t) / (T - w), "negative"),
    (lambda t, lr, w, T: lr * min(1.0, (t + 1) / w) if t < w else lr * max(0.0, (T - t) / (T - w)),
     "one step early"),
    (lambda t, lr, w, T: lr * max(0.0, (T - t) / (T - w)) if t >= w else lr, "warm-up is wrong"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)


# ----------------------------------------------------------------------------- exercise 4


def f1_positive(pred, true):
    tp = np.sum((pred == 1) & (true == 1))
    fp = np.sum((pred == 1) & (true == 0))
    fn = np.sum((pred == 0) & (true == 1))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def test_ex4_accepts_reference(capsys):
    checks.exercise_4(f1_positive)
    assert "correct" in capsys.readouterr().out


def test_ex4_accepts_sklearn(capsys):
    from sklearn.metrics import f1_score

    checks.exercise_4(lambda p, t: f1_score(t, p))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda p, t: np.mean(p == t), "accuracy"),
    (lambda p, t: f1_positive(1 - p, 1 - t), "negative class"),
    (lambda p, t: np.sum((p == 1) & (t == 1)) / np.sum(p == 1), "precision"),
    (lambda p, t: np.sum((p == 1) & (t == 1)) / np.sum(t == 1), "recall"),
    (lambda p, t: (np.sum((p == 1) & (t == 1)) / np.sum(p == 1)
                   + np.sum((p == 1) & (t == 1)) / np.sum(t == 1)) / 2, "harmonic"),
])
def test_ex4_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_4(wrong)


def test_a_list_instead_of_one_number_is_rejected():
    from course_lib.checks import bert as checks_bert

    def ref(step, base_lr, warmup_steps, total_steps):
        if step < warmup_steps:
            return base_lr * step / warmup_steps
        return base_lr * max(0.0, (total_steps - step) / (total_steps - warmup_steps))

    with pytest.raises(CheckFailed, match="one number"):
        checks_bert.exercise_3(lambda *args: [ref(*args), 123.0])
