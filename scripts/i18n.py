#!/usr/bin/env python3
"""The Chinese edition (中文版): translation catalogues in, Chinese notebooks out.

The English notebooks are the source. Each has a catalogue, ``i18n/zh/<notebook>.po`` (gettext
format), with one entry per markdown cell: ``msgctxt`` is the cell's id, ``msgid`` is the cell's
English text at the time it was translated, ``msgstr`` the Chinese text, and a ``#. en-sha256``
comment the hash of that English text. Translators edit only the catalogues (any .po editor, or a
text editor); the build writes ``notebooks/zh/<notebook>.ipynb`` with the Chinese markdown and
**the English notebook's code cells, outputs, tags and metadata unchanged**, plus two generated
cells: the launch badges pointing at the Chinese notebook, and a first code cell tagged
``language`` that switches course_lib's messages to Chinese.

    python scripts/course.py i18n status            # per notebook: translated / missing / stale
    python scripts/course.py i18n todo 05           # the English of every cell to (re)translate
    python scripts/course.py i18n update            # add new cells to the catalogues, flag changed ones
    python scripts/course.py i18n build             # write notebooks/zh/ from the catalogues
    python scripts/course.py i18n build --check     # exit 1 if notebooks/zh/ is not what build writes
    python scripts/course.py i18n lint              # translations that lost code, math, links or a
                                                    # glossary term (i18n/glossary.tsv)

Why gettext ``.po``: it is plain text that diffs and reviews well, every translation tool reads
it (Poedit, Weblate, Crowdin, Transifex), it keeps the English next to the Chinese, and its
``fuzzy`` flag with the previous English (``#| msgid``) is made for exactly the stale-cell case:
``update`` flags an entry whose English changed and keeps the old translation as a starting point.
The library's own messages use the same format (``course_lib/locale/zh/*.po``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CATALOGUES = ROOT / "i18n" / "zh"
GLOSSARY = ROOT / "i18n" / "glossary.tsv"
OUT = NOTEBOOKS / "zh"
LAUNCH_TAG = "launch"
LANGUAGE_TAG = "language"
LANGUAGE_CELL = ('# 中文版：本课程库（course_lib）的提示信息——练习检查、环境检查和数据错误——使用中文。\n'
                 '# The Chinese edition: course_lib speaks Chinese in this notebook.\n'
                 'from course_lib.i18n import set_language\n'
                 '\n'
                 'set_language("zh")')
TODO_COMMAND = "python scripts/course.py i18n todo"

sys.path.insert(0, str(ROOT / "scripts"))
import launch_cells  # noqa: E402


def english_notebooks() -> list[Path]:
    """The course's notebooks (the English source)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def catalogue_path(notebook: Path) -> Path:
    """``i18n/zh/<stem>.po`` for ``notebooks/<stem>.ipynb``."""
    return CATALOGUES / f"{notebook.stem}.po"


def sha(text: str) -> str:
    """The short hash of an English cell written into its catalogue entry."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def translatable(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The markdown cells that need a translation (not the generated launch badges, not empty)."""
    return [c for c in nb.cells if c.cell_type == "markdown" and c.source.strip()
            and LAUNCH_TAG not in c.metadata.get("tags", [])]


@dataclass
class Status:
    """How far a notebook's translation is."""

    notebook: str
    cells: int
    missing: list[str]     # cell ids without a translation
    stale: list[str]       # cell ids whose English changed since they were translated

    @property
    def current(self) -> bool:
        return not self.missing and not self.stale


