#!/usr/bin/env python3
"""Notebook 09's speed-ups and distillation gain, measured side by side (run by scripts/benchmark.py).

1. int8 MiniLM: notebook 07's fine-tuned model (full recipe) as fp32 PyTorch, ONNX Runtime fp32
   (fused graph), ONNX Runtime int8 (fused, dynamic, per-tensor and per-channel weights) and
   PyTorch's deprecated ``torch.ao.quantization.quantize_dynamic``; accuracy on the whole RT test
   split, size on disk, latency at batch 1 and 32. All variants take turns in every round; the
   speed-up is the ratio of the fp32 PyTorch time to the variant's time in the same round, reported
   as the median and the range over the rounds. Targets: >= 1.5x faster at batch 32, >= 3x smaller,
   accuracy drop <= 1 point.
2. Distillation: the notebook's BiLSTM student (over the teacher's frozen WordPiece vectors) trained
   on the hard labels, and distilled (teacher soft targets on the training snippets, five perturbed
   copies of each and the plot sentences, alpha = 0.5 cross-entropy on the true labels), same number
   of steps and learning-rate schedule, 3 seeds;
   the gain is the difference of the means, with the per-seed values. Target: >= 1 point; the
   student >= 5x faster than the fp32 teacher at batch 32 (forward pass only, both tokenised).

The teacher logits are read from (or written to) the notebook's cache, same key.
CPU time: about 8 minutes on 2 cores with the logits cached (add ~7 min without).

    python scripts/bench_small_fast.py [--json PATH] [--rounds 7] [--seeds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the notebook's student and training budget (section 7 of notebooks/09_small_and_fast.ipynb)
MAX_TOKENS, HIDDEN, PROJ, BATCH, LR, T, ALPHA = 64, 64, 128, 64, 3e-3, 2.0, 0.5
STEPS, N_COPIES = 1500, 5


def median_ms(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def interleaved(runners: dict, keys: dict, rounds: int) -> dict:
    """{name: {key: [median ms per round]}}: every runner in every round, in turn."""
    out = {name: {k: [] for k in keys} for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            for key, reps in keys.items():
                out[name][key].append(median_ms(lambda: run(key), reps))
    return out


def ratio(times: dict, base: str, name: str, key: str) -> tuple[float, float, float]:
    r = [a / b for a, b in zip(times[base][key], times[name][key])]
    return statistics.median(r), min(r), max(r)


def fmt(r: tuple[float, float, float]) -> str:
    return f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    import onnx  # noqa: F401  (the exporter needs it)
    import onnxruntime as ort
    import transformers
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer as ort_optimizer

    from course_lib import config, data, finetuned
    from course_lib.data.sentiment import load_movie_plots

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    threads = torch.get_num_threads()
    ft = finetuned.sentiment_model(finetuned.RECIPES["full"], device="cpu")
    teacher, tok = ft.model, ft.tokenizer
    sentiment = data.load_sentiment()
    test_texts, test_labels = sentiment.test.texts, sentiment.test.labels
    enc = {"b1": tok(test_texts[:1], return_tensors="pt"), "b32": tok(test_texts[:32], padding=True, return_tensors="pt")}
    reps = {"b1": 20, "b32": 6}

    def sorted_batches(texts, size=64):
        order = np.argsort([len(t) for t in texts], kind="stable")
        return [order[i:i + size] for i in range(0, len(order), size)]

    def logits_of(run, texts, size=64):
        out = np.zeros((len(texts), 2), dtype=np.float32)
        for idx in sorted_batches(texts, size):
            out[idx] = run(tok([texts[i] for i in idx], padding=True, truncation=True, max_length=128,
                               return_tensors="pt"))
        return out

    def torch_run(model):
        def run(e):
            with torch.no_grad():
                return model(input_ids=e["input_ids"], attention_mask=e["attention_mask"]).logits.numpy()
        return run

    def ort_run(session):
        def run(e):
            return session.run(None, {"input_ids": e["input_ids"].numpy(),
                                      "attention_mask": e["attention_mask"].numpy()})[0]
        return run

    # ------------------------------------------------------------------ int8 variants
    tmp = Path(tempfile.mkdtemp(prefix="bench09_"))

    class LogitsOnly(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    teacher.set_attn_implementation("eager")
    torch.onnx.export(LogitsOnly(teacher).eval(), (enc["b32"]["input_ids"], enc["b32"]["attention_mask"]),
                      tmp / "fp32.onnx", dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "b", 1: "l"}, "attention_mask": {0: "b", 1: "l"}, "logits": {0: "b"}})
    teacher.set_attn_implementation("sdpa")
    ort_optimizer.optimize_model(str(tmp / "fp32.onnx"), model_type="bert", num_heads=12, hidden_size=384,
                                 opt_level=0).save_model_to_file(str(tmp / "fused.onnx"))
    for per_channel in (False, True):
        quantize_dynamic(tmp / "fused.onnx", tmp / f"int8_pc{int(per_channel)}.onnx", weight_type=QuantType.QInt8,
                         per_channel=per_channel, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    sess = {name: ort.InferenceSession(str(tmp / f), options, providers=["CPUExecutionProvider"])
            for name, f in (("ORT fp32 fused", "fused.onnx"), ("ORT int8 per-tensor", "int8_pc0.onnx"),
                            ("ORT int8 per-channel", "int8_pc1.onnx"))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_int8 = torch.ao.quantization.quantize_dynamic(finetuned.load(ft.recipe, "cpu").model,
                                                            {nn.Linear}, dtype=torch.qint8)
    torch.save(torch_int8.state_dict(), tmp / "torch_int8.pt")
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in teacher.state_dict().items()}, str(tmp / "fp32.safetensors"))
    variants = {"fp32 PyTorch": (torch_run(teacher), tmp / "fp32.safetensors"),
                "torch.ao dynamic int8 (Linear only)": (torch_run(torch_int8), tmp / "torch_int8.pt"),
                **{name: (ort_run(s), tmp / {"ORT fp32 fused": "fused.onnx", "ORT int8 per-tensor": "int8_pc0.onnx",
                                             "ORT int8 per-channel": "int8_pc1.onnx"}[name]) for name, s in sess.items()}}
    acc = {}
    for name, (run, _) in variants.items():
        acc[name] = float((logits_of(run, test_texts).argmax(1) == test_labels).mean())
        print(f"{name}: test accuracy {acc[name]:.2%}", flush=True)
    times = interleaved({n: (lambda r: (lambda k: r(enc[k])))(run) for n, (run, _) in variants.items()}, reps, args.rounds)
    base_mb = variants["fp32 PyTorch"][1].stat().st_size / 1e6
    rows = []
    for name, (_, path) in variants.items():
        mb = path.stat().st_size / 1e6
        r1, r32 = ratio(times, "fp32 PyTorch", name, "b1"), ratio(times, "fp32 PyTorch", name, "b32")
        row = {"measure": f"MiniLM {name}",
               "batch 1": f"{statistics.median(times[name]['b1']):.1f} ms, {fmt(r1)}",
               "batch 32": f"{statistics.median(times[name]['b32']):.0f} ms, {fmt(r32)}",
               "size": f"{mb:.1f} MB ({base_mb / mb:.2f}x smaller)",
               "test acc": f"{acc[name]:.2%} ({100 * (acc[name] - acc['fp32 PyTorch']):+.2f} pt)"}
        if name == "ORT int8 per-channel":
            met = r32[0] >= 1.5 and base_mb / mb >= 3 and acc["fp32 PyTorch"] - acc[name] <= 0.01
            row["target"] = ">= 1.5x at b32, >= 3x smaller, <= 1 pt drop"
            row["met"] = "yes" if met else "NO"
        rows.append(row)
        print(row, flush=True)

    # ------------------------------------------------------------------ distillation
    work = config.data_dir() / "09_small_and_fast"
    work.mkdir(parents=True, exist_ok=True)

    def teacher_logits(texts, name):
        key = hashlib.sha256("\n".join([ft.recipe.key(), *texts]).encode()).hexdigest()[:16]
        path = work / f"teacher_logits_{name}_{key}.npy"
        if path.exists():
            return np.load(path)
        out = logits_of(torch_run(teacher), texts, 128)
        np.save(path, out)
        return out

    plots = load_movie_plots()
    plot_sentences = [s for p in plots for s in re.split(r"(?<=[.!?])\s+", p) if 4 <= len(s.split()) <= 60]
    train_texts, train_labels = sentiment.train.texts, sentiment.train.labels
    augment_rng = np.random.default_rng(0)

    def perturb(text):  # the notebook's perturb(), same random stream
        words = text.split()
        if augment_rng.random() < 0.3 and len(words) > 4:
            n = augment_rng.integers(max(2, len(words) // 3), len(words))
            start = augment_rng.integers(0, len(words) - n + 1)
            return " ".join(words[start:start + n])
        kept = [w for w in words if augment_rng.random() > 0.2]
        return " ".join(kept or words)

    perturbed = [perturb(t) for _ in range(N_COPIES) for t in train_texts]
    train_t, plot_t = teacher_logits(train_texts, "train"), teacher_logits(plot_sentences, "plots")
    pert_t = teacher_logits(perturbed, "perturbed")

    def token_ids(texts):
        encoded = tok(list(texts), add_special_tokens=False, truncation=True, max_length=MAX_TOKENS)
        return [torch.tensor(ids or [tok.unk_token_id]) for ids in encoded["input_ids"]]

    def pad(examples):
        ids = nn.utils.rnn.pad_sequence(examples, batch_first=True, padding_value=tok.pad_token_id)
        mask = nn.utils.rnn.pad_sequence([torch.ones(len(e), dtype=torch.bool) for e in examples], batch_first=True)
        return ids, mask

    class BiLSTMStudent(nn.Module):
        def __init__(self):
            super().__init__()
            table = teacher.bert.embeddings.word_embeddings.weight.detach().clone()
            self.embed = nn.Embedding.from_pretrained(table, freeze=True)
            self.proj = nn.Linear(table.shape[1], PROJ)
            self.lstm = nn.LSTM(PROJ, HIDDEN, batch_first=True, bidirectional=True)
            self.drop = nn.Dropout(0.3)
            self.out = nn.Linear(2 * HIDDEN, 2)

        def forward(self, ids, mask):
            h, _ = self.lstm(self.drop(torch.tanh(self.proj(self.embed(ids)))))
            return self.out(self.drop(h.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values))

    def length_batches(lengths, rng):
        order = rng.permutation(len(lengths))
        chunks = [order[i:i + 20 * BATCH] for i in range(0, len(order), 20 * BATCH)]
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")] for chunk in chunks])
        batches = [order[i:i + BATCH] for i in range(0, len(order) - BATCH + 1, BATCH)]
        return [batches[i] for i in rng.permutation(len(batches))]

    train_ids, plot_ids, test_ids = token_ids(train_texts), token_ids(plot_sentences), token_ids(test_texts)
    pert_ids = token_ids(perturbed)

    def train_student(kind, seed):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        student = BiLSTMStudent()
        opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=LR)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / STEPS)
        if kind == "hard":
            examples, targets = train_ids, torch.tensor(train_labels)
        else:
            examples = train_ids + pert_ids + plot_ids
            targets = torch.tensor(np.concatenate([train_t, pert_t, plot_t]))
            labels = torch.tensor(np.concatenate([train_labels, -np.ones(len(pert_ids) + len(plot_ids), dtype=np.int64)]))
        lengths = np.array([len(e) for e in examples])
        done = 0
        student.train()
        while done < STEPS:
            for idx in length_batches(lengths, rng):
                logits = student(*pad([examples[i] for i in idx]))
                if kind == "hard":
                    loss = F.cross_entropy(logits, targets[idx])
                else:
                    y = labels[idx]
                    known = y >= 0
                    hard = F.cross_entropy(logits[known], y[known]) * known.float().mean() if known.any() else 0.0
                    soft = T * T * F.kl_div(F.log_softmax(logits / T, -1), F.softmax(targets[idx] / T, -1),
                                            reduction="batchmean")
                    loss = ALPHA * soft + (1 - ALPHA) * hard
                opt.zero_grad()
                loss.backward()
                opt.step()
                schedule.step()
                done += 1
                if done == STEPS:
                    break
        student.eval()
        with torch.no_grad():
            return student, float((student(*pad(test_ids)).argmax(1).numpy() == test_labels).mean())

    t0 = time.perf_counter()
    accs = {"hard": [], "distilled": []}
    students = {}
    for seed in range(args.seeds):
        for kind in accs:
            students[kind], a = train_student(kind, seed)
            accs[kind].append(a)
            print(f"student {kind}, seed {seed}: {a:.2%}", flush=True)
    gain = 100 * (np.mean(accs["distilled"]) - np.mean(accs["hard"]))
    student_in = {"b1": pad(test_ids[:1]), "b32": pad(test_ids[:32])}
    with torch.no_grad():
        stimes = interleaved({"fp32 PyTorch": lambda k: torch_run(teacher)(enc[k]),
                              "student": lambda k: students["distilled"](*student_in[k])}, reps, args.rounds)
    s32 = ratio(stimes, "fp32 PyTorch", "student", "b32")
    rows.append({"measure": f"distilled vs hard-label student ({args.seeds} seeds, {STEPS} steps each)",
                 "test acc": f"{np.mean(accs['distilled']):.2%} vs {np.mean(accs['hard']):.2%}: {gain:+.2f} pt "
                             f"(per seed: {', '.join(f'{100 * (d - h):+.2f}' for d, h in zip(accs['distilled'], accs['hard']))})",
                 "target": ">= +1.0 pt", "met": "yes" if gain >= 1.0 else "NO"})
    rows.append({"measure": "distilled student vs fp32 teacher, forward pass",
                 "batch 1": fmt(ratio(stimes, "fp32 PyTorch", "student", "b1")), "batch 32": fmt(s32),
                 "target": ">= 5x at b32", "met": "yes" if s32[0] >= 5 else "NO"})
    print(rows[-2:], f"students trained in {time.perf_counter() - t0:.0f} s", flush=True)
    result = {
        "title": "Notebook 09: int8 quantisation and distillation (CPU)",
        "rows": rows,
        "notes": (f"{threads} threads for PyTorch and ONNX Runtime. Latency: median of {args.rounds} rounds in which "
                  f"every variant takes its turn (batch 1: {reps['b1']} calls, batch 32: {reps['b32']} calls per round, "
                  "median per round); speed-ups vs fp32 PyTorch as median (min-max) of the per-round ratios. "
                  "Batch 32 = the first 32 RT test snippets padded to the longest; accuracy on all 1,275 test "
                  "snippets. Sizes: the file each variant ships as (safetensors, torch.save, .onnx). "
                  "torchao is not installed in the course environment; its int8 paths measured slower than fp32 "
                  "in eager mode on this kind of CPU (see the notebook)."),
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
