"""Every check of notebook 08 accepts the reference answer and rejects typical wrong answers."""

import re

import numpy as np
import pandas as pd
import pytest
from captum.attr import IntegratedGradients
from sklearn.linear_model import Ridge

from course_lib.checks import CheckFailed
from course_lib.checks import explain as checks

# ----------------------------------------------------------------------------- exercise 1


def weighted_ridge(Z, y, weights, alpha):
    z_mean = weights @ Z / weights.sum()
    y_mean = weights @ y / weights.sum()
    Zc, yc = Z - z_mean, y - y_mean
    A = Zc.T @ (weights[:, None] * Zc) + alpha * np.eye(Z.shape[1])
    coef = np.linalg.solve(A, Zc.T @ (weights * yc))
    return coef, y_mean - z_mean @ coef


def test_ex1_accepts_reference(capsys):
    checks.exercise_1(weighted_ridge)
    assert "correct" in capsys.readouterr().out


def test_ex1_reference_matches_sklearn_ridge():
    Z, y, weights, alpha = checks._ridge_data()
    ridge = Ridge(alpha=alpha).fit(Z, y, sample_weight=weights)
    coef, b = weighted_ridge(Z, y, weights, alpha)
    np.testing.assert_allclose(coef, ridge.coef_, rtol=1e-7, atol=1e-10)
    assert b == pytest.approx(ridge.intercept_, rel=1e-7)


def test_ex1_rejects_sklearn_ridge():
    # module-level import, as in the notebook: the check switches off the global name too
    def with_sklearn(Z, y, weights, alpha):
        r = Ridge(alpha=alpha).fit(Z, y, sample_weight=weights)
        return r.coef_, r.intercept_

    with pytest.raises(CheckFailed, match="calls sklearn.linear_model.Ridge"):
        checks.exercise_1(with_sklearn)


def _augmented(Z, y, weights, alpha):
    A = np.c_[Z, np.ones(len(Z))]
    sol = np.linalg.solve(A.T @ (weights[:, None] * A) + alpha * np.eye(A.shape[1]), A.T @ (weights * y))
    return sol[:-1], sol[-1]


@pytest.mark.parametrize("wrong, message", [
    (lambda Z, y, w, a: weighted_ridge(Z, y, np.ones_like(w), a), "ignores the sample weights"),
    (lambda Z, y, w, a: weighted_ridge(Z, y, w ** 2, a), "squared weights"),
    (_augmented, "penalises the intercept"),
    (lambda Z, y, w, a: (np.linalg.solve(Z.T @ (w[:, None] * Z) + a * np.eye(Z.shape[1]), Z.T @ (w * y)), 0.0),
     "no intercept"),
    (lambda Z, y, w, a: weighted_ridge(Z, y, w, 0.0), "ignores alpha"),
    (lambda Z, y, w, a: weighted_ridge(Z, y, w, a)[0], "two things"),
    (lambda Z, y, w, a: (weighted_ridge(Z, y, w, a)[0], 0.5), "intercept is"),
    (lambda Z, y, w, a: (np.linalg.lstsq(Z, y, rcond=None)[0], 0.0), "calls numpy.linalg.lstsq"),
])
def test_ex1_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_1(wrong)


# ----------------------------------------------------------------------------- exercise 2


def ig_trapezoid(grad_fn, x, baseline, steps):
    alphas = np.linspace(0.0, 1.0, steps)
    w = np.full(steps, 1.0 / (steps - 1))
    w[[0, -1]] /= 2
    avg_grad = sum(wk * grad_fn(baseline + a * (x - baseline)) for wk, a in zip(w, alphas))
    return (x - baseline) * avg_grad


def test_ex2_accepts_reference(capsys):
    checks.exercise_2(ig_trapezoid)
    out = capsys.readouterr().out
    assert "correct" in out and "steps=40" in out


def test_ex2_accepts_a_vectorised_answer(capsys):
    def vectorised(grad_fn, x, baseline, steps):
        alphas = np.linspace(0, 1, steps)[:, None]
        grads = grad_fn(baseline + alphas * (x - baseline))          # [steps, d]
        return (x - baseline) * np.trapezoid(grads, dx=1 / (steps - 1), axis=0)

    checks.exercise_2(vectorised)
    assert "correct" in capsys.readouterr().out


def test_ex2_completeness_of_the_reference_improves_with_steps():
    x, b = np.array([0.9, -0.4, 1.3, 0.2, -1.1]), np.zeros(5)
    delta = checks._f(x) - checks._f(b)
    errs = [abs(ig_trapezoid(checks._grad_f, x, b, m).sum() - delta) for m in (5, 40)]
    assert errs[1] < errs[0] / 20


