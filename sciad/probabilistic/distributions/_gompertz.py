r"""The Gompertz distribution of lifetimes whose hazard grows exponentially."""

from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import expi

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ._positive import AbstractConcentrationRate

__all__ = ["Gompertz"]


class Gompertz(AbstractConcentrationRate):
    r"""Gompertz with ``concentration`` $\eta$ and ``rate`` $b$ on $[0, \infty)$
    (NumPyro's ``Gompertz``, the $\eta, b$ of Wikipedia's article, with $b$ a rate):

    $$F(x) = 1 - \exp\{-\eta(e^{bx} - 1)\}, \qquad
    \log p(x) = \log\eta + \log b + bx - \eta(e^{bx} - 1).$$

    The hazard is $\eta b\,e^{bx}$. This is scipy's ``gompertz(c=concentration,
    scale=1/rate)``. Mean $-e^\eta\operatorname{Ei}(-\eta)/b$. Sampled by
    inversion, $F^{-1}(q) = \log(1 - \log(1 - q)/\eta)/b$, so the draw is
    reparametrised.
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        u = jr.uniform(key, self.shape(sample_shape), self.rate.dtype)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        bx = value * self.rate
        lp = (
            jnp.log(self.concentration)
            + jnp.log(self.rate)
            + bx
            - self.concentration * jnp.expm1(bx)
        )
        return jnp.where(value >= 0, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        bx = jnp.maximum(value, 0.0) * self.rate
        return -jnp.expm1(-self.concentration * jnp.expm1(bx))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return jnp.log1p(-jnp.log1p(-q) / self.concentration) / self.rate

    @property
    def mean(self) -> Array:
        eta = self.concentration
        return self._batch(-jnp.exp(eta) * expi(-eta) / self.rate)
