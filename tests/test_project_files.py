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


def _benchmark_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_table_has_peak_memory_and_the_course_total():
    bench = _benchmark_module()
    row = {"seconds": 90.0, "metrics": {"acc": 0.99}, "error": "", "machine": "m", "date": "2026-12-01"}
    results = {"notebooks": {"01_a": {**row, "peak_rss_mb": 812}, "02_b": {**row, "seconds": 150.0},
                             "03_c": {**row, "peak_rss_mb": 2300, "date": "2026-11-30"}}}
    text = bench.render(results)
    header = next(line for line in text.splitlines() if line.startswith("| notebook"))
    assert header.split("|")[1:4] == [" notebook ", " wall time ", " peak memory "]
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in text.splitlines()
            if line.startswith("| 0") or line.startswith("| **whole")}
    assert rows["01_a"] == [" 90 s ", " 812 MB "]
    assert rows["02_b"] == [" 2.5 min ", " \u2013 "]                # not measured yet: a dash
    assert rows["03_c"] == [" 90 s ", " 2.2 GB "]
    total = next(v for k, v in rows.items() if k.startswith("**whole course (3 notebooks)"))
    assert total == [" **5.5 min** ", " max 2.2 GB "]               # 90 + 150 + 90 s
    assert "2026-11-30 to 2026-12-01" in text


def test_benchmark_measures_the_peak_memory_of_child_processes():
    bench = _benchmark_module()
    code = "import time; x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(1.5)"
    with bench.PeakMemory(interval=0.05) as memory:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert memory.peak > 300 * 2**20                               # the child's 300 MB were seen


def test_benchmark_only_rerenders_without_running(tmp_path, monkeypatch):
    bench = _benchmark_module()
    results = tmp_path / "results.json"
    results.write_text('{"notebooks": {"01_a": {"seconds": 5, "metrics": {}, "error": "", '
                       '"machine": "m", "date": "d"}}}')
    monkeypatch.setattr(bench, "RESULTS", results)
    monkeypatch.setattr(bench, "OUTPUT", tmp_path / "BENCHMARKS.md")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["benchmark.py", "--render"])
    assert bench.main() == 0
    assert "| 01_a | 5 s | \u2013 |" in (tmp_path / "BENCHMARKS.md").read_text()
