"""course_lib.interactive: widgets built from plain descriptions, and the fallback without ipywidgets."""

import builtins

import pytest

from course_lib import interactive


def test_interact_builds_the_widgets_and_calls_the_function(monkeypatch):
    import ipywidgets

    seen = {}

    def fake_interact(fn, **kwargs):
        seen.update(kwargs)
        fn(**{k: (w.value if hasattr(w, "value") else w) for k, w in kwargs.items()})

    calls = []
    monkeypatch.setattr(ipywidgets, "interact", fake_interact)
    result = interactive.interact(lambda lr, steps, width, ax=None: calls.append((lr, steps, width, ax)),
                                  lr=interactive.slider(0.3, 0.02, 1.1, 0.01, "α"),
                                  steps=interactive.slider(12, 1, 40), width=interactive.choice([1, 2, 4], 2))
    assert result is None  # a returned widget would be displayed twice
    assert isinstance(seen["lr"], ipywidgets.FloatSlider) and seen["lr"].description == "α"
    assert isinstance(seen["steps"], ipywidgets.IntSlider) and not seen["steps"].continuous_update
    assert isinstance(seen["width"], ipywidgets.SelectionSlider)
    assert calls == [(0.3, 12, 2, None)]


def test_without_ipywidgets_it_says_how_to_call_the_function(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_widgets(name, *args, **kwargs):
        if name.startswith("ipywidgets"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_widgets)

    def show_prediction(review):
        pass

    assert interactive.interact(show_prediction, review=interactive.text("a fine film")) is None
    assert "call show_prediction(review) with your own values" in capsys.readouterr().out


def test_bad_controls_are_clear_errors():
    with pytest.raises(ValueError, match="outside"):
        interactive.slider(5, 0, 1)
    with pytest.raises(ValueError, match="not one of the options"):
        interactive.choice([1, 2], 3)
