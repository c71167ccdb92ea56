"""Checks for the exercises of notebook 09 (small and fast models).

Typical mistakes get their own message: one scale for the whole matrix instead of one per output
channel, a scale for 255 or 128 levels instead of 127, the maximum instead of the maximum
*magnitude*, truncating instead of rounding; pruning layer by layer instead of globally, by signed
value instead of magnitude, or keeping the smallest weights; a distillation loss without the
factor T², without the temperature on the teacher, with the KL divergence the wrong way round or
with ``alpha`` on the wrong term.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..i18n import _
from . import as_array, as_number, call, compare, fail, passed

# ----------------------------------------------------------------------------- exercise 1

QUANT_FORBIDDEN = ("torch.quantize_per_channel", "torch.quantize_per_tensor",
                   "torch.fake_quantize_per_channel_affine", "torch.fake_quantize_per_tensor_affine",
                   "onnxruntime.quantization.quant_utils.quantize_data",
                   "onnxruntime.quantization.quant_utils.compute_scale_zp")


def _weights() -> torch.Tensor:
    """Rows of very different sizes; row 1's largest magnitude is negative."""
    g = torch.Generator().manual_seed(9)
    w = torch.randn(5, 12, generator=g) * torch.tensor([[0.02], [0.5], [0.1], [2.0], [0.005]])
    w[1, 3] = -1.7  # the largest magnitude of row 1, and it is negative
    return w


def _per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = w.abs().amax(dim=1) / 127
    q = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
    return q, scale


def exercise_1(quantize_per_channel: Callable) -> None:
    """Symmetric int8 quantisation with one scale per output channel (row), by hand.

    ``quantize_per_channel(w)`` for a float ``[out, in]`` matrix returns ``(q, scale)``: ``q`` the
    int8 codes (``[out, in]``), ``scale`` ``[out]`` with ``scale[c] = max|w[c]| / 127``, and
    ``q = round(w / scale[c])``.

    >>> exercise_1(_per_channel)
    ✅ Exercise 1: correct. Worst relative error per row 0.38% (one scale for the whole matrix: up to 100%).
    """
    w = _weights()
    ref_q, ref_scale = _per_channel(w)
    result = call(quantize_per_channel, w.clone(), name="quantize_per_channel",
                  forbidden=QUANT_FORBIDDEN)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(_("quantize_per_channel returned {type}; expected a pair (q, scale).",
               type=type(result).__name__), _("return q, scale"))
    q = as_array(result[0], "q")
    scale = as_array(result[1], "scale").reshape(-1)
    w_np = w.double().numpy()
    if q.shape != tuple(w.shape):
        fail(_("q has shape {shape}; expected {expected} (one code per weight).",
               shape=q.shape, expected=tuple(w.shape)))
    if scale.size == 1:
        fail(_("you returned one scale for the whole matrix (per-tensor). Per-channel quantisation "
               "gives each output row its own scale, so a row of tiny weights does not lose all its "
               "precision to the row with the largest weight."),
             _("scale = w.abs().amax(dim=1) / 127  (one number per row)"))
    if scale.size == w.shape[1]:
        fail(_("you returned {n} scales, one per input column; the output channels are the "
               "{rows} rows of a Linear layer's weight [out, in].", n=scale.size, rows=w.shape[0]),
             _("reduce over dim=1 (the inputs): w.abs().amax(dim=1)"))
    if scale.size != w.shape[0]:
        fail(_("scale has {n} entries; expected {rows} (one per row).", n=scale.size,
               rows=w.shape[0]))
    ref_s = ref_scale.double().numpy()
    if not np.allclose(scale, ref_s, rtol=1e-5):
        ratio = scale / ref_s
        if np.allclose(ratio, 127 / 255, rtol=1e-4):
            fail(_("your scale is max|w| / 255: that spreads the range over 255 steps, but a "
                   "symmetric int8 code has 127 steps on each side of zero, so big weights "
                   "overflow."), _("scale = max|w| / 127"))
        if np.allclose(ratio, 127 / 128, rtol=1e-4):
            fail(_("your scale is max|w| / 128: then the largest weight maps to 128, one step past "
                   "int8's largest positive code 127."), _("scale = max|w| / 127"))
        row_max = w_np.max(axis=1) / 127
        if np.allclose(scale, row_max, rtol=1e-5):
            fail(_("your scale uses the largest *value* of each row, not the largest *magnitude*: "
                   "row 1's biggest weight is -1.7, which then falls outside the range."),
                 _("use w.abs().amax(dim=1)"))
        fail(_("the scales differ from max|w[c]| / 127: got {got}, expected {expected}.",
               got=np.round(scale, 6).tolist(), expected=np.round(ref_s, 6).tolist()),
             _("scale[c] = w[c].abs().max() / 127"))
    if np.any(np.abs(q - np.round(q)) > 1e-6) or np.abs(q).max() > 128:
        if np.allclose(q, ref_q.double().numpy() * ref_scale.double().numpy()[:, None], rtol=1e-4,
                       atol=1e-7):
            fail(_("q holds the de-quantised weights (q * scale), not the integer codes."),
                 _("return the integers round(w / scale) (e.g. as torch.int8) and the scale "
                   "separately"))
        fail(_("q should hold integers in [-127, 127]."), _("q = round(w / scale[:, None])"))
    ref_codes = ref_q.double().numpy()
    if not np.array_equal(q, ref_codes):
        ratio32 = (w / ref_scale[:, None]).double().numpy()      # float32, as a student computes it
        if np.mean(q == np.trunc(ratio32)) > 0.95:
            fail(_("your codes truncate towards zero (int() or .to(torch.int8) on the float); "
                   "that doubles the average rounding error."),
                 _("round first: torch.round(w / scale[:, None]).to(torch.int8)"))
        if np.mean(q == np.floor(ratio32)) > 0.95:
            fail(_("your codes are rounded down (floor), which biases every weight downwards."),
                 _("use torch.round"))
        bad = int(np.sum(q != ref_codes))
        fail(_("{bad} of the {total} codes differ from round(w / scale) (largest difference "
               "{diff:.0f}).", bad=bad, total=q.size, diff=np.abs(q - ref_codes).max()),
             _("q = clamp(round(w / scale[:, None]), -127, 127)"))
    deq = q * scale[:, None]
    per_row = np.abs(deq - w_np).max(axis=1) / np.abs(w_np).max(axis=1)
    tensor_scale = np.abs(w_np).max() / 127
    per_tensor = np.abs(np.round(w_np / tensor_scale) * tensor_scale - w_np).max(axis=1) / np.abs(w_np).max(axis=1)
    passed(_("Exercise 1"), _("Worst relative error per row {worst:.2%} (one scale for the whole "
                              "matrix: up to {tensor:.0%}).", worst=per_row.max(),
                              tensor=per_tensor.max()))


