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


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says how and gives a hint."""


def fail(what: str, hint: str = "") -> None:
    """Raise :class:`CheckFailed` with a message and an optional hint.

    >>> try: fail("shape (3,) but expected (2,)", "drop the bias row")
    ... except CheckFailed as e: print(e)
    shape (3,) but expected (2,)
    Hint: drop the bias row
    """
    raise CheckFailed(what + (f"\nHint: {hint}" if hint else ""))


def passed(name: str, detail: str = "") -> None:
    """Print the success line of exercise ``name``.

    >>> passed("Exercise 1")
    ✅ Exercise 1: correct.
    """
    print(f"✅ {name}: correct." + (f" {detail}" if detail else ""))


def as_array(value: Any, name: str = "your answer") -> np.ndarray:
    """Convert a number, list, numpy array or torch tensor to a float64 numpy array.

    >>> as_array([1, 2]).dtype
    dtype('float64')
    """
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name} should be numeric, got {type(value).__name__}.",
             "return a number, a numpy array or a torch tensor")
    return arr


def compare(answer: Any, expected: Any, name: str = "your answer", rtol: float = 1e-5,
            atol: float = 1e-8, hint: str = "") -> np.ndarray:
    """Check ``answer`` against ``expected``, diagnosing the usual mistakes.

    Diagnoses: wrong shape, transposed, wrong sign, off by a constant factor, NaN, and
    otherwise reports the largest difference.

    >>> compare([1.0, 2.0], [1.0, 2.0]).shape
    (2,)
    """
    a = as_array(answer, name)
    e = as_array(expected, "expected")
    if a.shape != e.shape:
        if a.ndim == 2 and a.T.shape == e.shape and np.allclose(a.T, e, rtol=rtol, atol=atol):
            fail(f"{name} is transposed: shape {a.shape}, expected {e.shape}.",
                 hint or "check which axis is which (rows = examples?)")
        if a.size == e.size and np.allclose(a.reshape(e.shape), e, rtol=rtol, atol=atol):
            fail(f"{name} has the right numbers but shape {a.shape}; expected {e.shape}.",
                 hint or "reshape it, or keep the dimension you reduced away (keepdims)")
        fail(f"{name} has shape {a.shape}; expected {e.shape}.", hint)
    if not np.all(np.isfinite(a)):
        fail(f"{name} contains NaN or infinity.",
             hint or "look for a division by zero, log(0) or a step size that diverges")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return a
    if np.allclose(a, -e, rtol=rtol, atol=atol) and np.any(e != 0):
        fail(f"{name} has the wrong sign.", hint or "check the direction: gradient descent subtracts")
    nz = np.abs(e) > atol
    if np.any(nz):
        ratio = a[nz] / e[nz]
        r = float(np.median(ratio))
        if np.all(np.isfinite(ratio)) and np.allclose(ratio, r, rtol=1e-3) and abs(r - 1) > 1e-3:
            fail(f"{name} is off by a constant factor: about {r:.4g} times the expected value.",
                 hint or "a missing 1/n (mean vs sum) or a factor 2 in the derivative?")
    diff = float(np.max(np.abs(a - e)))
    fail(f"{name} differs from the expected value (largest difference {diff:.3g}).", hint)
    return a  # unreachable, keeps type checkers happy


def describe(value: Any) -> str:
    """Say in words what was passed to a student's function (for error messages).

    >>> describe(np.zeros((2, 3))), describe(len), describe(0.5)
    ('an array of shape (2, 3)', 'a function', '0.5')
    """
    if hasattr(value, "shape"):
        return f"an array of shape {tuple(value.shape)}"
    return "a function" if callable(value) else repr(value)


CRASH_HINT = "run it on a small example of other shapes than the notebook's data and print the shapes"


class ForbiddenCall(RuntimeError):
    """Raised inside a student's function when it calls an operation the exercise replaces."""

    def __init__(self, dotted: str) -> None:
        super().__init__(f"{dotted} is switched off during this check")
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


def call(fn: Callable[..., Any], *args: Any, name: str, hint: str = CRASH_HINT,
         hints: Mapping[type[Exception], str] | None = None,
         forbidden: Sequence[str] = ()) -> Any:
    """Call a student's function; a crash or a missing ``return`` becomes a message naming the inputs.

    ``hints`` gives the hint for particular errors (e.g. ``{KeyError: "use vocab.get(...)"}``),
    ``hint`` the one for any other. An unfinished exercise (``raise NotImplementedError``, the
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
        fail(f"{name} calls {exc.dotted}, the operation this exercise asks you to write yourself.",
             f"the check runs your function with {exc.dotted} switched off; "
             "write it from the basic operations instead.")
    except Exception as exc:  # noqa: BLE001 -- any error in the student's code becomes a hint
        given = ", ".join(describe(a) for a in args)
        specific = [h for kind, h in (hints or {}).items() if isinstance(exc, kind)]
        fail(f"{name} raised {type(exc).__name__}: {exc} (called with {given}).",
             specific[0] if specific else hint)
    if result is None:
        fail(f"{name} returned None.", "did you forget the return statement?")
    return result


def close(answer: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """True when ``answer`` has ``expected``'s shape and values (within the tolerances).

    >>> close([1.0, 2.0], np.array([1.0, 2.0])), close([1.0], [1.0, 1.0])
    (True, False)
    """
    a, e = as_array(answer), as_array(expected)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol))


def as_number(value: Any, name: str = "your answer", hint: str = "") -> float:
    """The single number in ``value`` (a number, or an array or tensor of one element).

    >>> as_number([2.5])
    2.5
    """
    arr = as_array(value, name)
    if arr.size != 1:
        fail(f"{name} should be one number; got an array of shape {arr.shape}.", hint)
    return float(arr.reshape(()))
