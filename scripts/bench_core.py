#!/usr/bin/env python3
"""Benchmark course_lib's own costs (run by scripts/benchmark.py, not by the tests).

1. Import time: ``import course_lib`` on top of ``import torch`` (fresh interpreter each time).
   Target: <= 0.5 s.
2. Training-loop overhead: ``course_lib.train.fit`` (progress bars on) against a plain hand-written
   loop, same MLP (784-256-10), same real MNIST data, same batches. Target: <= 5 %.

Medians of several alternating repetitions (the machine is noisy).

    python scripts/bench_core.py [--json PATH] [--reps 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path


def import_overhead(reps: int) -> tuple[float, float]:
    code = ("import time; t0 = time.perf_counter(); import torch; t1 = time.perf_counter(); "
            "import course_lib, course_lib.config; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    torch_s, extra_s = [], []
    for _ in range(reps):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        a, b = map(float, out.stdout.split())
        torch_s.append(a)
        extra_s.append(b)
    return statistics.median(torch_s), statistics.median(extra_s)


def fit_overhead(reps: int, epochs: int, n: int) -> tuple[float, float]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from course_lib import data, train

    mnist = data.load_mnist()
    x = mnist.train_images[:n].float().div(255).reshape(n, -1)
    y = mnist.train_labels[:n]
    loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()

    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def plain() -> float:
        model, opt = make()
        t0 = time.perf_counter()
        for _ in range(epochs):
            model.train()
            total = 0.0
            for xb, yb in loader:
                xb, yb = xb.to("cpu"), yb.to("cpu")
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item()
        return time.perf_counter() - t0

    def with_fit() -> float:
        model, opt = make()
        t0 = time.perf_counter()
        with redirect_stderr(io.StringIO()):  # the progress bars still run, just not shown
            train.fit(model, loader, opt, loss_fn, epochs, device="cpu", verbose=False)
        return time.perf_counter() - t0

    plain_s, fit_s = [], []
    for _ in range(reps):  # alternate, so slow phases of the machine hit both
        plain_s.append(plain())
        fit_s.append(with_fit())
    return statistics.median(plain_s), statistics.median(fit_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    torch_s, extra_s = import_overhead(args.reps)
    print(f"import torch: {torch_s:.3f} s; import course_lib on top: {extra_s * 1000:.1f} ms "
          f"(median of {args.reps}; target <= 500 ms)")
    n, epochs = 30000, 2
    plain_s, fit_s = fit_overhead(args.reps, epochs, n)
    overhead = fit_s / plain_s - 1
    print(f"plain loop {plain_s:.2f} s, fit {fit_s:.2f} s for {epochs} epochs x {n} MNIST images: "
          f"overhead {overhead * 100:+.1f} % (median of {args.reps}; target <= 5 %)")
    result = {
        "title": "course_lib overheads",
        "rows": [
            {"measure": "import course_lib after torch", "median": f"{extra_s * 1000:.1f} ms",
             "target": "<= 500 ms", "met": "yes" if extra_s <= 0.5 else "NO"},
            {"measure": f"fit vs plain loop (MLP 784-256-10, {epochs} epochs x {n} MNIST)",
             "median": f"{overhead * 100:+.1f} % ({fit_s:.2f} s vs {plain_s:.2f} s)",
             "target": "<= 5 %", "met": "yes" if overhead <= 0.05 else "NO"},
        ],
        "notes": f"Medians of {args.reps} alternating repetitions; `import torch` alone took {torch_s:.2f} s.",
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