# ----------------------------------------------------------------------------- exercise 2

PRUNE_FORBIDDEN = ("torch.nn.utils.prune.global_unstructured", "torch.nn.utils.prune.l1_unstructured")


def _layers() -> list[torch.Tensor]:
    """Three 'layers' of different scales, so global and layer-wise pruning differ."""
    g = torch.Generator().manual_seed(3)
    return [torch.randn(8, 10, generator=g) * 0.15, torch.randn(6, 8, generator=g) * 0.5,
            torch.randn(4, 6, generator=g) * 0.2]


def _global_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    flat = torch.cat([w.abs().flatten() for w in weights])
    k = int(round(sparsity * flat.numel()))
    masks = [torch.ones_like(w, dtype=torch.bool) for w in weights]
    if k == 0:
        return masks
    threshold = flat.kthvalue(k).values
    return [w.abs() > threshold for w in weights]


def exercise_2(global_magnitude_masks: Callable) -> None:
    """Global magnitude pruning by hand: keep-masks for a list of weight tensors.

    ``global_magnitude_masks(weights, sparsity)`` returns one mask per tensor (same shapes, 1 =
    keep, 0 = prune) that removes the ``round(sparsity * total)`` weights of smallest magnitude,
    ranked across all tensors together.

    >>> exercise_2(_global_masks)
    ✅ Exercise 2: correct. At 70% sparsity the three layers keep 14%, 52% and 42% of their weights: global pruning decides per layer.
    """
    weights = _layers()
    total = sum(w.numel() for w in weights)
    summary = ""
    for sparsity in (0.7, 0.5, 0.0):
        got = call(global_magnitude_masks, [w.clone() for w in weights], sparsity,
                   name="global_magnitude_masks", forbidden=PRUNE_FORBIDDEN)
        if not isinstance(got, (list, tuple)) or len(got) != len(weights):
            if hasattr(got, "__len__"):
                what = _("expected a list of {n} masks (one per weight tensor); got {type} of "
                         "length {length}.", n=len(weights), type=type(got).__name__,
                         length=len(got))
            else:
                what = _("expected a list of {n} masks (one per weight tensor); got {type}.",
                         n=len(weights), type=type(got).__name__)
            fail(what, _("return [mask_1, mask_2, ...] in the order of the weights"))
        masks = [as_array(m, _("mask {i}", i=i)) for i, m in enumerate(got)]
        for i, (m, w) in enumerate(zip(masks, weights)):
            if m.shape != tuple(w.shape):
                fail(_("mask {i} has shape {shape}; expected {expected} (the shape of its weights).",
                       i=i, shape=m.shape, expected=tuple(w.shape)))
        ref = [m.double().numpy() for m in _global_masks(weights, sparsity)]
        if all(np.array_equal(m, r) for m, r in zip(masks, ref)):
            if sparsity == 0.7:
                kept = [m.mean() for m in masks]
                summary = _("At 70% sparsity the three layers keep {a:.0%}, {b:.0%} and {c:.0%} "
                            "of their weights: global pruning decides per layer.",
                            a=kept[0], b=kept[1], c=kept[2])
            continue
        if not all(set(np.unique(m)) <= {0.0, 1.0} for m in masks):
            fail(_("a mask should hold only 0 (prune) and 1 (keep); yours holds other values "
                   "(the pruned weights themselves?)."), _("return (w.abs() > threshold) for each w"))
        pruned = int(sum((m == 0).sum() for m in masks))
        want = int(round(sparsity * total))
        inverted = [1 - r for r in ref]
        if sparsity > 0 and all(np.array_equal(m, r) for m, r in zip(masks, inverted)):
            fail(_("your masks keep the smallest weights and prune the largest: the opposite of "
                   "magnitude pruning."), _("keep the weights whose |w| is above the threshold"))
        flat = torch.cat([w.abs().flatten() for w in weights])
        if 0 < sparsity < 1:
            k_keep = int(round(sparsity * total))   # keeping `sparsity` instead of pruning it
            thr = flat.kthvalue(total - k_keep).values
            if all(np.array_equal(m, (w.abs() > thr).double().numpy()) for m, w in zip(masks, weights)):
                fail(_("at sparsity {sparsity} you keep {sparsity:.0%} of the weights; sparsity is "
                       "the fraction that is *removed*.", sparsity=sparsity),
                     _("prune the round(sparsity * total) smallest"))
        layerwise = []
        for w in weights:
            k = int(round(sparsity * w.numel()))
            layerwise.append((w.abs() > w.abs().flatten().kthvalue(k).values).double().numpy()
                             if k else np.ones(tuple(w.shape)))
        if sparsity > 0 and all(np.array_equal(m, r) for m, r in zip(masks, layerwise)):
            fail(_("you pruned each layer separately to {sparsity:.0%}; the exercise asks for one "
                   "global ranking: a layer of small weights (here the first) should lose more.",
                   sparsity=sparsity),
                 _("concatenate all |w| (torch.cat of the flattened tensors), find one threshold"))
        signed = torch.cat([w.flatten() for w in weights])
        if sparsity > 0:
            thr = signed.kthvalue(want).values
            if all(np.array_equal(m, (w > thr).double().numpy()) for m, w in zip(masks, weights)):
                fail(_("you ranked the weights by their signed value, so large negative weights "
                       "are pruned first; magnitude pruning ranks by |w|."), _("use w.abs()"))
        if pruned != want:
            fail(_("at sparsity {sparsity} your masks prune {pruned} of {total} weights; expected "
                   "round({sparsity} * {total}) = {want}.", sparsity=sparsity, pruned=pruned,
                   total=total, want=want),
                 _("threshold = the k-th smallest |w| over all layers (torch.kthvalue), keep |w| > it"))
        fail(_("at sparsity {sparsity} the right number of weights is pruned, but not the smallest "
               "ones.", sparsity=sparsity), _("rank all |w| of all layers together"))
    passed(_("Exercise 2"), summary)


