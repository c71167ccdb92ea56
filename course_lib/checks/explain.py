"""Checks for the exercises of notebook 08 (explaining predictions).

Typical mistakes get their own message: a LIME fit that ignores the kernel weights, penalises the
intercept or drops it; an Integrated-Gradients sum with the wrong quadrature (midpoint or left
Riemann instead of the trapezoid, weights that add up to (m-1)/m, ends not halved) or without the
factor (x - baseline); a sufficiency score that deletes the top words instead of keeping them, ranks
by absolute score, or explains class 1 instead of the predicted class.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from course_lib.i18n import _

from . import as_array, as_number, call, close, compare, fail, passed

# ----------------------------------------------------------------------------- exercise 1

_RIDGE_OPS = ("sklearn.linear_model.Ridge", "sklearn.linear_model.LinearRegression",
              "numpy.linalg.lstsq", "scipy.linalg.lstsq")


def _ridge_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """LIME-like data: 0/1 rows (row 0 all ones), kernel weights, probabilities of a toy model."""
    rng = np.random.default_rng(8)
    n, d = 80, 6
    Z = (rng.random((n, d)) < 0.6).astype(float)
    Z[0] = 1.0
    true_w = np.array([0.35, -0.25, 0.05, 0.2, -0.1, 0.0])
    y = 1 / (1 + np.exp(-(Z @ true_w * 3 - 0.4))) + 0.02 * rng.standard_normal(n)
    distance = 100 * (1 - np.sqrt(Z.sum(1) / d))
    weights = np.sqrt(np.exp(-distance ** 2 / 25.0 ** 2))
    return Z, y, weights, 1.0


def _weighted_ridge(Z: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float,
                    intercept: bool = True, penalise_intercept: bool = False) -> tuple[np.ndarray, float]:
    """Reference: weighted ridge regression, intercept unpenalised (scikit-learn's Ridge)."""
    if intercept and penalise_intercept:
        A = np.c_[Z, np.ones(len(Z))]
        sol = np.linalg.solve(A.T @ (weights[:, None] * A) + alpha * np.eye(A.shape[1]), A.T @ (weights * y))
        return sol[:-1], float(sol[-1])
    if not intercept:
        coef = np.linalg.solve(Z.T @ (weights[:, None] * Z) + alpha * np.eye(Z.shape[1]), Z.T @ (weights * y))
        return coef, 0.0
    z_mean, y_mean = weights @ Z / weights.sum(), weights @ y / weights.sum()
    Zc, yc = Z - z_mean, y - y_mean
    coef = np.linalg.solve(Zc.T @ (weights[:, None] * Zc) + alpha * np.eye(Z.shape[1]), Zc.T @ (weights * yc))
    return coef, float(y_mean - z_mean @ coef)


def exercise_1(weighted_ridge: Callable) -> None:
    """LIME's surrogate fit: ridge regression with sample weights and an unpenalised intercept.

    >>> exercise_1(_weighted_ridge)
    ✅ Exercise 1: correct. Same coefficients as sklearn's Ridge(alpha).fit(Z, y, sample_weight=weights).
    """
    Z, y, weights, alpha = _ridge_data()
    result = call(weighted_ridge, Z.copy(), y.copy(), weights.copy(), alpha, name="weighted_ridge",
                  forbidden=_RIDGE_OPS)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        if hasattr(result, "__len__"):
            fail(_("weighted_ridge should return two things, (coef, intercept); got {type} of length {n}.",
                   type=type(result).__name__, n=len(result)),
                 _("end with: return coef, intercept"))
        fail(_("weighted_ridge should return two things, (coef, intercept); got {type}.",
               type=type(result).__name__),
             _("end with: return coef, intercept"))
    coef = as_array(result[0], "coef")
    intercept = as_number(result[1], "intercept", _("the intercept is one number b"))
    ref_coef, ref_b = _weighted_ridge(Z, y, weights, alpha)
    if coef.shape != ref_coef.shape:
        fail(_("coef has shape {shape}; expected {expected} (one weight per column of Z).",
               shape=coef.shape, expected=ref_coef.shape),
             _("do not include the intercept in coef"))
    if close(coef, ref_coef, rtol=1e-5, atol=1e-8) and np.isclose(intercept, ref_b, rtol=1e-5, atol=1e-8):
        passed(_("Exercise 1"), _("Same coefficients as sklearn's Ridge(alpha).fit(Z, y, sample_weight=weights)."))
        return
    ones = np.ones_like(weights)
    wrong = {
        _("ignores the sample weights: every perturbed sample counts the same, so far-away samples "
          "(most words dropped) pull the fit as much as near ones"):
            (_weighted_ridge(Z, y, ones, alpha), _("multiply each sample's squared error by its weight: "
             "use weights in the means and in Z.T @ (weights[:, None] * Z)")),
        _("uses the squared weights (the kernel weight applied twice)"):
            (_weighted_ridge(Z, y, weights ** 2, alpha), _("each squared error gets the weight once: "
             "Z.T @ (weights[:, None] * Z), not weights ** 2")),
        _("penalises the intercept (it is a column of ones inside the ridge penalty)"):
            (_weighted_ridge(Z, y, weights, alpha, penalise_intercept=True),
             _("centre Z and y with their weighted means, fit the coefficients, then b = y_mean - z_mean @ coef")),
        _("has no intercept (the fit goes through the origin)"):
            (_weighted_ridge(Z, y, weights, alpha, intercept=False),
             _("LIME's surrogate has an intercept: centre Z and y with their weighted means first")),
        _("ignores alpha (this is weighted least squares without the ridge penalty)"):
            (_weighted_ridge(Z, y, weights, 0.0), _("add alpha * I to Zc.T @ (weights[:, None] * Zc)")),
        _("centres with the plain (unweighted) means"):
            (_unweighted_centring(Z, y, weights, alpha),
             _("centre with the weighted means: weights @ Z / weights.sum()")),
    }
    for what, ((c, b), hint) in wrong.items():
        if close(coef, c, rtol=1e-5, atol=1e-8) and np.isclose(intercept, b, rtol=1e-5, atol=1e-8):
            fail(_("your fit {what}.", what=what), hint)
    if close(coef, ref_coef, rtol=1e-5, atol=1e-8):
        fail(_("the coefficients are right but the intercept is {intercept:.5f}; expected {expected:.5f}.",
               intercept=intercept, expected=ref_b),
             _("b = weighted mean of y - (weighted mean of Z) @ coef"))
    compare(coef, ref_coef, "coef", rtol=1e-5, atol=1e-8,
            hint=_("minimise sum_i weights_i (y_i - b - Z_i @ w)^2 + alpha |w|^2 (b not penalised)"))


def _unweighted_centring(Z: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float
                         ) -> tuple[np.ndarray, float]:
    Zc, yc = Z - Z.mean(0), y - y.mean()
    coef = np.linalg.solve(Zc.T @ (weights[:, None] * Zc) + alpha * np.eye(Z.shape[1]), Zc.T @ (weights * yc))
    return coef, float(y.mean() - Z.mean(0) @ coef)


# ----------------------------------------------------------------------------- exercise 2

_IG_OPS = ("captum.attr.IntegratedGradients", "captum.attr.LayerIntegratedGradients")
_W = np.array([1.5, -2.0, 0.5, 1.0, -0.7])
_C = np.array([0.8, 0.3, -1.2, 0.5, 1.0])


def _f(x: np.ndarray) -> np.ndarray:
    """A smooth nonlinear test function: softplus(w.x) + sum(c * sin(x))."""
    return np.logaddexp(0.0, x @ _W) + np.sin(x) @ _C


def _grad_f(x: np.ndarray) -> np.ndarray:
    """The gradient of :func:`_f`, for one point [d] or a batch [m, d]."""
    x = np.asarray(x, dtype=np.float64)
    s = 1 / (1 + np.exp(-(x @ _W)))
    return np.multiply.outer(s, _W) + _C * np.cos(x)


def _ig(grad_fn: Callable, x: np.ndarray, baseline: np.ndarray, alphas: np.ndarray,
        weights: np.ndarray) -> np.ndarray:
    grads = np.array([grad_fn(baseline + a * (x - baseline)) for a in alphas])
    return (x - baseline) * (weights[:, None] * grads).sum(0)


def _trapezoid(m: int) -> tuple[np.ndarray, np.ndarray]:
    w = np.full(m, 1.0 / (m - 1))
    w[[0, -1]] /= 2
    return np.linspace(0, 1, m), w


def exercise_2(ig_trapezoid: Callable) -> None:
    """Integrated Gradients with the trapezoid rule on m points alpha_k = k / (m - 1).

    >>> exercise_2(lambda g, x, b, m: _ig(g, x, b, *_trapezoid(m)))  # doctest: +NORMALIZE_WHITESPACE
    ✅ Exercise 2: correct. Completeness: steps=5: sum 1.65755 vs f(x) - f(x') = 1.66134;
    steps=40: sum 1.66130 vs f(x) - f(x') = 1.66134 (the error shrinks as steps grow).
    """
    x = np.array([0.9, -0.4, 1.3, 0.2, -1.1])
    baseline = np.zeros(5)
    report = []
    for steps in (5, 40):
        got = as_array(call(ig_trapezoid, _grad_f, x.copy(), baseline.copy(), steps, name="ig_trapezoid",
                            forbidden=_IG_OPS), _("your attributions"))
        ref = _ig(_grad_f, x, baseline, *_trapezoid(steps))
        if got.shape != ref.shape:
            fail(_("with steps={steps} your attributions have shape {shape}; expected {expected} "
                   "(one number per input dimension).", steps=steps, shape=got.shape, expected=ref.shape),
                 _("average the gradients over the path points (axis 0), keep the input's shape"))
        if close(got, ref, rtol=1e-6, atol=1e-10):
            delta = float(_f(x) - _f(baseline))
            report.append(_("steps={steps}: sum {total:.5f} vs f(x) - f(x') = {delta:.5f}",
                            steps=steps, total=got.sum(), delta=delta))
            continue
        m = steps
        k = np.arange(m)
        wrong = {
            _("uses the midpoint rule (alpha = (k + 1/2) / m); this exercise asks for the trapezoid rule"):
                ((k + 0.5) / m, np.full(m, 1 / m),
                 _("alpha_k = k / (m - 1) for k = 0..m-1: np.linspace(0, 1, m)")),
            _("uses the left Riemann sum (alpha = k / m, never reaching 1)"):
                (k / m, np.full(m, 1 / m), _("include both ends: alpha_k = k / (m - 1), np.linspace(0, 1, m)")),
            _("does not halve the weights at the two ends (a plain average over the points)"):
                (np.linspace(0, 1, m), np.full(m, 1 / m),
                 _("trapezoid weights: 1/(m-1) inside, 1/(2(m-1)) at both ends")),
            _("uses weights 1/m with halved ends: they add up to (m-1)/m, not 1 (Captum's riemann_trapezoid "
              "does this), so completeness fails by 1/m"):
                (np.linspace(0, 1, m), np.r_[0.5, np.ones(m - 2), 0.5] / m,
                 _("the step is 1/(m-1): m points, m-1 intervals")),
            _("sums the gradients with weights 1/2, 1, ..., 1, 1/2: it forgets the step size 1/(m-1)"):
                (np.linspace(0, 1, m), np.r_[0.5, np.ones(m - 2), 0.5], _("multiply by the step 1/(m-1)")),
        }
        for what, (alphas, weights, hint) in wrong.items():
            if close(got, _ig(_grad_f, x, baseline, alphas, weights), rtol=1e-6, atol=1e-10):
                fail(_("your IG {what}.", what=what), hint)
        avg = ref / np.where(x - baseline == 0, 1, x - baseline)
        if close(got, avg, rtol=1e-6, atol=1e-10):
            fail(_("you returned the averaged gradient without multiplying by (x - baseline)."),
                 _("IG_i = (x_i - baseline_i) * average gradient_i"))
        if close(got, (x - baseline) * _grad_f(x), rtol=1e-6, atol=1e-10):
            fail(_("that is gradient x input (the gradient at x only), not the integral along the path."),
                 _("evaluate grad_fn at baseline + alpha * (x - baseline) for every alpha_k and average"))
        compare(got, ref, _("your attributions"), rtol=1e-6, atol=1e-10,
                hint=_("(x - baseline) * sum_k w_k grad_fn(baseline + alpha_k (x - baseline))"))
    passed(_("Exercise 2"), _("Completeness: {report} (the error shrinks as steps grow).",
                              report=_("; ").join(report)))  # "；" in Chinese


# ----------------------------------------------------------------------------- exercise 3

_LEXICON = {"good": 1.6, "great": 2.2, "fun": 1.0, "bad": -1.8, "boring": -2.0, "dull": -1.2,
            "not": -0.3, "but": 0.2, "script": -0.4, "acting": 0.5}


def _words_of(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"\w+", text)))


