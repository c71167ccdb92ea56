"""Check the course environment: an OK/FAIL table with the fix for every FAIL.

Notebook 00 shows it; from a shell: ``python -m course_lib.envcheck`` (exit code 1 on a FAIL).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re
import sys
import unicodedata
from dataclasses import dataclass

from .i18n import _

# the English text; the table shows setup_fix(), the same in the current language
SETUP_FIX = "python scripts/course.py setup   (from the course folder; installs the pinned set)"


def setup_fix() -> str:
    """The fix that reinstalls the course's pinned environment, in the current language.

    >>> setup_fix() == SETUP_FIX
    True
    """
    return _("python scripts/course.py setup   (from the course folder; installs the pinned set)")


@dataclass(frozen=True)
class Check:
    """One row of the table."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    @property
    def status(self) -> str:
        """``"OK"`` or ``"FAIL"``."""
        return "OK" if self.ok else "FAIL"


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def check_python() -> Check:
    """Python 3.10 or newer.

    >>> check_python().ok
    True
    """
    v = sys.version_info
    return Check("Python", v >= (3, 10), f"{v.major}.{v.minor}.{v.micro} ({sys.executable})",
                 _("install Python 3.10-3.12 and re-run the setup"))


def check_torch() -> Check:
    """torch imports and can multiply two matrices.

    >>> check_torch().ok
    True
    """
    try:
        import torch

        x = torch.ones(2, 2)
        assert float((x @ x).sum()) == 8.0
    except Exception as exc:  # broken install
        return Check("torch", False, f"{type(exc).__name__}: {exc}", setup_fix())
    cuda = torch.version.cuda
    build = _("CUDA {cuda} build", cuda=cuda) if cuda else _("CPU-only build")
    return Check("torch", True, f"{torch.__version__} ({build})")


def expected_torchvision(torch_version: str) -> str:
    """The torchvision minor series made for a torch version (torch 2.X <-> torchvision 0.(X+15)).

    >>> expected_torchvision("2.14.1+cu130")
    '0.29'
    """
    major, minor = (int(p) for p in torch_version.split("+")[0].split(".")[:2])
    if major != 2:
        raise ValueError(_("unsupported torch version {version}", version=torch_version))
    return f"0.{minor + 15}"


def check_torchvision() -> Check:
    """torchvision imports *and runs a compiled op* (nms) with this torch.

    >>> check_torchvision().ok
    True
    """
    import torch

    tv_version = _version("torchvision")
    if tv_version is None:
        return Check("torchvision", False, _("not installed"), setup_fix())
    want = expected_torchvision(torch.__version__)
    pair_fix = _(
        "torch and torchvision must come from the same place as a pair. Run: {setup}. "
        "By hand: pip install \"torch=={torch}\" \"torchvision=={want}.*\" from ONE index (PyPI, "
        "or the CPU index https://download.pytorch.org/whl/cpu for both).",
        setup=setup_fix(), torch=torch.__version__.split('+')[0], want=want)
    try:
        import torchvision
        from torchvision.ops import nms

        keep = nms(torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1.1]]), torch.tensor([0.9, 0.8]), 0.5)
        assert keep.tolist() == [0]
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(
            "torchvision", False,
            _("{tv} is installed but does not work with torch {torch}: {msg}. "
              "(A torchvision built for one torch -- e.g. PyPI's CUDA build -- cannot run with "
              "another, e.g. a local CPU-only torch.)", tv=tv_version, torch=torch.__version__,
              msg=msg), pair_fix)
    if not torchvision.__version__.startswith(want + "."):
        return Check("torchvision", False,
                     _("{tv} works now but is made for another torch "
                       "(torch {torch} pairs with torchvision {want}.x)",
                       tv=torchvision.__version__, torch=torch.__version__, want=want), pair_fix)
    return Check("torchvision", True, _("{tv} (nms op ran with this torch)",
                                        tv=torchvision.__version__))


def check_import(dist: str, module: str, attr: str | None = None, fix: str | None = None) -> Check:
    """A package is installed and importable (optionally an attribute of it exists); ``fix``
    defaults to :func:`setup_fix`.

    >>> check_import("numpy", "numpy", "ndarray").ok
    True
    """
    fix = setup_fix() if fix is None else fix
    try:
        mod = importlib.import_module(module)
        if attr:
            getattr(mod, attr)
    except Exception as exc:
        return Check(dist, False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                     fix)
    return Check(dist, True, _version(dist) or getattr(mod, "__version__", "?"))


def check_course_lib() -> Check:
    """course_lib is installed (editable), not just importable from the current folder: a notebook
    opened from another folder needs the installed package.

    >>> check_course_lib().ok
    True
    """
    version = _version("course-lib")
    if version is None:
        return Check("course-lib", False, _("importable from this folder only, not installed"),
                     _("pip install -e .  (from the course folder)"))
    return Check("course-lib", True, version)


def check_device() -> Check:
    """The device the notebooks will use (cuda, mps or cpu) -- always OK, says which.

    >>> check_device().ok
    True
    """
    try:
        from .device import default_device, describe

        return Check(_("device"), True, describe(default_device()))
    except Exception as exc:  # bad COURSE_DEVICE or a broken driver
        return Check(_("device"), False, str(exc), _("unset COURSE_DEVICE or fix its value"))


