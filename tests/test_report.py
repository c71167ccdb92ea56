import json

import pytest

from course_lib import config, report


def test_record_prints_without_report_file(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(config.REPORT_ENV, raising=False)
    assert report.record("02_mlp", test_acc=0.98) == {"test_acc": 0.98}
    assert "02_mlp: test_acc=0.98" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_record_merges_into_json(monkeypatch, tmp_path):
    path = tmp_path / "out" / "report.json"
    monkeypatch.setenv(config.REPORT_ENV, str(path))
    report.record("02_mlp", test_acc=0.98)
    report.record("02_mlp", val_acc=0.97)
    report.record("03_cnn", test_acc=0.993)
    data = json.loads(path.read_text())
    assert data == {"02_mlp": {"test_acc": 0.98, "val_acc": 0.97}, "03_cnn": {"test_acc": 0.993}}
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]


def test_record_rejects_bad_values():
    with pytest.raises(ValueError, match="at least one metric"):
        report.record("x")
    with pytest.raises(ValueError, match="nan"):
        report.record("x", acc=float("nan"))
    with pytest.raises(TypeError, match="must be a number"):
        report.record("x", acc="high")