def load(notebook: Path) -> polib.POFile:
    """The notebook's catalogue (an empty one if it does not exist yet)."""
    path = catalogue_path(notebook)
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    po = polib.POFile(wrapwidth=0)
    po.metadata = {"Project-Id-Version": f"course {notebook.stem}", "Language": "zh_CN",
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit"}
    return po


def entries_by_cell(po: polib.POFile) -> dict[str, polib.POEntry]:
    """``{cell id: entry}`` of the live (not obsolete) entries."""
    return {e.msgctxt: e for e in po if not e.obsolete}


def problem(cell: nbformat.NotebookNode, entry: polib.POEntry | None) -> str | None:
    """``"missing"``, ``"stale"`` (the English changed since it was translated) or None (current)."""
    if entry is None or not entry.msgstr.strip():
        return "missing"
    if entry.msgid != cell.source or "fuzzy" in entry.flags:
        return "stale"
    return None


def status(notebook: Path) -> Status:
    """Missing and stale translations of one notebook."""
    cells = translatable(nbformat.read(notebook, as_version=4))
    entries = entries_by_cell(load(notebook))
    found = {cell.id: problem(cell, entries.get(cell.id)) for cell in cells}
    return Status(notebook.name, len(cells), [i for i, p in found.items() if p == "missing"],
                  [i for i, p in found.items() if p == "stale"])


def update(notebook: Path) -> polib.POFile:
    """Bring the catalogue in line with the English notebook and write it.

    New cells get an empty entry; a cell whose English changed keeps its old translation,
    flagged ``fuzzy`` with the previous English (``#| msgid``) so the translator sees the change;
    entries of deleted cells become obsolete (``#~``). Entries follow the notebook's cell order.
    """
    nb = nbformat.read(notebook, as_version=4)
    po = load(notebook)
    old = entries_by_cell(po)
    fresh = polib.POFile(wrapwidth=0)
    fresh.metadata = po.metadata
    wanted = {cell.id for cell in translatable(nb)}
    for index, cell in enumerate(nb.cells):
        if cell.id not in wanted:
            continue
        entry = old.pop(cell.id, None)
        if entry is None:
            entry = polib.POEntry(msgctxt=cell.id, msgid=cell.source, msgstr="")
        elif entry.msgid != cell.source:
            if entry.msgstr.strip():
                entry.previous_msgid = entry.msgid
                if "fuzzy" not in entry.flags:
                    entry.flags.append("fuzzy")
            entry.msgid = cell.source
        entry.comment = f"cell {index}, en-sha256 {sha(cell.source)}"
        fresh.append(entry)
    for entry in old.values():
        entry.obsolete = True
        fresh.append(entry)
    path = catalogue_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh.save(str(path))
    return fresh


def chinese_notebook(notebook: Path, strict: bool = True) -> nbformat.NotebookNode:
    """The Chinese edition of ``notebook``: markdown from the catalogue, everything else as is.

    With ``strict`` a missing or stale translation is an error naming the notebook, the cell and
    the command that lists what to translate; without it the English text is kept for that cell.
    """
    nb = nbformat.read(notebook, as_version=4)
    entries = entries_by_cell(load(notebook))
    zh = copy.deepcopy(nb)
    problems = []
    for cell in translatable(zh):
        entry = entries.get(cell.id)
        state = problem(cell, entry)
        if state == "missing":
            problems.append(f"cell {cell.id}: no translation")
        elif state == "stale":
            problems.append(f"cell {cell.id}: stale (the English changed since it was translated)")
        else:
            cell.source = entry.msgstr
    if problems and strict:
        raise ValueError(f"{notebook.name}: {len(problems)} markdown cell(s) not translated: "
                         + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
                         + f". List them with: {TODO_COMMAND} {notebook.name[:2]}")
    badges = launch_cells.launch_cells(f"zh/{notebook.name}")[0]
    for cell in zh.cells:
        if LAUNCH_TAG in cell.metadata.get("tags", []) and cell.cell_type == "markdown":
            cell.source = badges.source
    language = nbformat.v4.new_code_cell(LANGUAGE_CELL)
    language.id = "zh-language"
    language.metadata["tags"] = [LANGUAGE_TAG]
    language.metadata["slideshow"] = {"slide_type": "skip"}
    after = max((i for i, c in enumerate(zh.cells) if LAUNCH_TAG in c.metadata.get("tags", [])),
                default=0)
    zh.cells.insert(after + 1, language)
    return zh


def glossary() -> list[tuple[str, re.Pattern, str]]:
    """``(english, pattern, chinese)`` rows of ``i18n/glossary.tsv``."""
    rows = []
    lines = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    for english, pattern, chinese, _source in csv.reader(lines, delimiter="\t"):
        rows.append((english, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), chinese))
    return rows


_FENCE = re.compile(r"```.*?```", re.DOTALL)
_CODE = re.compile(r"`[^`]+`")          # a code span may continue on the next line
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
_URL = re.compile(r"\]\(([^)\s]+)")
_HTML = re.compile(r"<[^>]+>")
_QUOTED = re.compile(r'"[^"\n]+"|“[^”\n]+”')      # titles of papers and books stay English


def prose(markdown: str) -> str:
    """The words of a markdown cell: without code, math, link targets, HTML tags and quoted titles."""
    for pattern in (_FENCE, _CODE, _MATH, _HTML, _QUOTED):
        markdown = pattern.sub(" ", markdown)
    return _URL.sub("](", markdown)


