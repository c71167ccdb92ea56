import os
from pathlib import Path

import pytest

from course_lib import config


@pytest.fixture
def clean_env(monkeypatch):
    """No mode-related variables -- as for a person running a notebook. (pytest sets
    PYTEST_CURRENT_TEST again for each phase, so the check that reads it is patched.)"""
    for var in (config.MODE_ENV, "CI", config.DATA_DIR_ENV):
        monkeypatch.delenv(var, raising=False)
    real = config._running_under_tests

    def without_pytest_marker():
        saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
        try:
            return real()
        finally:
            if saved is not None:
                os.environ["PYTEST_CURRENT_TEST"] = saved

    monkeypatch.setattr(config, "_running_under_tests", without_pytest_marker)
    return monkeypatch


def test_default_mode_is_full_for_a_person(clean_env):
    assert config.mode() == "full"
    assert not config.is_quick()
    assert config.pick(quick=1, full=8) == 8


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_quick_automatically_under_ci(clean_env, value):
    clean_env.setenv("CI", value)
    assert config.mode() == "quick"
    assert config.pick(quick=1, full=8) == 1


def test_quick_automatically_under_pytest(monkeypatch):
    monkeypatch.delenv(config.MODE_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert config.mode() == "quick"


def test_ci_false_is_not_ci(clean_env):
    clean_env.setenv("CI", "false")
    assert config.mode() == "full"


def test_explicit_mode_wins_and_ignores_case(clean_env):
    clean_env.setenv("CI", "true")
    clean_env.setenv(config.MODE_ENV, " FULL ")
    assert config.mode() == "full"
    clean_env.setenv(config.MODE_ENV, "quick")
    assert config.is_quick()


def test_typo_in_mode_is_an_error(clean_env):
    clean_env.setenv(config.MODE_ENV, "quik")
    with pytest.raises(ValueError, match=r"'quik' is not a mode.*quick.*full"):
        config.mode()


def test_banner_names_the_mode(clean_env):
    assert "FULL" in config.mode_banner()
    clean_env.setenv(config.MODE_ENV, "quick")
    banner = config.mode_banner()
    assert "QUICK" in banner and "COURSE_MODE=quick" in banner


def test_data_dir_env_override(clean_env, tmp_path):
    clean_env.setenv(config.DATA_DIR_ENV, str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d"


def test_data_dir_default_is_in_the_repo(clean_env):
    root = config.repo_root()
    assert root is not None and (root / "course_lib" / "config.py").is_file()
    assert config.data_dir() == root / "data" / "cache"
    assert isinstance(config.data_dir(), Path)


# ----------------------------------------------------------------------------- one home for settings

import ast  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV_NAME = re.compile(r"\bCOURSE_[A-Z][A-Z_]*[A-Z]\b")
# Files owned by other engineers that still spell a variable out; each entry is a one-line
# change to `config.<NAME>_ENV`. Remove the entry when it is done; new ones are not allowed.
PENDING: dict[str, int] = {}


def python_files():
    files = [ROOT / "conftest.py", *sorted((ROOT / "scripts").glob("*.py")),
             *sorted((ROOT / "course_lib").rglob("*.py")), *sorted((ROOT / "tests").glob("*.py"))]
    return [f for f in files if f.name != "config.py" or f.parent.name != "course_lib"]


def spelled_out(source: str) -> list[str]:
    """Places that use a COURSE_* variable by its literal name instead of the config constant:
    a string constant that is exactly the name, or a keyword argument named like it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and re.fullmatch(ENV_NAME.pattern, node.value):
            found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.keyword) and node.arg and re.fullmatch(ENV_NAME.pattern, node.arg):
            found.append(f"line {node.value.lineno}: {node.arg}=")
    return found


def test_every_environment_variable_is_used_by_its_config_name():
    bad = {}
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        found = spelled_out(path.read_text())
        if found and len(found) > PENDING.get(rel, 0):
            bad[rel] = found
    assert not bad, f"use course_lib.config.<NAME>_ENV instead of the literal name: {bad}"


def test_the_spelled_out_detector():
    code = 'import os\nos.environ.get("COURSE_MODE")\nenv = dict(COURSE_DEVICE="cpu")\n' \
           'msg = f"set COURSE_MODE=quick"  # a message may name it\n'
    assert spelled_out(code) == ["line 2: 'COURSE_MODE'", "line 3: COURSE_DEVICE="]


def test_every_environment_variable_is_defined_and_documented_in_config():
    constants = {v for k, v in vars(config).items() if k.endswith("_ENV") and isinstance(v, str)}
    assert constants == set(config.ENV_VARS)
    assert all(len(doc) > 30 for doc in config.ENV_VARS.values())
    mentioned = set()
    for path in [*python_files(), ROOT / "README.md", ROOT / "binder" / "postBuild"]:
        if path.exists():
            mentioned |= set(ENV_NAME.findall(path.read_text()))
    undocumented = mentioned - set(config.ENV_VARS)
    assert not undocumented, f"COURSE_* variables used but not defined in course_lib/config.py: {undocumented}"
    readme = (ROOT / "README.md").read_text()
    assert [name for name in config.ENV_VARS if name not in readme] == []
