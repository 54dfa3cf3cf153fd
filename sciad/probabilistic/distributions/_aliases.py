"""NumPyro's per-parametrisation names, e.g. ``BernoulliLogits(logits)``.

NumPyro has a class per parametrisation (``BernoulliProbs``, ``BernoulliLogits``)
and makes ``Bernoulli(probs=..., logits=...)`` a function choosing between them.
sciad has one class per family that keeps whichever form it was given; these
functions return it, so code written against NumPyro's names runs unchanged.
``isinstance`` checks must use the family class (``Bernoulli``).
"""

from ..._custom_types import ArrayLike
from ._discrete import Bernoulli, Binomial, Categorical, Geometric, Multinomial
from ._negative_binomial import NegativeBinomial

__all__ = [
    "BernoulliLogits",
    "BernoulliProbs",
    "BinomialLogits",
    "BinomialProbs",
    "CategoricalLogits",
    "CategoricalProbs",
    "GeometricLogits",
    "GeometricProbs",
    "MultinomialLogits",
    "MultinomialProbs",
    "NegativeBinomialLogits",
    "NegativeBinomialProbs",
]


def BernoulliProbs(probs: ArrayLike, *, validate_args=None) -> Bernoulli:
    return Bernoulli(probs=probs, validate_args=validate_args)


def BernoulliLogits(logits: ArrayLike, *, validate_args=None) -> Bernoulli:
    return Bernoulli(logits=logits, validate_args=validate_args)


def BinomialProbs(
    probs: ArrayLike, total_count: ArrayLike = 1, *, validate_args=None
) -> Binomial:
    return Binomial(total_count, probs=probs, validate_args=validate_args)


def BinomialLogits(
    logits: ArrayLike, total_count: ArrayLike = 1, *, validate_args=None
) -> Binomial:
    return Binomial(total_count, logits=logits, validate_args=validate_args)


def CategoricalProbs(probs: ArrayLike, *, validate_args=None) -> Categorical:
    return Categorical(probs=probs, validate_args=validate_args)


def CategoricalLogits(logits: ArrayLike, *, validate_args=None) -> Categorical:
    return Categorical(logits=logits, validate_args=validate_args)


def GeometricProbs(probs: ArrayLike, *, validate_args=None) -> Geometric:
    return Geometric(probs=probs, validate_args=validate_args)


def GeometricLogits(logits: ArrayLike, *, validate_args=None) -> Geometric:
    return Geometric(logits=logits, validate_args=validate_args)


def MultinomialProbs(
    probs: ArrayLike,
    total_count: ArrayLike = 1,
    *,
    total_count_max: int | None = None,
    validate_args=None,
) -> Multinomial:
    return Multinomial(
        total_count,
        probs=probs,
        total_count_max=total_count_max,
        validate_args=validate_args,
    )


def MultinomialLogits(
    logits: ArrayLike,
    total_count: ArrayLike = 1,
    *,
    total_count_max: int | None = None,
    validate_args=None,
) -> Multinomial:
    return Multinomial(
        total_count,
        logits=logits,
        total_count_max=total_count_max,
        validate_args=validate_args,
    )


def NegativeBinomialProbs(
    total_count: ArrayLike, probs: ArrayLike, *, validate_args=None
) -> NegativeBinomial:
    return NegativeBinomial(total_count, probs=probs, validate_args=validate_args)


def NegativeBinomialLogits(
    total_count: ArrayLike, logits: ArrayLike, *, validate_args=None
) -> NegativeBinomial:
    return NegativeBinomial(total_count, logits=logits, validate_args=validate_args)
