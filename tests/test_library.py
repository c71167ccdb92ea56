"""Library-wide rules: doctest examples run and show a real, checked output; every public
function has type hints and a docstring; imports stay lazy."""

import doctest
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import pytest

import course_lib

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_every_public_function_has_types_and_a_docstring(name):
    """A ``>>>`` example is optional (only where it shows a real output, see below); a docstring
    and a return type are not."""
    module = importlib.import_module(name)
    missing = []
    for attr, obj in vars(module).items():
        if attr.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        funcs = [(attr, obj)] if inspect.isfunction(obj) else []
        if inspect.isclass(obj):
            funcs += [(f"{attr}.{m}", f) for m, f in vars(obj).items()
                      if inspect.isfunction(f) and not m.startswith("_")]
        for qual, f in funcs:
            if qual == "main":
                continue
            if not (inspect.getdoc(f) or "").strip():
                missing.append(f"{qual}: no docstring")
            if "return" not in f.__annotations__ and f.__name__ != "__init__":
                missing.append(f"{qual}: no return type")
    assert not missing, missing


# An example "cannot fail" when it checks only a type, a membership in every possible answer or
# nothing at all. Examples that hide the value behind True (`x > 0`, `len(x) > 100`) say less
# than the value itself: show the value.
VACUOUS = [
    (re.compile(r"\bisinstance\("), "checks only a type"),
    (re.compile(r"\bin \((?:[^()]*)\)\s*$"), "accepts every possible answer"),
    (re.compile(r"(?:>|>=|<|<=)\s*[\d_.]+\s*$"), "checks a bound, not the value"),
]
# Examples without any output in modules owned by other engineers; remove an entry once its
# example shows an output (or is gone). New ones are not allowed.
NO_OUTPUT_PENDING = {
    "course_lib.checks", "course_lib.checks.embeddings", "course_lib.checks.gd",
    "course_lib.interactive", "course_lib.vision",
}
# The same for examples that accept a range of values (a free port cannot show one value).
VACUOUS_PENDING = {"course_lib.procs.free_port"}


def examples(name):
    module = importlib.import_module(name)
    for test in doctest.DocTestFinder().find(module):
        if test.examples:
            yield test.name, test.examples


@pytest.mark.parametrize("name", MODULES)
def test_examples_show_a_real_checked_output(name):
    """Issue 10: no commented-out or skipped examples, no example that accepts any value, and
    every docstring with examples shows at least one output."""
    problems = []
    for where, exs in examples(name):
        for ex in exs:
            source, want = ex.source.strip(), ex.want.strip()
            if source.startswith("#"):
                problems.append(f"{where}: commented-out example {source!r}")
            if ex.options.get(doctest.SKIP):
                problems.append(f"{where}: skipped example {source!r} (never checked)")
            if want in ("True", "False") and where not in VACUOUS_PENDING:
                for pattern, why in VACUOUS:
                    if pattern.search(source):
                        problems.append(f"{where}: {source!r} {why}")
        if not any(ex.want.strip() for ex in exs) and name not in NO_OUTPUT_PENDING:
            problems.append(f"{where}: its examples show no output (they only check that "
                            f"nothing raises)")
    assert not problems, problems


def test_the_vacuous_example_rules_catch_the_old_examples():
    bad = ["pick(quick=1, full=8) in (1, 8)", 'isinstance(offline_forced(), bool)',
           'len(carrier_bytes("sentiment")) > 100_000', 'len(run_checks()) > 8']
    good = ['package_file("no-such-distribution-xyz", "x.txt") is None', 'amp_supported("cpu")',
            'Recipe().key() == Recipe().key() != Recipe(seed=1).key()']
    assert all(any(p.search(src) for p, _ in VACUOUS) for src in bad)
    assert not any(p.search(src) for src in good for p, _ in VACUOUS)


def test_import_is_lazy():
    code = ("import sys, course_lib; heavy = [m for m in ('matplotlib', 'transformers', 'gensim', "
            "'pandas', 'torch', 'course_lib.train') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert course_lib.train.fit is not None
    with pytest.raises(AttributeError, match="no attribute"):
        course_lib.nonexistent


def test_every_submodule_is_reachable_as_an_attribute():
    top_level = {m.name for m in pkgutil.iter_modules(course_lib.__path__) if not m.name.startswith("_")}
    assert top_level == course_lib._SUBMODULES
    assert set(course_lib._SUBMODULES) <= set(dir(course_lib))
