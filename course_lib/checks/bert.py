"""Checks for the exercises of notebook 07 (BERT fine-tuning).

Typical mistakes get their own message: an attention mask that counts padding or hard-codes the
pad id 0, max pooling that lets the padding win, a warm-up schedule without decay (or that
decays over the wrong number of steps), an F1 score of the wrong class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import as_array, as_number, call, compare, fail, passed

# BERT-style batch (pad id 0, [CLS] = 101, [SEP] = 102) and a RoBERTa-style one (<s> = 0,
# </s> = 2, pad id 1): ids != 0 is right for the first and wrong for the second.
_BERT_IDS = torch.tensor([[101, 7592, 2088, 102, 0, 0],
                          [101, 2023, 102, 0, 0, 0],
                          [101, 1045, 2293, 2023, 3185, 102]])
_ROBERTA_IDS = torch.tensor([[0, 31414, 232, 2, 1, 1, 1],
                             [0, 713, 1569, 16, 2420, 328, 2],
                             [0, 2, 1, 1, 1, 1, 1]])


def _reference_mask(ids: torch.Tensor, pad_id: int) -> np.ndarray:
    return (ids != pad_id).long().numpy()


def exercise_1(attention_mask_from_ids: Callable) -> None:
    """Build the attention mask (1 = real token, 0 = padding) from padded input ids.

    >>> exercise_1(lambda ids, pad_id: (ids != pad_id).long())
    ✅ Exercise 1: correct. Real tokens per sentence: [4, 3, 6] (BERT) and [4, 7, 2] (RoBERTa, pad id 1).
    """
    counts = []
    for ids, pad_id, name in ((_BERT_IDS, 0, "BERT"), (_ROBERTA_IDS, 1, "RoBERTa")):
        mask = as_array(call(attention_mask_from_ids, ids.clone(), pad_id,
                              name="attention_mask_from_ids"), "your mask")
        ref = _reference_mask(ids, pad_id)
        if mask.shape != ref.shape:
            fail(f"the mask for the {name} batch has shape {mask.shape}; expected {ref.shape} "
                 "(one number per token, same shape as input_ids).",
                 "compare input_ids with pad_id element by element; do not sum")
        if np.array_equal(mask, ref):
            counts.append(ref.sum(axis=1).tolist())
            continue
        if np.all(mask == 1):
            fail(f"your mask is all ones for the {name} batch: it counts the padding as real tokens "
                 f"(lengths {mask.sum(axis=1).astype(int).tolist()} instead of "
                 f"{ref.sum(axis=1).tolist()}).",
                 "padding positions hold pad_id; they must get 0")
        if np.array_equal(mask, 1 - ref):
            fail(f"your mask is inverted for the {name} batch: 1 on padding, 0 on real tokens.",
                 "the convention is 1 = attend to this token, 0 = padding: use ids != pad_id")
        if pad_id != 0 and np.array_equal(mask, _reference_mask(ids, 0)):
            fail("your mask ignores the pad_id argument and treats id 0 as padding. That happens to "
                 "work for BERT, but in RoBERTa id 0 is the start token <s> and padding is id 1.",
                 "compare with pad_id (tokenizer.pad_token_id), never a hard-coded 0")
        fail(f"your mask for the {name} batch differs from the expected one:\n{mask.astype(int)}\n"
             f"expected\n{ref}", "mask = (input_ids != pad_id) as 0/1 integers")
    passed("Exercise 1", f"Real tokens per sentence: {counts[0]} (BERT) and {counts[1]} "
                         "(RoBERTa, pad id 1).")


def _pool_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    hidden = torch.randn(3, 6, 4, generator=g)
    hidden[1, :2, 0] = torch.tensor([-2.0, -3.0])  # all real values negative in one dimension
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    hidden[mask == 0] = 50.0  # padding vectors are garbage: make them loud
    return hidden, mask


def _max_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return hidden.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).max(dim=1).values


def exercise_2(max_pool: Callable) -> None:
    """Max over the real tokens of each sentence, ignoring padding: ``[B, L, H] -> [B, H]``.

    >>> exercise_2(_max_pool)
    ✅ Exercise 2: correct. Padding never wins the maximum, even where every real value is negative.
    """
    hidden, mask = _pool_inputs()
    out = as_array(call(max_pool, hidden.clone(), mask.clone(), name="max_pool"), "pooled")
    ref = _max_pool(hidden, mask).numpy()
    if out.shape != ref.shape:
        fail(f"the result has shape {out.shape}; expected {ref.shape} = [batch, hidden].",
             "take the maximum over the token axis (dim=1), one vector per sentence; "
             "torch's .max(dim=1) returns (values, indices): keep .values")
    if np.allclose(out, hidden.max(dim=1).values.numpy()):
        fail("you took the maximum over ALL positions, padding included: here the padding vectors "
             "hold 50.0 and win everywhere.",
             "set the padding positions to -inf first: hidden.masked_fill(mask[..., None] == 0, "
             "float('-inf'))")
    zero_filled = (hidden * mask.unsqueeze(-1)).max(dim=1).values.numpy()
    if np.allclose(out, zero_filled):
        fail("you replaced the padding by 0 before the maximum. That fails when all real values are "
             "negative: sentence 2 has -2 and -3 in dimension 0, and your maximum is 0.",
             "fill the padding with -inf (float('-inf')), not 0")
    m = mask.unsqueeze(-1).float()
    if np.allclose(out, ((hidden * m).sum(1) / m.sum(1)).numpy(), atol=1e-5):
        fail("that is the masked MEAN; the exercise asks for the maximum.",
             "use .max(dim=1).values after masking the padding with -inf")
    if np.allclose(out, hidden[:, 0].numpy()):
        fail("that is the first token's vector ([CLS]), not the maximum over the tokens.",
             "take .max(dim=1) over all real tokens")
    compare(out, ref, "pooled vectors", atol=1e-6,
            hint="hidden.masked_fill(mask[..., None] == 0, float('-inf')).max(dim=1).values")
    passed("Exercise 2", "Padding never wins the maximum, even where every real value is negative.")


def _hf_linear(step: int, base_lr: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base_lr * step / max(1, warmup)
    return base_lr * max(0.0, (total - step) / max(1, total - warmup))


def exercise_3(warmup_linear_lr: Callable) -> None:
    """Learning rate at step ``t`` of linear warm-up then linear decay to 0 (Hugging Face's
    ``get_linear_schedule_with_warmup``).

    >>> exercise_3(_hf_linear)
    ✅ Exercise 3: correct. Peak 5e-05 at step 10, zero from step 100 on.
    """
    base, warmup, total = 5e-5, 10, 100
    steps = list(range(0, total + 6))
    got = []
    for t in steps:
        value = call(warmup_linear_lr, t, base, warmup, total, name="warmup_linear_lr")
        got.append(as_number(value, f"the lr at step {t}"))
    got_a = np.array(got)
    ref = np.array([_hf_linear(t, base, warmup, total) for t in steps])
    if np.allclose(got_a, ref, rtol=1e-6, atol=1e-12):
        passed("Exercise 3", f"Peak {base:g} at step {warmup}, zero from step {total} on.")
        return
    if not np.allclose(got_a[:warmup], ref[:warmup], rtol=1e-6, atol=1e-12):
        shifted = np.array([base * min(1.0, (t + 1) / warmup) for t in steps[:warmup]])
        if np.allclose(got_a[:warmup], shifted, rtol=1e-6, atol=1e-12):
            fail("the warm-up is one step early: at step 0 the learning rate should be 0 and it "
                 f"reaches {base:g} at step {warmup}.",
                 "during warm-up lr = base_lr * t / warmup_steps")
        fail(f"the warm-up is wrong: for steps 0..{warmup - 1} expected "
             f"{np.round(ref[:4] / base, 3).tolist()}... x base_lr, got "
             f"{np.round(got_a[:4] / base, 3).tolist()}...",
             "during warm-up the lr grows linearly from 0: base_lr * t / warmup_steps")
    after = slice(warmup, total + 1)
    if np.allclose(got_a[after], base):
        fail("after the warm-up your learning rate stays constant; it should decay linearly to 0 "
             f"at step {total}.", "lr = base_lr * (total_steps - t) / (total_steps - warmup_steps)")
    ignore_warmup = np.array([base * (total - t) / total for t in steps[after]])
    if np.allclose(got_a[after], ignore_warmup, rtol=1e-6, atol=1e-12):
        fail(f"the decay starts from the wrong place: at step {warmup} (end of warm-up) the lr "
             f"should be the full {base:g}, and it should reach 0 at step {total}.",
             "divide by (total_steps - warmup_steps), not by total_steps")
    if np.any(got_a < 0):
        fail(f"your learning rate becomes negative after step {total}.",
             "clamp it: max(0.0, ...)")
    bad = int(np.argmax(~np.isclose(got_a, ref, rtol=1e-6, atol=1e-12)))
    fail(f"at step {bad} your learning rate is {got_a[bad]:.4g}; expected {ref[bad]:.4g}.",
         "warm-up: base_lr * t / warmup; then base_lr * max(0, (total - t) / (total - warmup))")


def _f1(pred: np.ndarray, y: np.ndarray, positive: int = 1) -> float:
    tp = np.sum((pred == positive) & (y == positive))
    fp = np.sum((pred == positive) & (y != positive))
    fn = np.sum((pred != positive) & (y == positive))
    return float(2 * tp / (2 * tp + fp + fn))


def exercise_4(f1_positive: Callable) -> None:
    """F1 score of the positive class (label 1) from predicted and true labels.

    >>> exercise_4(_f1)
    ✅ Exercise 4: correct. F1 = 2PR / (P + R) of the positive class.
    """
    pred = np.array([1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0])
    true = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1])
    tp, fp, fn = 5, 2, 3
    value = call(f1_positive, pred.copy(), true.copy(), name="f1_positive")
    got = as_number(value, "your F1")
    ref = _f1(pred, true)
    if np.isclose(got, ref, atol=1e-9):
        passed("Exercise 4", "F1 = 2PR / (P + R) of the positive class.")
        return
    named = {
        "the accuracy": float(np.mean(pred == true)),
        "the F1 of the negative class (label 0)": _f1(pred, true, positive=0),
        "the precision TP / (TP + FP)": tp / (tp + fp),
        "the recall TP / (TP + FN)": tp / (tp + fn),
        "the mean of precision and recall (F1 is their harmonic mean)": (tp / (tp + fp) + tp / (tp + fn)) / 2,
    }
    for what, v in named.items():
        if np.isclose(got, v, atol=1e-9):
            fail(f"you computed {what} ({got:.4f}), not the F1 of the positive class ({ref:.4f}).",
                 "count TP, FP, FN for label 1; F1 = 2 * TP / (2 * TP + FP + FN)")
    compare(got, ref, "your F1", hint="F1 = 2 * TP / (2 * TP + FP + FN) with label 1 as positive")
