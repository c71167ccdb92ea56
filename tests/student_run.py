"""pytest plugin: nbval also runs each notebook's student copy, in the same kernel.

A student copy (scripts/make_student_copies.py) differs from its notebook only in the cells tagged
``solution``, and the exercises come last. So the student copy's state when its first exercise
starts is exactly the notebook's state there: this plugin inserts the student copy's cells from
that point to the last check ("Student N" items) just before the notebook's first solution cell, and nbval goes on
with the notebook's own exercises afterwards, in the same kernel. One run proves both that the
notebook passes and that its student copy fails only at the checks, without running the notebook
twice. In the student cells:

- a cell that calls ``checks.`` must fail, with ``NotImplementedError`` or ``CheckFailed`` and a
  message (an empty answer that passes a check is a broken check);
- every other cell must run without an error (nothing outside the checks may need a solution).

Loaded by the repository's conftest.py; `tests/test_student_copies.py` runs it on small notebooks
that break each rule.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_student_copies.py"
_spec = importlib.util.spec_from_file_location("make_student_copies", _SCRIPT)
make_student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_student)

EXPECTED_ERRORS = ("NotImplementedError", "CheckFailed")


class StudentCell(IPyNbCell):
    """A cell of the student copy, run where the notebook's exercises start."""

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}::student copy, cell {self.cell_num}"

    def runtest(self) -> None:
        self.options["check_exception"] = True     # nbval records the error instead of failing
        self.options["check"] = False
        super().runtest()
        errors = [out for out in self.test_outputs if out.get("output_type") == "error"]
        if "checks." not in self.cell.source:
            if errors:
                self.raise_cell_error(
                    "the student copy fails outside the checks: this cell needs a solution",
                    "\n" + "\n".join(errors[0].traceback))
            return
        if not errors:
            self.raise_cell_error("the check passed with the empty answer of the student copy",
                                  "(an empty answer must fail the check)")
        error = errors[0]
        if error.ename not in EXPECTED_ERRORS or not error.evalue.strip():
            self.raise_cell_error(
                f"the check failed with {error.ename}: {error.evalue!r}; expected "
                f"{' or '.join(EXPECTED_ERRORS)} with a message", "\n" + "\n".join(error.traceback))


def student_items(first_solution: IPyNbCell) -> list[StudentCell]:
    """The student copy's code cells from the first solution cell to the last check, as items of its
    notebook (the cells after the last check record results and may clean up: they run once, in
    the notebook's pass; tests/test_student_copies.py proves they use nothing a solution defines)."""
    nbfile: IPyNbFile = first_solution.parent
    student = make_student.student_copy(nbfile.nb)          # the notebook nbval has already read
    code = [c for c in student.cells if c.cell_type == "code"]
    last_check = max(k for k, cell in enumerate(code) if "checks." in cell.source)
    return [StudentCell.from_parent(nbfile, name=f"Student {k}", cell_num=k, cell=cell,
                                    options=defaultdict(bool))
            for k, cell in enumerate(code) if first_solution.cell_num <= k <= last_check]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Insert each notebook's student cells just before its first solution cell."""
    out: list[pytest.Item] = []
    done: set[IPyNbFile] = set()
    for item in items:
        if (isinstance(item, IPyNbCell) and item.parent not in done
                and "solution" in item.cell.metadata.get("tags", [])):
            done.add(item.parent)
            out += student_items(item)
        out.append(item)
    items[:] = out