# ----------------------------------------------------------------------------- exercise 3


KD_FORBIDDEN = ("torch.nn.functional.kl_div", "torch.nn.functional.cross_entropy",
                "torch.nn.functional.nll_loss", "torch.nn.functional.softmax",
                "torch.nn.functional.log_softmax", "torch.softmax", "torch.log_softmax",
                "torch.Tensor.softmax", "torch.Tensor.log_softmax", "torch.special.softmax",
                "torch.special.log_softmax")


def _kd_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    student = torch.randn(6, 5, generator=g) * 2
    teacher = torch.randn(6, 5, generator=g) * 3
    labels = torch.tensor([0, 3, 1, 4, 2, 2])
    return student, teacher, labels


def _kd(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, T: float,
        alpha: float) -> torch.Tensor:
    def log_probs(z: torch.Tensor) -> torch.Tensor:
        return z - torch.logsumexp(z, dim=-1, keepdim=True)
    lt, ls = log_probs(teacher / T), log_probs(student / T)
    soft = (lt.exp() * (lt - ls)).sum(-1).mean()
    return alpha * T * T * soft + (1 - alpha) * -log_probs(student)[torch.arange(len(labels)), labels].mean()


def exercise_3(kd_loss: Callable) -> None:
    """Hinton et al.'s combined loss by hand: ``alpha * T² * KL(teacher_T || student_T) + (1 - alpha) * CE``.

    ``kd_loss(student_logits, teacher_logits, labels, T, alpha)``, averaged over the batch; the KL
    divergence between the temperature-softened distributions, the cross-entropy on the hard labels
    at temperature 1; written without the library's softmax, KL and cross-entropy (``KD_FORBIDDEN``).

    >>> exercise_3(_kd)
    ✅ Exercise 3: correct. The gradient from the soft targets keeps its size as T grows (thanks to T²).
    """
    s, t, y = _kd_inputs()
    cases = [(4.0, 0.7), (1.0, 0.5), (2.0, 1.0), (3.0, 0.0)]
    for T, alpha in cases:
        expected = float(_kd(s, t, y, T, alpha))
        got = as_number(call(kd_loss, s.clone(), t.clone(), y.clone(), T, alpha, name="kd_loss",
                             forbidden=KD_FORBIDDEN),
                        f"kd_loss(T={T}, alpha={alpha})", hint=_("return one number (a 0-d tensor)"))
        if np.isclose(got, expected, rtol=1e-4, atol=1e-6):
            continue
        soft = float(F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean"))
        ce = float(F.cross_entropy(s, y))
        variants = {
            "no T² factor": alpha * soft + (1 - alpha) * ce,
            "alpha swapped": (1 - alpha) * T * T * soft + alpha * ce,
            "teacher not softened": alpha * T * T * float(F.kl_div(F.log_softmax(s / T, -1),
                                                                   F.softmax(t, -1), reduction="batchmean")) + (1 - alpha) * ce,
            "reversed KL": alpha * T * T * float(F.kl_div(F.log_softmax(t / T, -1), F.softmax(s / T, -1),
                                                          reduction="batchmean")) + (1 - alpha) * ce,
            "mean over classes": alpha * T * T * soft / s.shape[1] + (1 - alpha) * ce,
            "hard CE softened": alpha * T * T * soft + (1 - alpha) * float(F.cross_entropy(s / T, y)),
        }
        for what, value in variants.items():
            if np.isclose(got, value, rtol=1e-4, atol=1e-6):
                message, hint = {
                    "no T² factor": (_("the soft-target term lacks the factor T². Softening with T "
                                       "shrinks its gradients by 1/T², so without it the soft "
                                       "targets barely count at T = 4."),
                                     _("multiply the KL term by T * T")),
                    "alpha swapped": (_("alpha weights the wrong term: alpha belongs to the "
                                        "soft-target (KL) term and 1 - alpha to the hard-label "
                                        "cross-entropy."),
                                      _("alpha * T² * KL + (1 - alpha) * CE")),
                    "teacher not softened": (_("the teacher's probabilities are not softened: "
                                               "divide the teacher's logits by T too."),
                                             _("softmax(teacher_logits / T)")),
                    "reversed KL": (_("the KL divergence is the wrong way round: the targets are "
                                      "the teacher's, KL(p_teacher || p_student)."),
                                    _("F.kl_div(log_softmax(student / T), softmax(teacher / T), "
                                      "reduction='batchmean') -- input = student log-probs, "
                                      "target = teacher probs")),
                    "mean over classes": (_("your KL term is divided by the number of classes too: "
                                            "F.kl_div's reduction='mean' averages over every "
                                            "element, not over the examples."),
                                          _("use reduction='batchmean'")),
                    "hard CE softened": (_("the hard-label cross-entropy should use the raw logits "
                                           "(temperature 1), not logits / T."),
                                         _("F.cross_entropy(student_logits, labels)")),
                }[what]
                fail(_("kd_loss(T={T}, alpha={alpha}) = {got:.5f}, expected {expected:.5f}: "
                       "{why}", T=T, alpha=alpha, got=got, expected=expected, why=message),
                     hint)
        compare(got, expected, f"kd_loss(T={T}, alpha={alpha})", rtol=1e-4, atol=1e-6,
                hint=_("alpha * T**2 * KL(softmax(t/T) || softmax(s/T)) (batch mean) + "
                       "(1 - alpha) * cross_entropy(s, labels)"))
    passed(_("Exercise 3"), _("The gradient from the soft targets keeps its size as T grows "
                              "(thanks to T²)."))
