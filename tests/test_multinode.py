"""A real two-node run: ``torchrun --nnodes=2`` across two network namespaces.

Two "hosts" on one Linux machine: two network namespaces (each its own network stack, with only a
loopback and one end of a virtual cable -- a veth pair -- with its own address). In each one
``torchrun --nnodes=2 --nproc_per_node=1 --node_rank=R --master_addr=<host 0's address>`` runs the
``ddp_train.py`` that notebook 11 writes (extracted from the notebook, so the code students read is
the code tested). The trained weights must equal a one-process run with the same global batch.

Needs root (CAP_NET_ADMIN) and the ``ip`` tool; elsewhere the test is skipped and says why. CI runs
as root, so there it runs. The namespaces are always deleted and every process reaped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from course_lib import procs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "11_distributed_training.ipynb"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def notebook_scripts(path: Path = NOTEBOOK) -> dict[str, str]:
    """The files the notebook writes with ``%%writefile {WORK}/name.py``: name -> source."""
    scripts = {}
    for cell in nbformat.read(path, as_version=4).cells:
        first, _, body = cell.source.partition("\n")
        match = re.fullmatch(r"%%writefile \{WORK\}/([\w.]+)", first.strip())
        if cell.cell_type == "code" and match:
            scripts[match.group(1)] = body + "\n"
    return scripts


def _namespaces_unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces exist only on Linux"
    if shutil.which("ip") is None:
        return "the `ip` tool (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CAP_NET_ADMIN); CI runs this test as root"
    probe = f"c11probe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@pytest.fixture
def two_hosts():
    """Two namespaces joined by a veth pair: yields [(namespace, interface, address)] x 2."""
    reason = _namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    tag = os.getpid() % 100000
    subnet = f"10.211.{os.getpid() % 250}"
    hosts = [(f"c11host{i}_{tag}", f"c11v{i}_{tag}", f"{subnet}.{i + 1}") for i in range(2)]
    (ns0, if0, _), (ns1, if1, _) = hosts
    try:
        for ns, _, _ in hosts:
            _ip("netns", "add", ns)
        _ip("link", "add", if0, "type", "veth", "peer", "name", if1)
        for ns, iface, addr in hosts:
            _ip("link", "set", iface, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", iface)
            _ip("-n", ns, "link", "set", iface, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield hosts
    finally:
        for ns, iface, _ in hosts:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
            subprocess.run(["ip", "link", "del", iface], capture_output=True, timeout=30)  # if never moved
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert not any(ns in left for ns, _, _ in hosts), f"namespaces left behind: {left}"


def _write_job(folder: Path) -> Path:
    for name, source in notebook_scripts().items():
        (folder / name).write_text(source)
    g = torch.Generator().manual_seed(0)
    data = {"x_train": torch.randn(256, 784, generator=g), "y_train": torch.randint(0, 10, (256,), generator=g),
            "x_test": torch.randn(64, 784, generator=g), "y_test": torch.randint(0, 10, (64,), generator=g)}
    torch.save(data, folder / "data.pt")
    return folder / "ddp_train.py"


def _train_args(folder: Path, out: Path) -> list[str]:
    out.mkdir()
    return [str(folder / "ddp_train.py"), "--data", str(folder / "data.pt"), "--out", str(out),
            "--epochs", "2", "--global-batch", "32", "--lr", "0.05"]


def test_the_notebook_writes_the_training_script():
    scripts = notebook_scripts()
    assert {"dp_from_scratch.py", "ddp_train.py", "fsdp_shard.py"} <= set(scripts)
    assert "DistributedSampler" in scripts["ddp_train.py"] and "init_process_group" in scripts["ddp_train.py"]


def test_two_nodes_in_two_network_namespaces_equal_one_process(two_hosts, tmp_path):
    _write_job(tmp_path)
    env = {"OMP_NUM_THREADS": "1"}
    # the reference: one process, the whole global batch
    reference = procs.run_group([TORCHRUN + ["--nproc_per_node=1", "--master_addr=127.0.0.1",
                                             f"--master_port={procs.free_port()}",
                                             *_train_args(tmp_path, tmp_path / "one")]],
                                envs=[env], labels=["one process"], timeout=300, echo=None)
    assert reference[0].returncode == 0
    # two nodes, one process each: node 0's address is the rendezvous point (static rendezvous)
    (ns0, _, master), _ = two_hosts
    commands, envs = [], []
    for node_rank, (ns, iface, _) in enumerate(two_hosts):
        commands.append(["ip", "netns", "exec", ns] + TORCHRUN + [
            "--nnodes=2", "--nproc_per_node=1", f"--node_rank={node_rank}",
            f"--master_addr={master}", "--master_port=29500",
            *_train_args(tmp_path, tmp_path / f"node{node_rank}")])
        envs.append({**env, "GLOO_SOCKET_IFNAME": iface})
    finished = procs.run_group(commands, envs=envs, labels=["node 0", "node 1"], timeout=300, echo=None)
    log = "\n".join(f.output for f in finished)
    assert "world size 2" in log, log
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "node0" / "checkpoint.pt", weights_only=True)   # rank 0 lives on node 0
    assert not (tmp_path / "node1" / "checkpoint.pt").exists()                  # only rank 0 writes
    assert one["epoch"] == two["epoch"] == 2
    diff = max((one["model"][k] - two["model"][k]).abs().max().item() for k in one["model"])
    assert diff < 1e-5, f"two nodes differ from one process by {diff:.2e}"
    import json

    losses = json.loads((tmp_path / "node0" / "summary.json").read_text())["losses"]
    assert len(losses) == 2 * 256 // 32 and sum(losses[-4:]) < sum(losses[:4])   # it did train


def test_the_namespaces_really_are_separate_hosts(two_hosts):
    """Host 1 reaches host 0 only over the veth pair: 127.0.0.1 in one namespace is not the other's."""
    (ns0, _, addr0), (ns1, _, _) = two_hosts
    port = 29501
    server = subprocess.Popen(["ip", "netns", "exec", ns0, sys.executable, "-c",
                               "import socket; s = socket.socket(); "
                               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                               f"s.bind(('0.0.0.0', {port})); s.listen(); print('ready', flush=True); "
                               "c, _ = s.accept(); c.sendall(b'hello'); c.close()"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        client = ("import socket, sys; s = socket.socket(); s.settimeout(3); "
                  "s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(5).decode())")
        local = subprocess.run(["ip", "netns", "exec", ns1, sys.executable, "-c", client, "127.0.0.1",
                                str(port)], capture_output=True, text=True, timeout=30)
        assert local.returncode != 0                      # nothing listens on host 1's own loopback
        remote = subprocess.run(["ip", "netns", "exec", ns1, sys.executable, "-c", client, addr0,
                                 str(port)], capture_output=True, text=True, timeout=30)
        assert remote.stdout.strip() == "hello", remote.stderr
    finally:
        server.kill()
        server.wait(timeout=10)
