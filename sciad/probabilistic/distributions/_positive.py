"""Distributions on the positive half-line."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import (
    digamma,
    erf,
    erfinv,
    gammainc,
    gammaincc,
    gammaln,
    ndtr,
    ndtri,
)

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._continuous_real import AbstractLocScale

__all__ = [
    "Exponential",
    "Gamma",
    "HalfCauchy",
    "HalfNormal",
    "InverseGamma",
    "LogNormal",
]

_LOG_2 = math.log(2.0)


def _positive_only(value, log_prob):
    return jnp.where(value >= 0, log_prob, -jnp.inf)


class HalfNormal(Distribution):
    """|X| for X ~ Normal(0, scale)."""

    scale: jnp.ndarray
    arg_constraints = {"scale": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["scale"]

    def __init__(self, scale: ArrayLike = 1.0, *, validate_args: bool | None = None):
        (self.scale,) = promote_dtype(scale)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.scale * jnp.abs(
            jr.normal(key, self.shape(sample_shape), self.scale.dtype)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = value / self.scale
        lp = _LOG_2 - 0.5 * math.log(2 * math.pi) - jnp.log(self.scale) - 0.5 * z**2
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.where(value > 0, erf(value / (self.scale * math.sqrt(2))), 0.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.scale * math.sqrt(2) * erfinv(q)

    def entropy(self) -> Float[Array, "..."]:
        return 0.5 * math.log(math.pi / 2) + jnp.log(self.scale) + 0.5

    @property
    def mean(self) -> Array:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Array:
        return self.scale**2 * (1 - 2 / math.pi)


class HalfCauchy(Distribution):
    """|X| for X ~ Cauchy(0, scale)."""

    scale: jnp.ndarray
    arg_constraints = {"scale": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["scale"]

    def __init__(self, scale: ArrayLike = 1.0, *, validate_args: bool | None = None):
        (self.scale,) = promote_dtype(scale)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.scale * jnp.abs(
            jr.cauchy(key, self.shape(sample_shape), self.scale.dtype)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = value / self.scale
        lp = _LOG_2 - math.log(math.pi) - jnp.log(self.scale) - jnp.log1p(z**2)
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.where(value > 0, 2 / math.pi * jnp.arctan(value / self.scale), 0.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.scale * jnp.tan(0.5 * math.pi * q)

    def entropy(self) -> Float[Array, "..."]:
        return math.log(2 * math.pi) + jnp.log(self.scale)

    @property
    def mean(self) -> Array:
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)

    @property
    def variance(self) -> Array:
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)


class LogNormal(AbstractLocScale):
    """exp(X) for X ~ Normal(loc, scale)."""

    support = constraints.positive

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        eps = jr.normal(key, self.shape(sample_shape), self.loc.dtype)
        return jnp.exp(self.loc + self.scale * eps)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        log_v = jnp.log(value)
        z = (log_v - self.loc) / self.scale
        lp = -0.5 * z**2 - jnp.log(self.scale) - 0.5 * math.log(2 * math.pi) - log_v
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        safe = jnp.where(value > 0, value, 1.0)
        return jnp.where(value > 0, ndtr((jnp.log(safe) - self.loc) / self.scale), 0.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return jnp.exp(self.loc + self.scale * ndtri(q))

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(
            self.loc + 0.5 + 0.5 * math.log(2 * math.pi) + jnp.log(self.scale)
        )

    @property
    def mean(self) -> Array:
        return self._batch(jnp.exp(self.loc + self.scale**2 / 2))

    @property
    def variance(self) -> Array:
        return self._batch(
            jnp.expm1(self.scale**2) * jnp.exp(2 * self.loc + self.scale**2)
        )


class Exponential(Distribution):
    """Exponential with ``rate`` (mean ``1 / rate``)."""

    rate: jnp.ndarray
    arg_constraints = {"rate": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["rate"]

    def __init__(self, rate: ArrayLike = 1.0, *, validate_args: bool | None = None):
        (self.rate,) = promote_dtype(rate)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return (
            jr.exponential(key, self.shape(sample_shape), self.rate.dtype) / self.rate
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return _positive_only(value, jnp.log(self.rate) - self.rate * value)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return -jnp.expm1(-self.rate * jnp.maximum(value, 0.0))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return -jnp.log1p(-q) / self.rate

    def entropy(self) -> Float[Array, "..."]:
        return 1 - jnp.log(self.rate)

    @property
    def mean(self) -> Array:
        return 1 / self.rate

    @property
    def variance(self) -> Array:
        return self.rate**-2


class AbstractConcentrationRate(Distribution):
    """Shared fields and constructor of the ``(concentration, rate)`` families."""

    concentration: jnp.ndarray
    rate: jnp.ndarray
    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.positive
    reparametrized_params = ["concentration", "rate"]

    def __init__(
        self,
        concentration: ArrayLike,
        rate: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.concentration, self.rate = promote_dtype(concentration, rate)
        self._finish_init(validate_args)


class Gamma(AbstractConcentrationRate):
    r"""Gamma with shape ``concentration`` $\alpha$ and ``rate`` $\beta$ (mean
    $\alpha/\beta$).
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        g = jr.gamma(key, self.concentration, shape, self.rate.dtype)
        return g / self.rate

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a, b = self.concentration, self.rate
        lp = a * jnp.log(b) + (a - 1) * jnp.log(value) - b * value - gammaln(a)
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        x = jnp.maximum(self.rate * value, 0.0)
        return gammainc(self.concentration, x)

    def entropy(self) -> Float[Array, "..."]:
        a = self.concentration
        return self._batch(a - jnp.log(self.rate) + gammaln(a) + (1 - a) * digamma(a))

    @property
    def mean(self) -> Array:
        return self._batch(self.concentration / self.rate)

    @property
    def variance(self) -> Array:
        return self._batch(self.concentration / self.rate**2)


class InverseGamma(AbstractConcentrationRate):
    r"""1/X, X ~ Gamma(concentration, rate): mean $\beta/(\alpha-1)$, $\alpha>1$."""

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        return self.rate / jr.gamma(key, self.concentration, shape, self.rate.dtype)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a, b = self.concentration, self.rate
        lp = a * jnp.log(b) - gammaln(a) - (a + 1) * jnp.log(value) - b / value
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        safe = jnp.where(value > 0, value, 1.0)
        c = gammaincc(self.concentration, self.rate / safe)
        return jnp.where(value > 0, c, 0.0)

    def entropy(self) -> Float[Array, "..."]:
        a = self.concentration
        return self._batch(a + jnp.log(self.rate) + gammaln(a) - (1 + a) * digamma(a))

    @property
    def mean(self) -> Array:
        a = self.concentration
        return self._batch(
            jnp.where(a > 1, self.rate / jnp.where(a > 1, a - 1, 1.0), jnp.inf)
        )

    @property
    def variance(self) -> Array:
        a = self.concentration
        safe = jnp.where(a > 2, a, 3.0)
        return self._batch(
            jnp.where(a > 2, self.rate**2 / ((safe - 1) ** 2 * (safe - 2)), jnp.inf)
        )
