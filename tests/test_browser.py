"""JupyterLab in a real browser: open notebook 01, run all cells, check the widget and errors.

Uses Debian's chromium (installed by `python scripts/course.py test` where apt-get is available)
driven by Playwright without downloading a browser. JupyterLab serves a temporary copy of the
notebook on a loopback port, so the committed notebook is never overwritten. A screenshot is saved
to artifacts/jupyterlab-01.png.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_gradient_descent.ipynb"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chromium() -> str:
    """The browser's path; checked before JupyterLab is started for nothing."""
    path = chromium_path()
    if path is None:
        message = ("chromium is not installed: `apt-get install chromium` (Debian/Ubuntu), or let "
                   "`python scripts/course.py test` install it")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def jupyterlab(tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    port, token = _free_port(), "course-test-token"
    settings = tmp_path / "settings"
    # render every cell (no virtual scrolling) and no news pop-up
    for plugin, values in [("@jupyterlab/notebook-extension/tracker", '{"windowingMode": "none"}'),
                           ("@jupyterlab/apputils-extension/notification", '{"fetchNews": "false"}')]:
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(values)
    env = dict(os.environ, **{config.MODE_ENV: "quick"}, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", "--ServerApp.open_browser=False",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
         f"--notebook-dir={tmp_path}",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not start within 60 s:\n" + (tmp_path / "lab.log").read_text())
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== 'code') continue;
    const errors = [];
    for (let i = 0; i < cell.outputs.length; i++) {
      const o = cell.outputs.get(i).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
    cells.push({count: cell.executionCount, errors: errors});
  }
  const busy = document.querySelectorAll('.jp-InputPrompt').length &&
    Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));
  return {cells: cells, busy: busy, status: panel.sessionContext.session?.kernel?.status};
}"""


def test_notebook_01_runs_in_jupyterlab(chromium, jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", timeout=120_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'",
            timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.time() + 300
        state = None
        while time.time() < deadline:
            time.sleep(2)
            state = page.evaluate(STATE_JS)
            if state and not state["busy"] and state["status"] == "idle" and \
                    all(c["count"] is not None for c in state["cells"]):
                break
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-01.png"), full_page=False)
        widget_count = page.locator(".jp-OutputArea-output .widget-slider, "
                                    ".jp-OutputArea-output .jupyter-widgets").count()
        # scroll to the first widget and keep a picture of it as well
        if widget_count:
            widget = page.locator(".jp-OutputArea-output .jupyter-widgets").first
            widget.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-01-widget.png"))
        browser.close()
    assert state is not None, "the notebook panel never appeared"
    not_run = [i for i, c in enumerate(state["cells"]) if c["count"] is None]
    assert not not_run, f"code cells {not_run} did not run within the time limit"
    errors = [(i, e) for i, c in enumerate(state["cells"]) for e in c["errors"]]
    assert not errors, f"cells with errors: {errors}"
    assert widget_count > 0, "the learning-rate widget did not render"
