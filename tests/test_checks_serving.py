"""Every check of notebook 10 accepts the reference answer and rejects typical wrong answers."""

import math

import numpy as np
import pytest
from numpy import percentile as np_percentile

from course_lib.checks import CheckFailed
from course_lib.checks import serving as checks

# ----------------------------------------------------------------------------- exercise 1


def validation_problems(body, max_texts, max_chars):
    if not isinstance(body, dict):
        return ['the body must be a JSON object like {"texts": ["a review"]}']
    problems = [f"unknown field {key!r}" for key in body if key != "texts"]
    texts = body.get("texts")
    if not isinstance(texts, list):
        return problems + ["texts must be a list of strings"]
    if not 1 <= len(texts) <= max_texts:
        problems.append(f"texts has {len(texts)} items; 1 to {max_texts} allowed")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            problems.append(f"texts[{i}] is {type(text).__name__}, not a string")
        elif not text.strip():
            problems.append(f"texts[{i}] is empty or only whitespace")
        elif len(text) > max_chars:
            problems.append(f"texts[{i}] has {len(text)} characters; at most {max_chars}")
    return problems


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(validation_problems)
    assert "correct" in capsys.readouterr().out


def _iterates_strings(body, max_texts, max_chars):  # the classic: a string is iterable too
    if not isinstance(body, dict) or "texts" not in body or body["texts"] is None:
        return ["bad body"]
    texts = body["texts"]
    if not 1 <= len(texts) <= max_texts:
        return ["bad count"]
    return [f"texts[{i}] bad" for i, t in enumerate(texts)
            if not isinstance(t, str) or not t.strip() or len(t) > max_chars]


def _no_index(body, max_texts, max_chars):
    return ["bad text" if p.startswith("texts[") else p for p in validation_problems(body, max_texts, max_chars)]


def _off_by_one(body, max_texts, max_chars):
    return validation_problems(body, max_texts - 1, max_chars)


def _no_strip(body, max_texts, max_chars):
    if isinstance(body, dict) and isinstance(body.get("texts"), list):
        body = {**body, "texts": [t if not isinstance(t, str) or t else None for t in body["texts"]]}
    problems = validation_problems(body, max_texts, max_chars)
    return [p for p in problems if "whitespace" not in p] if body != {"texts": [" \n\t "]} else []


def _crashes(body, max_texts, max_chars):
    return [f"texts[{i}]" for i, t in enumerate(body["texts"]) if not t.strip()]


def _extra_fields_ok(body, max_texts, max_chars):
    return [p for p in validation_problems(body, max_texts, max_chars) if "unknown field" not in p]


@pytest.mark.parametrize("wrong, message", [
    (_iterates_strings, "one string"),
    (_no_index, "do not say which text"),
    (_off_by_one, "limit is inclusive"),
    (_no_strip, "whitespace"),
    (_crashes, "raised"),
    (_extra_fields_ok, "unknown extra field"),
    (lambda body, m, c: "; ".join(validation_problems(body, m, c)), "list of strings"),
    (lambda body, m, c: [], "accepted a malformed body"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


# ----------------------------------------------------------------------------- exercise 2


def percentile(values, q):
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(percentile)
    assert "p99" in capsys.readouterr().out


def _unsorted(values, q):
    pos = (len(values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _nearest_rank(values, q):
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def _times_n(values, q):
    s = sorted(values)
    pos = len(s) * q / 100
    lo = min(int(pos), len(s) - 1)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (pos - lo)


def _in_place(values, q):
    values.sort()
    return percentile(values, q)


def _fraction(values, q):
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    return s[lo] + (s[lo + 1] - s[lo]) * (pos - lo)


@pytest.mark.parametrize("wrong, message", [
    (_unsorted, "sort it first"),
    (_nearest_rank, "nearest rank"),
    (_times_n, r"n \* q / 100"),
    (_in_place, "changed the list"),
    (_fraction, "percent"),
    (lambda values, q: float(np.percentile(values, q)), "numpy.percentile"),
    (lambda values, q: float(np.quantile(values, q / 100)), "numpy.quantile"),
    (lambda values, q: float(np.mean(values)), "percentile"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


def _sneaky(values, q):
    return float(np_percentile(values, q))


def test_ex2_forbids_a_name_imported_from_numpy():
    with pytest.raises(CheckFailed, match="calls numpy.percentile"):
        checks.exercise_2(_sneaky)


# ----------------------------------------------------------------------------- exercise 3


def plan_batches(arrivals_ms, max_batch, max_wait_ms):
    batches = []
    for i, t in enumerate(arrivals_ms):
        if batches and len(batches[-1]) < max_batch and t <= arrivals_ms[batches[-1][0]] + max_wait_ms:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(plan_batches)
    assert "[4, 4, 4]" in capsys.readouterr().out


def _chained(arrivals_ms, max_batch, max_wait_ms):
    batches = []
    for i, t in enumerate(arrivals_ms):
        if batches and len(batches[-1]) < max_batch and t <= arrivals_ms[batches[-1][-1]] + max_wait_ms:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _strict(arrivals_ms, max_batch, max_wait_ms):
    batches = []
    for i, t in enumerate(arrivals_ms):
        if batches and len(batches[-1]) < max_batch and t < arrivals_ms[batches[-1][0]] + max_wait_ms:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _no_limit(arrivals_ms, max_batch, max_wait_ms):
    return plan_batches(arrivals_ms, 10**9, max_wait_ms)


@pytest.mark.parametrize("wrong, message", [
    (_chained, "PREVIOUS request"),
    (_strict, "exactly max_wait_ms"),
    (_no_limit, "more than max_batch"),
    (lambda a, b, w: [[i] for i in range(len(a))], "expected"),
    (lambda a, b, w: [list(range(len(a)))][:1] if len(a) > 1 else [[0]], "max_batch"),
    (lambda a, b, w: len(a), "list of batches"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)
