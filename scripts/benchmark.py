#!/usr/bin/env python3
"""Run every notebook in FULL mode, one at a time, and write BENCHMARKS.md.

    python scripts/course.py bench                       # all notebooks + all bench scripts
    python scripts/course.py bench --only 02 03          # some notebooks (by number prefix)
    python scripts/course.py bench --save-outputs        # also store the executed notebooks
                                                         # (the outputs committed in the repo)
    python scripts/course.py bench --no-notebooks        # only the scripts/bench_*.py figures
    python scripts/course.py bench --no-notebooks --scripts bench_core   # one of them

Per notebook it records the wall time, the kernel's peak memory (resident set size of the
kernel and its child processes, sampled every 0.2 s with psutil) and the metrics the notebook
reported with ``course_lib.report.record`` (the runner sets COURSE_REPORT). With
--save-outputs the executed notebook is cleaned before it is stored (scripts/clean_outputs.py:
progress bars as their final state, no duplicated figures in the saved widget state). Each ``scripts/bench_*.py`` is run
with ``--json PATH``; it writes ``{"title": str, "rows": [{column: value}], "notes": str}``.
Results accumulate in benchmarks/results.json (a partial run updates only its rows);
BENCHMARKS.md is generated from that file (``--render`` only re-renders it, running nothing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_lib import config  # noqa: E402  (COURSE_MODE / COURSE_REPORT by name)

sys.path.insert(0, str(ROOT / "scripts"))
from clean_outputs import clean_notebook, describe  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"
OUTPUT = ROOT / "BENCHMARKS.md"


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}), {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


class PeakMemory:
    """Peak resident memory of this process's child processes (the kernel and whatever it
    starts: DataLoader workers, servers), summed over the process tree, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = 0
        for child in self._psutil.Process().children(recursive=True):
            try:
                total += child.memory_info().rss
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_notebook(path: Path, save: bool, timeout: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env_before = dict(os.environ)
        os.environ.update({config.MODE_ENV: "full", config.REPORT_ENV: str(report)})
        os.environ.pop("CI", None)
        t0 = time.perf_counter()
        error = ""
        with PeakMemory() as memory:
            try:
                NotebookClient(nb, timeout=timeout, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
            except Exception as exc:  # record the failure, keep going with the other notebooks
                error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        seconds = time.perf_counter() - t0
        os.environ.clear()
        os.environ.update(env_before)
        metrics = json.loads(report.read_text()).get(path.stem, {}) if report.exists() else {}
    if save and not error:
        print(f"   stored outputs, {describe(clean_notebook(nb))}", flush=True)
        nbformat.write(nb, path)
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(memory.peak / 2**20),
            "metrics": metrics, "error": error, "machine": machine(),
            "date": dt.date.today().isoformat()}


def run_script(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(path), "--json", str(out)], cwd=ROOT)
        result = json.loads(out.read_text()) if out.exists() else {}
    result.update(seconds=round(time.perf_counter() - t0, 1), machine=machine(),
                  date=dt.date.today().isoformat(),
                  error="" if proc.returncode == 0 else f"exit code {proc.returncode}")
    return result


