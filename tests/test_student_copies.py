"""Student copies contain no solution code, and running one fails only at the exercise checks."""

import ast
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS
                  if any("solution" in c.metadata.get("tags", [])
                         for c in nbformat.read(p, as_version=4).cells)]

spec = importlib.util.spec_from_file_location("make_student", ROOT / "scripts" / "make_student_copies.py")
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)


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


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_student_copy_fails_only_at_the_checks(path, monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "quick")
    _, student, pairs = _solution_pairs(path)
    NotebookClient(student, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(i, c, out) for i, c in enumerate(student.cells) if c.cell_type == "code"
              for out in c.get("outputs", []) if out.output_type == "error"]
    assert errors, f"{path.name}: a student copy with empty exercises should fail at the checks"
    for i, cell, out in errors:
        assert "checks." in cell.source, (
            f"{path.name}: cell {i} failed but it is not an exercise check:\n{cell.source[:300]}\n"
            f"{out.ename}: {out.evalue}")
        assert out.ename in ("NotImplementedError", "CheckFailed"), f"{path.name}: {out.ename}: {out.evalue}"
        assert out.evalue.strip(), f"{path.name}: cell {i} failed without a message"
    assert len(errors) >= min(3, len(pairs))
