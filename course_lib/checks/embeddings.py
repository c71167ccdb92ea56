"""Checks for the exercises of notebook 04 (word embeddings).

Each check calls the student's function on small fixed inputs and compares with the reference,
naming the typical mistake when it recognises one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import as_array, call, close, compare, fail, passed


def _cosine_reference(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return matrix @ vector / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector))


def exercise_1(cosine_similarity: Callable[[np.ndarray, np.ndarray], Any]) -> None:
    """Check ``cosine_similarity(matrix [N, D], vector [D]) -> [N]`` (cosine of every row with
    the vector).

    >>> exercise_1(lambda M, v: M @ v / (np.linalg.norm(M, axis=1) * np.linalg.norm(v)))
    ✅ Exercise 1: correct.
    """
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(6, 4)) * rng.uniform(0.5, 3.0, size=(6, 1))  # rows of varied length
    vector = rng.normal(size=4) * 2.5
    expected = _cosine_reference(matrix, vector)
    answer = call(cosine_similarity, matrix.copy(), vector.copy(), name="cosine_similarity",
                  hint="it receives a numpy matrix [N, D] and a vector [D]")
    a = as_array(answer, "cosine_similarity(matrix, vector)")
    dot = matrix @ vector
    variants = {
        "is the plain dot product: the vectors are not normalised":
            dot,
        "divides by the vector's length only; divide by each row's length too":
            dot / np.linalg.norm(vector),
        "divides by the rows' lengths only; divide by the query vector's length too":
            dot / np.linalg.norm(matrix, axis=1),
        "uses squared lengths (sum of squares) instead of lengths":
            dot / ((matrix ** 2).sum(1) * (vector ** 2).sum()),
    }
    for message, wrong in variants.items():
        if close(a, wrong, rtol=1e-6, atol=1e-9):
            fail(f"cosine_similarity {message}.",
                 "cos(u, v) = u·v / (‖u‖ ‖v‖), with np.linalg.norm(matrix, axis=1) for the rows")
    col_normed = matrix / np.linalg.norm(matrix, axis=0)
    if close(a, col_normed @ vector / np.linalg.norm(vector), rtol=1e-6, atol=1e-9):
        fail("cosine_similarity normalises the matrix's columns (axis=0) instead of its rows.",
             "each row is a word vector: use np.linalg.norm(matrix, axis=1, keepdims=True)")
    if a.shape == expected.shape and np.any(np.abs(a) > 1 + 1e-6):
        fail("some of your cosine similarities are outside [-1, 1].",
             "cos(u, v) = u·v / (‖u‖ ‖v‖) is always between -1 and 1")
    compare(a, expected, "cosine_similarity(matrix, vector)", rtol=1e-6, atol=1e-9,
            hint="one similarity per row of the matrix, shape [N]: u·v / (‖u‖ ‖v‖)")
    passed("Exercise 1")


def exercise_2(analogy_vector: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> None:
    """Check ``analogy_vector(a, b, c)``: the query vector for "a is to b as c is to ?"
    (e.g. man : king :: woman : ?), i.e. b - a + c. Any positive multiple is accepted, since
    only its direction matters for a cosine search.

    >>> exercise_2(lambda a, b, c: b - a + c)
    ✅ Exercise 2: correct.
    """
    rng = np.random.default_rng(7)
    a, b, c = (v / np.linalg.norm(v) for v in rng.normal(size=(3, 5)))
    expected = b - a + c
    answer = call(analogy_vector, a.copy(), b.copy(), c.copy(), name="analogy_vector",
                  hint="it receives three numpy vectors")
    ans = as_array(answer, "analogy_vector(a, b, c)")
    if ans.shape != expected.shape:
        compare(ans, expected, "analogy_vector(a, b, c)")
    wrong = {
        "a - b + c": a - b + c, "a + b - c": a + b - c, "b - a - c": b - a - c,
        "b + a - c": b + a - c, "c - b + a": c - b + a, "b - c + a": b - c + a, "a + b + c": a + b + c,
    }
    for formula, vec in wrong.items():
        if _same_direction(ans, vec):
            fail(f"your vector points along {formula}: the signs are in the wrong order.",
                 "man : king :: woman : ?  ->  king - man + woman, i.e. b - a + c "
                 "(start from b, remove what a has, add what c has)")
    if _same_direction(ans, -expected):
        fail("your vector points exactly the wrong way (a - b - c).", "use b - a + c")
    if not _same_direction(ans, expected):
        compare(ans, expected, "analogy_vector(a, b, c)", hint="the answer is b - a + c")
    passed("Exercise 2")


def _same_direction(x: np.ndarray, y: np.ndarray) -> bool:
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    return bool(nx > 0 and ny > 0 and np.allclose(x / nx, y / ny, atol=1e-6))


def _sgns_reference(center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor
                    ) -> torch.Tensor:
    pos = torch.nn.functional.logsigmoid((center * context).sum(-1))
    neg = torch.nn.functional.logsigmoid(-torch.einsum("bkd,bd->bk", negatives, center)).sum(-1)
    return -(pos + neg).mean()


def exercise_3(sgns_loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Any]) -> None:
    """Check ``sgns_loss(center [B, D], context [B, D], negatives [B, K, D]) -> scalar``: the
    skip-gram negative-sampling loss averaged over the batch,
    -mean_b [log σ(u·v) + Σ_k log σ(-u·n_k)].

    >>> import torch.nn.functional as F
    >>> exercise_3(lambda u, v, n: -(F.logsigmoid((u * v).sum(-1))
    ...     + F.logsigmoid(-(n @ u.unsqueeze(-1)).squeeze(-1)).sum(-1)).mean())
    ✅ Exercise 3: correct.
    """
    gen = torch.Generator().manual_seed(3)
    center = torch.randn(8, 6, generator=gen, requires_grad=True)
    context = torch.randn(8, 6, generator=gen)
    negatives = torch.randn(8, 4, 6, generator=gen)
    expected = _sgns_reference(center, context, negatives)
    loss = call(sgns_loss, center, context, negatives, name="sgns_loss",
                hint="shapes: center [B, D], context [B, D], negatives [B, K, D]; "
                     "(negatives @ center.unsqueeze(-1)).squeeze(-1) gives the [B, K] dot products")
    if not isinstance(loss, torch.Tensor):
        fail(f"sgns_loss returned a {type(loss).__name__}, not a torch tensor.",
             "use torch operations (F.logsigmoid, .sum, .mean) so that autograd can train with it")
    if loss.numel() != 1:
        fail(f"sgns_loss returned shape {tuple(loss.shape)}; expected a single number.",
             "average the per-pair losses over the batch with .mean()")
    if not loss.requires_grad:
        fail("sgns_loss is detached from the graph: no gradient can flow to the embeddings.",
             "avoid .item(), .detach(), .numpy() and torch.tensor(...) inside the loss")
    value = float(loss.detach())
    e = float(expected.detach())
    ls = torch.nn.functional.logsigmoid
    pos_dot = (center * context).sum(-1).detach()
    neg_dot = torch.einsum("bkd,bd->bk", negatives, center).detach()
    variants = {
        "treats the negatives like positives (log σ(+u·n) instead of log σ(-u·n))":
            -(ls(pos_dot) + ls(neg_dot).sum(-1)).mean(),
        "flips the sign of the positive pair's score (log σ(-u·v))":
            -(ls(-pos_dot) + ls(-neg_dot).sum(-1)).mean(),
        "has both dot-product signs flipped":
            -(ls(-pos_dot) + ls(neg_dot).sum(-1)).mean(),
        "averages over the negatives instead of summing over them":
            -(ls(pos_dot) + ls(-neg_dot).mean(-1)).mean(),
        "subtracts the negatives' term instead of adding it":
            -(ls(pos_dot) - ls(-neg_dot).sum(-1)).mean(),
    }
    for message, wrong in variants.items():
        w = float(wrong)
        if np.isclose(value, w, rtol=1e-5, atol=1e-7):
            fail(f"your loss {message}.",
                 "positive pairs should get a high score u·v and negatives a low one: "
                 "loss = -[log σ(u·v) + Σ_k log σ(-u·n_k)], averaged over the batch")
    if np.isclose(value, -e, rtol=1e-5):
        fail("your loss has the wrong overall sign: it is the log-likelihood, not its negative.",
             "minimising should *increase* log σ(u·v); put a minus in front")
    compare(value, e, "sgns_loss", rtol=1e-5, atol=1e-7,
            hint="a constant factor usually means .sum() over the batch instead of .mean()")
    passed("Exercise 3")
