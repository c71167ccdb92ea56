"""Student copies contain no solution code, and running one fails only at the exercise checks."""

import ast
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tests.student_run import make_student  # scripts/make_student_copies.py, loaded once

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS
                  if any("solution" in c.metadata.get("tags", [])
                         for c in nbformat.read(p, as_version=4).cells)]


def _solution_pairs(path):
    nb = nbformat.read(path, as_version=4)
    student = make_student.student_copy(nb)
    return nb, student, [(o, s) for o, s in zip(nb.cells, student.cells)
                         if "solution" in o.metadata.get("tags", [])]


def _only_placeholders(tree: ast.Module) -> list[str]:
    """Statements in a student cell that could carry solution code."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if not (len(body) == 1 and isinstance(body[0], ast.Raise)
                    and "NotImplementedError" in ast.unparse(body[0])):
                bad.append(f"function {node.name} keeps code")
        elif isinstance(node, ast.Assign) and not (isinstance(node.value, ast.Constant)
                                                   and node.value.value is None):
            bad.append(f"assignment {ast.unparse(node)} keeps a value")
    top = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)
    bad += [f"statement {ast.unparse(n)[:40]}" for n in tree.body if not isinstance(n, top)]
    return bad


def test_every_notebook_after_00_has_three_exercises():
    for path in NOTEBOOKS:
        if path.name.startswith("00_"):
            continue
        assert path in WITH_EXERCISES, f"{path.name} has no cells tagged 'solution'"
        assert len(_solution_pairs(path)[2]) >= 3, f"{path.name} needs at least 3 exercises"


def test_placeholder_keeps_signatures_and_drops_code():
    source = ('import numpy as np\n\ndef f(x, lr=0.1) -> float:\n    """Doc."""\n    return x * lr\n\n'
              'answer = f(3)\nprint(answer)\n')
    student = make_student.placeholder(source)
    assert "def f(x, lr=0.1) -> float:" in student and '"""Doc."""' in student
    assert "return x * lr" not in student and "print" not in student
    assert "answer = None" in student and "import numpy as np" in student
    assert _only_placeholders(ast.parse(student)) == []
    assert _only_placeholders(ast.parse(source))  # the check itself can fail


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_student_copy_has_no_solution_code(path):
    nb, student, pairs = _solution_pairs(path)
    for original, copy in pairs:
        if copy.cell_type != "code":
            continue
        assert copy.outputs == [] and copy.execution_count is None
        problems = _only_placeholders(ast.parse(copy.source))
        assert not problems, f"{path.name}: {problems}"
    kept = [c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    assert kept == [c.source for c in student.cells if "solution" not in c.metadata.get("tags", [])]


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at top level, names it reads anywhere)."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, read


def test_exercises_come_last_each_with_its_check():
    """What tests/student_run.py relies on to run a student copy inside the notebook's nbval run.

    From the first solution cell to the last check, every code cell is a solution or a check, each
    solution followed by a check. The cells after the last check (recording the results) run only
    in the notebook's pass, so they must not read anything a solution cell defines: in a student's
    copy they would fail.
    """
    for path in WITH_EXERCISES:
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        first = next(i for i, c in enumerate(code) if "solution" in c.metadata.get("tags", []))
        last = max(i for i, c in enumerate(code) if "checks." in c.source)
        for i, cell in enumerate(code[first:last + 1], first):
            is_solution = "solution" in cell.metadata.get("tags", [])
            assert is_solution or "checks." in cell.source, (
                f"{path.name}: code cell {i} sits between the exercises but is neither a "
                f"solution nor a check; put it before the exercises")
            if is_solution:
                assert "checks." in code[i + 1].source, (
                    f"{path.name}: solution cell {i} is not followed by a check cell")
        from_solutions = set().union(*(_names(c.source)[0] for c in code[first:last + 1]
                                       if "solution" in c.metadata.get("tags", [])))
        for i, cell in enumerate(code[last + 1:], last + 1):
            used = _names(cell.source)[1] & from_solutions
            assert not used, f"{path.name}: code cell {i}, after the exercises, reads {sorted(used)} from a solution"


def test_the_rule_on_cells_after_the_exercises_can_fail():
    bound, _ = _names("def f(x):\n    return x\nanswer = f(2)\n")
    _, read = _names("%matplotlib inline\nreport.record('x', a=answer)\nprint(f(3))\n")
    assert bound & read == {"answer", "f"}


TOY_CHECKS = """class checks:
    class CheckFailed(Exception):
        pass

    @staticmethod
    def square(f):
        if f(3) != 9:
            raise checks.CheckFailed("square(3) should be 9")

    @staticmethod
    def lenient(f):
        print("no test at all")

    @staticmethod
    def answer(a):
        if a + 0 != 42:
            raise checks.CheckFailed("not 42")
"""
TOY_SOLUTION = 'def square(x):\n    """x squared."""\n    return x * x\n'


def _toy(path: Path, *cells: tuple[str, bool]) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(TOY_CHECKS)] + [
        nbformat.v4.new_code_cell(src, metadata={"tags": ["solution"]} if solution else {})
        for src, solution in cells]
    nbformat.write(nb, path)


def test_nbval_runs_the_student_copy_and_fails_on_each_broken_rule(pytester, monkeypatch):
    """The plugin passes a good notebook and names the student cell that breaks each rule."""
    # good: the last cell (after the exercises) runs once, in the notebook's pass: run twice it would fail
    _toy(pytester.path / "good.ipynb", (TOY_SOLUTION, True), ("checks.square(square)", False), ("del square", False))
    _toy(pytester.path / "outside.ipynb", (TOY_SOLUTION, True), ("print(square(4))", False),
         ("checks.square(square)", False))
    _toy(pytester.path / "lenient.ipynb", (TOY_SOLUTION, True), ("checks.lenient(square)", False))
    _toy(pytester.path / "wrong_error.ipynb", ("answer = 42", True), ("checks.answer(answer)", False))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.student_run", "--nbval-lax", "-p", "no:cacheprovider",
                                           "-rf")
    out = result.stdout.str()
    failed = sorted(line.split(" - ")[0].removeprefix("FAILED ") for line in out.splitlines()
                    if line.startswith("FAILED "))
    assert failed == ["lenient.ipynb::Student 2", "outside.ipynb::Student 2",
                      "wrong_error.ipynb::Student 2"], out
    assert "passed with the empty answer" in out and "fails outside the checks" in out
    assert "failed with TypeError" in out
    # every notebook cell passes (4 + 4 + 3 + 3) and so do the other student cells (2 + 2 + 1 + 1)
    result.assert_outcomes(passed=20, failed=3)
