"""Count distributions built from two others: BetaBinomial, DirichletMultinomial,
ZeroInflatedPoisson."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import gammaln

from ..._custom_types import Array, ArrayLike, Float, Int, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._betaln import betaln
from ._discrete import Multinomial, _int, concrete_range, count_support
from ._xlogy import xlogy

__all__ = ["BetaBinomial", "DirichletMultinomial", "ZeroInflatedPoisson"]


class BetaBinomial(Distribution):
    r"""Binomial(``total_count``, $p$) with $p \sim$ Beta(``concentration1``,
    ``concentration0``), $p$ integrated out:
    $P(k) = \binom{n}{k} B(k + \alpha, n - k + \beta) / B(\alpha, \beta)$.
    """

    concentration1: jnp.ndarray
    concentration0: jnp.ndarray
    total_count: jnp.ndarray
    _bounds: tuple[int, int] | None = eqx.field(static=True)
    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "total_count": constraints.nonnegative_integer,
    }
    has_enumerate_support = True

    def __init__(
        self,
        concentration1: ArrayLike,
        concentration0: ArrayLike,
        total_count: ArrayLike = 1,
        *,
        validate_args: bool | None = None,
    ):
        self._bounds = concrete_range(0, total_count)
        self.concentration1, self.concentration0, self.total_count = promote_dtype(
            concentration1, concentration0, total_count
        )
        self._finish_init(validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        key_p, key_k = jr.split(key)
        shape = self.shape(sample_shape)
        a, b = self.concentration1, self.concentration0
        p = jr.beta(key_p, a, b, shape, a.dtype)
        return _int(jr.binomial(key_k, self.total_count, p, shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n, a, b = self.total_count, self.concentration1, self.concentration0
        log_comb = gammaln(n + 1) - gammaln(value + 1) - gammaln(n - value + 1)
        lp = log_comb + betaln(value + a, n - value + b) - betaln(a, b)
        return jnp.where((value >= 0) & (value <= n), lp, -jnp.inf)

    def enumerate_support(self, expand: bool = True) -> Int[Array, "..."]:
        return count_support(self, *(self._bounds or (0, self.total_count)), expand)

    @property
    def mean(self) -> Array:
        a, b = self.concentration1, self.concentration0
        return self._batch(self.total_count * a / (a + b))

    @property
    def variance(self) -> Array:
        n, a, b = self.total_count, self.concentration1, self.concentration0
        s = a + b
        return self._batch(n * a * b * (s + n) / (s**2 * (s + 1)))


class ZeroInflatedPoisson(Distribution):
    r"""Zero with probability ``gate``, else Poisson(``rate``):
    $P(0) = g + (1 - g)e^{-\lambda}$, $P(k) = (1 - g)\,\text{Poisson}(k; \lambda)$.
    """

    gate: jnp.ndarray
    rate: jnp.ndarray
    arg_constraints = {"gate": constraints.unit_interval, "rate": constraints.positive}
    support = constraints.nonnegative_integer

    def __init__(
        self,
        gate: ArrayLike,
        rate: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.gate, self.rate = promote_dtype(gate, rate)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        key_g, key_k = jr.split(key)
        shape = self.shape(sample_shape)
        zero = jr.uniform(key_g, shape, self.gate.dtype) < self.gate
        return _int(jnp.where(zero, 0, jr.poisson(key_k, self.rate, shape)))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        g, rate = self.gate, self.rate
        log_poisson = xlogy(value, rate) - rate - gammaln(value + 1)
        positive = jnp.log1p(-g) + log_poisson
        zero = jnp.logaddexp(jnp.log(g), jnp.log1p(-g) - rate)  # no underflow
        lp = jnp.where(value == 0, zero, positive)
        return jnp.where(value >= 0, lp, -jnp.inf)

    @property
    def mean(self) -> Array:
        return self._batch((1 - self.gate) * self.rate)

    @property
    def variance(self) -> Array:
        g, rate = self.gate, self.rate
        return self._batch((1 - g) * rate * (1 + g * rate))


class DirichletMultinomial(Distribution):
    r"""Multinomial(``total_count``, $p$) with $p \sim$ Dirichlet(``concentration``),
    $p$ integrated out; event shape ``(K,)``:
    $P(x) = \frac{n!\,\Gamma(\alpha_0)}{\Gamma(n + \alpha_0)}
    \prod_k \frac{\Gamma(x_k + \alpha_k)}{x_k!\,\Gamma(\alpha_k)}$.

    Sampling under ``jit`` with a traced ``total_count`` needs the static upper
    bound ``total_count_max`` (as `Multinomial`).
    """

    concentration: jnp.ndarray
    total_count: jnp.ndarray
    total_count_max: int | None = eqx.field(static=True)
    arg_constraints = {
        "concentration": constraints.independent(constraints.positive, 1),
        "total_count": constraints.nonnegative_integer,
    }

    def __init__(
        self,
        concentration: ArrayLike,
        total_count: ArrayLike = 1,
        *,
        total_count_max: int | None = None,
        validate_args: bool | None = None,
    ):
        concentration, total_count = promote_dtype(
            concentration, total_count, broadcast=False
        )
        if concentration.ndim < 1:
            raise ValueError(
                "DirichletMultinomial: `concentration` needs a trailing dimension "
                "(one entry per category)."
            )
        batch = jnp.broadcast_shapes(total_count.shape, concentration.shape[:-1])
        self.concentration = jnp.broadcast_to(
            concentration, batch + concentration.shape[-1:]
        )
        self.total_count = jnp.broadcast_to(total_count, batch)
        self.total_count_max = total_count_max
        self._finish_init(validate_args)

    @property
    def event_shape(self) -> tuple:
        return self.concentration.shape[-1:]

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        key_p, key_x = jr.split(key)
        shape = tuple(sample_shape) + self.batch_shape
        probs = jr.dirichlet(key_p, self.concentration, shape, self.concentration.dtype)
        counts = Multinomial(
            self.total_count, probs=probs, total_count_max=self.total_count_max
        )
        return counts.sample(key_x)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        alpha, n = self.concentration, self.total_count
        alpha0 = jnp.sum(alpha, -1)
        terms = gammaln(value + alpha) - gammaln(alpha) - gammaln(value + 1)
        lp = gammaln(n + 1) + gammaln(alpha0) - gammaln(n + alpha0) + jnp.sum(terms, -1)
        valid = jnp.all(value >= 0, -1) & (jnp.sum(value, -1) == n)
        return jnp.where(valid, lp, -jnp.inf)

    @property
    def mean(self) -> Array:
        alpha = self.concentration
        return self.total_count[..., None] * alpha / jnp.sum(alpha, -1, keepdims=True)

    @property
    def variance(self) -> Array:
        alpha, n = self.concentration, self.total_count[..., None]
        alpha0 = jnp.sum(alpha, -1, keepdims=True)
        p = alpha / alpha0
        return n * p * (1 - p) * (n + alpha0) / (1 + alpha0)
