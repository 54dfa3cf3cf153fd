"""Distributions on the positive half-line."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
import numpy as np
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
from ._gamma_quantile import gamma_icdf
from ._xlogy import xlogy

__all__ = [
    "Chi2",
    "Exponential",
    "Gamma",
    "HalfCauchy",
    "HalfNormal",
    "InverseGamma",
    "LogNormal",
    "Pareto",
    "Weibull",
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

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return gamma_icdf(q, self.concentration) / self.rate

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


class Chi2(Gamma):
    r"""Chi-squared with ``df`` degrees of freedom: Gamma(df / 2, rate 1/2)."""

    df: jnp.ndarray
    arg_constraints = {"df": constraints.positive}
    reparametrized_params = ["df"]

    def __init__(self, df: ArrayLike, *, validate_args: bool | None = None):
        (self.df,) = promote_dtype(df)
        self.concentration = 0.5 * self.df
        self.rate = jnp.asarray(0.5, self.df.dtype)
        self._finish_init(validate_args)


class Weibull(Distribution):
    r"""Weibull with ``scale`` $\lambda$ and shape ``concentration`` $k$:
    $P(X > x) = e^{-(x/\lambda)^k}$; reparametrised (NumPyro's argument order).
    """

    scale: jnp.ndarray
    concentration: jnp.ndarray
    arg_constraints = {
        "scale": constraints.positive,
        "concentration": constraints.positive,
    }
    support = constraints.positive
    reparametrized_params = ["scale", "concentration"]

    def __init__(
        self,
        scale: ArrayLike,
        concentration: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.scale, self.concentration = promote_dtype(scale, concentration)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        e = jr.exponential(key, shape, self.scale.dtype)
        return self.scale * e ** (1 / self.concentration)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        k, z = self.concentration, value / self.scale
        # xlogy: the density at 0 is k / scale for k = 1, not NaN
        lp = jnp.log(k / self.scale) + xlogy(k - 1, z) - z**k
        return _positive_only(value, lp)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        z = jnp.maximum(value, 0.0) / self.scale
        return -jnp.expm1(-(z**self.concentration))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.scale * (-jnp.log1p(-q)) ** (1 / self.concentration)

    def entropy(self) -> Float[Array, "..."]:
        k = self.concentration
        return self._batch(np.euler_gamma * (1 - 1 / k) + jnp.log(self.scale / k) + 1)

    @property
    def mean(self) -> Array:
        return self._batch(self.scale * jnp.exp(gammaln(1 + 1 / self.concentration)))

    @property
    def variance(self) -> Array:
        k = self.concentration
        g1, g2 = gammaln(1 + 1 / k), gammaln(1 + 2 / k)
        return self._batch(self.scale**2 * (jnp.exp(g2) - jnp.exp(2 * g1)))


class Pareto(Distribution):
    r"""Pareto type I on $[\text{scale}, \infty)$ with tail index ``alpha``:
    $P(X > x) = (\text{scale}/x)^\alpha$; reparametrised.
    """

    scale: jnp.ndarray
    alpha: jnp.ndarray
    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}
    reparametrized_params = ["scale", "alpha"]

    def __init__(
        self, scale: ArrayLike, alpha: ArrayLike, *, validate_args: bool | None = None
    ):
        self.scale, self.alpha = promote_dtype(scale, alpha)
        self._finish_init(validate_args)

    @property
    def support(self):
        return constraints.greater_than(self.scale)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        e = jr.exponential(key, self.shape(sample_shape), self.scale.dtype)
        return self.scale * jnp.exp(e / self.alpha)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a = self.alpha
        lp = jnp.log(a) + a * jnp.log(self.scale) - (a + 1) * jnp.log(value)
        return jnp.where(value >= self.scale, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        x = jnp.maximum(value, self.scale)
        return -jnp.expm1(self.alpha * jnp.log(self.scale / x))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.scale * jnp.exp(-jnp.log1p(-q) / self.alpha)

    def entropy(self) -> Float[Array, "..."]:
        a = self.alpha
        return self._batch(jnp.log(self.scale / a) + 1 / a + 1)

    @property
    def mean(self) -> Array:
        a = self.alpha
        return self._batch(
            jnp.where(a > 1, a * self.scale / jnp.where(a > 1, a - 1, 1), jnp.inf)
        )

    @property
    def variance(self) -> Array:
        a = self.alpha
        safe = jnp.where(a > 2, a, 3.0)
        v = self.scale**2 * safe / ((safe - 1) ** 2 * (safe - 2))
        return self._batch(jnp.where(a > 2, v, jnp.inf))
