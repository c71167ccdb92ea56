"""Library-wide rules: doctest examples run, every public function has one, imports stay lazy."""

import doctest
import importlib
import inspect
import pkgutil
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
def test_every_public_function_has_types_and_an_example(name):
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
            doc = inspect.getdoc(f) or ""
            hints = f.__annotations__
            if ">>>" not in doc:
                missing.append(f"{qual}: no >>> example")
            if "return" not in hints and f.__name__ != "__init__":
                missing.append(f"{qual}: no return type")
    assert not missing, missing


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
