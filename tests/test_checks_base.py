import numpy as np
import pytest
import torch

from course_lib.checks import CheckFailed, as_array, compare, fail, passed


def test_compare_accepts_close_answers():
    assert compare(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])).shape == (2,)


@pytest.mark.parametrize("answer,expected,message", [
    (np.ones((3, 2)), np.ones((2, 3)), "transposed"),
    (np.arange(6.0), np.arange(6.0).reshape(2, 3), "right numbers but shape"),
    (np.ones(4), np.ones(3), "shape"),
    ([np.nan, 1.0], [1.0, 1.0], "NaN"),
    ([-1.0, -2.0], [1.0, 2.0], "wrong sign"),
    ([2.0, 4.0], [1.0, 2.0], "constant factor: about 2"),
    ([1.0, 5.0], [1.0, 2.0], "largest difference 3"),
])
def test_compare_diagnoses(answer, expected, message):
    with pytest.raises(CheckFailed, match=message):
        compare(answer, expected)


def test_fail_passed_and_as_array(capsys):
    with pytest.raises(CheckFailed, match="(?s)bad.*Hint: fix it"):
        fail("bad", "fix it")
    passed("Exercise 2", "nice")
    assert "Exercise 2: correct. nice" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="numeric"):
        as_array(object())