def _remove_words(text: str, drop: set[str]) -> str:
    return re.sub(r"\w+", lambda m: "" if m.group() in drop else m.group(), text)


def _toy_proba(texts: Sequence[str]) -> np.ndarray:
    """A toy three-class model (negative, neutral, positive) on the summed lexicon weights z of the
    words: softmax of (-z, 0.5, z). Three classes, so that P(class 1) is not 1 - P(class 0)."""
    if isinstance(texts, str):
        raise TypeError(_("predict_proba takes a list of texts: wrap one text as [text]"))
    z = np.array([0.3 + sum(_LEXICON.get(w.lower(), 0.0) for w in re.findall(r"\w+", t)) for t in texts])
    logits = np.c_[-z, np.full_like(z, 0.5), z]
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# (text, scores over its words in words_of order, k)
_CASES = [
    ("The acting is good and the plot is fun, but the script is bad.",
     [0.01, 0.30, -0.02, 0.45, 0.00, 0.05, 0.25, -0.03, -0.60, 0.12, -0.20], 3),
    ("A boring, dull film with not one good scene.",
     [0.02, 0.55, 0.40, 0.03, -0.01, 0.10, -0.02, -0.70, 0.04], 2),
    # a misleading explanation: keeping its top words flips the prediction
    ("Great fun, but a dull script.", [0.1, 0.05, 0.0, -0.5, 0.6, 0.4], 2),
]


