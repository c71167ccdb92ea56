import os
from pathlib import Path

import pytest

from course_lib import config


@pytest.fixture
def clean_env(monkeypatch):
    """No mode-related variables -- as for a person running a notebook. (pytest sets
    PYTEST_CURRENT_TEST again for each phase, so the check that reads it is patched.)"""
    for var in ("COURSE_MODE", "CI", "COURSE_DATA_DIR"):
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
    monkeypatch.delenv("COURSE_MODE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert config.mode() == "quick"


def test_ci_false_is_not_ci(clean_env):
    clean_env.setenv("CI", "false")
    assert config.mode() == "full"


def test_explicit_mode_wins_and_ignores_case(clean_env):
    clean_env.setenv("CI", "true")
    clean_env.setenv("COURSE_MODE", " FULL ")
    assert config.mode() == "full"
    clean_env.setenv("COURSE_MODE", "quick")
    assert config.is_quick()


def test_typo_in_mode_is_an_error(clean_env):
    clean_env.setenv("COURSE_MODE", "quik")
    with pytest.raises(ValueError, match=r"'quik' is not a mode.*quick.*full"):
        config.mode()


def test_banner_names_the_mode(clean_env):
    assert "FULL" in config.mode_banner()
    clean_env.setenv("COURSE_MODE", "quick")
    banner = config.mode_banner()
    assert "QUICK" in banner and "COURSE_MODE=quick" in banner


def test_data_dir_env_override(clean_env, tmp_path):
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d"


def test_data_dir_default_is_in_the_repo(clean_env):
    root = config.repo_root()
    assert root is not None and (root / "course_lib" / "config.py").is_file()
    assert config.data_dir() == root / "data" / "cache"
    assert isinstance(config.data_dir(), Path)
