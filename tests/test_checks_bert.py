"""Every check of notebook 07 accepts the reference answer and rejects typical wrong answers."""

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, precision_score, recall_score

from course_lib.checks import CheckFailed
from course_lib.checks import bert as checks

# ----------------------------------------------------------------------------- exercise 1


def wordpiece(word, vocab):  # the reference solution, as a student would write it
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(wordpiece)
    out = capsys.readouterr().out
    assert "correct" in out and "un ##fun ##ny" in out


def test_ex1_reference_matches_the_real_tokenizer():
    transformers = pytest.importorskip("transformers")
    from course_lib import data
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(data.bert_model())
    except Exception as exc:  # noqa: BLE001 -- the model package is optional for this test
        pytest.skip(f"model not available: {exc}")
    vocab = set(tokenizer.get_vocab())
    for word in ["unfunny", "bodice", "overwrought", "melodramatic", "delirious", "🙂"]:
        assert wordpiece(word, vocab) == tokenizer.tokenize(word), word


def _no_hashes(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start and word[start:end] not in vocab:
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(word[start:end])
        start = end
    return pieces


def _keeps_partial(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return pieces + ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def _via_library(word, vocab):
    from tokenizers import Tokenizer, models
    tok = Tokenizer(models.WordPiece({p: i for i, p in enumerate(sorted(vocab))}, unk_token="[UNK]"))
    return tok.encode(word).tokens


@pytest.mark.parametrize("wrong, message", [
    (lambda w, v: checks._wordpiece_shortest(w, v), "SHORTEST"),
    (_no_hashes, "WITH the '##' prefix"),
    (lambda w, v: ["##" + p.removeprefix("##") for p in wordpiece(w, v)], "first piece"),
    (_keeps_partial, "WHOLE word"),
    (lambda w, v: " ".join(wordpiece(w, v)), "list of strings"),
    (lambda w, v: list(w), "expected"),
    (_via_library, "calls tokenizers.models.WordPiece"),
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


def test_ex3_rejects_the_transformers_schedule():
    transformers = pytest.importorskip("transformers")

    def via_library(step, base_lr, warmup_steps, total_steps):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
        sched = transformers.get_linear_schedule_with_warmup(opt, warmup_steps, total_steps)
        for _ in range(step):
            opt.step()
            sched.step()
        return opt.param_groups[0]["lr"]

    with pytest.raises(CheckFailed, match="calls transformers.get_linear_schedule_with_warmup"):
        checks.exercise_3(via_library)


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


def test_ex4_rejects_sklearn():
    with pytest.raises(CheckFailed, match="calls sklearn.metrics.f1_score"):
        checks.exercise_4(lambda p, t: f1_score(t, p))
    with pytest.raises(CheckFailed, match="calls sklearn.metrics.precision_score"):
        checks.exercise_4(lambda p, t: 2 / (1 / precision_score(t, p) + 1 / recall_score(t, p)))
    assert f1_score([1, 0], [1, 0]) == 1.0      # switched back on afterwards


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
