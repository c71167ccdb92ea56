"""Checks for the exercises of notebook 07 (BERT fine-tuning).

Typical mistakes get their own message: WordPiece that takes the shortest piece, forgets the
``##`` of continuation pieces or keeps part of an unknown word, max pooling that lets the padding
win, a warm-up schedule without decay (or that decays over the wrong number of steps), an F1 score
of the wrong class. The library function an exercise replaces is switched off while it runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from course_lib.i18n import _

from . import as_array, as_number, call, compare, fail, passed

# A small WordPiece vocabulary: whole words, word-initial pieces and "##" continuation pieces.
_WP_VOCAB = frozenset({
    "[UNK]", "un", "fun", "f", "##fun", "##ny", "##n", "##y", "##u", "##f", "ny", "play", "##play",
    "##ing", "##s", "##i", "##ng", "movie", "##movie", "mov", "##ie", "##v", "##o", "##m",
})
_WP_WORDS = ("unfunny", "funny", "playing", "plays", "movie", "movies", "unplayful", "fun")


def _wordpiece(word: str, vocab: frozenset[str] | set[str], unk: str = "[UNK]") -> list[str]:
    """BERT's WordPiece for one word: greedy longest match first, from the left."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def _wordpiece_shortest(word: str, vocab: frozenset[str]) -> list[str]:
    pieces, start = [], 0
    while start < len(word):
        for end in range(start + 1, len(word) + 1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def exercise_1(wordpiece: Callable) -> None:
    """WordPiece by hand: split one word into the longest vocabulary pieces from the left
    (continuations start with ``##``); a word that cannot be split becomes ``["[UNK]"]``.

    >>> exercise_1(_wordpiece)
    ✅ Exercise 1: correct. unfunny -> un ##fun ##ny; unplayful -> [UNK] (no piece "##l" for its last letter).
    """
    got_all = {}
    for word in _WP_WORDS:
        expected = _wordpiece(word, _WP_VOCAB)
        answer = call(wordpiece, word, set(_WP_VOCAB), name="wordpiece",
                      hint=_("it receives one word (a string) and the vocabulary (a set of strings)"),
                      forbidden=("tokenizers.models.WordPiece",))
        if isinstance(answer, str) or not all(isinstance(p, str) for p in answer):
            fail(_("wordpiece({word!r}, vocab) returned {answer!r}; expected a list of strings such "
                   "as {expected}.", word=word, answer=answer, expected=expected),
                 _("collect the pieces in a list and return it"))
        got = list(answer)
        got_all[word] = got
        if got == expected:
            continue
        where = _("wordpiece({word!r}) gave {got}; expected {expected}", word=word, got=got, expected=expected)
        if expected == ["[UNK]"] and "[UNK]" in got:
            fail(_("{where}. When some part of a word matches no piece, BERT's WordPiece gives up on "
                   "the WHOLE word: it becomes a single [UNK], not the pieces found so far plus [UNK].",
                   where=where),
                 _("return ['[UNK]'] as soon as no piece matches"))
        if got == _wordpiece_shortest(word, _WP_VOCAB):
            fail(_("{where}: you take the SHORTEST matching piece; WordPiece takes the longest one "
                   "first (greedy longest match).", where=where),
                 _("start with the whole rest of the word and "
                   "drop one character at a time until it is in the vocabulary"))
        if got and got[0].startswith("##"):
            fail(_("{where}: the first piece of a word has no '##'; only continuation pieces do.", where=where),
                 _("add '##' only when start > 0"))
        if any(not p.startswith("##") for p in got[1:]):
            fail(_("{where}: the pieces after the first must be looked up WITH the '##' prefix "
                   "(a continuation piece is a different vocabulary entry from the same letters at "
                   "the start of a word).", where=where), _("piece = '##' + word[start:end] when start > 0"))
        if "".join(p.removeprefix("##") for p in got) == word and any(p not in _WP_VOCAB for p in got):
            missing = [p for p in got if p not in _WP_VOCAB]
            fail(_("{where}: {missing} are not in the vocabulary.", where=where, missing=missing),
                 _("only return pieces that are in vocab"))
        fail(_("{where}.", where=where),
             _("greedy longest match from the left: the longest vocab piece that starts "
               "the rest of the word (with '##' after the first), then continue after it"))
    passed(_("Exercise 1"), _('unfunny -> {unfunny}; unplayful -> {unplayful} (no piece "##l" for its '
                              'last letter).', unfunny=" ".join(got_all["unfunny"]),
                              unplayful=" ".join(got_all["unplayful"])))


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
        fail(_("the result has shape {shape}; expected {expected} = [batch, hidden].",
               shape=out.shape, expected=ref.shape),
             _("take the maximum over the token axis (dim=1), one vector per sentence; "
               "torch's .max(dim=1) returns (values, indices): keep .values"))
    if np.allclose(out, hidden.max(dim=1).values.numpy()):
        fail(_("you took the maximum over ALL positions, padding included: here the padding vectors "
               "hold 50.0 and win everywhere."),
             _("set the padding positions to -inf first: hidden.masked_fill(mask[..., None] == 0, "
               "float('-inf'))"))
    zero_filled = (hidden * mask.unsqueeze(-1)).max(dim=1).values.numpy()
    if np.allclose(out, zero_filled):
        fail(_("you replaced the padding by 0 before the maximum. That fails when all real values are "
               "negative: sentence 2 has -2 and -3 in dimension 0, and your maximum is 0."),
             _("fill the padding with -inf (float('-inf')), not 0"))
    m = mask.unsqueeze(-1).float()
    if np.allclose(out, ((hidden * m).sum(1) / m.sum(1)).numpy(), atol=1e-5):
        fail(_("that is the masked MEAN; the exercise asks for the maximum."),
             _("use .max(dim=1).values after masking the padding with -inf"))
    if np.allclose(out, hidden[:, 0].numpy()):
        fail(_("that is the first token's vector ([CLS]), not the maximum over the tokens."),
             _("take .max(dim=1) over all real tokens"))
    compare(out, ref, _("pooled vectors"), atol=1e-6,
            hint=_("hidden.masked_fill(mask[..., None] == 0, float('-inf')).max(dim=1).values"))
    passed(_("Exercise 2"), _("Padding never wins the maximum, even where every real value is negative."))


def _hf_linear(step: int, base_lr: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base_lr * step / max(1, warmup)
    return base_lr * max(0.0, (total - step) / max(1, total - warmup))


_SCHEDULE_LIBRARY = ("transformers.get_linear_schedule_with_warmup",
                     "transformers.optimization.get_linear_schedule_with_warmup")


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
        value = call(warmup_linear_lr, t, base, warmup, total, name="warmup_linear_lr",
                     forbidden=_SCHEDULE_LIBRARY)
        got.append(as_number(value, _("the lr at step {t}", t=t)))
    got_a = np.array(got)
    ref = np.array([_hf_linear(t, base, warmup, total) for t in steps])
    if np.allclose(got_a, ref, rtol=1e-6, atol=1e-12):
        passed(_("Exercise 3"), _("Peak {base:g} at step {warmup}, zero from step {total} on.",
                                  base=base, warmup=warmup, total=total))
        return
    if not np.allclose(got_a[:warmup], ref[:warmup], rtol=1e-6, atol=1e-12):
        shifted = np.array([base * min(1.0, (t + 1) / warmup) for t in steps[:warmup]])
        if np.allclose(got_a[:warmup], shifted, rtol=1e-6, atol=1e-12):
            fail(_("the warm-up is one step early: at step 0 the learning rate should be 0 and it "
                   "reaches {base:g} at step {warmup}.", base=base, warmup=warmup),
                 _("during warm-up lr = base_lr * t / warmup_steps"))
        fail(_("the warm-up is wrong: for steps 0..{last} expected "
               "{expected}... x base_lr, got {got}...", last=warmup - 1,
               expected=np.round(ref[:4] / base, 3).tolist(), got=np.round(got_a[:4] / base, 3).tolist()),
             _("during warm-up the lr grows linearly from 0: base_lr * t / warmup_steps"))
    after = slice(warmup, total + 1)
    if np.allclose(got_a[after], base):
        fail(_("after the warm-up your learning rate stays constant; it should decay linearly to 0 "
               "at step {total}.", total=total),
             _("lr = base_lr * (total_steps - t) / (total_steps - warmup_steps)"))
    ignore_warmup = np.array([base * (total - t) / total for t in steps[after]])
    if np.allclose(got_a[after], ignore_warmup, rtol=1e-6, atol=1e-12):
        fail(_("the decay starts from the wrong place: at step {warmup} (end of warm-up) the lr "
               "should be the full {base:g}, and it should reach 0 at step {total}.",
               warmup=warmup, base=base, total=total),
             _("divide by (total_steps - warmup_steps), not by total_steps"))
    if np.any(got_a < 0):
        fail(_("your learning rate becomes negative after step {total}.", total=total),
             _("clamp it: max(0.0, ...)"))
    bad = int(np.argmax(~np.isclose(got_a, ref, rtol=1e-6, atol=1e-12)))
    fail(_("at step {step} your learning rate is {got:.4g}; expected {expected:.4g}.",
           step=bad, got=got_a[bad], expected=ref[bad]),
         _("warm-up: base_lr * t / warmup; then base_lr * max(0, (total - t) / (total - warmup))"))


def _f1(pred: np.ndarray, y: np.ndarray, positive: int = 1) -> float:
    tp = np.sum((pred == positive) & (y == positive))
    fp = np.sum((pred == positive) & (y != positive))
    fn = np.sum((pred != positive) & (y == positive))
    return float(2 * tp / (2 * tp + fp + fn))


_F1_LIBRARY = ("sklearn.metrics.f1_score", "sklearn.metrics.fbeta_score",
               "sklearn.metrics.precision_recall_fscore_support", "sklearn.metrics.precision_score",
               "sklearn.metrics.recall_score")


def exercise_4(f1_positive: Callable) -> None:
    """F1 score of the positive class (label 1) from predicted and true labels.

    >>> exercise_4(_f1)
    ✅ Exercise 4: correct. F1 = 2PR / (P + R) of the positive class.
    """
    pred = np.array([1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0])
    true = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1])
    tp, fp, fn = 5, 2, 3
    value = call(f1_positive, pred.copy(), true.copy(), name="f1_positive",
                 forbidden=_F1_LIBRARY)
    got = as_number(value, _("your F1"))
    ref = _f1(pred, true)
    if np.isclose(got, ref, atol=1e-9):
        passed(_("Exercise 4"), _("F1 = 2PR / (P + R) of the positive class."))
        return
    named = {
        _("the accuracy"): float(np.mean(pred == true)),
        _("the F1 of the negative class (label 0)"): _f1(pred, true, positive=0),
        _("the precision TP / (TP + FP)"): tp / (tp + fp),
        _("the recall TP / (TP + FN)"): tp / (tp + fn),
        _("the mean of precision and recall (F1 is their harmonic mean)"): (tp / (tp + fp) + tp / (tp + fn)) / 2,
    }
    for what, v in named.items():
        if np.isclose(got, v, atol=1e-9):
            fail(_("you computed {what} ({got:.4f}), not the F1 of the positive class ({ref:.4f}).",
                   what=what, got=got, ref=ref),
                 _("count TP, FP, FN for label 1; F1 = 2 * TP / (2 * TP + FP + FN)"))
    compare(got, ref, _("your F1"), hint=_("F1 = 2 * TP / (2 * TP + FP + FN) with label 1 as positive"))
