"""scripts/clean_outputs.py: frozen progress bars become their final state, hidden bars and
duplicated widget figures go, unused widget models are removed -- on hand-made notebooks and
on one really executed by nbclient (real tqdm widgets, real saved widget state)."""

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("clean_outputs", ROOT / "scripts" / "clean_outputs.py")
clean_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clean_outputs)

VIEW = clean_outputs.WIDGET_VIEW
STATE = clean_outputs.WIDGET_STATE


def model(name, **state):
    return {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "model_name": name, "state": {"_model_name": name, **state}}


def add_bar(states, key, left, value, total, right, style="", hidden=False):
    """The widget models tqdm.notebook creates: HBox(HTML, FloatProgress, HTML) + layouts."""
    states[f"{key}-layout"] = model("LayoutModel", visibility="hidden" if hidden else None)
    states[f"{key}-left"] = model("HTMLModel", value=left.replace(" ", "\u2007"))
    states[f"{key}-bar"] = model("FloatProgressModel", value=float(value), max=float(total),
                                 bar_style=style)
    states[f"{key}-right"] = model("HTMLModel", value=right.replace(" ", "\u2007").replace("<", "&lt;"))
    states[key] = model("HBoxModel", layout=f"IPY_MODEL_{key}-layout",
                        children=[f"IPY_MODEL_{key}-{c}" for c in ("left", "bar", "right")])


def widget_output(key, text="epochs:   0%|          | 0/15 [00:00<?, ?it/s]"):
    return {"output_type": "display_data", "metadata": {},
            "data": {VIEW: {"model_id": key, "version_major": 2, "version_minor": 0},
                     "text/plain": [text]}}


def image(png):
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": ["<Figure>"]}}


def notebook():
    states = {}
    add_bar(states, "done", "epochs: 100%", 15, 15, " 15/15 [00:34<00:00, 2.31s/it, loss=0.12]", "success")
    add_bar(states, "stopped", "epochs:  80%", 12, 15, " 12/15 [00:51<00:12, 4.06s/it]", "danger")
    add_bar(states, "inner", "epoch 3: 100%", 8, 8, " 8/8 [00:01<00:00]", hidden=True)
    states["out"] = {"model_module": "@jupyter-widgets/output", "model_name": "OutputModel",
                     "state": {"outputs": [image("PNGDATA"), image("OTHER"),
                                           {"output_type": "stream", "name": "stdout", "text": "hi\n"}]}}
    states["slider"] = model("IntSliderModel", value=3)
    states["vbox"] = model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_out"])
    states["orphan"] = model("LayoutModel")
    cells = [
        {"cell_type": "code", "source": "fit()", "metadata": {}, "execution_count": 1,
         "outputs": [widget_output("done"), widget_output("inner", "epoch 3:   0%|"),
                     {"output_type": "stream", "name": "stdout", "text": "epoch 1/15 ...\n"},
                     widget_output("stopped")]},
        {"cell_type": "code", "source": "interact(show)", "metadata": {}, "execution_count": 2,
         "outputs": [image("PNGDATA"), widget_output("vbox", "interactive(children=(IntSlider(...")]},
        {"cell_type": "markdown", "source": "text", "metadata": {}},
    ]
    return {"cells": cells, "metadata": {"widgets": {STATE: {"state": states, "version_major": 2,
                                                             "version_minor": 0}}},
            "nbformat": 4, "nbformat_minor": 5}


def texts(cell):
    return ["".join(o["data"]["text/plain"]) if "data" in o else o["text"] for o in cell["outputs"]]


def test_bars_become_their_final_state_as_plain_text():
    nb = notebook()
    counts = clean_outputs.clean_notebook(nb)
    first = nb["cells"][0]["outputs"]
    assert [o["output_type"] for o in first] == ["display_data", "stream", "display_data"]
    assert all(VIEW not in o.get("data", {}) for o in first)
    assert first[0]["data"] == {"text/plain": "epochs: 100%|██████████| 15/15 [00:34<00:00, 2.31s/it, loss=0.12]"}
    # an unfinished bar keeps the state it really reached (cleaning is not re-running)
    assert first[2]["data"]["text/plain"] == "epochs:  80%|████████  | 12/15 [00:51<00:12, 4.06s/it]"
    assert not any("0%|" in t and "100%" not in t and "80%" not in t for t in texts(nb["cells"][0]))
    assert counts["bars"] == 2 and counts["hidden"] == 1


