"""Notebook 10's sentiment service, started for real: good requests, malformed ones, clean shutdown.

The server is the notebook's cell tagged ``server`` (extracted by scripts/bench_serving.py, the same
code the notebook writes to a file and runs). It serves a tiny ONNX model built here by hand -- a
bag of word scores with the course's real WordPiece tokenizer -- so that the test needs no training
and no export, and the right answer is known: "great"/"good" are positive, "awful"/"bad" negative.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_serving", ROOT / "scripts" / "bench_serving.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

POSITIVE, NEGATIVE = ("great", "good", "wonderful"), ("awful", "bad", "boring")
JSON = {"content-type": "application/json"}


def _tiny_model(folder: Path) -> Path:
    """model.onnx: logits = sum over real tokens of a 2-number score per token id."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer

    from course_lib import data

    shutil.copy(Path(data.bert_model()) / "tokenizer.json", folder / "tokenizer.json")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    scores = np.zeros((tokenizer.get_vocab_size(), 2), dtype=np.float32)
    for word in POSITIVE:
        scores[tokenizer.token_to_id(word), 1] = 3.0
    for word in NEGATIVE:
        scores[tokenizer.token_to_id(word), 0] = 3.0
    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims)
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    nodes = [
        helper.make_node("Gather", ["scores", "input_ids"], ["per_token"]),             # [B, L, 2]
        helper.make_node("Unsqueeze", ["attention_mask", "axis2"], ["mask3"]),          # [B, L, 1]
        helper.make_node("Cast", ["mask3"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["per_token", "maskf"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["logits"], keepdims=0),     # [B, 2]
    ]
    graph = helper.make_graph(
        nodes, "tiny_sentiment", inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        initializer=[numpy_helper.from_array(scores, "scores"),
                     numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
                     numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    (folder / "meta.json").write_text(json.dumps({
        "name": "tiny-sentiment", "version": 7, "labels": ["negative", "positive"], "max_length": 128,
        "pad_id": tokenizer.token_to_id("[PAD]"), "pad_token": "[PAD]"}))
    return folder


@pytest.fixture(scope="module")
def server_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving")
    (folder / "model").mkdir()
    _tiny_model(folder / "model")
    (folder / "server.py").write_text(bench.server_source())
    return folder


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (exited, waiting for its new parent to collect it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return not stat.parent.exists() and sys.platform == "linux"


def _port_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


# (what is wrong, request keyword arguments, expected status, words the message must contain)
MALFORMED = [
    ("body is not JSON", dict(content='{"texts": ["great', headers=JSON), 400, "not valid JSON"),
    ("no body at all", dict(headers=JSON), 422, "JSON object"),
    ("JSON array instead of an object", dict(json=["a great film"]), 422, "JSON object"),
    ("field misspelt", dict(json={"text": ["a great film"]}), 422, "texts: Field required"),
    ("texts is a string", dict(json={"texts": "a great film"}), 422, "texts: Input should be a valid list"),
    ("texts is null", dict(json={"texts": None}), 422, "texts: Input should be a valid list"),
    ("a number among the texts", dict(json={"texts": ["good", 42]}), 422, "texts[1]: Input should be a valid string"),
    ("empty list", dict(json={"texts": []}), 422, "at least 1 item"),
    ("empty text", dict(json={"texts": ["good", ""]}), 422, "texts[1]: empty"),
    ("whitespace-only text", dict(json={"texts": [" \n\t "]}), 422, "texts[0]: empty or only whitespace"),
    ("text too long", dict(json={"texts": ["good " * 500]}), 422, "texts[0]: 2500 characters"),
    ("too many texts", dict(json={"texts": ["good"] * 65}), 422, "at most 64 items"),
    ("unknown field", dict(json={"texts": ["good"], "debug": True}), 422, "debug: Extra inputs are not permitted"),
    ("wrong content type", dict(content="a great film", headers={"content-type": "text/plain"}), 415,
     "Content-Type must be application/json"),
    ("body too large", dict(content=json.dumps({"texts": ["x" * 1000] * 300}), headers=JSON), 413, "bytes"),
]


@pytest.mark.timeout(180)
def test_service_answers_good_and_malformed_requests_and_stops(server_files):
    service = bench.Service(server_files / "server.py", server_files / "model", "--max-batch", "16",
                            "--max-wait-ms", "20", "--threads", "1", log=server_files / "server.log")
    pid, port = service.process.pid, service.port
    assert service.url == f"http://127.0.0.1:{port}"
    try:
        health = service.wait_until_healthy()
        assert health["status"] == "ok" and health["model"] == "tiny-sentiment" and health["version"] == 7
        with httpx.Client(base_url=service.url, timeout=30) as client:
            # good requests: one text, several texts, answers in input order
            r = client.post("/predict", json={"texts": ["A great film."]})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["labels"] == ["positive"] and body["classes"] == ["negative", "positive"]
            assert body["version"] == 7 and len(body["probabilities"]) == 1
            assert abs(body["probabilities"][0][1] - 1 / (1 + np.exp(-3.0))) < 1e-5   # logits (0, 3)
            assert abs(sum(body["probabilities"][0]) - 1) < 1e-5
            texts = ["So boring.", "Good, good, good!", "An awful script.", "Wonderful.", "A film."]
            r = client.post("/predict", json={"texts": texts})
            assert r.json()["labels"] == ["negative", "positive", "negative", "positive", "negative"]
            assert r.json()["probabilities"][4] == [0.5, 0.5]     # no known word: both logits 0

            # concurrent requests share micro-batches; each caller still gets its own answers
            def ask(i):
                words = [POSITIVE[i % 3], NEGATIVE[i % 3]] if i % 2 else [NEGATIVE[i % 3]]
                with httpx.Client(base_url=service.url, timeout=30) as c:
                    return words, c.post("/predict", json={"texts": [f"It is {w}." for w in words]})

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(ask, range(48)))
            for words, answer in answers:
                assert answer.status_code == 200, answer.text
                expected = ["positive" if w in POSITIVE else "negative" for w in words]
                assert answer.json()["labels"] == expected

            # malformed requests: each a 4xx with a JSON message that says what is wrong
            for what, kwargs, status, words in MALFORMED:
                r = client.post("/predict", **kwargs)
                assert r.status_code == status, f"{what}: {r.status_code} {r.text}"
                message = r.json()["error"]
                assert words in message, f"{what}: {message!r} should mention {words!r}"
            r = client.get("/predict")
            assert r.status_code == 405 and "GET /predict" in r.json()["error"]
            r = client.get("/no-such-page")
            assert r.status_code == 404 and "Not Found" in r.json()["error"]

            # ... and the server still serves
            r = client.post("/predict", json={"texts": ["Bad.", "Great."]})
            assert r.status_code == 200 and r.json()["labels"] == ["negative", "positive"]
            assert client.get("/health").json()["status"] == "ok"

            # metrics in Prometheus text format
            r = client.get("/metrics")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            metrics = r.text
        counts = {code: int(n) for code, n in
                  re.findall(r'http_requests_total\{path="/predict",code="(\d+)"\} (\d+)', metrics)}
        assert counts["200"] == 1 + 1 + 48 + 1
        assert counts["422"] == sum(1 for m in MALFORMED if m[2] == 422)
        assert counts["400"] == counts["415"] == counts["413"] == counts["405"] == 1
        texts_sent = 1 + 5 + sum(len(w) for w, _ in answers) + 2
        assert f"model_batch_size_sum {texts_sent:.6f}" in metrics
        n_batches = int(re.search(r"model_batch_size_count (\d+)", metrics).group(1))
        assert n_batches < 1 + 1 + 48 + 1, "concurrent requests should share model calls"
        posts = sum(counts.values()) - counts["405"]          # the latency histogram times POSTs
        assert re.search(r'predict_latency_seconds_bucket\{le="\+Inf"\} (\d+)', metrics).group(1) == str(posts)
        assert "# TYPE predict_latency_seconds histogram" in metrics
    finally:
        code = service.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: exit status -SIGTERM
    assert code in (0, -signal.SIGTERM), f"the server did not exit cleanly (code {code}):\n{service.log()}"
    assert "shut down cleanly after 67 /predict requests" in service.log(), service.log()
    assert _gone(pid), "the server process is still there"
    assert _port_closed(port)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(120)
def test_server_exits_when_its_parent_is_killed(server_files):
    """If the notebook's kernel dies without cleaning up (SIGKILL), the server stops by itself."""
    port = bench.free_port()
    launcher = textwrap.dedent(f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, {str(server_files / 'server.py')!r}, "--model-dir",
                              {str(server_files / 'model')!r}, "--port", "{port}", "--exit-with-parent"])
        print(p.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(parent.stdout.readline())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        parent.send_signal(signal.SIGKILL)       # no atexit, no finally: the parent just vanishes
        parent.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _gone(server_pid):
            time.sleep(0.2)
        assert _gone(server_pid), "the orphaned server is still running"
        assert _port_closed(port)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        try:
            os.kill(server_pid, signal.SIGKILL)
        except (ProcessLookupError, NameError, UnboundLocalError):
            pass


@pytest.mark.timeout(180)
def test_pytorch_backend_serves_the_safetensors_weights(server_files):
    """``--backend pytorch`` loads ``pytorch/`` (safetensors + config) and answers as the model does
    in-process; the default back end is ONNX Runtime."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from course_lib import data

    folder = server_files / "model"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=2)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder / "pytorch")
    assert (folder / "pytorch" / "model.safetensors").is_file()
    texts = ["A great film.", "An awful, boring script that goes on and on.", "Fine."]
    tokenizer = AutoTokenizer.from_pretrained(data.bert_model())
    with torch.no_grad():
        expected = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.softmax(-1).numpy()
    for backend in ("pytorch", None):
        options = ("--backend", backend) if backend else ()
        with bench.Service(server_files / "server.py", folder, *options, "--threads", "1",
                           log=server_files / f"{backend}.log") as service:
            assert service.wait_until_healthy()["backend"] == (backend or "onnx")
            r = httpx.post(f"{service.url}/predict", json={"texts": texts}, timeout=30)
            assert r.status_code == 200, r.text
            probs = np.array(r.json()["probabilities"])
            assert httpx.post(f"{service.url}/predict", json={"texts": [""]}, timeout=30).status_code == 422
        assert "shut down cleanly" in service.log()
        if backend == "pytorch":
            assert np.abs(probs - expected).max() < 1e-5
        else:                                                  # the hand-built ONNX bag of scores
            assert probs[0, 1] > 0.9 and probs[1, 0] > 0.9
