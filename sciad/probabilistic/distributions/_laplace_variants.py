r"""Laplace-like families on the real line: SoftLaplace (smooth) and
AsymmetricLaplaceQuantile (the quantile-regression likelihood)."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._continuous_real import AbstractLocScale, AsymmetricLaplace

__all__ = ["AsymmetricLaplaceQuantile", "SoftLaplace"]


class SoftLaplace(AbstractLocScale):
    r"""A smooth, log-convex density with Laplace tails (NumPyro's ``SoftLaplace``):
    for $z = (x - \text{loc}) / \text{scale}$,

    $$p(x) = \frac{2}{\pi\,\text{scale}}\,\frac{1}{e^{z} + e^{-z}}, \qquad
    F(x) = \tfrac{2}{\pi}\arctan e^{z}.$$

    Unlike `Laplace` it is infinitely differentiable, which suits HMC and
    Laplace approximations. Mean ``loc``, variance $(\pi\,\text{scale}/2)^2$.
    Sampled by inversion, $F^{-1}(q) = \text{loc} + \text{scale}\log\tan(\pi q/2)$,
    so the draw is reparametrised.
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        dtype = self.loc.dtype
        u = jr.uniform(key, self.shape(sample_shape), dtype, jnp.finfo(dtype).tiny)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return math.log(2 / math.pi) - jnp.log(self.scale) - jnp.logaddexp(z, -z)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        z = (value - self.loc) / self.scale
        return 2 / math.pi * jnp.arctan(jnp.exp(z))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.loc + self.scale * jnp.log(jnp.tan(0.5 * math.pi * q))

    @property
    def mean(self) -> Array:
        return self._batch(self.loc)

    @property
    def variance(self) -> Array:
        return self._batch((0.5 * math.pi * self.scale) ** 2)


class AsymmetricLaplaceQuantile(Distribution):
    r"""`AsymmetricLaplace` parametrised by the mass ``quantile`` $\tau$ below
    ``loc`` (NumPyro's ``AsymmetricLaplaceQuantile``), the working likelihood of
    Bayesian quantile regression (Yu & Moyeed 2001, Statistics & Probability
    Letters 54, doi:10.1016/S0167-7152(01)00124-9):

    $$p(x) = \frac{\tau(1 - \tau)}{\sigma}\exp\{-\rho_\tau((x - \mu)/\sigma)\},
    \qquad \rho_\tau(u) = u(\tau - \mathbb{1}[u < 0]),$$

    with $\mu$ = ``loc`` and $\sigma$ = ``scale``. It equals
    ``AsymmetricLaplace(loc, scale * kappa / tau, kappa)`` with
    $\kappa = \sqrt{\tau / (1 - \tau)}$; ``quantile=0.5`` gives Laplace(loc,
    2 scale). Reparametrised.
    """

    loc: jnp.ndarray
    scale: jnp.ndarray
    quantile: jnp.ndarray
    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "quantile": constraints.open_interval(0.0, 1.0),
    }
    support = constraints.real
    reparametrized_params = ["loc", "scale", "quantile"]

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        quantile: ArrayLike = 0.5,
        *,
        validate_args: bool | None = None,
    ):
        self.loc, self.scale, self.quantile = promote_dtype(loc, scale, quantile)
        self._finish_init(validate_args)

    @property
    def _ald(self) -> AsymmetricLaplace:
        tau = self.quantile
        kappa = jnp.sqrt(tau / (1 - tau))
        return AsymmetricLaplace(
            self.loc, self.scale * kappa / tau, kappa, validate_args=False
        )

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self._ald.sample(key, sample_shape)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return self._ald.log_prob(value)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return self._ald.cdf(value)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self._ald.icdf(q)

    def entropy(self) -> Float[Array, "..."]:
        return self._ald.entropy()

    @property
    def mean(self) -> Array:
        return self._ald.mean

    @property
    def variance(self) -> Array:
        return self._ald.variance
