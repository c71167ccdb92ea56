"""Load-time benchmark of the course data layer.

What is measured: the steady state a student sees -- carriers installed, the cache warm (one
untimed warm-up run first creates e.g. MNIST's converted tensors), and every timed run in a
**fresh Python process** (no in-process caching can help). Per run two numbers:

* ``load_s``  -- the loader call alone, its heavy dependency (torch / gensim / numpy) already
  imported, as in a notebook that imported torch in its first cell;
* ``total_s`` -- the same call including those imports, as in a fresh kernel.

The median of ``--repeats`` runs (default 5) is compared with the target. Results are written as
JSON to ``artifacts/bench_data.json`` (git-ignored) or ``--out``.

    python scripts/bench_data.py     # shared machine: flock /tmp/course-cpu.lock python ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
CASES = {  # name: (dependency import, loader call, target seconds for load_s)
    "mnist": ("import torch", "d.load_mnist()", 2.0),
    "glove": ("import gensim.models", "d.load_glove()", 3.0),
    "sentiment": ("import numpy", "d.load_sentiment()", 1.0),
}
PROBE = """
import json, time
t0 = time.perf_counter()
{dep}
import course_lib.data as d
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
print(json.dumps({{"load_s": t2 - t1, "total_s": t2 - t0}}))
"""


def run_once(dep: str, call: str) -> dict[str, float]:
    """One fresh-process measurement of a loader call.

    >>> run_once("import numpy", "d.load_sentiment()")["load_s"] < 5  # doctest: +SKIP
    True
    """
    code = PROBE.format(dep=dep, call=call)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run every case, print the medians, write the JSON; exit 1 if a target is missed.

    >>> main()  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench_data.json")
    parser.add_argument("--json", type=Path, default=None,
                        help="summary for scripts/benchmark.py (BENCHMARKS.md)")
    args = parser.parse_args()

    results = {}
    for name, (dep, call, target) in CASES.items():
        run_once(dep, call)  # warm-up: fills the cache and the OS page cache
        runs = [run_once(dep, call) for _ in range(args.repeats)]
        load = statistics.median(r["load_s"] for r in runs)
        total = statistics.median(r["total_s"] for r in runs)
        results[name] = {
            "median_load_s": round(load, 3),
            "median_total_s": round(total, 3),
            "target_s": target,
            "meets_target": load <= target,
            "runs": runs,
        }
        print(
            f"{name:<10} load {load:6.3f} s  "
            f"(target <= {target:.0f} s: {'OK' if load <= target else 'SLOW'})"
            f"   with imports {total:6.3f} s"
        )

    import torch

    report = {
        "what": "median of fresh-process runs, cache warm (steady state); "
        "load_s excludes importing torch/gensim",
        "repeats": args.repeats,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "data_dir": os.environ.get(config.DATA_DIR_ENV, "<default: data/cache>"),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")
    if args.json:
        args.json.write_text(json.dumps({
            "title": "Data loading (course_lib.data)",
            "rows": [{"source": name, "median load": f"{r['median_load_s']:.3f} s",
                      "with imports": f"{r['median_total_s']:.3f} s", "target": f"<= {r['target_s']:.0f} s",
                      "met": "yes" if r["meets_target"] else "NO"} for name, r in results.items()],
            "notes": f"Median of {args.repeats} fresh Python processes each, cache warm (steady state); "
                     "'median load' excludes importing torch/gensim/numpy, 'with imports' includes them.",
        }, indent=2))
    return 0 if all(r["meets_target"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
