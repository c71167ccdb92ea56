"""Every exercise has a check, and every check is tested against right and wrong answers."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest

import course_lib.checks

ROOT = Path(__file__).resolve().parent.parent
CHECK_MODULES = [m.name for m in pkgutil.iter_modules(course_lib.checks.__path__)]
NOTEBOOKS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if not p.name.startswith("00_")]


@pytest.mark.parametrize("module", CHECK_MODULES)
def test_every_check_function_is_tested(module):
    mod = importlib.import_module(f"course_lib.checks.{module}")
    checks = [name for name, f in vars(mod).items()
              if inspect.isfunction(f) and f.__module__ == mod.__name__ and not name.startswith("_")]
    assert checks, f"course_lib.checks.{module} defines no checks"
    test_file = ROOT / "tests" / f"test_checks_{module}.py"
    assert test_file.exists(), f"{test_file.name} is missing"
    text = test_file.read_text()
    # one accepted reference + at least two rejected wrong answers: three calls of each check,
    # or an accepting call plus a parametrized test of wrong answers
    uses = {name: len(re.findall(rf"\b{name}\b", text)) for name in checks}
    parametrized = "pytest.mark.parametrize" in text
    too_few = {name: n for name, n in uses.items() if n < 3 and not (parametrized and n >= 2)}
    assert not too_few, (f"{test_file.name}: each check should be called with the reference and "
                         f"at least two wrong answers; too few uses: {too_few}")
    assert "CheckFailed" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_is_followed_by_its_check(path):
    cells = nbformat.read(path, as_version=4).cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 3, f"{path.name}: at least 3 exercises (cells tagged 'solution')"
    for i in solutions:
        following = [c.source for c in cells[i + 1:i + 3] if c.cell_type == "code"]
        assert any("checks" in src for src in following), (
            f"{path.name}: the solution cell {i} is not followed by a check cell")
