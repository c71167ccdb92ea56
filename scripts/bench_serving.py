#!/usr/bin/env python3
"""Load test of notebook 10's sentiment service: dynamic micro-batching vs one request at a time.

The server is the code of the notebook's cell tagged ``server`` (extracted, not copied), serving the
fine-tuned sentiment model exported to ONNX by the notebook (``<data_dir>/serving/models/sentiment/<latest
version>/``; run the notebook first, or this script exports the current mode's fine-tuned model
itself). Four servers run side by side, on 127.0.0.1, with the same weights and code: ONNX Runtime
(``--backend onnx``) and PyTorch eager (``--backend pytorch``), each

* ``batched``: ``--max-batch 32 --max-wait-ms 5``;
* ``one-at-a-time``: ``--max-batch 1`` (each request is its own model call).

A fixed number of requests (one real test snippet each) is sent at concurrency 1, 8 and 32 with
httpx, alternating between the servers, repeated ``--reps`` times. Reported: p50/p95/p99 latency and
throughput (medians over repetitions, with the min-max range) and the throughput ratio at each
concurrency with its spread. Target: ratio >= 2 at concurrency 32, zero failed requests.

    python scripts/bench_serving.py [--json PATH] [--reps 3] [--requests 256]

The helpers here (``server_source``, ``Service``, ``load_test``) are also used by
``tests/test_serving.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "10_serving.ipynb"
CONCURRENCY = (1, 8, 32)
BACKENDS = ("onnx", "pytorch")


def server_source(notebook: Path = NOTEBOOK) -> str:
    """The server's code: the notebook cell tagged ``server``, without its ``%%writefile`` line."""
    import nbformat

    cells = [c for c in nbformat.read(notebook, as_version=4).cells
             if "server" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise RuntimeError(f"{notebook.name}: expected one cell tagged 'server', found {len(cells)}")
    lines = cells[0].source.splitlines()
    if not lines[0].startswith("%%writefile"):
        raise RuntimeError(f"{notebook.name}: the server cell should start with %%writefile")
    return "\n".join(lines[1:]) + "\n"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """The server as a child process on 127.0.0.1; a context manager that always stops it."""

    def __init__(self, server_file: Path, model_dir: Path, *options: str, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log or Path(tempfile.mkstemp(prefix="serving-", suffix=".log")[1])
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, str(server_file), "--model-dir", str(model_dir), "--port", str(self.port),
             "--exit-with-parent", *options], stdout=self._log, stderr=subprocess.STDOUT)

    def wait_until_healthy(self, timeout: float = 60.0) -> dict:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.process.returncode}:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/health", timeout=2).raise_for_status().json()
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"the server did not answer /health within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """The end of the server's output."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()[-3000:]

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (uvicorn finishes the requests in flight), SIGKILL if that takes too long."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> "Service":
        try:
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


async def load_test(url: str, texts: list[str], n_requests: int, concurrency: int) -> dict:
    """Send ``n_requests`` POST /predict (one text each) with ``concurrency`` in flight.

    Returns the latencies (s) of the successful requests, the wall time and the failures."""
    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    todo = iter(range(n_requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def worker() -> None:
            for i in todo:                       # a shared iterator: each request is sent once
                t0 = time.perf_counter()
                try:
                    r = await client.post("/predict", json={"texts": [texts[i % len(texts)]]})
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        failures.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    return {"latencies": latencies, "seconds": seconds, "failures": failures,
            "throughput": len(latencies) / seconds}


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q))


def _model_dir() -> Path:
    """The notebook's model repository version of the current mode's fine-tuned model (the newest one
    with that recipe); exported here if there is none."""
    from course_lib import config, finetuned

    key = finetuned.recipe().key()
    repo = config.data_dir() / "serving" / "models" / "sentiment"
    versions = []
    for folder in repo.glob("*"):
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if (meta.get("recipe") == key and (folder / "model.onnx").is_file()
                and (folder / "pytorch" / "config.json").is_file()):
            versions.append((int(meta["version"]), folder))
    if versions:
        return max(versions)[1]
    return _export(Path(tempfile.mkdtemp(prefix="bench-serving-")))


