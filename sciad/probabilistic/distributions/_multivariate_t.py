"""The multivariate Student t."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import digamma, gammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._multivariate import whiten

__all__ = ["MultivariateStudentT"]


class MultivariateStudentT(Distribution):
    r"""Student t in $d$ dimensions with ``df`` $\nu$, ``loc`` $\mu$ and scale
    $\Sigma = LL^\top$ (``scale_tril`` $L$), NumPyro's signature:

    $$p(x) = \frac{\Gamma(\frac{\nu + d}{2})}{\Gamma(\frac{\nu}{2})
    (\nu\pi)^{d/2} |L|} \Big(1 + \tfrac{1}{\nu} |L^{-1}(x - \mu)|^2
    \Big)^{-\frac{\nu + d}{2}}.$$

    A draw is $\mu + L z \sqrt{\nu / g}$, $z \sim N(0, I)$, $g \sim
    \chi^2_\nu$; it is reparametrised in all three parameters (JAX's gamma
    sampler has implicit gradients in $\nu$). The mean is $\mu$ for $\nu > 1$,
    the covariance $\frac{\nu}{\nu - 2}\Sigma$ for $\nu > 2$ (NaN and
    infinite below, as NumPyro's).
    """

    df: jnp.ndarray
    loc: jnp.ndarray
    scale_tril: jnp.ndarray
    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real_vector,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    reparametrized_params = ["df", "loc", "scale_tril"]

    def __init__(
        self,
        df: ArrayLike,
        loc: ArrayLike = 0.0,
        scale_tril: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        if scale_tril is None:
            raise ValueError(
                "MultivariateStudentT: `scale_tril` is required (it fixes the "
                "dimension); e.g. jnp.eye(d)."
            )
        df, loc, tril = promote_dtype(df, loc, scale_tril, broadcast=False)
        if tril.ndim < 2 or tril.shape[-1] != tril.shape[-2]:
            raise ValueError(
                "MultivariateStudentT: `scale_tril` must be (..., d, d); got "
                f"{tril.shape}."
            )
        d = tril.shape[-1]
        if loc.ndim == 0:
            loc = jnp.broadcast_to(loc, (d,))
        if loc.shape[-1] != d:
            raise ValueError(
                f"MultivariateStudentT: `loc` has event size {loc.shape[-1]}, "
                f"`scale_tril` {d}."
            )
        batch = jnp.broadcast_shapes(jnp.shape(df), loc.shape[:-1], tril.shape[:-2])
        self.df = jnp.broadcast_to(df, batch)
        self.loc = jnp.broadcast_to(loc, batch + (d,))
        self.scale_tril = jnp.broadcast_to(tril, batch + (d, d))
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return self.loc.shape[-1:]

    @property
    def covariance_matrix(self):
        scale = self.scale_tril @ jnp.swapaxes(self.scale_tril, -2, -1)
        return self._covariance_factor()[..., None, None] * scale

    def _covariance_factor(self):
        nu = self.df
        return jnp.where(nu > 2, nu / (nu - 2), jnp.where(nu > 1, jnp.inf, jnp.nan))

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        k_normal, k_gamma = jr.split(key)
        shape = self.shape(sample_shape)
        z = jr.normal(k_normal, shape, self.loc.dtype)
        half_df = jnp.broadcast_to(self.df / 2, shape[:-1])
        chi2 = 2 * jr.gamma(k_gamma, half_df, dtype=self.loc.dtype)
        scaled = jnp.squeeze(self.scale_tril @ z[..., None], -1)
        return self.loc + scaled * jnp.sqrt(self.df / chi2)[..., None]

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z, half_log_det = whiten(self.loc, self.scale_tril, value)
        nu, d = self.df, self.loc.shape[-1]
        norm = (
            gammaln((nu + d) / 2)
            - gammaln(nu / 2)
            - 0.5 * d * (jnp.log(nu) + math.log(math.pi))
            - half_log_det
        )
        return norm - 0.5 * (nu + d) * jnp.log1p(jnp.sum(z**2, -1) / nu)

    def entropy(self) -> Float[Array, "..."]:
        nu, d = self.df, self.loc.shape[-1]
        half_log_det = jnp.sum(
            jnp.log(jnp.diagonal(self.scale_tril, axis1=-2, axis2=-1)), -1
        )
        return (
            gammaln(nu / 2)
            - gammaln((nu + d) / 2)
            + 0.5 * d * (jnp.log(nu) + math.log(math.pi))
            + half_log_det
            + 0.5 * (nu + d) * (digamma((nu + d) / 2) - digamma(nu / 2))
        )

    @property
    def mean(self) -> Array:
        return jnp.where((self.df > 1)[..., None], self.loc, jnp.nan)

    @property
    def variance(self) -> Array:
        diag = jnp.sum(self.scale_tril**2, -1)
        return self._covariance_factor()[..., None] * diag
