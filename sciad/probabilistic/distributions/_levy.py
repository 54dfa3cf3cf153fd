r"""The Lévy distribution: the first-passage time of Brownian motion."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import erfc, ndtri

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._continuous_real import AbstractLocScale

__all__ = ["Levy"]


class Levy(AbstractLocScale):
    r"""Lévy with location ``loc`` $\mu$ and scale ``scale`` $c$ on $(\mu, \infty)$
    (NumPyro's ``Levy``; scipy's ``levy``):

    $$\log p(x) = \tfrac12\log\frac{c}{2\pi} - \frac{c}{2(x - \mu)}
    - \tfrac32\log(x - \mu), \qquad
    F(x) = \operatorname{erfc}\sqrt{\frac{c}{2(x - \mu)}}.$$

    It is the stable law with index 1/2 and full skew, $\mu + c/Z^2$ for
    $Z \sim N(0, 1)$; mean and variance are infinite. Sampled by inversion,
    $F^{-1}(q) = \mu + c / \Phi^{-1}(q/2)^2$, so the draw is reparametrised.
    """

    @property
    def support(self):
        return constraints.greater_than(self.loc)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        dtype = self.loc.dtype
        u = jr.uniform(key, self.shape(sample_shape), dtype, jnp.finfo(dtype).tiny)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        shifted = value - self.loc
        inside = shifted > 0
        safe = jnp.where(inside, shifted, 1.0)  # keeps gradients finite outside
        lp = (
            0.5 * jnp.log(self.scale / (2 * math.pi))
            - 0.5 * self.scale / safe
            - 1.5 * jnp.log(safe)
        )
        return jnp.where(inside, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        shifted = value - self.loc
        inside = shifted > 0
        safe = jnp.where(inside, shifted, 1.0)
        return jnp.where(inside, erfc(jnp.sqrt(0.5 * self.scale / safe)), 0.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        # Phi^-1(1 - q/2) = -Phi^-1(q/2), the latter accurate for small q
        return self.loc + self.scale / ndtri(0.5 * q) ** 2

    def entropy(self) -> Float[Array, "..."]:
        const = 0.5 + 1.5 * np.euler_gamma + 0.5 * math.log(16 * math.pi)
        return self._batch(const + jnp.log(self.scale))

    @property
    def mean(self) -> Array:
        return jnp.full(self.batch_shape, jnp.inf, self.loc.dtype)

    @property
    def variance(self) -> Array:
        return jnp.full(self.batch_shape, jnp.inf, self.loc.dtype)
