"""course_lib.procs: process groups end cleanly -- on success, on a failing rank, on a timeout, on
an exception in the caller -- and no process they started (children or grandchildren) survives."""

import os
import sys
import textwrap
import time

import pytest

from course_lib import procs

PY = sys.executable


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status is left


def _survivors(pids, grace: float = 5.0) -> list[int]:
    """The pids still alive after ``grace`` seconds: a killed process needs a moment to end, more
    on a busy machine."""
    deadline = time.monotonic() + grace
    alive = [p for p in pids if _alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    return alive


def _pids(finished_or_error, prefix="pid "):
    lines = []
    for f in finished_or_error:
        lines += f.lines
    return [int(line.split()[-1]) for line in lines if line.startswith(prefix)]


# a child that starts a grandchild (like torchrun starts workers) and then sleeps forever
HANG_WITH_GRANDCHILD = textwrap.dedent("""
    import os, subprocess, sys, time
    g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("pid", os.getpid(), flush=True)
    print("pid", g.pid, flush=True)
    time.sleep(600)
""")


def test_success_returns_every_output_in_order():
    out = procs.run_group([[PY, "-c", f"print('hello from {i}'); print('bye')"] for i in range(3)],
                          echo=None)
    assert [f.returncode for f in out] == [0, 0, 0]
    assert [f.lines for f in out] == [[f"hello from {i}", "bye"] for i in range(3)]
    assert [f.label for f in out] == ["rank 0", "rank 1", "rank 2"]


def test_environment_and_labels_reach_each_process():
    out = procs.run_group([[PY, "-c", "import os; print(os.environ['RANK'])"]] * 2,
                          envs=[{"RANK": 0}, {"RANK": 1}], labels=["a", "b"], echo=None)
    assert [(f.label, f.output) for f in out] == [("a", "0"), ("b", "1")]


def test_echo_prefixes_lines_with_the_label():
    seen = []
    procs.run_group([[PY, "-c", "print('x')"]], labels=["worker"], echo=seen.append)
    assert seen == ["[worker] x"]


def test_a_failing_rank_stops_a_hanging_one_and_its_grandchild():
    failing = [PY, "-c", "import sys, time; time.sleep(1); print('boom', file=sys.stderr); sys.exit(3)"]
    hanging = [PY, "-c", HANG_WITH_GRANDCHILD]
    with pytest.raises(procs.GroupFailed, match=r"rank 0 exited with code 3") as info:
        procs.run_group([failing, hanging], timeout=60, echo=None)   # not stopped by the timeout
    assert "boom" in str(info.value)                   # the failing rank's output is in the message
    pids = _pids(info.value.finished)
    assert len(pids) == 2
    assert not _survivors(pids), "a child or grandchild survived"


def test_timeout_stops_everything():
    with pytest.raises(procs.GroupFailed, match=r"timeout after 3 s; still running: rank 0, rank 1"
                       ) as info:
        procs.run_group([[PY, "-c", HANG_WITH_GRANDCHILD]] * 2, timeout=3, echo=None)
    pids = _pids(info.value.finished)
    assert len(pids) == 4
    assert not _survivors(pids)


def test_an_exception_in_the_caller_still_reaps(tmp_path):
    """E.g. Ctrl-C / "interrupt the kernel" while the group runs (here: an error in echo)."""
    seen = []

    def echo(line):
        seen.append(line)
        if len(seen) == 2:                             # after both pids are printed
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        procs.run_group([[PY, "-c", HANG_WITH_GRANDCHILD]], timeout=60, echo=echo)
    pids = [int(line.split()[-1]) for line in seen]
    assert len(pids) == 2
    assert not _survivors(pids)


def test_leftover_grandchild_of_a_successful_command_is_stopped():
    code = textwrap.dedent("""
        import subprocess, sys
        g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("pid", g.pid, flush=True)
    """)
    out = procs.run_group([[PY, "-c", code]], timeout=30, echo=None)
    pids = _pids(out)
    assert out[0].returncode == 0 and len(pids) == 1
    assert not _survivors(pids)


def test_a_rank_blocked_in_all_reduce_is_stopped_when_its_peer_dies():
    """The real case: rank 1 crashes before the collective, rank 0 would wait in it forever."""
    code = textwrap.dedent("""
        import os, sys, torch, torch.distributed as dist
        dist.init_process_group("gloo")
        print("pid", os.getpid(), flush=True)
        if dist.get_rank() == 1:
            raise RuntimeError("rank 1 fails before the all_reduce")
        dist.all_reduce(torch.ones(3))
    """)
    port = procs.free_port()
    envs = [{"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": 2, "RANK": r,
             "OMP_NUM_THREADS": 1} for r in range(2)]
    with pytest.raises(procs.GroupFailed, match="rank 1 exited with code 1") as info:
        procs.run_group([[PY, "-c", code]] * 2, envs=envs, timeout=120, echo=None)
    assert "rank 1 fails before the all_reduce" in str(info.value)
    pids = _pids(info.value.finished)
    assert len(pids) == 2 and not _survivors(pids)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="at least one command"):
        procs.run_group([])
    with pytest.raises(ValueError, match="2 commands but 1 labels"):
        procs.run_group([[PY, "-c", "1"]] * 2, labels=["a"])


def test_free_port_can_be_bound():
    import socket

    port = procs.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert os.getpid() > 0
