"""Checks for the exercises of notebook 10 (serving a model).

Typical mistakes get their own message: a validator that accepts a string as the list of texts
(iterating over a string gives its characters), an off-by-one at a limit, a message that does not
say *which* text is wrong; a percentile that forgets to sort, rounds to the nearest rank, uses
``n`` instead of ``n - 1`` or sorts the caller's list in place; a batching policy that measures the
wait from the previous request instead of the batch's first one, or ignores the batch limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import as_number, call, fail, passed

# ----------------------------------------------------------------------------- exercise 1

_MAX_TEXTS, _MAX_CHARS = 3, 20

# (description, body, valid?, index of the bad text or None)
_BODIES: list[tuple[str, Any, bool, int | None]] = [
    ("one short text", {"texts": ["good"]}, True, None),
    (f"exactly max_texts={_MAX_TEXTS} texts", {"texts": ["a", "b", "c"]}, True, None),
    (f"a text of exactly max_chars={_MAX_CHARS} characters", {"texts": ["x" * _MAX_CHARS]}, True, None),
    ("a text with spaces around words", {"texts": ["  fine, really  "]}, True, None),
    ("a list instead of an object", ["good"], False, None),
    ("a string instead of an object", "good", False, None),
    ("null instead of an object", None, False, None),
    ("an object without 'texts'", {"text": ["good"]}, False, None),
    ("'texts' is one string, not a list", {"texts": "fun"}, False, None),
    ("'texts' is null", {"texts": None}, False, None),
    ("an empty list", {"texts": []}, False, None),
    (f"{_MAX_TEXTS + 1} texts (one too many)", {"texts": ["a", "b", "c", "d"]}, False, None),
    ("a number among the texts", {"texts": ["ok", 3]}, False, 1),
    ("null among the texts", {"texts": [None, "ok"]}, False, 0),
    ("an empty text", {"texts": ["ok", ""]}, False, 1),
    ("a text of only whitespace", {"texts": [" \n\t "]}, False, 0),
    (f"a text of {_MAX_CHARS + 1} characters (one too many)", {"texts": ["ok", "x" * (_MAX_CHARS + 1)]},
     False, 1),
    ("an unknown extra field", {"texts": ["good"], "debug": True}, False, None),
]


def _copy(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _copy(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_copy(v) for v in body]
    return body


def exercise_1(validation_problems: Callable) -> None:
    """Validate a parsed JSON body by hand: the list of problems, empty when the body is valid.

    >>> def ref(body, max_texts, max_chars):
    ...     if not isinstance(body, dict) or set(body) != {"texts"}:
    ...         return ['the body must be an object with exactly one field, "texts"']
    ...     texts = body["texts"]
    ...     if not isinstance(texts, list) or not 1 <= len(texts) <= max_texts:
    ...         return [f"texts must be a list of 1 to {max_texts} strings"]
    ...     return [f"texts[{i}] must be a non-blank string of at most {max_chars} characters"
    ...             for i, t in enumerate(texts)
    ...             if not isinstance(t, str) or not t.strip() or len(t) > max_chars]
    >>> exercise_1(ref)
    ✅ Exercise 1: correct. 4 valid and 14 malformed bodies told apart; each bad text named by its index.
    """
    n_valid = sum(valid for _, _, valid, _ in _BODIES)
    for description, body, valid, index in _BODIES:
        given = _copy(body)
        problems = call(validation_problems, given, _MAX_TEXTS, _MAX_CHARS, name="validation_problems",
                        hint="validate the type of each value BEFORE using it (isinstance), so that no "
                             "body can crash your function")
        if given != body:
            fail(f"validation_problems changed the body it was given ({description}).",
                 "a validator only reads its input")
        if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
            fail(f"for {description} you returned {problems!r}; expected a list of strings "
                 "(empty when the body is valid).",
                 "collect messages in a list: problems.append('texts[2] is empty')")
        if valid and problems:
            off_by_one = "exactly" in description
            fail(f"you rejected a valid body -- {description}: {body!r} -- with {problems}.",
                 "a limit is inclusive: max_texts texts and max_chars characters are still allowed"
                 if off_by_one else "surrounding spaces are fine; only a text that is ALL whitespace "
                 "is empty" if "spaces" in description else "")
        if not valid and not problems:
            hint = {
                "'texts' is one string, not a list":
                    "a string is a sequence too: len() and a for loop work on it (over its characters). "
                    "Check isinstance(texts, list) first",
                "a text of only whitespace": "strip the text before testing whether it is empty",
                "an unknown extra field": "compare the set of keys with {'texts'}: a misspelt field "
                                          "(e.g. 'debug') should not pass silently",
            }.get(description, "")
            if "one too many" in description:
                hint = "off by one at the limit: more than max_texts (max_chars) must be rejected"
            fail(f"you accepted a malformed body -- {description}: {body!r}.", hint)
        if index is not None and not any(f"texts[{index}]" in p for p in problems):
            fail(f"for {description} ({body!r}) your messages {problems} do not say which text is "
                 f"wrong; a client sending 50 texts needs to know. Expected 'texts[{index}]' in a "
                 "message.", "enumerate the texts and put the index in the message: f'texts[{i}] ...'")
    passed("Exercise 1", f"{n_valid} valid and {len(_BODIES) - n_valid} malformed bodies told apart; "
                         "each bad text named by its index.")


# ----------------------------------------------------------------------------- exercise 2

_PERCENTILE_FORBIDDEN = ("numpy.percentile", "numpy.quantile", "numpy.nanpercentile",
                         "numpy.nanquantile", "statistics.quantiles", "torch.quantile",
                         "torch.nanquantile")


def _linear(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def exercise_2(percentile: Callable) -> None:
    """The q-th percentile (0 <= q <= 100) with linear interpolation, without numpy's percentile.

    >>> exercise_2(_linear)
    ✅ Exercise 2: correct. p50 = 10.96 ms and p99 = 27.39 ms of the check's latencies, as numpy.percentile computes them.
    """
    rng = np.random.default_rng(10)
    latencies = [round(float(x), 3) for x in rng.lognormal(2.5, 0.6, size=41)]
    cases = [([3.0, 1.0, 2.0], q) for q in (0, 25, 50, 90, 100)]
    cases += [([7.5], 99), ([1.0, 2.0], 37.5), ([10.0, 0.0, 5.0, 5.0], 60)]
    cases += [(latencies, q) for q in (50, 90, 95, 99, 99.9)]
    results = {}
    for values, q in cases:
        given = list(values)
        expected = float(np.percentile(values, q))
        value = call(percentile, given, q, name="percentile", forbidden=_PERCENTILE_FORBIDDEN,
                     hints={IndexError: "q is in percent (0-100): the position in the sorted list is "
                                        "(n - 1) * q / 100, at most n - 1"})
        if given != values:
            fail(f"percentile changed the list it was given: {values} became {given}.",
                 "sort a copy -- sorted(values) -- not the caller's list (values.sort() sorts in "
                 "place: the load test's latencies would come back reordered)")
        got = as_number(value, f"percentile({values}, {q})")
        results[(len(values), q)] = got
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9):
            continue
        s = sorted(values)
        n = len(s)
        where = f"percentile({values}, {q}) = {got:g}; expected {expected:g}."
        if n > 1 and math.isclose(got, _linear_unsorted(values, q), rel_tol=1e-9):
            fail(f"{where} You interpolated in the list as given: sort it first.",
                 "percentiles are defined on the sorted values")
        nearest = {s[min(n - 1, max(0, math.ceil(q / 100 * n) - 1))], s[round((n - 1) * q / 100)],
                   s[min(n - 1, int(q / 100 * n))]}
        if any(math.isclose(got, v, rel_tol=1e-12) for v in nearest):
            fail(f"{where} That is a value of the list (a nearest rank); between two ranks the "
                 "expected answer interpolates linearly.",
                 "pos = (n - 1) * q / 100; lo = floor(pos); answer = s[lo] + (s[lo + 1] - s[lo]) * (pos - lo)")
        pos_n = n * q / 100
        lo = min(int(pos_n), n - 1)
        with_n = s[lo] + (s[min(lo + 1, n - 1)] - s[lo]) * (pos_n - lo)
        if math.isclose(got, with_n, rel_tol=1e-9):
            fail(f"{where} You placed q at n * q / 100; numpy's default (and this exercise) uses "
                 "(n - 1) * q / 100, so that q = 0 is the minimum and q = 100 the maximum.",
                 "positions run from 0 to n - 1")
        fail(where, "sort a copy, then interpolate linearly between the two values around "
                    "position (n - 1) * q / 100")
    passed("Exercise 2", f"p50 = {results[(41, 50)]:.4g} ms and p99 = {results[(41, 99)]:.4g} ms of the "
                         "check's latencies, as numpy.percentile computes them.")


def _linear_unsorted(values: list[float], q: float) -> float:
    pos = (len(values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


# ----------------------------------------------------------------------------- exercise 3


def _plan(arrivals: list[float], max_batch: int, max_wait: float) -> list[list[int]]:
    batches: list[list[int]] = []
    for i, t in enumerate(arrivals):
        if batches and len(batches[-1]) < max_batch and t <= arrivals[batches[-1][0]] + max_wait:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _plan_chained(arrivals: list[float], max_batch: int, max_wait: float) -> list[list[int]]:
    batches: list[list[int]] = []
    for i, t in enumerate(arrivals):
        if batches and len(batches[-1]) < max_batch and t <= arrivals[batches[-1][-1]] + max_wait:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _plan_strict(arrivals: list[float], max_batch: int, max_wait: float) -> list[list[int]]:
    batches: list[list[int]] = []
    for i, t in enumerate(arrivals):
        if batches and len(batches[-1]) < max_batch and t < arrivals[batches[-1][0]] + max_wait:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def exercise_3(plan_batches: Callable) -> None:
    """Group requests (arrival times in ms, sorted) into micro-batches: a batch takes the requests
    that arrive at most ``max_wait_ms`` after its first one, up to ``max_batch`` requests.

    >>> exercise_3(_plan)
    ✅ Exercise 3: correct. E.g. 12 requests, one per ms -> batches of [4, 4, 4] (max_batch 4, max_wait 5 ms).
    """
    rng = np.random.default_rng(3)
    burst = np.round(np.cumsum(rng.exponential(1.25, size=12)), 2).tolist()
    cases = [
        ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 4, 5.0),  # one per ms
        ([0.0, 4.0, 8.0, 12.0, 30.0], 10, 5.0),           # each within 5 ms of the previous one
        ([0.0, 5.0, 10.0, 10.5], 10, 5.0),                # exactly at the deadline: included
        ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, 5.0),    # a burst: full batches
        ([2.0], 8, 5.0),
        ([0.0, 1.0, 2.0], 1, 5.0),                        # max_batch 1: one request at a time
        ([0.0, 1.0, 2.0, 3.0], 8, 0.0),                   # no waiting
        (burst, 4, 3.0),
    ]
    for arrivals, max_batch, max_wait in cases:
        expected = _plan(arrivals, max_batch, max_wait)
        got = call(plan_batches, list(arrivals), max_batch, max_wait, name="plan_batches")
        try:
            got = [[int(i) for i in batch] for batch in got]
        except (TypeError, ValueError):
            fail(f"plan_batches returned {got!r}; expected a list of batches, each a list of request "
                 "indices, e.g. [[0, 1], [2]].")
        if got == expected:
            continue
        where = (f"plan_batches({arrivals}, max_batch={max_batch}, max_wait_ms={max_wait}) = {got}; "
                 f"expected {expected}.")
        if sorted(i for b in got for i in b) != list(range(len(arrivals))):
            fail(f"{where} Every request must be in exactly one batch, in arrival order.")
        if any(len(b) > max_batch for b in got):
            fail(f"{where} A batch has more than max_batch={max_batch} requests.",
                 "close the batch when it is full, even if max_wait has not passed")
        if got == _plan_chained(arrivals, max_batch, max_wait):
            fail(f"{where} You measured the wait from the PREVIOUS request. Then a steady stream "
                 "never closes a batch; the wait is measured from the batch's FIRST request "
                 "(that request's latency is what max_wait bounds).",
                 "compare each arrival with arrivals[batch[0]] + max_wait_ms")
        if got == _plan_strict(arrivals, max_batch, max_wait):
            fail(f"{where} A request arriving exactly max_wait_ms after the first one still joins "
                 "the batch (<=, not <).")
        fail(where, "start a batch with the first request not yet batched; add the next requests "
                    "while len(batch) < max_batch and arrival <= first arrival + max_wait_ms")
    first = _plan(cases[0][0], cases[0][1], cases[0][2])
    passed("Exercise 3", f"E.g. 12 requests, one per ms -> batches of {[len(b) for b in first]} "
                         "(max_batch 4, max_wait 5 ms).")
