"""Self-checking exercises.

Each notebook has its own module (``course_lib.checks.gd`` for notebook 01, ...). A check either
prints a short "Correct" line or raises :class:`CheckFailed` whose message says *what* is wrong
(shape, sign, off by a factor, wrong axis, ...) and gives a hint.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from course_lib.i18n import _


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says how and gives a hint."""


def fail(what: str, hint: str = "") -> None:
    """Raise :class:`CheckFailed` with a message and an optional hint.

    Both are already in the student's language (``_("...")``); only "Hint:" is added here.

    >>> try: fail("shape (3,) but expected (2,)", "drop the bias row")
    ... except CheckFailed as e: print(e)
    shape (3,) but expected (2,)
    Hint: drop the bias row
    """
    raise CheckFailed(what + ("\n" + _("Hint: {hint}", hint=hint) if hint else ""))


def passed(name: str, detail: str = "") -> None:
    """Print the success line of exercise ``name``.

    >>> passed("Exercise 1")
    ✅ Exercise 1: correct.
    """
    print("✅ " + (_("{name}: correct. {detail}", name=name, detail=detail) if detail else
                   _("{name}: correct.", name=name)))


def as_array(value: Any, name: str | None = None) -> np.ndarray:
    """Convert a number, list, numpy array or torch tensor to a float64 numpy array.

    ``name`` (default: "your answer" in the student's language) names ``value`` in messages.

    >>> as_array([1, 2]).dtype
    dtype('float64')
    """
    name = _("your answer") if name is None else name
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(_("{name} should be numeric, got {type}.", name=name, type=type(value).__name__),
             _("return a number, a numpy array or a torch tensor"))
    return arr


def compare(answer: Any, expected: Any, name: str | None = None, rtol: float = 1e-5,
            atol: float = 1e-8, hint: str = "") -> np.ndarray:
    """Check ``answer`` against ``expected``, diagnosing the usual mistakes.

    Diagnoses: wrong shape, transposed, wrong sign, off by a constant factor, NaN, and
    otherwise reports the largest difference.

    >>> compare([1.0, 2.0], [1.0, 2.0]).shape
    (2,)
    """
    name = _("your answer") if name is None else name
    a = as_array(answer, name)
    e = as_array(expected, _("expected"))
    if a.shape != e.shape:
        if a.ndim == 2 and a.T.shape == e.shape and np.allclose(a.T, e, rtol=rtol, atol=atol):
            fail(_("{name} is transposed: shape {shape}, expected {expected}.", name=name,
                   shape=a.shape, expected=e.shape),
                 hint or _("check which axis is which (rows = examples?)"))
        if a.size == e.size and np.allclose(a.reshape(e.shape), e, rtol=rtol, atol=atol):
            fail(_("{name} has the right numbers but shape {shape}; expected {expected}.", name=name,
                   shape=a.shape, expected=e.shape),
                 hint or _("reshape it, or keep the dimension you reduced away (keepdims)"))
        fail(_("{name} has shape {shape}; expected {expected}.", name=name, shape=a.shape,
               expected=e.shape), hint)
    if not np.all(np.isfinite(a)):
        fail(_("{name} contains NaN or infinity.", name=name),
             hint or _("look for a division by zero, log(0) or a step size that diverges"))
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return a
    if np.allclose(a, -e, rtol=rtol, atol=atol) and np.any(e != 0):
        fail(_("{name} has the wrong sign.", name=name),
             hint or _("check the direction: gradient descent subtracts"))
    nz = np.abs(e) > atol
    if np.any(nz):
        ratio = a[nz] / e[nz]
        r = float(np.median(ratio))
        if np.all(np.isfinite(ratio)) and np.allclose(ratio, r, rtol=1e-3) and abs(r - 1) > 1e-3:
            fail(_("{name} is off by a constant factor: about {r:.4g} times the expected value.",
                   name=name, r=r),
                 hint or _("a missing 1/n (mean vs sum) or a factor 2 in the derivative?"))
    diff = float(np.max(np.abs(a - e)))
    fail(_("{name} differs from the expected value (largest difference {diff:.3g}).", name=name,
           diff=diff), hint)
    return a  # unreachable, keeps type checkers happy


def describe(value: Any) -> str:
    """Say in words what was passed to a student's function (for error messages).

    >>> describe(np.zeros((2, 3))), describe(len), describe(0.5)
    ('an array of shape (2, 3)', 'a function', '0.5')
    """
    if hasattr(value, "shape"):
        return _("an array of shape {shape}", shape=tuple(value.shape))
    return _("a function") if callable(value) else repr(value)


class ForbiddenCall(RuntimeError):
    """Raised inside a student's function when it calls an operation the exercise replaces."""

    def __init__(self, dotted: str) -> None:
        super().__init__(_("{dotted} is switched off during this check", dotted=dotted))
        self.dotted = dotted


