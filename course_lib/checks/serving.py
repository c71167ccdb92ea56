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

from course_lib.i18n import _

from . import as_number, call, fail, passed

# ----------------------------------------------------------------------------- exercise 1

_MAX_TEXTS, _MAX_CHARS = 3, 20


def _bodies() -> list[tuple[str, str, Any, bool, int | None]]:
    """The check's bodies: (kind, description, body, valid?, index of the bad text or None).

    The kind (``limit``, ``spaces``, ``string``, ``whitespace``, ``extra``, ``over`` or ``""``)
    picks the hint; the description is in the current language, so the list is built at each check.
    """
    return [
        ("", _("one short text"), {"texts": ["good"]}, True, None),
        ("limit", _("exactly max_texts={n} texts", n=_MAX_TEXTS), {"texts": ["a", "b", "c"]}, True, None),
        ("limit", _("a text of exactly max_chars={n} characters", n=_MAX_CHARS),
         {"texts": ["x" * _MAX_CHARS]}, True, None),
        ("spaces", _("a text with spaces around words"), {"texts": ["  fine, really  "]}, True, None),
        ("", _("a list instead of an object"), ["good"], False, None),
        ("", _("a string instead of an object"), "good", False, None),
        ("", _("null instead of an object"), None, False, None),
        ("", _("an object without 'texts'"), {"text": ["good"]}, False, None),
        ("string", _("'texts' is one string, not a list"), {"texts": "fun"}, False, None),
        ("", _("'texts' is null"), {"texts": None}, False, None),
        ("", _("an empty list"), {"texts": []}, False, None),
        ("over", _("{n} texts (one too many)", n=_MAX_TEXTS + 1), {"texts": ["a", "b", "c", "d"]}, False, None),
        ("", _("a number among the texts"), {"texts": ["ok", 3]}, False, 1),
        ("", _("null among the texts"), {"texts": [None, "ok"]}, False, 0),
        ("", _("an empty text"), {"texts": ["ok", ""]}, False, 1),
        ("whitespace", _("a text of only whitespace"), {"texts": [" \n\t "]}, False, 0),
        ("over", _("a text of {n} characters (one too many)", n=_MAX_CHARS + 1),
         {"texts": ["ok", "x" * (_MAX_CHARS + 1)]}, False, 1),
        ("extra", _("an unknown extra field"), {"texts": ["good"], "debug": True}, False, None),
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
    bodies = _bodies()
    n_valid = sum(valid for _kind, _description, _body, valid, _index in bodies)
    for kind, description, body, valid, index in bodies:
        given = _copy(body)
        problems = call(validation_problems, given, _MAX_TEXTS, _MAX_CHARS, name="validation_problems",
                        hint=_("validate the type of each value BEFORE using it (isinstance), so that no "
                               "body can crash your function"))
        if given != body:
            fail(_("validation_problems changed the body it was given ({description}).",
                   description=description),
                 _("a validator only reads its input"))
        if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
            fail(_("for {description} you returned {problems!r}; expected a list of strings "
                   "(empty when the body is valid).", description=description, problems=problems),
                 _("collect messages in a list: problems.append('texts[2] is empty')"))
        if valid and problems:
            hint = ""
            if kind == "limit":
                hint = _("a limit is inclusive: max_texts texts and max_chars characters are still allowed")
            elif kind == "spaces":
                hint = _("surrounding spaces are fine; only a text that is ALL whitespace is empty")
            fail(_("you rejected a valid body -- {description}: {body!r} -- with {problems}.",
                   description=description, body=body, problems=problems), hint)
        if not valid and not problems:
            hint = ""
            if kind == "string":
                hint = _("a string is a sequence too: len() and a for loop work on it (over its characters). "
                         "Check isinstance(texts, list) first")
            elif kind == "whitespace":
                hint = _("strip the text before testing whether it is empty")
            elif kind == "extra":
                hint = _("compare the set of keys with {'texts'}: a misspelt field "
                         "(e.g. 'debug') should not pass silently")
            elif kind == "over":
                hint = _("off by one at the limit: more than max_texts (max_chars) must be rejected")
            fail(_("you accepted a malformed body -- {description}: {body!r}.",
                   description=description, body=body), hint)
        if index is not None and not any(f"texts[{index}]" in p for p in problems):
            fail(_("for {description} ({body!r}) your messages {problems} do not say which text is "
                   "wrong; a client sending 50 texts needs to know. Expected 'texts[{index}]' in a "
                   "message.", description=description, body=body, problems=problems, index=index),
                 _("enumerate the texts and put the index in the message: f'texts[{i}] ...'"))
    passed(_("Exercise 1"), _("{valid} valid and {malformed} malformed bodies told apart; "
                              "each bad text named by its index.", valid=n_valid,
                              malformed=len(bodies) - n_valid))


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
                     hints={IndexError: _("q is in percent (0-100): the position in the sorted list is "
                                          "(n - 1) * q / 100, at most n - 1")})
        if given != values:
            fail(_("percentile changed the list it was given: {values} became {given}.",
                   values=values, given=given),
                 _("sort a copy -- sorted(values) -- not the caller's list (values.sort() sorts in "
                   "place: the load test's latencies would come back reordered)"))
        got = as_number(value, f"percentile({values}, {q})")
        results[(len(values), q)] = got
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9):
            continue
        s = sorted(values)
        n = len(s)
        where = _("percentile({values}, {q}) = {got:g}; expected {expected:g}.",
                  values=values, q=q, got=got, expected=expected)
        if n > 1 and math.isclose(got, _linear_unsorted(values, q), rel_tol=1e-9):
            fail(_("{where} You interpolated in the list as given: sort it first.", where=where),
                 _("percentiles are defined on the sorted values"))
        nearest = {s[min(n - 1, max(0, math.ceil(q / 100 * n) - 1))], s[round((n - 1) * q / 100)],
                   s[min(n - 1, int(q / 100 * n))]}
        if any(math.isclose(got, v, rel_tol=1e-12) for v in nearest):
            fail(_("{where} That is a value of the list (a nearest rank); between two ranks the "
                   "expected answer interpolates linearly.", where=where),
                 _("pos = (n - 1) * q / 100; lo = floor(pos); answer = s[lo] + (s[lo + 1] - s[lo]) * (pos - lo)"))
        pos_n = n * q / 100
        lo = min(int(pos_n), n - 1)
        with_n = s[lo] + (s[min(lo + 1, n - 1)] - s[lo]) * (pos_n - lo)
        if math.isclose(got, with_n, rel_tol=1e-9):
            fail(_("{where} You placed q at n * q / 100; numpy's default (and this exercise) uses "
                   "(n - 1) * q / 100, so that q = 0 is the minimum and q = 100 the maximum.", where=where),
                 _("positions run from 0 to n - 1"))
        fail(where, _("sort a copy, then interpolate linearly between the two values around "
                      "position (n - 1) * q / 100"))
    passed(_("Exercise 2"), _("p50 = {p50:.4g} ms and p99 = {p99:.4g} ms of the "
                              "check's latencies, as numpy.percentile computes them.",
                              p50=results[(41, 50)], p99=results[(41, 99)]))


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
            fail(_("plan_batches returned {got!r}; expected a list of batches, each a list of request "
                   "indices, e.g. [[0, 1], [2]].", got=got))
        if got == expected:
            continue
        where = _("plan_batches({arrivals}, max_batch={max_batch}, max_wait_ms={max_wait}) = {got}; "
                  "expected {expected}.", arrivals=arrivals, max_batch=max_batch, max_wait=max_wait,
                  got=got, expected=expected)
        if sorted(i for b in got for i in b) != list(range(len(arrivals))):
            fail(_("{where} Every request must be in exactly one batch, in arrival order.", where=where))
        if any(len(b) > max_batch for b in got):
            fail(_("{where} A batch has more than max_batch={max_batch} requests.",
                   where=where, max_batch=max_batch),
                 _("close the batch when it is full, even if max_wait has not passed"))
        if got == _plan_chained(arrivals, max_batch, max_wait):
            fail(_("{where} You measured the wait from the PREVIOUS request. Then a steady stream "
                   "never closes a batch; the wait is measured from the batch's FIRST request "
                   "(that request's latency is what max_wait bounds).", where=where),
                 _("compare each arrival with arrivals[batch[0]] + max_wait_ms"))
        if got == _plan_strict(arrivals, max_batch, max_wait):
            fail(_("{where} A request arriving exactly max_wait_ms after the first one still joins "
                   "the batch (<=, not <).", where=where))
        fail(where, _("start a batch with the first request not yet batched; add the next requests "
                      "while len(batch) < max_batch and arrival <= first arrival + max_wait_ms"))
    first = _plan(cases[0][0], cases[0][1], cases[0][2])
    passed(_("Exercise 3"), _("E.g. 12 requests, one per ms -> batches of {sizes} "
                              "(max_batch 4, max_wait 5 ms).", sizes=[len(b) for b in first]))