def test_duplicated_widget_figures_and_unused_models_go():
    nb = notebook()
    counts = clean_outputs.clean_notebook(nb)
    states = nb["metadata"]["widgets"][STATE]["state"]
    assert counts["figures"] == 1
    kept = states["out"]["state"]["outputs"]
    assert [o.get("data", {}).get("image/png") for o in kept] == ["OTHER", None]
    assert set(states) == {"vbox", "slider", "out"}           # the interactive widget stays whole
    assert counts["models"] == 16                             # 3 bars x 5 models + the orphan
    assert nb["cells"][1]["outputs"][0]["data"]["image/png"] == "PNGDATA"   # the static figure stays
    assert VIEW in nb["cells"][1]["outputs"][1]["data"]


def test_cleaning_is_idempotent_and_drops_empty_widget_metadata():
    nb = notebook()
    clean_outputs.clean_notebook(nb)
    once = copy.deepcopy(nb)
    assert clean_outputs.clean_notebook(nb) == {"bars": 0, "hidden": 0, "figures": 0, "models": 0}
    assert nb == once
    nb["cells"][1]["outputs"].pop()                           # no widget output left at all
    clean_outputs.clean_notebook(nb)
    assert "widgets" not in nb["metadata"]


def test_bar_text_partial_blocks_and_no_total():
    parts = {"left": "a: 55%", "right": " 11/20", "value": 11, "max": 20, "bar_style": "", "hidden": False}
    assert clean_outputs.bar_text(parts) == "a: 55%|█████▌    | 11/20"
    assert clean_outputs.bar_text({**parts, "max": 0}) == "a: 55%|██████████| 11/20"


def test_script_rewrites_files_and_check_mode(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook()))
    script = [sys.executable, str(ROOT / "scripts" / "clean_outputs.py")]
    check = subprocess.run(script + ["--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 1 and "needs cleaning" in check.stdout
    assert json.loads(path.read_text()) == notebook()         # --check changes nothing
    done = subprocess.run(script + [str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "2 bars set to their final state" in done.stdout
    assert "15/15" in path.read_text() and "0/15" not in path.read_text()
    again = subprocess.run(script + ["--check", str(path)], capture_output=True, text=True)
    assert again.returncode == 0 and "clean" in again.stdout


def test_benchmark_save_outputs_uses_the_cleaner():
    source = (ROOT / "scripts" / "benchmark.py").read_text()
    assert "from clean_outputs import clean_notebook" in source
    save = source[source.index("if save and not error"):]
    assert save.index("clean_notebook(nb)") < save.index("nbformat.write(nb, path)")


EXECUTED = [
    "from tqdm.auto import tqdm\n"
    "for i in tqdm(range(4), desc='outer'):\n"
    "    for j in tqdm(range(3), desc=f'inner {i}', leave=False):\n"
    "        pass",
    "from torch import nn\nimport torch\nfrom course_lib import train\n"
    "torch.manual_seed(0)\nm = nn.Linear(2, 2)\ndata = [(torch.randn(8, 2), torch.randint(0, 2, (8,)))]\n"
    "h = train.fit(m, data, torch.optim.SGD(m.parameters(), 0.0), nn.CrossEntropyLoss(), 20,\n"
    "              val_loader=data, early_stopping=1, verbose=False)\nlen(h)",
]


@pytest.mark.timeout(300)
def test_a_really_executed_notebook(tmp_path):
    """nbclient + real tqdm widgets: before cleaning the stored text says 0 %; after it the final
    state; the early-stopped fit bar reads as finished."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in EXECUTED])
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    before = json.dumps(nb)
    assert "0%|" in before and VIEW in before
    counts = clean_outputs.clean_notebook(nb)
    assert counts["bars"] == 2 and counts["hidden"] == 4 + 2   # 4 inner bars + fit's 2 epoch bars
    shown = [texts(cell) for cell in nb.cells]
    assert shown[0] == ["outer: 100%|██████████| 4/4 " + shown[0][0].split("4/4 ", 1)[1]]
    fit_bar = [t for t in shown[1] if t.startswith("epochs:")]
    assert len(fit_bar) == 1 and "100%|██████████| 2/2" in fit_bar[0] and "stopped early" in fit_bar[0]
    assert "widgets" not in nb.metadata
    nbformat.validate(nb)