def lint(english: str, chinese: str) -> list[str]:
    """What a translation lost: code spans, formulas, link targets, headings, glossary terms."""
    problems = []
    for name, pattern in (("code block", _FENCE), ("code span", _CODE), ("formula", _MATH),
                          ("link target", _URL)):
        en_text = english if pattern in (_FENCE, _URL) else _FENCE.sub(" ", english)
        zh_text = chinese if pattern in (_FENCE, _URL) else _FENCE.sub(" ", chinese)
        found = {" ".join(item.split()) for item in pattern.findall(zh_text)}
        for item in dict.fromkeys(" ".join(item.split()) for item in pattern.findall(en_text)):
            if item not in found:
                problems.append(f"{name} {item[:60]!r} is missing or changed")
    heads = [len(m) for m in re.findall(r"^(#+) ", english, re.M)]
    if heads != [len(m) for m in re.findall(r"^(#+) ", chinese, re.M)]:
        problems.append(f"headings differ: English has levels {heads}")
    words, zh_words = prose(english), prose(chinese)
    for term, pattern, zh_term in glossary():
        if pattern.search(words) and zh_term not in zh_words:
            problems.append(f"the English says {term!r}: use the glossary's {zh_term!r}")
    return problems


def code_of(nb: nbformat.NotebookNode) -> list[tuple[str, list, list]]:
    """(source, outputs, tags) of every code cell except the Chinese edition's language cell."""
    return [(c.source, c.get("outputs", []), c.metadata.get("tags", [])) for c in nb.cells
            if c.cell_type == "code" and LANGUAGE_TAG not in c.metadata.get("tags", [])]


def build(check: bool = False, strict: bool = True) -> list[str]:
    """Write (or with ``check`` compare) ``notebooks/zh/``; returns the problems found."""
    problems = []
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for notebook in english_notebooks():
        target = OUT / notebook.name
        wanted.add(target.name)
        try:
            zh = chinese_notebook(notebook, strict=strict)
        except ValueError as e:
            problems.append(str(e))
            continue
        text = nbformat.writes(zh) + "\n"
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                problems.append(f"notebooks/zh/{notebook.name} is not what the build writes from "
                                f"{notebook.name} and its catalogue: run python scripts/course.py i18n build")
        else:
            target.write_text(text, encoding="utf-8")
    for extra in sorted(OUT.glob("*.ipynb")):
        if extra.name not in wanted:
            problems.append(f"notebooks/zh/{extra.name} has no English notebook")
    return problems


def _select(numbers: list[str]) -> list[Path]:
    paths = english_notebooks()
    if not numbers:
        return paths
    chosen = [p for p in paths if any(p.name.startswith(n.zfill(2)[:2]) or p.stem == n for n in numbers)]
    if not chosen:
        raise SystemExit(f"no notebook matches {numbers}; the notebooks are "
                         + ", ".join(p.name for p in paths))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["status", "todo", "update", "build", "lint"])
    parser.add_argument("notebooks", nargs="*", help="number prefixes, e.g. 01 05 (default: all)")
    parser.add_argument("--check", action="store_true", help="build: compare instead of writing")
    parser.add_argument("--allow-missing", action="store_true",
                        help="build: keep the English text of untranslated cells (drafts only)")
    args = parser.parse_args(argv)
    if args.command == "build":
        problems = build(check=args.check, strict=not args.allow_missing)
        for p in problems:
            print(p)
        if not problems:
            print("notebooks/zh/ is " + ("current" if args.check else "written"))
        return 1 if problems else 0
    code = 0
    for notebook in _select(args.notebooks):
        if args.command == "lint":
            for entry in entries_by_cell(load(notebook)).values():
                if entry.msgstr.strip():
                    for problem in lint(entry.msgid, entry.msgstr):
                        print(f"{notebook.name} cell {entry.msgctxt}: {problem}")
                        code = 1
            continue
        if args.command == "update":
            update(notebook)
        st = status(notebook)
        done = st.cells - len(st.missing) - len(st.stale)
        if args.command in ("status", "update"):
            print(f"{st.notebook:40s} {done:3d}/{st.cells} translated, {len(st.missing)} missing, "
                  f"{len(st.stale)} stale")
        else:
            nb = nbformat.read(notebook, as_version=4)
            todo = set(st.missing) | set(st.stale)
            for cell in translatable(nb):
                if cell.id in todo:
                    kind = "missing" if cell.id in st.missing else "stale"
                    print(f"=== {notebook.name} cell {cell.id} ({kind}) ===\n{cell.source}\n")
        code |= not st.current
    return code


if __name__ == "__main__":
    sys.exit(main())
