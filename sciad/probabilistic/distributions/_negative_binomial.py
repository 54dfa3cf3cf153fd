"""Over-dispersed counts: GammaPoisson and its NegativeBinomial parametrisations."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import expit, gammaln, logit

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype

__all__ = ["GammaPoisson", "NegativeBinomial", "NegativeBinomial2"]


def _gamma_poisson_log_prob(concentration, rate, value):
    lp = (
        gammaln(concentration + value)
        - gammaln(concentration)
        - gammaln(value + 1)
        + concentration * jnp.log(rate)
        - (concentration + value) * jnp.log1p(rate)
    )
    return jnp.where(value >= 0, lp, -jnp.inf)


def _gamma_poisson_sample(key, concentration, rate, shape):
    k1, k2 = jr.split(key)
    lam = jr.gamma(k1, concentration, shape, rate.dtype) / rate
    return jr.poisson(k2, lam, shape).astype(jnp.result_type(int))


class GammaPoisson(Distribution):
    r"""Poisson($\lambda$) with $\lambda\sim$ Gamma(concentration, rate)."""

    concentration: jnp.ndarray
    rate: jnp.ndarray
    arg_constraints = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        concentration: ArrayLike,
        rate: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.concentration, self.rate = promote_dtype(concentration, rate)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return _gamma_poisson_sample(
            key, self.concentration, self.rate, self.shape(sample_shape)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return _gamma_poisson_log_prob(self.concentration, self.rate, value)

    @property
    def mean(self) -> Array:
        return self._batch(self.concentration / self.rate)

    @property
    def variance(self) -> Array:
        return self._batch(self.concentration / self.rate**2 * (1 + self.rate))


class NegativeBinomial(Distribution):
    r"""Counts of failures before the ``total_count``-th success, with ``total_count``
    $r$ and ``probs`` $p$: mean $rp/(1-p)$.

    Equal to GammaPoisson(concentration=r, rate=1/p - 1), as in NumPyro.
    """

    total_count: jnp.ndarray
    probs: jnp.ndarray
    logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)
    support = constraints.nonnegative_integer

    def __init__(
        self,
        total_count: ArrayLike,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        if (probs is None) == (logits is None):
            raise ValueError(
                "NegativeBinomial: give exactly one of `probs` or `logits`."
            )
        self._from_logits = logits is not None
        param = logits if self._from_logits else probs
        self.total_count, param = promote_dtype(total_count, param)
        if self._from_logits:
            self.logits, self.probs = param, expit(param)
        else:
            self.probs, self.logits = param, logit(param)
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        c = {"total_count": constraints.positive}
        if self._from_logits:
            return c | {"logits": constraints.real}
        return c | {"probs": constraints.unit_interval}

    @property
    def _rate(self):
        return jnp.exp(-self.logits) if self._from_logits else 1 / self.probs - 1

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return _gamma_poisson_sample(
            key, self.total_count, self._rate, self.shape(sample_shape)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return _gamma_poisson_log_prob(self.total_count, self._rate, value)

    @property
    def mean(self) -> Array:
        return self._batch(self.total_count / self._rate)

    @property
    def variance(self) -> Array:
        return self._batch(self.total_count / self._rate**2 * (1 + self._rate))


class NegativeBinomial2(Distribution):
    r"""Negative binomial by ``mean`` $\mu$ and ``concentration`` $\phi$: variance
    $\mu+\mu^2/\phi$.
    """

    mean_: jnp.ndarray
    concentration: jnp.ndarray
    arg_constraints = {
        "mean_": constraints.positive,
        "concentration": constraints.positive,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        mean: ArrayLike,
        concentration: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.mean_, self.concentration = promote_dtype(mean, concentration)
        self._finish_init(validate_args)

    @property
    def rate(self):
        return self.concentration / self.mean_

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return _gamma_poisson_sample(
            key, self.concentration, self.rate, self.shape(sample_shape)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return _gamma_poisson_log_prob(self.concentration, self.rate, value)

    @property
    def mean(self) -> Array:
        return self._batch(self.mean_)

    @property
    def variance(self) -> Array:
        return self._batch(self.mean_ + self.mean_**2 / self.concentration)