def render(results: dict) -> str:
    lines = ["# Benchmarks", "",
             "Generated by `python scripts/course.py bench` (notebooks in **full** mode, one at a time).",
             "Do not edit by hand: the data lives in `benchmarks/results.json`.", "",
             "## Notebooks (full mode)", "",
             "Peak memory: the largest resident memory of the notebook's kernel (with its child",
             "processes) during the run; \u2013 where the row predates this measurement.", "",
             "| notebook | wall time | peak memory | key metrics | machine | date |",
             "|---|---|---|---|---|---|"]
    notebooks = sorted(results.get("notebooks", {}).items())
    for name, r in notebooks:
        metrics = ", ".join(f"{k} = {_fmt(v)}" for k, v in r["metrics"].items()) or "-"
        if r["error"]:
            metrics = f"**FAILED**: {r['error']}"
        lines.append(f"| {name} | {_duration(r['seconds'])} | {_memory(r.get('peak_rss_mb'))} | "
                     f"{metrics} | {r['machine']} | {r['date']} |")
    if notebooks:
        total = sum(r["seconds"] for _, r in notebooks)
        peaks = [r["peak_rss_mb"] for _, r in notebooks if r.get("peak_rss_mb") is not None]
        dates = sorted({r["date"] for _, r in notebooks})
        span = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
        peak = f"max {_memory(max(peaks))}" if peaks else _memory(None)
        lines.append(f"| **whole course ({len(notebooks)} notebooks)** | **{_duration(total)}** | "
                     f"{peak} | sum of the rows above (runs of {span}) | | |")
    sim = results.get("colab_sim")
    if sim:
        nbs = sim.get("notebooks", {})
        passed = [n for n, v in nbs.items() if v == "passed"]
        lines += ["", "## Colab simulation", "",
                  f"`python3 scripts/course.py test --colab-sim` on {sim['date']}: Colab's packages from "
                  f"{sim['snapshot']}, Python {sim['python']}; `setup --colab` "
                  + ("left Colab's kernel stack, torch, torchvision and numpy untouched."
                     if not sim.get("protected_changed") else
                     f"**changed Colab's packages**: {sim['protected_changed']}."),
                  "", (f"Notebooks in quick mode under nbval: **{len(passed)}/{len(nbs)} passed**: "
                       + ", ".join(f"{n} {v}" for n, v in sorted(nbs.items())) if nbs else
                       "Notebooks in quick mode under nbval: **not run** (see the note).")]
        if sim.get("note"):
            lines += ["", sim["note"]]
    for name, r in sorted(results.get("scripts", {}).items()):
        lines += ["", f"## {r.get('title', name)}", "", f"`scripts/{name}.py` on {r['machine']}, {r['date']}"
                  + (f" -- **FAILED** ({r['error']})" if r["error"] else ""), ""]
        rows = r.get("rows") or []
        if rows:
            cols = list(dict.fromkeys(k for row in rows for k in row))
            lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(_fmt(row.get(c, "")) for c in cols) + " |" for row in rows]
        if r.get("notes"):
            lines += ["", r["notes"]]
    return "\n".join(lines) + "\n"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _memory(mb: float | None) -> str:
    if mb is None:
        return "\u2013"
    return f"{mb:.0f} MB" if mb < 1024 else f"{mb / 1024:.1f} GB"


@contextmanager
def locked_results() -> Iterator[dict]:
    """Read benchmarks/results.json under an exclusive file lock and write it back: runs that
    finish at the same time (several people benchmarking their own notebooks) never drop each
    other's rows."""
    RESULTS.parent.mkdir(exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "course-benchmark-results.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no lock
            pass
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        yield results
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        OUTPUT.write_text(render(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="notebook number prefixes, e.g. 02 03")
    parser.add_argument("--save-outputs", action="store_true", help="write executed notebooks back")
    parser.add_argument("--no-notebooks", action="store_true")
    parser.add_argument("--no-scripts", action="store_true")
    parser.add_argument("--scripts", nargs="*", default=None,
                        help="only these bench scripts, e.g. bench_core bench_data")
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    parser.add_argument("--render", action="store_true",
                        help="only re-render BENCHMARKS.md from benchmarks/results.json")
    args = parser.parse_args()

    if args.render:
        with locked_results():
            pass
        print(f"Wrote {OUTPUT.relative_to(ROOT)}")
        return 0
    results: dict = {}
    failed = False
    if not args.no_notebooks:
        for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            if args.only and not any(nb.name.startswith(p) for p in args.only):
                continue
            print(f"== {nb.name} (full mode) ...", flush=True)
            r = run_notebook(nb, args.save_outputs, args.timeout)
            print(f"   {r['seconds']:.0f} s  {r['metrics']}  {r['error']}", flush=True)
            results.setdefault("notebooks", {})[nb.stem] = r
            failed |= bool(r["error"])
    if not args.no_scripts and (args.only is None or args.scripts):
        for script in sorted((ROOT / "scripts").glob("bench_*.py")):
            if args.scripts and script.stem not in args.scripts:
                continue
            print(f"== {script.name} ...", flush=True)
            r = run_script(script)
            results.setdefault("scripts", {})[script.stem] = r
            failed |= bool(r["error"])
    with locked_results() as stored:   # merge only this run's rows into the latest file
        for section, rows in results.items():
            stored.setdefault(section, {}).update(rows)
    print(f"Wrote {OUTPUT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
