#!/usr/bin/env python3
"""Data-parallel scaling on this machine, measured side by side (notebook 11, section 6).

The same training step (an MLP 784-1024-1024-10, SGD, a global batch of 256 random images) in three
set-ups, alternating, several repetitions:

1. one process, one thread;
2. one process, two threads (what a notebook does by default on 2 cores);
3. DDP with 2 processes x 1 thread, launched by torchrun on 127.0.0.1 (gloo), 128 images per rank.

Reported: images per second (median over repetitions, with min-max), the ratios of (3) to (1) and
(2), and torchrun's start-up cost. Only the steady-state steps are timed (after warm-up).

    python scripts/bench_distributed.py [--json PATH] [--reps 3] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GLOBAL_BATCH = 256


def _model():  # noqa: ANN202 -- torch imported lazily
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def _steps_per_second(model, x, y, steps: int, sync=None) -> float:  # noqa: ANN001
    import torch
    import torch.nn.functional as F

    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for i in range(steps + 3):
        if i == 3:                                   # 3 warm-up steps
            if sync:
                sync()
            t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if sync:
        sync()
    return steps / (time.perf_counter() - t0)


def worker(steps: int, out: Path) -> None:
    """Run under torchrun: DDP, each rank its share of the global batch."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    g = torch.Generator().manual_seed(rank)
    local = GLOBAL_BATCH // world
    x, y = torch.randn(local, 784, generator=g), torch.randint(0, 10, (local,), generator=g)
    rate = _steps_per_second(DDP(_model()), x, y, steps, sync=dist.barrier)
    if rank == 0:
        out.write_text(json.dumps({"steps_per_s": rate}))
    dist.destroy_process_group()


def single(threads: int, steps: int) -> float:
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import torch; "
            f"torch.set_num_threads({threads}); import bench_distributed as b; "
            f"g = torch.Generator().manual_seed(0); "
            f"x, y = torch.randn(b.GLOBAL_BATCH, 784, generator=g), torch.randint(0, 10, (b.GLOBAL_BATCH,), generator=g); "
            f"print(b._steps_per_second(b._model(), x, y, {steps}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def ddp(steps: int) -> tuple[float, float]:
    from course_lib import procs

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rate.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--master_addr=127.0.0.1", f"--master_port={procs.free_port()}", __file__,
               "--worker", str(out), "--steps", str(steps)]
        t0 = time.perf_counter()
        procs.run_group([cmd], envs=[{"OMP_NUM_THREADS": "1"}], timeout=600, echo=None)
        wall = time.perf_counter() - t0
        rate = json.loads(out.read_text())["steps_per_s"]
    return rate, wall - steps / rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.worker)
        return 0
    rates: dict[str, list[float]] = {"1 process x 1 thread": [], "1 process x 2 threads": [],
                                     "DDP 2 processes x 1 thread": []}
    startup = []
    for rep in range(args.reps):
        rates["1 process x 1 thread"].append(single(1, args.steps))
        rates["1 process x 2 threads"].append(single(2, args.steps))
        rate, overhead = ddp(args.steps)
        rates["DDP 2 processes x 1 thread"].append(rate)
        startup.append(overhead)
        print(f"rep {rep + 1}: " + ", ".join(f"{k}: {v[-1] * GLOBAL_BATCH:.0f} img/s"
                                            for k, v in rates.items()), flush=True)
    base1 = rates["1 process x 1 thread"]
    base2 = rates["1 process x 2 threads"]
    rows = []
    for name, values in rates.items():
        imgs = [v * GLOBAL_BATCH for v in values]
        vs1 = [a / b for a, b in zip(values, base1)]
        vs2 = [a / b for a, b in zip(values, base2)]
        rows.append({"set-up": name,
                     "images/s (median, min-max)": f"{statistics.median(imgs):.0f} ({min(imgs):.0f}-{max(imgs):.0f})",
                     "vs 1 thread": f"{statistics.median(vs1):.2f}x ({min(vs1):.2f}-{max(vs1):.2f})",
                     "vs 2 threads": f"{statistics.median(vs2):.2f}x ({min(vs2):.2f}-{max(vs2):.2f})"})
    result = {
        "title": "Data-parallel scaling on this machine (notebook 11)",
        "rows": rows,
        "notes": (f"MLP 784-1024-1024-10, SGD, global batch {GLOBAL_BATCH}, {args.steps} timed steps per run, "
                  f"{args.reps} alternating repetitions; DDP = torchrun, gloo on 127.0.0.1. torchrun's "
                  f"start-up and tear-down took {statistics.median(startup):.1f} s per run (median). "
                  "Two processes share the same 2 cores as one process with 2 threads, so no speed-up "
                  "is expected here; the point of DDP is one accelerator per process."),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
