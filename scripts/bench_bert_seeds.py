#!/usr/bin/env python3
"""Notebook 07's target over seeds (run by scripts/benchmark.py, not by the tests).

One fine-tuning run of notebook 07 varies by about a point with the random seed, so its target is
stated over seeds: the **mean test accuracy of 3 seeds >= 82.5 %** and **>= 4 points above notebook
05's BiLSTM**. This script fine-tunes notebook 07's full-mode recipe (``course_lib.finetuned``) with
seeds 0, 1, 2 -- a seed whose model is already cached (seed 0 after notebook 07 ran in full mode) is
loaded, the others are trained (about 4 minutes each on 2 CPU cores) and cached for later -- and
compares the mean with notebook 05's BiLSTM test accuracy from the latest full-mode benchmark run
(``benchmarks/results.json``). Exit code 1 when the target is not met.

    python scripts/bench_bert_seeds.py [--json PATH] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MEAN = 0.825     # mean test accuracy over the seeds
TARGET_GAIN = 0.04      # over notebook 05's BiLSTM


def lstm_accuracy() -> float | None:
    """Notebook 05's BiLSTM test accuracy in the latest full-mode benchmark run, if recorded."""
    path = ROOT / "benchmarks" / "results.json"
    try:
        record = json.loads(path.read_text())["notebooks"]["05_lstm_sentiment"]
    except (OSError, ValueError, KeyError):
        return None
    if record.get("error"):
        return None
    return record.get("metrics", {}).get("test_acc")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write {title, rows, notes} here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from course_lib import finetuned

    base = finetuned.RECIPES["full"]          # notebook 07's full-mode recipe
    rows, accuracies = [], []
    for seed in args.seeds:
        recipe = dataclasses.replace(base, seed=seed)
        cached = finetuned.load(recipe) is not None
        model = finetuned.sentiment_model(recipe)
        acc = float(model.metrics["test_acc"])
        accuracies.append(acc)
        rows.append({"seed": seed, "test accuracy": f"{acc:.2%}",
                     "validation accuracy": f"{model.metrics.get('val_acc', float('nan')):.2%}",
                     "training seconds": round(float(model.metrics.get("train_seconds", float("nan"))), 0),
                     "model": "cached" if cached else "trained now", "recipe": recipe.key()})
        del model
    mean = statistics.mean(accuracies)
    sd = statistics.stdev(accuracies) if len(accuracies) > 1 else float("nan")
    lstm = lstm_accuracy()
    rows.append({"seed": f"mean ± sd of {len(accuracies)}", "test accuracy": f"{mean:.2%} ± {sd:.2%}"})
    met_mean = mean >= TARGET_MEAN
    if lstm is None:
        gain_text = ("notebook 05's BiLSTM accuracy is not in benchmarks/results.json (run "
                     "`python scripts/course.py bench --only 05`), so the gain cannot be checked")
        met_gain = False
    else:
        gain = mean - lstm
        met_gain = gain >= TARGET_GAIN
        rows.append({"seed": "notebook 05 BiLSTM", "test accuracy": f"{lstm:.2%}"})
        gain_text = (f"{100 * gain:.1f} points above notebook 05's BiLSTM ({lstm:.2%}; target >= "
                     f"{100 * TARGET_GAIN:.0f}): {'met' if met_gain else 'NOT met'}")
    notes = (f"Notebook 07's full-mode recipe fine-tuned with seeds {args.seeds} on the same 1,275 test "
             f"snippets: mean {mean:.2%} ± {sd:.2%} (sd over seeds); target mean >= "
             f"{TARGET_MEAN:.1%}: {'met' if met_mean else 'NOT met'}; {gain_text}. The 95% interval of "
             "one accuracy near 83% on 1,275 snippets is about ±2 points (sampling of the test split, "
             "the same for every seed).")
    print(notes)
    if args.json:
        args.json.write_text(json.dumps({"title": "Notebook 07: fine-tuning over 3 seeds",
                                         "rows": rows, "notes": notes}, indent=2))
    return 0 if met_mean and met_gain else 1


if __name__ == "__main__":
    sys.exit(main())
