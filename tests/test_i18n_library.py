"""The library's messages exist in Chinese (``COURSE_LANG=zh``) and stay English by default.

1. every ``_("...")`` of ``course_lib`` has a non-empty Chinese translation in the merged
   catalogue ``course_lib/locale/zh/*.po``, with the same ``{placeholders}`` as the English;
2. the checks, the environment check and the data layer pass no bare English literal (or
   f-string) as a message to ``fail()``, ``passed()``, ``CheckFailed()``, a ``hint=`` or a
   ``raise SomeError(...)``: a message is ``_("...")`` or built from one;
3. a wrong answer gets a Chinese verdict with "提示" under ``COURSE_LANG=zh`` and the English one
   without it;
4. ``COURSE_LANG`` is validated (``cn`` is an error, ``zh_CN.UTF-8`` is Chinese).
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polib
import pytest
import torch
from test_checks_cnn import receptive_field_reference

from course_lib import i18n
from course_lib.config import LANG_ENV

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "course_lib"
ZH_DIR = LIB / "locale" / "zh"

#: Files whose student-facing messages must all go through ``_()`` (part 2).
MESSAGE_FILES = sorted([*LIB.glob("checks/*.py"), LIB / "envcheck.py", *LIB.glob("data/*.py")])

#: Calls whose message arguments a student reads.
MESSAGE_CALLS = {"fail", "passed", "CheckFailed"}

#: ``raise`` sites that may keep an English literal: errors that only a programmer of the course
#: can cause (a wrong internal argument), never a student. Key: (file relative to the repository,
#: enclosing function). Keep this list short and say why for each entry.
PROGRAMMER_ERRORS: dict[tuple[str, str], str] = {
    # forbid()'s dotted names are written by the check modules, not by students.
    ("course_lib/checks/__init__.py", "_resolve"): "a check module named an operation badly",
}

CJK = re.compile(r"[\u4e00-\u9fff]")


# ------------------------------------------------------------------------------------ helpers

def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_underscore_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"


def _underscore_calls() -> Iterator[tuple[str, int, ast.Call]]:
    for path in sorted(LIB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if _is_underscore_call(node):
                yield _rel(path), node.lineno, node


def _fields(text: str) -> list[tuple[str, str, str]] | list[str]:
    """The ``{placeholders}`` of ``text``: (name, conversion, format spec) as str.format sees them;
    for a text that str.format cannot parse (literal braces, no fields), the brace groups."""
    try:
        return sorted((name, conv or "", spec or "")
                      for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None)
    except ValueError:
        return sorted(re.findall(r"\{[^{}]*\}?|\}", text))


def _translation(cat: object, msgid: str) -> str | None:
    """The msgstr of ``msgid`` in the merged catalogue (a chain of GNUTranslations), or None."""
    while cat is not None:
        found = getattr(cat, "_catalog", {}).get(msgid)
        if found is not None:
            return found
        cat = getattr(cat, "_fallback", None)
    return None


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _bare_literals(expr: ast.AST) -> Iterator[ast.AST]:
    """String literals and f-strings with words in ``expr`` that are not inside a ``_()`` call.

    Separators such as ``", ".join(...)`` or ``"\\n"`` and dict keys in subscripts are fine."""
    if _is_underscore_call(expr):
        return
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str) and _has_words(expr.value):
            yield expr
        return
    if isinstance(expr, ast.JoinedStr):
        if any(isinstance(v, ast.Constant) and _has_words(str(v.value)) for v in expr.values):
            yield expr
            return
        for v in expr.values:
            if isinstance(v, ast.FormattedValue):
                yield from _bare_literals(v.value)
        return
    if isinstance(expr, ast.Attribute):  # ", ".join -- a method of a separator
        if not isinstance(expr.value, ast.Constant):
            yield from _bare_literals(expr.value)
        return
    if isinstance(expr, ast.Subscript):  # d["key"]: the key is no message
        yield from _bare_literals(expr.value)
        return
    for child in ast.iter_child_nodes(expr):
        yield from _bare_literals(child)


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _message_args(call: ast.Call) -> list[ast.AST]:
    """The arguments of ``call`` a student reads as text."""
    name = _call_name(call)
    if name in MESSAGE_CALLS:
        return [*call.args, *(k.value for k in call.keywords if k.arg in ("what", "hint", "name",
                                                                          "detail", None))]
    # any call's hint= / hints={...} (compare(..., hint=...), call(..., hints={KeyError: ...}))
    # and the positional hints of the helpers as_number(value, name, hint) and
    # compare(answer, expected, name, rtol, atol, hint)
    args: list[ast.AST] = []
    position = {"as_number": 2, "compare": 5}.get(name)
    if position is not None and len(call.args) > position:
        args.append(call.args[position])
    for k in call.keywords:
        if k.arg == "hint":
            args.append(k.value)
        elif k.arg == "hints" and isinstance(k.value, ast.Dict):
            args.extend(k.value.values)
    return args


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node -> the name of the innermost function around it ("" at module level)."""
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, fn: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            owner[child] = inner
            visit(child, inner)

    visit(tree, "")
    return owner


