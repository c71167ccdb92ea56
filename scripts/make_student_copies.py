#!/usr/bin/env python3
"""Make student copies of the notebooks: solution code replaced by a clear placeholder.

    python scripts/make_student_copies.py [--out build/student] [notebooks ...]

In a cell tagged "solution" (the instructor notebooks keep the reference solutions there):
- a function keeps its signature and docstring; its body becomes
  ``raise NotImplementedError("Exercise: ...")``, so the check below it says the exercise is not
  done yet;
- an assignment keeps its name with the value ``None`` (``answer = None  # your answer``);
- imports stay; every other statement is removed;
- the cell's outputs are cleared.
Everything else in the notebook is kept as it is.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# EXERCISE: your code here (the reference solution is in the instructor's notebook).\n"


def placeholder(source: str) -> str:
    """The student version of one solution cell's code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # cell magics and the like: keep nothing but the header
        return HEADER
    lines: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.append(ast.unparse(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines += _stub_function(node, indent="")
        elif isinstance(node, ast.ClassDef):
            lines.append(f"class {node.name}" + (f"({', '.join(ast.unparse(b) for b in node.bases)})"
                                                  if node.bases else "") + ":")
            body = [_stub_function(f, "    ") for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
            lines += [line for stub in body for line in stub] or ["    pass"]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = " = ".join(ast.unparse(t) for t in targets)
            lines.append(f"{names} = None  # your answer")
    return HEADER + "\n".join(lines) + ("\n" if lines else "")


def _stub_function(node: ast.FunctionDef | ast.AsyncFunctionDef, indent: str) -> list[str]:
    decorators = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    head = f"{indent}{prefix} {node.name}({ast.unparse(node.args)}){returns}:"
    body = []
    doc = ast.get_docstring(node, clean=False)
    if doc is not None:
        quoted = f'"""{doc}"""' if '"""' not in doc and not doc.endswith('"') else repr(doc)
        body.append(f"{indent}    {quoted}")
    body.append(f'{indent}    raise NotImplementedError("Exercise: write the body of {node.name}() '
                f'(see the task above), then run the check.")')
    return [*decorators, head, *body]


def student_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every solution cell replaced by its placeholder."""
    copy = nbformat.from_dict(nb)
    for cell in copy.cells:
        if "solution" in cell.metadata.get("tags", []):
            if cell.cell_type == "code":
                cell.source = placeholder(cell.source)
                cell.outputs = []
                cell.execution_count = None
            else:
                cell.source = "*Your answer here.*"
    copy.metadata["course"] = {"copy": "student"}
    return copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or [*sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                               *sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))]
    for path in paths:
        out = args.out / "zh" if path.parent.name == "zh" else args.out   # the Chinese edition
        out.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(path, as_version=4)
        n = sum("solution" in c.metadata.get("tags", []) for c in nb.cells)
        nbformat.write(student_copy(nb), out / path.name)
        print(f"{path.name}: {n} solution cell(s) replaced -> {out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
