"""The two errors of the data layer. Both say what was tried and how to fix it."""

from __future__ import annotations


class DataUnavailable(RuntimeError):
    """A dataset or model is neither installed, nor cached, nor downloadable right now.

    The message lists every place that was tried (package, cache, each URL with its failure)
    and ends with a concrete fix (which ``pip install`` to run, or which file to put where).
    """


class CacheNotWritable(DataUnavailable):
    """The data cache directory cannot be created or written (read-only disk, a file in the way)."""


class DataCorrupt(DataUnavailable):
    """A file of an installed data package is damaged (truncated or corrupt: a broken install,
    a disk error). The message names the package and the exact command that reinstalls it."""
