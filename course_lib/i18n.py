"""The language of the library's messages: English by default, Chinese with ``COURSE_LANG=zh``.

Every message a student reads -- the exercise checks' verdicts and hints, the environment check's
table, the data layer's errors -- is written in English in the code and wrapped in :func:`_`::

    fail(_("{name} has the wrong sign.", name=name), _("gradient descent subtracts"))

:func:`_` looks the English text up in the catalogue of the current language with Python's
standard :mod:`gettext` machinery (``gettext.GNUTranslations``) and then fills in the fields.
The catalogues are gettext ``.po`` files in ``course_lib/locale/<lang>/`` (one per area of the
library, merged at load time); they are compiled in memory, so an edited ``.po`` file takes effect
at the next :func:`_` call of a new process -- there is no ``.mo`` file to forget to rebuild.

The language is read from the environment variable ``COURSE_LANG`` at every call, so a notebook
switches with ``set_language("zh")`` (the Chinese notebooks' first cell does this) and worker
processes inherit it.
"""

from __future__ import annotations

import functools
import gettext
import io
import os
from pathlib import Path

from course_lib.config import LANG_ENV

LANGUAGES = ("en", "zh")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def language() -> str:
    """The current language, ``"en"`` (default) or ``"zh"``, from ``COURSE_LANG``.

    A value that is not a language is an error (``COURSE_LANG=cn`` would otherwise silently be
    English). ``zh_CN``, ``zh-CN`` and ``zh_CN.UTF-8`` all mean ``"zh"``.
    """
    raw = os.environ.get(LANG_ENV, "").strip()
    if not raw:
        return "en"
    value = raw.split(".")[0].replace("-", "_").lower()
    value = value.split("_")[0]
    if value not in LANGUAGES:
        raise ValueError(f"{LANG_ENV}={raw!r} is not a language of the course. Use "
                         f"{LANG_ENV}=en (English) or {LANG_ENV}=zh (Chinese, 中文), or unset it.")
    return value


def set_language(lang: str) -> None:
    """Switch the library's messages to ``lang`` (``"en"`` or ``"zh"``) for this process and the
    processes it starts.

    >>> set_language("zh"); print(_("your answer")); set_language("en"); print(_("your answer"))
    你的答案
    your answer
    """
    os.environ[LANG_ENV] = lang
    language()  # validate now, not at the next message


@functools.lru_cache(maxsize=None)
def _catalogue(lang: str, stamp: tuple[tuple[str, float], ...]) -> gettext.NullTranslations:
    """All ``.po`` files of ``lang`` merged into one gettext catalogue (``stamp`` = their mtimes)."""
    import polib  # small, pure Python; reads .po and writes the binary .mo form in memory

    merged: gettext.NullTranslations = gettext.NullTranslations()
    for name, _mtime in stamp:
        po = polib.pofile(str(LOCALE_DIR / lang / name))
        translations = gettext.GNUTranslations(io.BytesIO(po.to_binary()))
        translations.add_fallback(merged)
        merged = translations
    return merged


def catalogue(lang: str) -> gettext.NullTranslations:
    """The gettext catalogue of ``lang`` (English: no translation)."""
    folder = LOCALE_DIR / lang
    if lang == "en" or not folder.is_dir():
        return gettext.NullTranslations()
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.po")))
    return _catalogue(lang, stamp)


def _(message: str, **fields: object) -> str:
    """``message`` in the current language, with ``{fields}`` filled in.

    The English text is the key: write it as a literal (the tests collect every ``_("...")``
    of the library and fail when a language lacks it). ``str.format`` is applied only when
    fields are given, so a message without fields may contain braces.

    >>> _("{n} epochs", n=3)
    '3 epochs'
    """
    text = catalogue(language()).gettext(message)
    return text.format(**fields) if fields else text