def _resolve(dotted: str) -> tuple[Any, str, Any]:
    """``"torch.nn.functional.conv2d"`` -> (the owner object, the attribute name, its value)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot resolve {dotted!r}: write it as module.attribute, e.g. torch.softmax")


@contextlib.contextmanager
def forbid(*dotted: str, namespaces: Sequence[dict[str, Any]] = ()) -> Iterator[None]:
    """Switch operations off for the duration of the block: calling one raises :class:`ForbiddenCall`.

    Each name is a dotted path (``"torch.nn.functional.conv2d"``, ``"torch.Tensor.softmax"``).
    Names in ``namespaces`` (e.g. a student function's ``__globals__``) that are bound to the same
    object -- ``from torch.nn.functional import conv2d`` -- are switched off too. Everything is
    restored afterwards, also when the block raises.

    >>> import math
    >>> with forbid("math.sqrt"):
    ...     try: math.sqrt(4.0)
    ...     except ForbiddenCall as e: print(e)
    math.sqrt is switched off during this check
    >>> math.sqrt(4.0)
    2.0
    """
    undo: list[tuple[Any, str, Any]] = []

    def blocker(name: str) -> Callable[..., Any]:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            raise ForbiddenCall(name)
        return blocked

    try:
        for name in dotted:
            owner, attr, original = _resolve(name)
            undo.append((owner, attr, original))
            setattr(owner, attr, blocker(name))
            for ns in namespaces:
                for key, value in list(ns.items()):
                    if value is original:
                        undo.append((ns, key, value))
                        ns[key] = blocker(name)
        yield
    finally:
        for owner, attr, original in reversed(undo):
            if isinstance(owner, dict):
                owner[attr] = original
            else:
                setattr(owner, attr, original)


def call(fn: Callable[..., Any], *args: Any, name: str, hint: str | None = None,
         hints: Mapping[type[Exception], str] | None = None,
         forbidden: Sequence[str] = ()) -> Any:
    """Call a student's function; a crash or a missing ``return`` becomes a message naming the inputs.

    ``hints`` gives the hint for particular errors (e.g. ``{KeyError: _("use vocab.get(...)")}``),
    ``hint`` the one for any other (default: run it on a small example and print the shapes). An unfinished exercise (``raise NotImplementedError``, the
    student copies' placeholder) is re-raised as it is: its own message says what to do.
    ``forbidden`` names the library operations a "by hand" exercise replaces (dotted paths, see
    :func:`forbid`): they are switched off while ``fn`` runs, and using one fails the check.

    >>> call(lambda x: x + 1, 1, name="add_one")
    2
    >>> import math
    >>> try: call(lambda x: math.sqrt(x), 4.0, name="my_sqrt", forbidden=["math.sqrt"])
    ... except CheckFailed as e: print(e)
    my_sqrt calls math.sqrt, the operation this exercise asks you to write yourself.
    Hint: the check runs your function with math.sqrt switched off; write it from the basic operations instead.
    """
    try:
        with forbid(*forbidden, namespaces=[getattr(fn, "__globals__", {})]):
            result = fn(*args)
    except NotImplementedError:
        raise
    except ForbiddenCall as exc:
        fail(_("{name} calls {dotted}, the operation this exercise asks you to write yourself.",
               name=name, dotted=exc.dotted),
             _("the check runs your function with {dotted} switched off; "
               "write it from the basic operations instead.", dotted=exc.dotted))
    except Exception as exc:  # noqa: BLE001 -- any error in the student's code becomes a hint
        given = ", ".join(describe(a) for a in args)
        specific = [h for kind, h in (hints or {}).items() if isinstance(exc, kind)]
        fail(_("{name} raised {error}: {exc} (called with {given}).", name=name,
               error=type(exc).__name__, exc=exc, given=given),
             specific[0] if specific else hint if hint is not None else
             _("run it on a small example of other shapes than the notebook's data and print the "
               "shapes"))
    if result is None:
        fail(_("{name} returned None.", name=name), _("did you forget the return statement?"))
    return result


def close(answer: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """True when ``answer`` has ``expected``'s shape and values (within the tolerances).

    >>> close([1.0, 2.0], np.array([1.0, 2.0])), close([1.0], [1.0, 1.0])
    (True, False)
    """
    a, e = as_array(answer), as_array(expected)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol))


def as_number(value: Any, name: str | None = None, hint: str = "") -> float:
    """The single number in ``value`` (a number, or an array or tensor of one element).

    >>> as_number([2.5])
    2.5
    """
    name = _("your answer") if name is None else name
    arr = as_array(value, name)
    if arr.size != 1:
        fail(_("{name} should be one number; got an array of shape {shape}.", name=name,
               shape=arr.shape), hint)
    return float(arr.reshape(()))