def _rule(alphas_of, weights_of):
    def ig(grad_fn, x, baseline, steps):
        alphas, weights = alphas_of(steps), weights_of(steps)
        return (x - baseline) * sum(w * grad_fn(baseline + a * (x - baseline)) for w, a in zip(weights, alphas))
    return ig


@pytest.mark.parametrize("wrong, message", [
    (_rule(lambda m: (np.arange(m) + 0.5) / m, lambda m: np.full(m, 1 / m)), "midpoint rule"),
    (_rule(lambda m: np.arange(m) / m, lambda m: np.full(m, 1 / m)), "left Riemann"),
    (_rule(lambda m: np.linspace(0, 1, m), lambda m: np.full(m, 1 / m)), "does not halve"),
    (_rule(lambda m: np.linspace(0, 1, m), lambda m: np.r_[0.5, np.ones(m - 2), 0.5] / m), r"\(m-1\)/m"),
    (_rule(lambda m: np.linspace(0, 1, m), lambda m: np.r_[0.5, np.ones(m - 2), 0.5]), "step size"),
    (lambda g, x, b, m: ig_trapezoid(g, x, b, m) / (x - b), "without multiplying"),
    (lambda g, x, b, m: (x - b) * g(x), "gradient x input"),
    (lambda g, x, b, m: ig_trapezoid(g, x, b, m).sum(), "shape"),
])
def test_ex2_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_2(wrong)


def test_ex2_rejects_captum():
    def with_captum(grad_fn, x, baseline, steps):
        IntegratedGradients(lambda t: t.sum(-1))
        return ig_trapezoid(grad_fn, x, baseline, steps)

    with pytest.raises(CheckFailed, match="calls captum.attr.IntegratedGradients"):
        checks.exercise_2(with_captum)


# ----------------------------------------------------------------------------- exercise 3


def words_of(text):
    return list(dict.fromkeys(re.findall(r"\w+", text)))


def remove_words(text, drop):
    return re.sub(r"\w+", lambda m: "" if m.group() in drop else m.group(), text)


def sufficiency(predict_proba, text, scores, k):
    top = set(scores.sort_values(ascending=False, kind="stable").index[:k])
    p_full = predict_proba([text])[0]
    label = int(np.argmax(p_full))
    kept = remove_words(text, set(words_of(text)) - top)
    return p_full[label] - predict_proba([kept])[0, label]


def test_ex3_accepts_reference(capsys):
    checks.exercise_3(sufficiency)
    assert "correct" in capsys.readouterr().out


def test_ex3_cases_tell_the_mistakes_apart():
    variants = ({"keep": False}, {"rank": "bottom"}, {"rank": "abs"}, {"label_rule": "reduced"},
                {"label_rule": "positive"})
    for kw in variants:
        differs = []
        for text, values, k in checks._CASES:
            scores = pd.Series(values, index=words_of(text))
            assert len(values) == len(words_of(text))
            ref = checks._sufficiency(checks._toy_proba, text, scores, k)
            differs.append(abs(checks._sufficiency(checks._toy_proba, text, scores, k, **kw) - ref) > 1e-3)
        assert any(differs), kw


def _top(scores, k, ascending=False, key=None):
    s = scores.abs() if key == "abs" else scores
    return set(s.sort_values(ascending=ascending, kind="stable").index[:k])


def _suff(predict_proba, text, chosen, keep=True, label_rule="full"):
    p_full = predict_proba([text])[0]
    drop = set(words_of(text)) - chosen if keep else chosen
    p_new = predict_proba([remove_words(text, drop)])[0]
    label = {"full": int(np.argmax(p_full)), "positive": 1, "reduced": int(np.argmax(p_new))}[label_rule]
    return p_full[label] - p_new[label]


@pytest.mark.parametrize("wrong, message", [
    (lambda f, t, s, k: _suff(f, t, _top(s, k), keep=False), "comprehensiveness"),
    (lambda f, t, s, k: _suff(f, t, _top(s, k, ascending=True)), "LOWEST"),
    (lambda f, t, s, k: _suff(f, t, _top(s, k, key="abs")), r"\|score\|"),
    (lambda f, t, s, k: _suff(f, t, _top(s, k), label_rule="reduced"), "reduced text"),
    (lambda f, t, s, k: -_suff(f, t, _top(s, k)), "sign reversed"),
    (lambda f, t, s, k: _suff(f, t, _top(s, k), label_rule="positive"), "always uses class 1"),
    (lambda f, t, s, k: [_suff(f, t, _top(s, k))] * 2, "one number"),
    (lambda f, t, s, k: f(t), "raised TypeError"),
])
def test_ex3_rejects(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.exercise_3(wrong)
