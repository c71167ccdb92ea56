"""Every check of notebook 04 accepts the reference and rejects typical wrong answers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailed
from course_lib.checks import embeddings as ck


def rejects(check, answer, *fragments):
    with pytest.raises(CheckFailed) as info:
        check(answer)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --- exercise 1: cosine similarity
def cos_ref(M, v):
    return M @ v / (np.linalg.norm(M, axis=1) * np.linalg.norm(v))


def test_ex1_accepts_reference_and_torch(capsys):
    ck.exercise_1(cos_ref)
    ck.exercise_1(lambda M, v: F.cosine_similarity(torch.tensor(M), torch.tensor(v)[None], dim=1))
    assert "correct" in capsys.readouterr().out


def test_ex1_rejects_missing_normalisation():
    rejects(ck.exercise_1, lambda M, v: M @ v, "not normalised")
    rejects(ck.exercise_1, lambda M, v: M @ v / np.linalg.norm(v), "each row's length")


def test_ex1_rejects_wrong_axis():
    rejects(ck.exercise_1,
            lambda M, v: (M / np.linalg.norm(M, axis=0)) @ (v / np.linalg.norm(v)), "axis=0")


def test_ex1_rejects_wrong_shape_and_crash():
    rejects(ck.exercise_1, lambda M, v: cos_ref(M, v)[:, None], "shape")
    rejects(ck.exercise_1, lambda M, v: M.dot(v, axis=1), "raised")


# --- exercise 2: analogy vector
def test_ex2_accepts_reference_and_scaled(capsys):
    ck.exercise_2(lambda a, b, c: b - a + c)
    ck.exercise_2(lambda a, b, c: (b - a + c) / np.linalg.norm(b - a + c))
    assert "correct" in capsys.readouterr().out


def test_ex2_rejects_wrong_sign_order():
    rejects(ck.exercise_2, lambda a, b, c: a - b + c, "a - b + c", "wrong order")
    rejects(ck.exercise_2, lambda a, b, c: a + b - c, "a + b - c")
    rejects(ck.exercise_2, lambda a, b, c: a - b - c, "wrong way")


def test_ex2_rejects_other_answers():
    rejects(ck.exercise_2, lambda a, b, c: b, "differs")
    rejects(ck.exercise_2, lambda a, b, c: np.stack([a, b, c]), "shape")


# --- exercise 3: negative-sampling loss
def sgns_ref(u, v, n):
    pos = F.logsigmoid((u * v).sum(-1))
    neg = F.logsigmoid(-(n @ u.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return -(pos + neg).mean()


def test_ex3_accepts_reference(capsys):
    ck.exercise_3(sgns_ref)
    # the same loss written with log(1 - sigmoid) and an einsum is also right
    ck.exercise_3(lambda u, v, n: -(torch.log(torch.sigmoid((u * v).sum(1)))
                                    + torch.log(1 - torch.sigmoid(torch.einsum("bkd,bd->bk", n, u))
                                                ).sum(1)).mean())
    assert "correct" in capsys.readouterr().out


def test_ex3_rejects_sign_errors():
    rejects(ck.exercise_3, lambda u, v, n: -(F.logsigmoid((u * v).sum(-1)) + F.logsigmoid(
        (n @ u.unsqueeze(-1)).squeeze(-1)).sum(-1)).mean(), "negatives like positives")
    rejects(ck.exercise_3, lambda u, v, n: -sgns_ref(u, v, n), "wrong overall sign")
    rejects(ck.exercise_3, lambda u, v, n: -(F.logsigmoid(-(u * v).sum(-1)) + F.logsigmoid(
        -(n @ u.unsqueeze(-1)).squeeze(-1)).sum(-1)).mean(), "positive pair")


def test_ex3_rejects_sum_instead_of_mean_and_detached_or_vector_losses():
    rejects(ck.exercise_3, lambda u, v, n: sgns_ref(u, v, n) * 8, "constant factor")
    rejects(ck.exercise_3, lambda u, v, n: torch.tensor(sgns_ref(u, v, n).item()), "detached")
    rejects(ck.exercise_3, lambda u, v, n: sgns_ref(u, v, n).item(), "not a torch tensor")
    rejects(ck.exercise_3, lambda u, v, n: -F.logsigmoid((u * v).sum(-1)), "single number")


def test_unfinished_exercise_passes_the_placeholder_through():
    def unfinished(M, v):
        raise NotImplementedError("Exercise: write this function")

    with pytest.raises(NotImplementedError, match="Exercise"):
        ck.exercise_1(unfinished)