def check_mode() -> Check:
    """``COURSE_MODE`` is valid.

    >>> check_mode().ok
    True
    """
    from . import config

    try:
        return Check(_("course mode"), True, config.mode())
    except ValueError as exc:
        return Check(_("course mode"), False, str(exc),
                     _("export COURSE_MODE=quick or full, or unset it"))


def check_data() -> list[Check]:
    """One row per dataset / model of the data registry (offline carriers or cached downloads).

    The rows are named ``data: <source>`` in every language (notebook 00 selects them by it).
    """
    try:
        from . import data

        rows = data.status()
    except Exception as exc:
        return [Check(_("data layer"), False, f"{type(exc).__name__}: {exc}", setup_fix())]
    out = []
    for s in rows:
        size = f", {s.size_bytes / 1e6:.1f} MB" if s.present and s.size_bytes else ""
        if s.present:
            route = {"package": _("package"), "cache": _("cache")}.get(s.route or "", s.route)
            out.append(Check(f"data: {s.name}", True, f"{route}: {s.location}{size}"))
        elif not s.required:  # online-only extras (e.g. IMDB): not needed offline
            out.append(Check(f"data: {s.name}", True,
                             _("not downloaded (optional, online only; {fix})", fix=s.fix)))
        else:
            out.append(Check(f"data: {s.name}", False,
                             getattr(s, "problem", None) or _("missing"), s.fix))
    return out


def run_checks() -> list[Check]:
    """Every check, in table order."""
    rows = [check_python(), check_torch(), check_torchvision(),
            check_import("transformers", "transformers", "AutoModelForSequenceClassification"),
            check_import("gensim", "gensim.models", "Word2Vec"),
            check_import("nltk", "nltk.tokenize", "TreebankWordTokenizer"),
            check_import("ipywidgets", "ipywidgets", "FloatSlider"),
            check_import("matplotlib", "matplotlib.pyplot"),
            check_import("scikit-learn", "sklearn.linear_model", "LogisticRegression"),
            # Part II: explaining (08), compressing and serving (09, 10), the website
            check_import("lime", "lime.lime_text", "LimeTextExplainer"),
            check_import("shap", "shap", "PermutationExplainer"),
            check_import("captum", "captum.attr", "IntegratedGradients"),
            check_import("onnxruntime", "onnxruntime", "InferenceSession"),
            check_import("onnxscript", "onnxscript"),
            check_import("fastapi", "fastapi", "FastAPI"),
            check_import("uvicorn", "uvicorn", "Config"),
            check_course_lib(),
            check_mode(), check_device()]
    return rows + check_data()


def as_text(rows: list[Check]) -> str:
    """A plain-text table (for the shell).

    >>> print(as_text([Check("numpy", True, "2.4.6"), Check("torch", False, "missing", "pip install torch")]))
    OK    numpy  2.4.6
    FAIL  torch  missing
                 fix: pip install torch
    """
    width = max(_columns(r.name) for r in rows)
    lines = []
    for r in rows:
        lines.append(f"{r.status:<4}  {r.name}{' ' * (width - _columns(r.name))}  {r.detail}")
        if not r.ok and r.fix:
            lines.append(f"{'':<4}  {'':<{width}}  " + _("fix: {fix}", fix=r.fix))
    return "\n".join(lines)


def _columns(text: str) -> int:
    """The terminal columns ``text`` takes (a Chinese character takes two).

    >>> _columns("device"), _columns("设备")
    (6, 4)
    """
    return len(text) + sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def as_html(rows: list[Check]) -> str:
    """An HTML table with green OK / red FAIL cells (for a notebook).

    >>> as_html([Check("x", False, "broken", "reinstall")]).count("<tr>")
    2
    """
    from html import escape

    with_fix = any(not r.ok for r in rows)   # a "fix" column only when something needs one
    cells = []
    for r in rows:
        color = "#1a7f37" if r.ok else "#cf222e"
        fix = f"<td style='text-align:left'><code>{escape(r.fix)}</code></td>" if not r.ok else "<td></td>"
        cells.append(
            f"<tr><td style='color:{color};font-weight:bold'>{r.status}</td>"
            f"<td style='text-align:left'>{escape(r.name)}</td>"
            f"<td style='text-align:left'>{escape(_short_paths(r.detail))}</td>"
            f"{fix if with_fix else ''}</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in
                   (_("status"), _("check"), _("detail")) + ((_("fix"),) if with_fix else ()))
    head = f"<tr>{head}</tr>"
    return f"<table>{head}{''.join(cells)}</table>"


def _short_paths(text: str) -> str:
    """Paths inside the Python environment, shortened to what a reader needs to recognise.

    >>> _short_paths("package: /home/me/course/.venv/lib/python3.11/site-packages/mnist/data/x.gz")
    'package: site-packages/mnist/data/x.gz'
    """
    text = re.sub(r"(?:/[^\s/:]+)+/(site-packages|dist-packages)/", r"\1/", text)
    from . import config

    root = config.repo_root()
    return text.replace(f"{root}/", "") if root is not None else text


def main() -> int:
    """Print the table; exit status 1 if any check failed."""
    rows = run_checks()
    print(as_text(rows))
    failed = [r.name for r in rows if not r.ok]
    summary = _("{ok} OK, {failed} FAIL", ok=len(rows) - len(failed), failed=len(failed))
    print("\n" + summary + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
