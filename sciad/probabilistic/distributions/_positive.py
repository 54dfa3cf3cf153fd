"""Distributions on the positive half-line."""

import math

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import gammaln

from . import constraints
from ._base import Distribution, promote_params
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

    def __init__(self, scale=1.0, *, validate_args=None):
        (self.scale,) = promote_params(scale)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        return self.scale * jnp.abs(
            jr.normal(key, self.shape(sample_shape), self.scale.dtype)
        )

    def log_prob(self, value):
        z = value / self.scale
        lp = _LOG_2 - 0.5 * math.log(2 * math.pi) - jnp.log(self.scale) - 0.5 * z**2
        return _positive_only(value, lp)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale**2 * (1 - 2 / math.pi)


class HalfCauchy(Distribution):
    """|X| for X ~ Cauchy(0, scale)."""

    scale: jnp.ndarray
    arg_constraints = {"scale": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["scale"]

    def __init__(self, scale=1.0, *, validate_args=None):
        (self.scale,) = promote_params(scale)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        return self.scale * jnp.abs(
            jr.cauchy(key, self.shape(sample_shape), self.scale.dtype)
        )

    def log_prob(self, value):
        z = value / self.scale
        lp = _LOG_2 - math.log(math.pi) - jnp.log(self.scale) - jnp.log1p(z**2)
        return _positive_only(value, lp)

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)


class LogNormal(AbstractLocScale):
    """exp(X) for X ~ Normal(loc, scale)."""

    support = constraints.positive

    def sample(self, key, sample_shape=()):
        eps = jr.normal(key, self.shape(sample_shape), self.loc.dtype)
        return jnp.exp(self.loc + self.scale * eps)

    def log_prob(self, value):
        log_v = jnp.log(value)
        z = (log_v - self.loc) / self.scale
        lp = -0.5 * z**2 - jnp.log(self.scale) - 0.5 * math.log(2 * math.pi) - log_v
        return _positive_only(value, lp)

    @property
    def mean(self):
        return jnp.exp(self.loc + self.scale**2 / 2)

    @property
    def variance(self):
        return jnp.expm1(self.scale**2) * jnp.exp(2 * self.loc + self.scale**2)


class Exponential(Distribution):
    """Exponential with ``rate`` (mean ``1 / rate``)."""

    rate: jnp.ndarray
    arg_constraints = {"rate": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["rate"]

    def __init__(self, rate=1.0, *, validate_args=None):
        (self.rate,) = promote_params(rate)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        return (
            jr.exponential(key, self.shape(sample_shape), self.rate.dtype) / self.rate
        )

    def log_prob(self, value):
        return _positive_only(value, jnp.log(self.rate) - self.rate * value)

    def cdf(self, value):
        return -jnp.expm1(-self.rate * value)

    def icdf(self, q):
        return -jnp.log1p(-q) / self.rate

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate**-2


class Gamma(Distribution):
    r"""Gamma with shape ``concentration`` $\alpha$ and ``rate`` $\beta$ (mean
    $\alpha/\beta$).
    """

    concentration: jnp.ndarray
    rate: jnp.ndarray
    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.positive
    reparametrized_params = ["concentration", "rate"]

    def __init__(self, concentration, rate=1.0, *, validate_args=None):
        self.concentration, self.rate = promote_params(concentration, rate)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        shape = self.shape(sample_shape)
        g = jr.gamma(key, self.concentration, shape, self.rate.dtype)
        return g / self.rate

    def log_prob(self, value):
        a, b = self.concentration, self.rate
        lp = a * jnp.log(b) + (a - 1) * jnp.log(value) - b * value - gammaln(a)
        return _positive_only(value, lp)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration / self.rate**2


class InverseGamma(Distribution):
    r"""1/X, X ~ Gamma(concentration, rate): mean $\beta/(\alpha-1)$, $\alpha>1$."""

    concentration: jnp.ndarray
    rate: jnp.ndarray
    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.positive
    reparametrized_params = ["concentration", "rate"]

    def __init__(self, concentration, rate=1.0, *, validate_args=None):
        self.concentration, self.rate = promote_params(concentration, rate)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        shape = self.shape(sample_shape)
        return self.rate / jr.gamma(key, self.concentration, shape, self.rate.dtype)

    def log_prob(self, value):
        a, b = self.concentration, self.rate
        lp = a * jnp.log(b) - gammaln(a) - (a + 1) * jnp.log(value) - b / value
        return _positive_only(value, lp)

    @property
    def mean(self):
        a = self.concentration
        return jnp.where(a > 1, self.rate / jnp.where(a > 1, a - 1, 1.0), jnp.inf)

    @property
    def variance(self):
        a = self.concentration
        safe = jnp.where(a > 2, a, 3.0)
        return jnp.where(a > 2, self.rate**2 / ((safe - 1) ** 2 * (safe - 2)), jnp.inf)
