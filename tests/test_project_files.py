"""The install files, CI and notebooks agree with each other."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
from packaging.requirements import Requirement

from course_lib.envcheck import expected_torchvision

ROOT = Path(__file__).resolve().parent.parent


def _reqs(name):
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line.split("#")[0].strip()) for line in lines
            if line.split("#")[0].strip() and not line.lstrip().startswith("-")]


def _pins():
    return {r.name.lower(): next(iter(r.specifier)).version for r in _reqs("constraints.txt")}


def test_every_requirement_is_pinned_within_its_range():
    pins = _pins()
    for req in _reqs("requirements.txt"):
        assert req.name.lower() in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[req.name.lower()]), (
            f"constraints.txt pins {req.name}=={pins[req.name.lower()]}, outside {req.specifier}")


def test_torch_and_torchvision_are_a_pair_everywhere():
    pins = _pins()
    assert pins["torchvision"].startswith(expected_torchvision(pins["torch"]) + ".")
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert f"torch=={pins['torch']}+cpu" in binder
    assert f"torchvision=={pins['torchvision']}+cpu" in binder


def test_data_carriers_are_exact_pins():
    for req in _reqs("requirements-data.txt"):
        assert str(req.specifier).startswith("=="), f"{req} should be pinned exactly"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 scripts/course\.py \w+)", readme, flags=re.M)
    assert commands[:2] == ["python3 scripts/course.py lab", "python3 scripts/course.py test"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "python3 scripts/course.py test"


def test_every_notebook_is_in_the_readme_table_and_starts_right():
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{path.name}" in readme, f"{path.name} missing from the README table"
        nb = nbformat.read(path, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert "start(" in "\n".join(code[:3]), f"{path.name}: start() should be in the first cells"


def test_launch_cells_are_current_and_keep_colabs_torch():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "launch_cells.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        colab = nb.cells[2].source
        assert "google.colab" in colab and "--colab" in colab
        assert not re.search(r"pip install[^\n]*torch", colab)


def test_colab_setup_never_installs_torch():
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_script", ROOT / "scripts" / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [Requirement(r).name for r in module.colab_requirements()]
    assert "gensim" in names and "transformers" in names
    assert not {"torch", "torchvision", "numpy"} & set(names)