def _export(folder: Path) -> Path:
    import torch

    from course_lib import finetuned

    ft = finetuned.sentiment_model(device="cpu")

    class LogitsOnly(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    example = ft.tokenizer(["A gorgeous film.", "Dull."], padding=True, return_tensors="pt")
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(LogitsOnly(ft.model).eval(), tuple(example[k] for k in names), folder / "model.onnx",
                      dynamo=True, input_names=names, output_names=["logits"], external_data=False,
                      dynamic_shapes=tuple({0: batch, 1: seq} for _ in names))
    ft.tokenizer.save_pretrained(folder)
    ft.model.save_pretrained(folder / "pytorch")
    (folder / "meta.json").write_text(json.dumps({
        "name": "sentiment", "version": 0, "labels": ["negative", "positive"],
        "max_length": ft.recipe.max_length, "pad_id": ft.tokenizer.pad_token_id,
        "pad_token": ft.tokenizer.pad_token}))
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--requests", type=int, default=256, help="requests per load test")
    args = parser.parse_args()

    from course_lib import data

    model_dir = _model_dir()
    texts = list(data.load_sentiment().test.texts)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    server_file = tmp / "server.py"
    server_file.write_text(server_source())
    batching = {"batched": ("--max-batch", "32", "--max-wait-ms", "5"),
                "one-at-a-time": ("--max-batch", "1", "--max-wait-ms", "0")}
    modes = {f"{backend} {b}": ("--backend", backend, *options)
             for backend in BACKENDS for b, options in batching.items()}
    runs: dict[tuple[str, int], list[dict]] = {}
    print(f"model {model_dir}; {args.requests} requests per test, {args.reps} repetitions", flush=True)
    services = {name: Service(server_file, model_dir, *options, log=tmp / f"{name.replace(' ', '-')}.log")
                for name, options in modes.items()}
    try:
        for service in services.values():
            service.wait_until_healthy()
        for service in services.values():                    # warm-up
            asyncio.run(load_test(service.url, texts, 64, 8))
        for rep in range(args.reps):
            for c in CONCURRENCY:
                order = list(services.items()) if rep % 2 == 0 else list(services.items())[::-1]
                for name, service in order:
                    offset = (rep * len(CONCURRENCY) + c) * args.requests
                    sample = texts[offset % len(texts):] + texts[:offset % len(texts)]
                    r = asyncio.run(load_test(service.url, sample, args.requests, c))
                    runs.setdefault((name, c), []).append(r)
                    print(f"rep {rep + 1} c={c:2d} {name:21s} {r['throughput']:6.1f} req/s  "
                          f"p99 {_percentile(r['latencies'], 99) * 1000:6.1f} ms  "
                          f"failures {len(r['failures'])}", flush=True)
    finally:
        codes = {name: service.stop() for name, service in services.items()}
    clean = all("shut down cleanly" in service.log() for service in services.values())

    rows = []
    failures = sum(len(r["failures"]) for rs in runs.values() for r in rs)
    for c in CONCURRENCY:
        for name in modes:
            rs = runs[(name, c)]
            tput = [r["throughput"] for r in rs]
            row = {"concurrency": c, "server": name}
            for q in (50, 95, 99):
                values = [_percentile(r["latencies"], q) * 1000 for r in rs]
                row[f"p{q} ms"] = f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"
            row["throughput req/s"] = f"{statistics.median(tput):.1f} [{min(tput):.1f}-{max(tput):.1f}]"
            row["failed"] = sum(len(r["failures"]) for r in rs)
            rows.append(row)
        for backend in BACKENDS:
            ratios = [b["throughput"] / s["throughput"] for b, s in
                      zip(runs[(f"{backend} batched", c)], runs[(f"{backend} one-at-a-time", c)])]
            met = statistics.median(ratios) >= 2
            rows.append({"concurrency": c, "server": f"{backend}: ratio batched / one-at-a-time",
                         "throughput req/s": f"{statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"
                         + (f" (target >= 2: {'met' if met else 'NOT met'})" if c == 32 else "")})
            print(f"c={c} {backend}: throughput ratio {statistics.median(ratios):.2f}x "
                  f"[{min(ratios):.2f}-{max(ratios):.2f}]", flush=True)
    result = {
        "title": "Serving: dynamic micro-batching vs one request at a time (notebook 10)",
        "rows": rows,
        "notes": (f"{args.requests} POST /predict requests (one real test snippet each) per cell of the table, "
                  f"{args.reps} repetitions alternating between four servers (all running, same code and "
                  "weights: ONNX Runtime or PyTorch eager, on all cores, with micro-batching or one request "
                  "at a time); medians with [min-max]. The httpx client runs "
                  f"on the same machine and shares its CPU cores. Failed requests: {failures}. "
                  f"All servers shut down cleanly on SIGTERM: {'yes' if clean else 'NO'} (exit codes {codes}; "
                  "uvicorn re-raises the signal after its graceful shutdown, hence -15)."),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if failures == 0 and clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
