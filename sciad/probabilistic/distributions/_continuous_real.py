"""Location-scale families on the real line: Normal, StudentT, Cauchy, Laplace, ..."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import (
    digamma,
    expit,
    gammaln,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
)

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ..._softplus import softplus
from . import constraints
from ._base import Distribution, promote_dtype
from ._betaln import betaln
from ._student_t import student_t_cdf, student_t_icdf

__all__ = [
    "AsymmetricLaplace",
    "Cauchy",
    "Gumbel",
    "Laplace",
    "Logistic",
    "Normal",
    "StudentT",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class AbstractLocScale(Distribution):
    """Shared fields and constructor of the ``(loc, scale)`` families."""

    loc: jnp.ndarray
    scale: jnp.ndarray
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.loc, self.scale = promote_dtype(loc, scale)
        self._finish_init(validate_args)


class Normal(AbstractLocScale):
    r"""Gaussian $\mathcal{N}(\mu=\text{loc}, \sigma=\text{scale})$; reparametrised."""

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        eps = jr.normal(key, self.shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return -0.5 * z**2 - jnp.log(self.scale) - _HALF_LOG_2PI

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return ndtr((value - self.loc) / self.scale)

    def log_cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return log_ndtr((value - self.loc) / self.scale)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc + self.scale * ndtri(q)

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(0.5 + _HALF_LOG_2PI + jnp.log(self.scale))

    @property
    def mean(self) -> Array:
        return self._batch(self.loc)

    @property
    def variance(self) -> Array:
        return self._batch(self.scale**2)


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

    def __init__(
        self,
        df: ArrayLike,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.df, self.loc, self.scale = promote_dtype(df, loc, scale)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        t = jr.t(key, self.df, self.shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * t

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        df = self.df
        z = (value - self.loc) / self.scale
        norm = gammaln(0.5 * (df + 1)) - gammaln(0.5 * df) - 0.5 * jnp.log(df * math.pi)
        return norm - jnp.log(self.scale) - 0.5 * (df + 1) * jnp.log1p(z**2 / df)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return student_t_cdf((value - self.loc) / self.scale, self.df)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc + self.scale * student_t_icdf(q, self.df)

    def entropy(self) -> Float[Array, "..."]:
        df = self.df
        half = 0.5 * (df + 1)
        return self._batch(
            half * (digamma(half) - digamma(0.5 * df))
            + 0.5 * jnp.log(df)
            + betaln(0.5 * df, 0.5)
            + jnp.log(self.scale)
        )

    @property
    def mean(self) -> Array:
        return self._batch(jnp.where(self.df > 1, self.loc, jnp.nan))

    @property
    def variance(self) -> Array:
        df = self.df
        var = jnp.where(
            df > 2, self.scale**2 * df / jnp.where(df > 2, df - 2, 1.0), jnp.inf
        )
        return self._batch(jnp.where(df > 1, var, jnp.nan))


class Cauchy(AbstractLocScale):
    """Cauchy (Lorentz) distribution; mean and variance are undefined (NaN / inf)."""

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.loc + self.scale * jr.cauchy(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - jnp.log(self.scale) - jnp.log1p(z**2)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return 0.5 + jnp.arctan((value - self.loc) / self.scale) / math.pi

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc + self.scale * jnp.tan(math.pi * (q - 0.5))

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(math.log(4 * math.pi) + jnp.log(self.scale))

    @property
    def mean(self) -> Array:
        return jnp.full(self.batch_shape, jnp.nan, self.loc.dtype)

    @property
    def variance(self) -> Array:
        return jnp.full(self.batch_shape, jnp.inf, self.loc.dtype)


class Laplace(AbstractLocScale):
    """Laplace (double exponential) distribution."""

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.loc + self.scale * jr.laplace(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return -jnp.log(2 * self.scale) - jnp.abs(value - self.loc) / self.scale

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return 0.5 - 0.5 * jnp.sign(z) * jnp.expm1(-jnp.abs(z))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        a = q - 0.5
        return self.loc - self.scale * jnp.sign(a) * jnp.log1p(-2 * jnp.abs(a))

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(1 + jnp.log(2 * self.scale))

    @property
    def mean(self) -> Array:
        return self._batch(self.loc)

    @property
    def variance(self) -> Array:
        return self._batch(2 * self.scale**2)


class Logistic(AbstractLocScale):
    """Logistic distribution."""

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.loc + self.scale * jr.logistic(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return -z - 2 * softplus(-z) - jnp.log(self.scale)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return expit((value - self.loc) / self.scale)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc + self.scale * logit(q)

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(jnp.log(self.scale) + 2.0)

    @property
    def mean(self) -> Array:
        return self._batch(self.loc)

    @property
    def variance(self) -> Array:
        return self._batch(self.scale**2 * math.pi**2 / 3)


class Gumbel(AbstractLocScale):
    r"""Gumbel (type I extreme value): $\log p = -(z + e^{-z}) - \log\sigma$,
    $z = (x - \text{loc}) / \text{scale}$; reparametrised.
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self.loc + self.scale * jr.gumbel(
            key, self.shape(sample_shape), self.loc.dtype
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return -(z + jnp.exp(-z)) - jnp.log(self.scale)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.exp(-jnp.exp(-(value - self.loc) / self.scale))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc - self.scale * jnp.log(-jnp.log(q))

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(jnp.log(self.scale) + np.euler_gamma + 1)

    @property
    def mean(self) -> Array:
        return self._batch(self.loc + np.euler_gamma * self.scale)

    @property
    def variance(self) -> Array:
        return self._batch(self.scale**2 * math.pi**2 / 6)


class AsymmetricLaplace(Distribution):
    r"""Laplace with different decay rates either side of ``loc``: for
    $z = (x - \text{loc}) / \text{scale}$ and $\kappa$ = ``asymmetry``,
    $p \propto e^{-\kappa z}$ above and $e^{z/\kappa}$ below, normalised by
    $\text{scale}\,(\kappa + 1/\kappa)$ (scipy's ``laplace_asymmetric``).
    """

    loc: jnp.ndarray
    scale: jnp.ndarray
    asymmetry: jnp.ndarray
    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "asymmetry": constraints.positive,
    }
    support = constraints.real
    reparametrized_params = ["loc", "scale", "asymmetry"]

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        asymmetry: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.loc, self.scale, self.asymmetry = promote_dtype(loc, scale, asymmetry)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        finfo = jnp.finfo(self.loc.dtype)
        u = jr.uniform(key, shape, self.loc.dtype, minval=finfo.tiny, maxval=1.0)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        k = self.asymmetry
        z = (value - self.loc) / self.scale
        rate = jnp.where(z >= 0, k, -1 / k)
        return -rate * z - jnp.log(self.scale * (k + 1 / k))

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        k = self.asymmetry
        z = (value - self.loc) / self.scale
        # the mass below loc is k^2 / (1 + k^2)
        below = k**2 / (1 + k**2) * jnp.exp(jnp.minimum(z, 0.0) / k)
        above = 1 - jnp.exp(-k * jnp.maximum(z, 0.0)) / (1 + k**2)
        return jnp.where(z < 0, below, above)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        k = self.asymmetry
        split = k**2 / (1 + k**2)
        below = k * jnp.log(jnp.minimum(q, split) / split)
        above = -(jnp.log1p(-jnp.maximum(q, split)) + jnp.log1p(k**2)) / k
        return self.loc + self.scale * jnp.where(q < split, below, above)

    def entropy(self) -> Float[Array, "..."]:
        k = self.asymmetry
        return self._batch(1 + jnp.log(self.scale * (k + 1 / k)))

    @property
    def mean(self) -> Array:
        k = self.asymmetry
        return self._batch(self.loc + self.scale * (1 / k - k))

    @property
    def variance(self) -> Array:
        k = self.asymmetry
        return self._batch(self.scale**2 * (k**2 + k**-2))
