"""Start groups of worker processes from a notebook or a test, and always reap them.

Distributed training starts several processes (our own launcher, ``torchrun``, one per "node").
If one of them crashes, the others wait forever in their next collective operation; if the user
interrupts the cell, nobody would stop them. :func:`run_group` handles that plumbing:

* every command starts in its **own session** (process group), so its children -- e.g. the workers
  that ``torchrun`` starts -- can be stopped with it;
* their output is shown live, line by line, prefixed with a label (``[rank 1] ...``);
* when one command fails, the others are stopped (SIGTERM, then SIGKILL) and
  :class:`GroupFailed` says which one failed, with the end of its output;
* after ``timeout`` seconds everything is stopped and :class:`GroupFailed` says so;
* whatever happens (success, failure, timeout, an exception, Ctrl-C / "interrupt kernel"), every
  process group that was started is killed before :func:`run_group` returns or raises.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Finished", "GroupFailed", "free_port", "run_group"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now (the OS picks it; bind to it soon).

    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Finished:
    """One command of a group after it ended: its label, exit code and output lines."""

    label: str
    returncode: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """The whole output (stdout and stderr interleaved) as one string.

        >>> Finished("rank 0", 0, ["a", "b"]).output
        'a\\nb'
        """
        return "\n".join(self.lines)


class GroupFailed(RuntimeError):
    """A command of the group failed or the group ran past its timeout (all were stopped)."""

    def __init__(self, message: str, finished: list[Finished]) -> None:
        super().__init__(message)
        self.finished = finished


def _pump(stream: object, label: str, out: queue.Queue) -> None:
    for raw in iter(stream.readline, ""):  # type: ignore[attr-defined]
        out.put((label, raw.rstrip("\n")))
    out.put((label, None))


def _stop(procs: Sequence[subprocess.Popen], grace: float) -> None:
    """SIGTERM every process group, wait up to ``grace`` s, then SIGKILL whatever is left."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        try:  # also the group's other members (grandchildren) if the leader is gone
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover -- a process stuck in the kernel
            pass


def run_group(commands: Sequence[Sequence[str]], *, envs: Sequence[Mapping[str, str]] | None = None,
              labels: Sequence[str] | None = None, timeout: float = 300.0,
              cwd: str | os.PathLike | None = None, echo: Callable[[str], None] | None = print,
              grace: float = 3.0) -> list[Finished]:
    """Run ``commands`` side by side; return when all exited 0, else stop all and raise.

    ``envs[i]`` holds extra environment variables for command ``i`` (added to this process's
    environment). Each output line is passed to ``echo`` as ``"[label] line"`` (``echo=None``
    keeps quiet). Raises :class:`GroupFailed` when a command exits non-zero (the others are
    stopped) or after ``timeout`` seconds; every process group started is killed in any case.

    >>> [f.output for f in run_group([[sys.executable, "-c", "print(6 * 7)"]], echo=None)]
    ['42']
    """
    if not commands:
        raise ValueError("run_group needs at least one command")
    n = len(commands)
    labels = list(labels) if labels is not None else [f"rank {i}" for i in range(n)]
    envs = list(envs) if envs is not None else [{} for _ in range(n)]
    if len(labels) != n or len(envs) != n:
        raise ValueError(f"{n} commands but {len(labels)} labels and {len(envs)} environments")
    lines: dict[str, list[str]] = {label: [] for label in labels}
    out: queue.Queue = queue.Queue()
    procs: list[subprocess.Popen] = []
    try:
        for cmd, env, label in zip(commands, envs, labels):
            full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
            p = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                 errors="replace", start_new_session=True)
            procs.append(p)
            threading.Thread(target=_pump, args=(p.stdout, label, out), daemon=True).start()
        deadline = time.monotonic() + timeout
        open_streams = n
        failure = ""
        all_exited_at = None
        while True:
            try:
                label, line = out.get(timeout=0.05)
                if line is None:
                    open_streams -= 1
                else:
                    lines[label].append(line)
                    if echo is not None:
                        echo(f"[{label}] {line}")
                continue
            except queue.Empty:
                pass
            codes = [p.poll() for p in procs]
            bad = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if bad:
                i = bad[0]
                failure = f"{labels[i]} exited with code {codes[i]}"
                break
            if all(c == 0 for c in codes):
                all_exited_at = all_exited_at or time.monotonic()
                # done once every output stream is closed; a leftover grandchild that keeps a
                # stream open gets 2 s, then the finally clause below stops it
                if open_streams == 0 or time.monotonic() - all_exited_at > 2.0:
                    break
            if time.monotonic() > deadline:
                waiting = [labels[i] for i, c in enumerate(codes) if c is None]
                failure = (f"timeout after {timeout:g} s; still running: {', '.join(waiting)} "
                           "(a rank waiting for a peer that never arrives hangs forever)")
                break
        if failure:
            _stop(procs, grace)
            while True:  # collect the output that arrived meanwhile
                try:
                    label, line = out.get(timeout=0.2)
                except queue.Empty:
                    break
                if line is not None:
                    lines[label].append(line)
            finished = [Finished(lb, p.returncode if p.returncode is not None else -9, lines[lb])
                        for lb, p in zip(labels, procs)]
            tails = "\n".join(f"--- {f.label} (exit {f.returncode}), last lines:\n"
                              + "\n".join(f.lines[-15:]) for f in finished)
            raise GroupFailed(f"{failure}; all processes of the group were stopped.\n{tails}",
                              finished)
        return [Finished(lb, p.returncode, lines[lb]) for lb, p in zip(labels, procs)]
    finally:
        _stop(procs, grace=0.5 if any(p.poll() is None for p in procs) else 0.0)
