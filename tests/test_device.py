import collections
import contextlib

import pytest
import torch

from course_lib import config
from course_lib import device as dev


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv(config.DEVICE_ENV, raising=False)
    return monkeypatch


def _avail(mp, cuda=False, mps=False, count=1):
    mp.setattr(torch.cuda, "is_available", lambda: cuda)
    mp.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
    mp.setattr(dev, "_mps_available", lambda: mps)


@pytest.mark.parametrize("cuda,mps,expected", [(True, True, "cuda"), (False, True, "mps"),
                                               (False, False, "cpu")])
def test_preference_order(no_override, cuda, mps, expected):
    _avail(no_override, cuda=cuda, mps=mps)
    assert dev.default_device().type == expected


def test_override_by_env(no_override):
    _avail(no_override, cuda=True, count=2)
    for value, expected in [("cpu", "cpu"), ("auto", "cuda"), ("CUDA:1", "cuda:1")]:
        no_override.setenv(config.DEVICE_ENV, value)
        assert str(dev.default_device()) == expected


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cpu:0", "tpu"])
def test_unknown_device_value_is_a_clear_error(no_override, value):
    no_override.setenv(config.DEVICE_ENV, value)
    with pytest.raises(ValueError, match="is not a device.*auto, cpu, cuda"):
        dev.default_device()


def test_requested_but_missing_devices(no_override):
    _avail(no_override, cuda=False, mps=False)
    no_override.setenv(config.DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        dev.default_device()
    no_override.setenv(config.DEVICE_ENV, "mps")
    with pytest.raises(RuntimeError, match="MPS"):
        dev.default_device()
    _avail(no_override, cuda=True, count=1)
    no_override.setenv(config.DEVICE_ENV, "cuda:3")
    with pytest.raises(RuntimeError, match="only 1 GPU"):
        dev.default_device()


def test_describe_cpu_and_mocked_cuda(no_override):
    assert dev.describe(torch.device("cpu")).startswith("cpu")
    props = collections.namedtuple("P", "name total_memory")("Tesla T4", 16 * 2**30)
    no_override.setattr(torch.cuda, "get_device_properties", lambda i: props)
    text = dev.describe(torch.device("cuda:0"))
    assert "Tesla T4" in text and "16 GiB" in text


def test_to_device_nested():
    Pair = collections.namedtuple("Pair", "a b")

    class Encoding(dict):
        pass

    batch = {"x": torch.zeros(2), "rest": [torch.ones(1), (torch.ones(3), "text", 7)],
             "pair": Pair(torch.ones(1), None), "enc": Encoding(ids=torch.ones(2))}
    out = dev.to_device(batch, "meta")
    assert out["x"].device.type == "meta"
    assert out["rest"][0].device.type == "meta" and isinstance(out["rest"][1], tuple)
    assert out["rest"][1][1:] == ("text", 7)
    assert isinstance(out["pair"], Pair) and out["pair"].a.device.type == "meta"
    assert isinstance(out["enc"], Encoding) and out["enc"]["ids"].device.type == "meta"


def test_amp_only_on_cuda(no_override):
    assert not dev.amp_supported("cpu")
    assert isinstance(dev.autocast("cpu"), contextlib.nullcontext)
    assert not dev.grad_scaler("cpu").is_enabled()
    _avail(no_override, cuda=True)
    assert dev.amp_supported("cuda")
    assert not dev.amp_supported("mps")


def test_loader_kwargs_fit_the_device():
    assert dev.loader_kwargs("cpu") == {"num_workers": 0, "pin_memory": False}
    cuda = dev.loader_kwargs("cuda")
    assert cuda["pin_memory"] is True and cuda["num_workers"] >= 1


def test_seed_everything_repeats_and_deterministic_mode():
    import random

    import numpy as np

    dev.seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    dev.seed_everything(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    try:
        dev.seed_everything(1, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        dev.seed_everything(1)
    assert not torch.are_deterministic_algorithms_enabled()
