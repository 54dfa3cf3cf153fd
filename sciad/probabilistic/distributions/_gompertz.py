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
    scale=1/rate)``. Mean $-e^\eta\operatorname{Ei}(-\eta)/b = e^\eta E_1(\eta)/b$
    (an asymptotic series for large $\eta$, where $e^\eta$ overflows). Sampled by
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
        return self._batch(_exp_e1(self.concentration) / self.rate)


# Beyond this the asymptotic series of e^x E1(x) is exact to float64 rounding
# (its 31st term is 31!/40^31 ~ 2e-16 of the first), while e^x itself overflows
# from x ~ 88 in float32 and ~ 709 in float64.
_SERIES_FROM = 40.0
_SERIES_TERMS = 30


def _exp_e1(x):
    """$e^x E_1(x) = -e^x \\operatorname{Ei}(-x)$ for $x > 0$, without overflow."""
    large = x > _SERIES_FROM
    small = jnp.where(
        large, 1.0, x
    )  # keeps the unused branch (and its gradient) finite
    direct = -jnp.exp(small) * expi(-small)
    inv = 1.0 / jnp.where(large, x, _SERIES_FROM)
    term, series = inv, inv
    for k in range(1, _SERIES_TERMS + 1):  # sum_k (-1)^k k! / x^(k+1)
        term = -term * k * inv
        series = series + term
    return jnp.where(large, series, direct)