def _bare_messages(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    owner = _functions(tree)
    rel = _rel(path)
    seen: set[int] = set()
    for node in ast.walk(tree):
        exprs: list[ast.AST] = []
        what = ""
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            if (rel, owner.get(node, "")) in PROGRAMMER_ERRORS:
                continue
            what = f"raise {_call_name(node.exc)}(...)"
            exprs = [*node.exc.args, *(k.value for k in node.exc.keywords)]
        elif isinstance(node, ast.Call) and not _is_underscore_call(node):
            exprs = _message_args(node)
            what = f"{_call_name(node)}(...)"
        for expr in exprs:
            for lit in _bare_literals(expr):
                if id(lit) in seen:  # raise CheckFailed(...) is both a raise and a call
                    continue
                seen.add(id(lit))
                text = ast.unparse(lit)
                yield f"{rel}:{lit.lineno}: {what}: {text[:70]}{'...' if len(text) > 70 else ''}"


# ------------------------------------------------------------------------ 1. the catalogue

def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    cat = i18n.catalogue("zh")
    problems = []
    for where, line, node in _underscore_calls():
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value):
            problems.append(f"{where}:{line}: _() needs ONE non-empty string literal first, got "
                            f"{ast.unparse(first) if first else 'nothing'}")
            continue
        if any(k.arg == "message" for k in node.keywords):
            problems.append(f"{where}:{line}: a field may not be called 'message' (the parameter of "
                            "_() itself); rename it, e.g. {mistake}")
        msgid = first.value
        msgstr = _translation(cat, msgid)
        if not msgstr:
            problems.append(f"{where}:{line}: no Chinese for {msgid!r}")
        elif _fields(msgstr) != _fields(msgid):
            problems.append(f"{where}:{line}: placeholders differ: {msgid!r} has {_fields(msgid)}, "
                            f"the Chinese {msgstr!r} has {_fields(msgstr)}")
        else:
            given = {k.arg for k in node.keywords}
            wanted = {f[0] for f in _fields(msgid) if isinstance(f, tuple)}
            if None not in given and given and wanted - given:
                problems.append(f"{where}:{line}: {msgid!r} needs the fields {sorted(wanted - given)}")
    assert not problems, f"{len(problems)} message(s):\n" + "\n".join(problems)


def test_the_po_files_parse_and_keep_the_placeholders():
    files = sorted(ZH_DIR.glob("*.po"))
    assert files, f"no catalogue in {ZH_DIR}"
    problems = []
    for po_path in files:
        po = polib.pofile(str(po_path))
        for entry in po:
            if entry.msgstr and _fields(entry.msgstr) != _fields(entry.msgid):
                problems.append(f"{po_path.name}:{entry.linenum}: {entry.msgid!r}: placeholders "
                                f"{_fields(entry.msgid)} vs {_fields(entry.msgstr)}")
    assert not problems, "\n".join(problems)


