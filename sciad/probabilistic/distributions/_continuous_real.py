"""Location-scale families on the real line: Normal, StudentT, Cauchy, Laplace, ..."""

import math

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import gammaln, ndtr, ndtri

from . import constraints
from ._base import Distribution, promote_params

__all__ = ["Cauchy", "Laplace", "Logistic", "Normal", "StudentT"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class AbstractLocScale(Distribution):
    """Shared fields and constructor of the ``(loc, scale)`` families."""

    loc: jnp.ndarray
    scale: jnp.ndarray
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc=0.0, scale=1.0, *, validate_args=None):
        self.loc, self.scale = promote_params(loc, scale)
        self._finish_init(validate_args)


class Normal(AbstractLocScale):
    r"""Gaussian $\mathcal{N}(\mu=\text{loc}, \sigma=\text{scale})$; reparametrised."""

    def sample(self, key, sample_shape=()):
        eps = jr.normal(key, self.shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -0.5 * z**2 - jnp.log(self.scale) - _HALF_LOG_2PI

    def cdf(self, value):
        return ndtr((value - self.loc) / self.scale)

    def icdf(self, q):
        return self.loc + self.scale * ndtri(q)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale**2


class StudentT(Distribution):
    r"""Student's t with ``df`` degrees of freedom, location ``loc`` and scale
    ``scale``.
    """

    df: jnp.ndarray
    loc: jnp.ndarray
    scale: jnp.ndarray
    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    reparametrized_params = ["df", "loc", "scale"]

    def __init__(self, df, loc=0.0, scale=1.0, *, validate_args=None):
        self.df, self.loc, self.scale = promote_params(df, loc, scale)
        self._finish_init(validate_args)

    def sample(self, key, sample_shape=()):
        t = jr.t(key, self.df, self.shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * t

    def log_prob(self, value):
        df = self.df
        z = (value - self.loc) / self.scale
        norm = gammaln(0.5 * (df + 1)) - gammaln(0.5 * df) - 0.5 * jnp.log(df * math.pi)
        return norm - jnp.log(self.scale) - 0.5 * (df + 1) * jnp.log1p(z**2 / df)

    @property
    def mean(self):
        return jnp.where(self.df > 1, self.loc, jnp.nan)

    @property
    def variance(self):
        df = self.df
        var = jnp.where(
            df > 2, self.scale**2 * df / jnp.where(df > 2, df - 2, 1.0), jnp.inf
        )
        return jnp.where(df > 1, var, jnp.nan)


class Cauchy(AbstractLocScale):
    """Cauchy (Lorentz) distribution; mean and variance are undefined (NaN / inf)."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jr.cauchy(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - jnp.log(self.scale) - jnp.log1p(z**2)

    def cdf(self, value):
        return 0.5 + jnp.arctan((value - self.loc) / self.scale) / math.pi

    def icdf(self, q):
        return self.loc + self.scale * jnp.tan(math.pi * (q - 0.5))

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.nan, self.loc.dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf, self.loc.dtype)


class Laplace(AbstractLocScale):
    """Laplace (double exponential) distribution."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jr.laplace(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value):
        return -jnp.log(2 * self.scale) - jnp.abs(value - self.loc) / self.scale

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale**2


class Logistic(AbstractLocScale):
    """Logistic distribution."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jr.logistic(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -z - 2 * jnp.logaddexp(0.0, -z) - jnp.log(self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale**2 * math.pi**2 / 3
