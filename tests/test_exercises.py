"""Every exercise has a check, and every check is tested against right and wrong answers.

The counting parses the test code (``ast``): a check counts as *accepting* a reference where it
is called outside ``pytest.raises``, and as *rejecting* a wrong answer where it is called inside
``with pytest.raises(CheckFailed ...)``; a call in a parametrized test counts once per case, a
call in a helper function once per call of the helper. Mentions in comments, strings or a
list of functions do not count.
"""

import ast
import importlib
import inspect
import pkgutil
from collections import Counter
from pathlib import Path

import nbformat
import pytest

import course_lib.checks

ROOT = Path(__file__).resolve().parent.parent
CHECK_MODULES = [m.name for m in pkgutil.iter_modules(course_lib.checks.__path__)]
NOTEBOOKS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if not p.name.startswith("00_")]


def _cases(decorator: ast.expr, assignments: dict[str, ast.expr]) -> int:
    """Number of cases of a ``@pytest.mark.parametrize(names, values)`` decorator (1 if it is
    another decorator or the values are not a literal)."""
    if not (isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("mark.parametrize")):
        return 1
    values = decorator.args[1] if len(decorator.args) > 1 else next(
        (k.value for k in decorator.keywords if k.arg == "argvalues"), None)
    if isinstance(values, ast.Name):
        values = assignments.get(values.id)
    return len(values.elts) if isinstance(values, (ast.List, ast.Tuple)) else 1


def _raises_checkfailed(node: ast.With) -> bool:
    for item in node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("raises") and call.args \
                and ast.unparse(call.args[0]).split(".")[-1] == "CheckFailed":
            return True
    return False


def count_check_calls(source: str, checks: list[str]) -> dict[str, Counter]:
    """``{check: Counter(accepted=n, rejected=m)}`` from the test module's code."""
    tree = ast.parse(source)
    assignments = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                   for t in node.targets if isinstance(t, ast.Name)}
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    direct: dict[str, list[tuple[str, str]]] = {}   # function -> [(callee, "accepted"/"rejected")]
    passed: list[tuple[str, str, ast.Call]] = []      # (caller, helper, call) to resolve below

    def visit(node: ast.AST, owner: str, rejected: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue                                    # visited as its own function
            inside = rejected or (isinstance(child, ast.With) and _raises_checkfailed(child))
            if isinstance(child, ast.Call):
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name:
                    direct.setdefault(owner, []).append((name, "rejected" if rejected else "accepted"))
                    if name in functions:
                        passed.append((owner, name, child))
            visit(child, owner, inside)

    for name, fn in functions.items():
        visit(fn, name, False)
    # a helper such as ``rejects(check, answer)`` that calls its parameter ``check``: the check
    # passed to it is called where the helper calls that parameter
    for caller, helper, call in passed:
        params = [a.arg for a in functions[helper].args.args]
        for param, arg in zip(params, call.args):
            ref = arg.attr if isinstance(arg, ast.Attribute) else getattr(arg, "id", None)
            for callee, kind in direct.get(helper, []):
                if callee == param and ref:
                    direct.setdefault(caller, []).append((ref, kind))

    def weight(fn_name: str, seen: frozenset = frozenset()) -> int:
        fn = functions[fn_name]
        if fn_name.startswith("test"):
            w = 1
            for dec in fn.decorator_list:
                w *= _cases(dec, assignments)
            return w
        if fn_name in seen:
            return 0
        return sum(weight(caller, seen | {fn_name}) for caller, calls in direct.items()
                   for callee, _ in calls if callee == fn_name and caller in functions)

    counts = {check: Counter() for check in checks}
    for owner, calls in direct.items():
        for callee, kind in calls:
            if callee in counts:
                counts[callee][kind] += weight(owner)
    return counts


def test_the_call_counter_parses_code_not_mentions():
    source = """
import pytest
WRONG = [1, 2, 3]
def test_ok():
    m.exercise_1(ref)          # exercise_1 exercise_1 exercise_1 in a comment
    things = [m.exercise_2, "exercise_2"]
@pytest.mark.parametrize("wrong", WRONG)
def test_rejects(wrong):
    with pytest.raises(CheckFailed, match="x"):
        m.exercise_1(wrong)
def reject(fn):
    with pytest.raises(checks.CheckFailed):
        m.exercise_2(fn)
def rejects(check, answer):
    with pytest.raises(CheckFailed):
        check(answer)
def test_helper():
    reject(a); reject(b)
    with pytest.raises(ValueError):
        m.exercise_2(c)
    rejects(m.exercise_3, a)
    rejects(m.exercise_3, b)
"""
    counts = count_check_calls(source, ["exercise_1", "exercise_2", "exercise_3"])
    assert counts["exercise_1"] == Counter(accepted=1, rejected=3)
    assert counts["exercise_2"] == Counter(accepted=1, rejected=2)
    assert counts["exercise_3"] == Counter(rejected=2)


@pytest.mark.parametrize("module", CHECK_MODULES)
def test_every_check_function_is_tested(module):
    mod = importlib.import_module(f"course_lib.checks.{module}")
    checks = [name for name, f in vars(mod).items()
              if inspect.isfunction(f) and f.__module__ == mod.__name__ and not name.startswith("_")]
    assert checks, f"course_lib.checks.{module} defines no checks"
    test_file = ROOT / "tests" / f"test_checks_{module}.py"
    assert test_file.exists(), f"{test_file.name} is missing"
    counts = count_check_calls(test_file.read_text(), checks)
    # one accepted reference + at least two rejected wrong answers, each a real call
    too_few = {name: dict(c) for name, c in counts.items() if c["accepted"] < 1 or c["rejected"] < 2}
    assert not too_few, (f"{test_file.name}: each check should be called with the reference and "
                         f"inside pytest.raises(CheckFailed) with at least two wrong answers; "
                         f"calls found: {too_few}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_is_followed_by_its_check(path):
    cells = nbformat.read(path, as_version=4).cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 3, f"{path.name}: at least 3 exercises (cells tagged 'solution')"
    for i in solutions:
        following = [c.source for c in cells[i + 1:i + 3] if c.cell_type == "code"]
        assert any("checks" in src for src in following), (
            f"{path.name}: the solution cell {i} is not followed by a check cell")