def _local_underscores(fn: ast.AST) -> Iterator[int]:
    """Lines where ``fn`` itself (not a nested function, lambda or comprehension) binds ``_``."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
            yield node.lineno
        stack.extend(ast.iter_child_nodes(node))


def test_no_function_hides_the_translation_function():
    """``for _ in ...`` or ``q, _ = ...`` in a function that calls ``_()`` makes ``_`` a local
    variable there: the call fails with UnboundLocalError or calls the wrong thing."""
    problems = []
    for path in sorted(LIB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls = any(_is_underscore_call(n) for n in ast.walk(fn))
                for line in _local_underscores(fn) if calls else ():
                    problems.append(f"{_rel(path)}:{line}: {fn.name}() binds _ and calls _(); "
                                    "name the throwaway variable _unused")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ 2. no bare English text

def test_messages_go_through_the_translation_function():
    problems = [p for path in MESSAGE_FILES for p in _bare_messages(path)]
    assert not problems, (f"{len(problems)} message(s) a student reads are bare English; wrap them "
                          "in _() (from course_lib.i18n import _):\n" + "\n".join(problems))


def test_the_bare_message_finder_finds_what_it_should():
    source = '''
def f(x):
    fail(f"{x} is wrong", "a hint")
    fail(_("{x} is wrong", x=x), _("a hint"))
    fail(_("a") + "\\n" + _("b"), hint or _("c"))
    compare(a, b, "W1", hint="bare hint")
    raise ValueError(f"bad {x}")
    raise KeyError(_("missing {x}", x=x))
    passed(", ".join(names))
'''
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        exprs = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            exprs = node.exc.args
        elif isinstance(node, ast.Call) and not _is_underscore_call(node):
            exprs = _message_args(node)
        found += [lit.lineno for e in exprs for lit in _bare_literals(e)]
    assert sorted(found) == [3, 3, 6, 7]


# ---------------------------------------------------------- 3. a wrong answer in both languages

def _wrong_answers():
    from course_lib.checks import cnn, embeddings, gd, mlp

    return {
        "gd": lambda: gd.exercise_1(lambda A: 1 / np.linalg.eigvalsh(A).max()),
        "mlp": lambda: mlp.exercise_3(lambda sizes: sum(a * b for a, b in zip(sizes, sizes[1:]))),
        "cnn": lambda: cnn.exercise_1(lambda layers: sum(k for k, _ in layers)),
        "embeddings": lambda: embeddings.exercise_3(lambda word, n_min=3, n_max=6: {word}),
        "checks": lambda: __import__("course_lib.checks", fromlist=["compare"]).compare(
            torch.tensor([1.0, 2.0]), np.array([-1.0, -2.0])),
    }


@pytest.mark.parametrize("module", ["gd", "mlp", "cnn", "embeddings", "checks"])
def test_a_wrong_answer_is_told_in_chinese_when_asked(module, monkeypatch):
    from course_lib.checks import CheckFailed

    wrong = _wrong_answers()[module]
    monkeypatch.delenv(LANG_ENV, raising=False)
    with pytest.raises(CheckFailed) as english:
        wrong()
    assert "Hint:" in str(english.value) and not CJK.search(str(english.value)), str(english.value)

    monkeypatch.setenv(LANG_ENV, "zh")
    with pytest.raises(CheckFailed) as chinese:
        wrong()
    text = str(chinese.value)
    assert CJK.search(text) and "提示" in text and "Hint:" not in text, text


def test_the_default_answer_name_is_translated(monkeypatch):
    from course_lib.checks import CheckFailed, as_number

    monkeypatch.setenv(LANG_ENV, "zh")
    with pytest.raises(CheckFailed, match="你的答案"):
        as_number([1.0, 2.0])
    monkeypatch.setenv(LANG_ENV, "en")
    with pytest.raises(CheckFailed, match="^your answer should be one number"):
        as_number([1.0, 2.0])


def test_success_lines_in_chinese(monkeypatch, capsys):
    from course_lib.checks import cnn

    monkeypatch.setenv(LANG_ENV, "zh")
    cnn.exercise_1(receptive_field_reference)
    out = capsys.readouterr().out
    assert out.startswith("✅ ") and "正确" in out, out


# ------------------------------------------------------------------------- 4. COURSE_LANG

def test_language_rejects_what_is_not_a_language(monkeypatch):
    monkeypatch.setenv(LANG_ENV, "cn")
    with pytest.raises(ValueError, match=rf"{LANG_ENV}='cn' is not a language.*{LANG_ENV}=zh"):
        i18n.language()


@pytest.mark.parametrize("value, lang", [("zh_CN.UTF-8", "zh"), ("zh-CN", "zh"), ("ZH", "zh"),
                                          ("en_US.UTF-8", "en"), ("", "en")])
def test_language_accepts_locale_spellings(monkeypatch, value, lang):
    monkeypatch.setenv(LANG_ENV, value)
    assert i18n.language() == lang


def test_language_default_is_english(monkeypatch):
    monkeypatch.delenv(LANG_ENV, raising=False)
    assert i18n.language() == "en"
    assert i18n._("your answer") == "your answer"
