r"""The beta-negative-binomial: negative-binomial counts with a Beta-distributed
success probability integrated out."""

from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import gammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._betaln import betaln
from ._discrete import _int

__all__ = ["BetaNegativeBinomial"]


class BetaNegativeBinomial(Distribution):
    r"""NegativeBinomial(``n``, $p$) with $p \sim$ Beta(``concentration1`` $\alpha$,
    ``concentration0`` $\beta$) integrated out (NumPyro's ``BetaNegativeBinomial``):

    $$P(k) = \binom{n + k - 1}{k}\frac{B(\alpha + k, \beta + n)}{B(\alpha, \beta)},
    \qquad k = 0, 1, \dots$$

    As in NumPyro's ``NegativeBinomialProbs``, $p$ is the probability of the
    counted events, so $k \mid p$ has mean $np/(1 - p)$. The tail is a power
    law: mean $n\alpha/(\beta - 1)$ for $\beta > 1$ and variance
    $n\alpha(n + \beta - 1)(\alpha + \beta - 1)/((\beta - 1)^2(\beta - 2))$ for
    $\beta > 2$, infinite otherwise. This is scipy's ``betanbinom(n, a=beta,
    b=alpha)``. ``n`` need not be an integer.

    Sampling: $p/(1 - p) \sim$ BetaPrime($\alpha$, $\beta$) $= G_\alpha/G_\beta$,
    so $k \sim$ Poisson($G_n G_\alpha / G_\beta$) with independent unit-rate
    Gamma draws $G_a \sim$ Gamma($a$), which avoids forming $1 - p$.
    """

    concentration1: jnp.ndarray
    concentration0: jnp.ndarray
    n: jnp.ndarray
    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "n": constraints.positive,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        concentration1: ArrayLike,
        concentration0: ArrayLike,
        n: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.concentration1, self.concentration0, self.n = promote_dtype(
            concentration1, concentration0, n
        )
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape, dtype = self.shape(sample_shape), self.n.dtype
        k_n, k_a, k_b, k_pois = jr.split(key, 4)
        rate = (
            jr.gamma(k_n, self.n, shape, dtype)
            * jr.gamma(k_a, self.concentration1, shape, dtype)
            / jr.gamma(k_b, self.concentration0, shape, dtype)
        )
        return _int(jr.poisson(k_pois, rate, shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a, b, n = self.concentration1, self.concentration0, self.n
        lp = (
            gammaln(n + value)
            - gammaln(n)
            - gammaln(value + 1)
            + betaln(a + value, b + n)
            - betaln(a, b)
        )
        return jnp.where(value >= 0, lp, -jnp.inf)

    @property
    def mean(self) -> Array:
        a, b = self.concentration1, self.concentration0
        ok = b > 1
        return self._batch(
            jnp.where(ok, self.n * a / jnp.where(ok, b - 1, 1.0), jnp.inf)
        )

    @property
    def variance(self) -> Array:
        a, b, n = self.concentration1, self.concentration0, self.n
        ok = b > 2
        b = jnp.where(ok, b, 3.0)
        var = n * a * (n + b - 1) * (a + b - 1) / ((b - 1) ** 2 * (b - 2))
        return self._batch(jnp.where(ok, var, jnp.inf))
