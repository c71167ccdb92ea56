"""The Chinese edition (notebooks/zh/) cannot drift from the English notebooks.

Every markdown cell has a current translation in i18n/zh/<notebook>.po; notebooks/zh/ is exactly
what `python scripts/course.py i18n build` writes from them; the Chinese notebooks' code cells,
outputs, tags and metadata are the English ones; translations keep code, formulas, links and
headings, and use the glossary's terms.
"""

import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
i18n = importlib.util.module_from_spec(spec)
sys.modules["i18n_script"] = i18n       # dataclasses look their module up there
spec.loader.exec_module(i18n)
NOTEBOOKS = i18n.english_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_current_translation(path):
    st = i18n.status(path)
    assert st.cells > 0
    assert not st.missing and not st.stale, (
        f"{path.name}: {len(st.missing)} markdown cell(s) without a translation {st.missing[:8]} and "
        f"{len(st.stale)} stale (the English changed since translation) {st.stale[:8]} in "
        f"i18n/zh/{path.stem}.po. List them with: python scripts/course.py i18n todo {path.name[:2]} "
        f"(after python scripts/course.py i18n update)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_translations_keep_code_math_links_headings_and_glossary_terms(path):
    problems = [f"cell {e.msgctxt}: {p}" for e in i18n.entries_by_cell(i18n.load(path)).values()
                if e.msgstr.strip() for p in i18n.lint(e.msgid, e.msgstr)]
    assert not problems, f"{path.name} (i18n/zh/{path.stem}.po):\n" + "\n".join(problems)


def test_chinese_notebooks_are_what_the_build_writes():
    problems = i18n.build(check=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chinese_code_outputs_and_tags_equal_the_english(path):
    zh_path = i18n.OUT / path.name
    assert zh_path.exists(), f"notebooks/zh/{path.name} is missing: run python scripts/course.py i18n build"
    en, zh = nbformat.read(path, as_version=4), nbformat.read(zh_path, as_version=4)
    assert i18n.code_of(zh) == i18n.code_of(en), f"notebooks/zh/{path.name}: code differs from {path.name}"
    language = [c for c in zh.cells if i18n.LANGUAGE_TAG in c.metadata.get("tags", [])]
    assert [c.source for c in language] == [i18n.LANGUAGE_CELL]
    rest = [c for c in zh.cells if c not in language]
    assert [(c.cell_type, c.id, c.metadata) for c in rest] == [(c.cell_type, c.id, c.metadata) for c in en.cells]
    assert zh.metadata == en.metadata


def _scratch_notebook(tmp_path, monkeypatch):
    """A copy of notebook 00 and its catalogue in a scratch course folder."""
    src = NOTEBOOKS[0]
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "i18n" / "zh").mkdir(parents=True)
    shutil.copy(src, tmp_path / "notebooks" / src.name)
    shutil.copy(i18n.catalogue_path(src), tmp_path / "i18n" / "zh" / f"{src.stem}.po")
    monkeypatch.setattr(i18n, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(i18n, "CATALOGUES", tmp_path / "i18n" / "zh")
    monkeypatch.setattr(i18n, "OUT", tmp_path / "notebooks" / "zh")
    return tmp_path / "notebooks" / src.name


def test_a_changed_english_cell_is_stale_and_the_build_says_what_to_do(tmp_path, monkeypatch):
    path = _scratch_notebook(tmp_path, monkeypatch)
    nb = nbformat.read(path, as_version=4)
    cell = i18n.translatable(nb)[1]
    cell.source += "\n\nA new sentence."
    nbformat.write(nb, path)
    assert i18n.status(path).stale == [cell.id]
    with pytest.raises(ValueError, match=rf"{path.name}.*cell {cell.id}: stale.*i18n todo 00"):
        i18n.chinese_notebook(path)
    i18n.update(path)                      # keeps the old translation as fuzzy, still stale
    entry = i18n.entries_by_cell(i18n.load(path))[cell.id]
    assert "fuzzy" in entry.flags and entry.previous_msgid and entry.msgstr
    assert i18n.status(path).stale == [cell.id]


def test_a_new_english_cell_is_missing(tmp_path, monkeypatch):
    path = _scratch_notebook(tmp_path, monkeypatch)
    nb = nbformat.read(path, as_version=4)
    new = nbformat.v4.new_markdown_cell("## A new section")
    nb.cells.append(new)
    nbformat.write(nb, path)
    assert i18n.status(path).missing == [new.id]
    i18n.update(path)
    assert new.id in i18n.entries_by_cell(i18n.load(path))
    assert i18n.status(path).missing == [new.id]


def test_changed_code_in_a_chinese_notebook_is_caught(tmp_path, monkeypatch):
    path = _scratch_notebook(tmp_path, monkeypatch)
    assert i18n.build(check=False) == []
    zh_path = i18n.OUT / path.name
    zh = nbformat.read(zh_path, as_version=4)
    code = next(c for c in zh.cells if c.cell_type == "code" and i18n.LANGUAGE_TAG not in c.metadata.get("tags", []))
    code.source += "\nprint('drift')"
    nbformat.write(zh, zh_path)
    assert i18n.code_of(zh) != i18n.code_of(nbformat.read(path, as_version=4))
    assert any("not what the build writes" in p for p in i18n.build(check=True))


def test_lint_catches_lost_code_math_links_and_glossary_terms():
    english = "## 2. Momentum\nThe `lr` of $\\alpha$ sets the learning rate ([docs](https://x.org))."
    good = "## 2. 动量\n`lr` 即 $\\alpha$，它设定学习率（[文档](https://x.org)）。"
    assert i18n.lint(english, good) == []
    problems = "\n".join(i18n.lint(english, "## 2. 动量\nlr 即 α，它设定步长（[文档](https://y.org)）。"))
    for expected in ("code span", "formula", "link target", "学习率"):
        assert expected in problems


def test_glossary_fixes_the_core_terms():
    terms = {english: chinese for english, _, chinese in i18n.glossary()}
    for english, chinese in {"gradient descent": "梯度下降", "learning rate": "学习率",
                             "backpropagation": "反向传播", "multilayer perceptron": "多层感知机",
                             "convolution": "卷积", "word embedding": "词嵌入",
                             "recurrent neural network": "循环神经网络", "long short-term memory": "长短期记忆",
                             "attention mechanism": "注意力机制", "fine-tuning": "微调",
                             "quantisation": "量化", "knowledge distillation": "蒸馏"}.items():
        assert terms.get(english) == chinese, english


def test_chinese_student_copies_keep_the_language_cell_and_hide_the_same_solutions():
    from tests.student_run import make_student
    path = NOTEBOOKS[1]
    en = make_student.student_copy(nbformat.read(path, as_version=4))
    zh = make_student.student_copy(nbformat.read(i18n.OUT / path.name, as_version=4))
    assert i18n.code_of(zh) == i18n.code_of(en)
    assert any(i18n.LANGUAGE_TAG in c.metadata.get("tags", []) for c in zh.cells)