def _sufficiency(predict_proba: Callable, text: str, scores: pd.Series, k: int, keep: bool = True,
                 rank: str = "top", label_rule: str = "full") -> float:
    p_full = predict_proba([text])[0]
    if rank == "top":
        chosen = list(scores.sort_values(ascending=False, kind="stable").index[:k])
    elif rank == "bottom":
        chosen = list(scores.sort_values(ascending=True, kind="stable").index[:k])
    else:  # by absolute value
        chosen = list(scores.abs().sort_values(ascending=False, kind="stable").index[:k])
    drop = set(_words_of(text)) - set(chosen) if keep else set(chosen)
    p_new = predict_proba([_remove_words(text, drop)])[0]
    label = {"full": int(np.argmax(p_full)), "positive": 1, "reduced": int(np.argmax(p_new))}[label_rule]
    return float(p_full[label] - p_new[label])


def exercise_3(sufficiency: Callable) -> None:
    """Sufficiency: P(predicted class) of the full text minus that of the text with only its top-k words.

    >>> exercise_3(_sufficiency)  # doctest: +NORMALIZE_WHITESPACE
    ✅ Exercise 3: correct. Gaps -0.182, -0.186, +0.773 on three toy snippets (negative: the kept
    words alone are even more convincing; positive: information was lost).
    """
    got_all = []
    for text, values, k in _CASES:
        words = _words_of(text)
        scores = pd.Series(values, index=words)
        got = as_number(call(sufficiency, _toy_proba, text, scores.copy(), k, name="sufficiency"),
                        _("your sufficiency"), _("return one number: p_full[c] - p_kept[c]"))
        ref = _sufficiency(_toy_proba, text, scores, k)
        got_all.append(got)
        if np.isclose(got, ref, atol=1e-9):
            continue
        label = int(np.argmax(_toy_proba([text])[0]))
        wrong = {
            _("deletes the top-k words (that is comprehensiveness, section 7); sufficiency KEEPS only them"):
                (_sufficiency(_toy_proba, text, scores, k, keep=False),
                 _("remove every word that is not among the top k: remove_words(text, set(words_of(text)) - top)")),
            _("keeps the k words with the LOWEST scores"):
                (_sufficiency(_toy_proba, text, scores, k, rank="bottom"),
                 _("sort the scores in descending order: scores.sort_values(ascending=False)")),
            _("ranks the words by |score|; a large negative score speaks AGAINST the predicted class"):
                (_sufficiency(_toy_proba, text, scores, k, rank="abs"),
                 _("rank by the signed score, largest first")),
            _("uses the class predicted for the reduced text, not for the full text"):
                (_sufficiency(_toy_proba, text, scores, k, label_rule="reduced"),
                 _("fix c = argmax of predict_proba([text])[0] before removing words")),
            _("has the sign reversed (p_kept - p_full)"):
                (-ref, _("return p_full[c] - p_kept[c]")),
        }
        if label != 1:
            wrong[_("always uses class 1 (P(positive) in the notebook's two-class models); here the "
                    "predicted class is {label}", label=label)] = (
                _sufficiency(_toy_proba, text, scores, k, label_rule="positive"),
                _("use the predicted class c = argmax of predict_proba([text])[0]"))
        for what, (value, hint) in wrong.items():
            if np.isclose(got, value, atol=1e-9):
                fail(_("for {text!r} (k={k}) your function {what}: {got:.4f}, expected {ref:.4f}.",
                       text=text, k=k, what=what, got=got, ref=ref), hint)
        fail(_("for {text!r} (k={k}) your sufficiency is {got:.4f}; expected {ref:.4f}.",
               text=text, k=k, got=got, ref=ref),
             _("c = predicted class of the full text; keep only the k highest-scored words; "
               "return p_full[c] - p_kept[c]"))
    passed(_("Exercise 3"), _("Gaps {gaps} on three toy snippets (negative: the kept words alone are even "
                              "more convincing; positive: information was lost).",
                              gaps=", ".join(f"{g:+.3f}" for g in got_all)))
