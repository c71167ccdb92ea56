"""Notebook plumbing for interaction and progress: widgets with a plain fallback, and a
progress bar for gensim's training.

A notebook draws its picture once with fixed values (so the stored notebook shows it without a
live kernel) and then calls :func:`interact` to add controls. The controls are described with
:func:`slider`, :func:`choice` and :func:`text`, which need no ipywidgets; :func:`interact` builds
the real widgets when ipywidgets is installed and otherwise prints how to call the function by hand::

    show_lr_run(lr=0.85)                                   # the static picture
    interactive.interact(show_lr_run, lr=interactive.slider(0.3, 0.02, 1.1, 0.01, "α"))
"""

from __future__ import annotations

import inspect

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Control:
    """A widget description: ``kind`` is "slider", "choice" or "text"; built by :func:`interact`."""

    kind: str
    value: Any
    description: str | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple[Any, ...] = ()


def slider(value: float, low: float, high: float, step: float | None = None,
           description: str | None = None) -> Control:
    """A slider from ``low`` to ``high`` starting at ``value``; integers give an integer slider.

    >>> slider(12, 1, 40, description="steps").kind
    'slider'
    """
    if not low <= value <= high:
        raise ValueError(f"slider value {value} is outside [{low}, {high}]")
    return Control("slider", value, description, low, high, step)


def choice(options: Sequence[Any], value: Any = None, description: str | None = None) -> Control:
    """A slider over a list of ``options`` (numbers or strings), starting at ``value``.

    >>> choice([1, 2, 4, 8], value=4).value
    4
    """
    options = tuple(options)
    if not options:
        raise ValueError("choice() needs at least one option")
    value = options[0] if value is None else value
    if value not in options:
        raise ValueError(f"choice value {value!r} is not one of the options {options}")
    return Control("choice", value, description, options=options)


def text(value: str = "", description: str | None = None) -> Control:
    """A one-line text box (the function runs when Enter is pressed).

    >>> text("a fine film").value
    'a fine film'
    """
    return Control("text", value, description)


def _widget(name: str, control: Control) -> Any:
    import ipywidgets as w

    label = control.description or name
    if control.kind == "slider":
        numbers = (control.value, control.low, control.high, control.step or 1)
        cls = w.IntSlider if all(isinstance(v, int) for v in numbers) else w.FloatSlider
        kwargs = {} if control.step is None else {"step": control.step}
        return cls(value=control.value, min=control.low, max=control.high, description=label,
                   continuous_update=False, **kwargs)
    if control.kind == "choice":
        return w.SelectionSlider(options=list(control.options), value=control.value,
                                 description=label, continuous_update=False)
    if control.kind == "text":
        return w.Text(value=control.value, description=label, continuous_update=False)
    raise ValueError(f"unknown control kind {control.kind!r}")


def fallback_message(fn: Callable[..., Any], names: Sequence[str]) -> str:
    """The line printed when ipywidgets is missing.

    >>> def show(lr, steps): pass
    >>> fallback_message(show, ["lr", "steps"])
    'ipywidgets is not installed: call show(lr, steps) with your own values instead.'
    """
    return (f"ipywidgets is not installed: call {getattr(fn, '__name__', 'the function')}"
            f"({', '.join(names)}) with your own values instead.")


def interact(fn: Callable[..., Any], **controls: Control | Any) -> Any:
    """Call ``fn`` under live controls (ipywidgets' ``interact``); a keyword that is not a
    :class:`Control` is passed to ``fn`` unchanged, and so are ``fn``'s other default values.
    Without ipywidgets, print how to call ``fn``
    by hand. Returns None (a returned widget would be displayed twice).

    >>> import builtins, unittest.mock
    >>> real_import = builtins.__import__
    >>> def no_widgets(name, *args, **kwargs):
    ...     if name.startswith("ipywidgets"): raise ImportError(name)
    ...     return real_import(name, *args, **kwargs)
    >>> def show(width): pass
    >>> with unittest.mock.patch("builtins.__import__", no_widgets):
    ...     interact(show, width=choice([1, 2, 4]))
    ipywidgets is not installed: call show(width) with your own values instead.
    """
    try:
        import ipywidgets
    except ImportError:
        print(fallback_message(fn, [k for k, v in controls.items() if isinstance(v, Control)]))
        return None
    kwargs = {k: _widget(k, v) if isinstance(v, Control) else ipywidgets.fixed(v)
              for k, v in controls.items()}
    for name, param in inspect.signature(fn).parameters.items():  # other defaults stay as they are
        if name not in kwargs and param.default is not param.empty:
            kwargs[name] = ipywidgets.fixed(param.default)
    ipywidgets.interact(fn, **kwargs)  # displays the controls and the output once
    return None  # returning the widget would make Jupyter display it a second time


def gensim_progress(desc: str = "") -> Any:
    """A gensim callback that drives a ``tqdm.auto`` bar over the training epochs; pass it as
    ``Word2Vec(..., callbacks=[gensim_progress("skip-gram")])``.

    >>> bar = gensim_progress("demo")
    >>> type(bar).__name__, bar.desc
    ('EpochBar', 'demo')
    """
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm.auto import tqdm

    class EpochBar(CallbackAny2Vec):
        """One tick per finished epoch; the bar closes when training ends."""

        def __init__(self, desc: str) -> None:
            self.desc = desc
            self.bar: Any = None

        def on_train_begin(self, model: Any) -> None:
            self.bar = tqdm(total=model.epochs, desc=self.desc)

        def on_epoch_end(self, model: Any) -> None:
            self.bar.update(1)

        def on_train_end(self, model: Any) -> None:
            self.bar.close()

    return EpochBar(desc)
