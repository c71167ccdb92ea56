"""No exercise is already answered by code the notebook shows before it.

For every notebook that imports a checks module (``from course_lib.checks import X as ...``), every
function defined at the top level of an untagged code cell is run through every check of that
module whose reference solution has a compatible signature (the other arguments of a check that
takes several functions get the reference solutions). A check that passes means the student copy
already contains the answer. Nothing of the notebook runs except its imports and these function
definitions (no data, no training), so the test takes seconds.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import signal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat
import pytest

from course_lib.checks import CheckFailed


ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SECONDS_PER_CALL = 20  # a candidate that runs longer is stopped and counts as not passing


def _python(source: str) -> str:
    """Cell source as plain Python (IPython magics and shell escapes turned into comments)."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _tags(cell: Any) -> set[str]:
    return set(cell.metadata.get("tags", []))


def _parse(cell: Any) -> list[ast.stmt]:
    try:
        return ast.parse(_python(cell.source)).body
    except SyntaxError:
        return []


def _checks_import(cells: list[Any]) -> tuple[str, str] | None:
    """(alias, module name) of ``from course_lib.checks import X as alias``, if the notebook has one."""
    for cell in cells:
        for node in _parse(cell):
            if isinstance(node, ast.ImportFrom) and node.module == "course_lib.checks":
                for alias in node.names:
                    return alias.asname or alias.name, alias.name
    return None


def _exec(nodes: list[ast.stmt], namespace: dict[str, Any], label: str) -> None:
    exec(compile(ast.Module(body=nodes, type_ignores=[]), label, "exec"), namespace)


def _without_notebook_defaults(node: ast.FunctionDef) -> ast.FunctionDef:
    """The same definition with every default that is not a literal replaced by None."""
    def literal(expr: ast.expr | None) -> ast.expr | None:
        if expr is None:
            return None
        try:
            ast.literal_eval(expr)
            return expr
        except ValueError:
            return ast.Constant(None)

    node = ast.parse(ast.unparse(node)).body[0]  # a copy
    node.decorator_list = []
    node.args.defaults = [literal(d) for d in node.args.defaults]
    node.args.kw_defaults = [literal(d) for d in node.args.kw_defaults]
    return ast.fix_missing_locations(node)


def _functions(cells: list[Any], imports: list[ast.stmt], label: str
               ) -> tuple[list[tuple[int, Any]], dict[str, Any]]:
    """Every top-level function of these cells as (cell index, function object), each defined in a
    namespace holding the notebook's imports; and that namespace."""
    namespace: dict[str, Any] = {"__name__": f"notebook_{label}"}
    _exec(imports, namespace, label)
    found = []
    for index, cell in cells:
        for node in _parse(cell):
            if isinstance(node, ast.FunctionDef):
                try:
                    _exec([node], namespace, f"{label} cell {index}")
                except NameError:  # a default value from the notebook's data (epochs=EPOCHS)
                    _exec([_without_notebook_defaults(node)], namespace, f"{label} cell {index}")
                found.append((index, namespace[node.name]))
    return found, namespace


def _positional_range(fn: Any) -> tuple[int, float]:
    """How many positional arguments ``fn`` accepts: (required, maximum)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0, float("inf")
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    most = float("inf") if any(p.kind == p.VAR_POSITIONAL for p in params) else len(positional)
    return required, most


def _compatible(candidate: Any, reference: Any) -> bool:
    lo_c, hi_c = _positional_range(candidate)
    lo_r, hi_r = _positional_range(reference)
    return max(lo_c, lo_r) <= min(hi_c, hi_r)


def _check_calls(cells: list[Any], alias: str) -> list[tuple[str, list[str]]]:
    """(check name, names of the arguments) for every ``alias.exercise_N(a, b)`` in the notebook."""
    calls = []
    for cell in cells:
        for node in ast.walk(ast.Module(body=_parse(cell), type_ignores=[])):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == alias):
                names = [a.id if isinstance(a, ast.Name) else "" for a in node.args]
                calls.append((node.func.attr, names))
    return calls


class _TooSlow(Exception):
    pass


def _passes(check: Any, args: list[Any]) -> bool:
    """True when ``check(*args)`` accepts the answer (prints its success line, raises nothing)."""
    def stop(signum: int, frame: Any) -> None:
        raise _TooSlow

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(SECONDS_PER_CALL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            check(*args)
        return True
    except (CheckFailed, NotImplementedError, _TooSlow):
        return False
    except Exception:  # noqa: BLE001 -- a crash outside the student's function is not a pass either
        return False
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        plt.close("all")  # candidates that draw (show_lr_run(...)) leave figures behind


def _notebooks_with_checks() -> list[Path]:
    return [p for p in NOTEBOOKS if _checks_import(nbformat.read(p, as_version=4).cells)]


def _answered(path: Path) -> list[str]:
    """Every (check, function shown before) pair in which the check accepts the shown function."""
    cells = nbformat.read(path, as_version=4).cells
    alias, module_name = _checks_import(cells)
    checks = importlib.import_module(f"course_lib.checks.{module_name}")
    code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code" and "launch" not in _tags(c)]
    imports = [node for _, c in code for node in _parse(c) if isinstance(node, (ast.Import, ast.ImportFrom))]
    shown, _ = _functions([(i, c) for i, c in code if "solution" not in _tags(c)], imports, path.stem)
    _, solution_ns = _functions([(i, c) for i, c in code if "solution" in _tags(c)], imports,
                                f"{path.stem}-solutions")
    calls = _check_calls([c for _, c in code], alias)
    assert calls, f"{path.name}: no {alias}.exercise_N(...) calls found"
    answered = []
    for check_name, arg_names in calls:
        check = getattr(checks, check_name)
        references = [solution_ns.get(name) for name in arg_names]
        if not all(callable(r) for r in references):
            continue  # a check that takes values, not functions: nothing to try
        for slot, reference in enumerate(references):
            for index, candidate in shown:
                if not _compatible(candidate, reference):
                    continue
                args = [candidate if k == slot else references[k] for k in range(len(references))]
                if _passes(check, args):
                    answered.append(f"{path.name}: {check_name} (argument {arg_names[slot]!r}) is "
                                    f"passed by {candidate.__name__}() from cell {index}")
    return answered


@pytest.mark.parametrize("path", _notebooks_with_checks(), ids=lambda p: p.stem)
def test_no_exercise_is_answered_by_code_shown_earlier(path):
    answered = _answered(path)
    assert not answered, ("exercises already answered by code shown earlier in the notebook -- ask "
                          "for a step beyond it:\n" + "\n".join(answered))


def test_the_test_finds_an_answer_shown_earlier(tmp_path):
    """A notebook whose untagged cell already holds exercise 1's answer (under another name) fails."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib.checks import gd as gd_checks"),
        nbformat.v4.new_code_cell("def best_step(H):\n    e = np.linalg.eigvalsh(H)\n    return 2 / (e[0] + e[-1])\n\n\n"
                                  "def plot_nothing():\n    pass"),
        nbformat.v4.new_code_cell("def fastest_lr(A):\n    raise NotImplementedError", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("gd_checks.exercise_1(fastest_lr)"),
    ]
    path = tmp_path / "99_demo.ipynb"
    nbformat.write(nb, path)
    assert _answered(path) == ["99_demo.ipynb: exercise_1 (argument 'fastest_lr') is passed by best_step() "
                               "from cell 1"]
