r"""Wishart distributions on positive-definite matrices and their Cholesky factors."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import multigammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_params
from ._multivariate import scale_tril_from

__all__ = ["Wishart", "WishartCholesky"]


def _params(name, concentration, scale_matrix, rate_matrix, scale_tril):
    """(concentration, scale_tril) broadcast to one batch shape."""
    tril = scale_tril_from(
        name, scale_matrix=scale_matrix, rate_matrix=rate_matrix, scale_tril=scale_tril
    )
    (conc,) = promote_params(concentration)
    conc = conc.astype(tril.dtype)
    n = tril.shape[-1]
    batch = jnp.broadcast_shapes(conc.shape, tril.shape[:-2])
    return jnp.broadcast_to(conc, batch), jnp.broadcast_to(tril, batch + (n, n))


class _AbstractWishart(Distribution):
    """Parameters shared by the Wishart and inverse-Wishart families."""

    concentration: jnp.ndarray
    scale_tril: jnp.ndarray

    @property
    def arg_constraints(self):
        # nu > n - 1, or the density does not integrate
        return {
            "concentration": constraints.greater_than(self.scale_tril.shape[-1] - 1),
            "scale_tril": constraints.lower_cholesky,
        }

    reparametrized_params = ["scale_tril"]

    def __init__(
        self,
        concentration: ArrayLike,
        scale_matrix: ArrayLike | None = None,
        rate_matrix: ArrayLike | None = None,
        scale_tril: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        self.concentration, self.scale_tril = _params(
            type(self).__name__, concentration, scale_matrix, rate_matrix, scale_tril
        )
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return self.scale_tril.shape[-2:]

    @property
    def scale_matrix(self) -> Array:
        return self.scale_tril @ jnp.swapaxes(self.scale_tril, -2, -1)


class WishartCholesky(_AbstractWishart):
    r"""The Cholesky factor $L$ of $W = LL^\top \sim \mathrm{Wishart}(\nu, \Sigma)$
    (NumPyro's ``WishartCholesky``).

    $\Sigma = SS^\top$ is given by exactly one of ``scale_matrix``,
    ``rate_matrix`` ($\Sigma^{-1}$) or ``scale_tril`` ($S$); the
    ``concentration`` (degrees of freedom) $\nu$ must exceed $n - 1$. With the
    Jacobian $2^n \prod_i L_{ii}^{n-i+1}$ of $L \mapsto LL^\top$ (rows
    $i = 1..n$) the density of the free coordinates (the lower triangle) is

    $$\log p(L) = \sum_i (\nu - i)\log L_{ii} - \tfrac12\|S^{-1}L\|_F^2
    - \nu\sum_i \log S_{ii} - \tfrac{n(\nu - 2)}{2}\log 2 - \log\Gamma_n(\nu/2).$$

    Sampling uses the Bartlett decomposition (Bartlett 1933; Smith & Hocking
    1972, Applied Statistics 21): $L = SA$ with $A$ lower triangular,
    $A_{ii}^2 \sim \chi^2_{\nu - i + 1}$ and $A_{ij} \sim N(0, 1)$ below the
    diagonal; $SA$ is lower triangular with a positive diagonal, so it is the
    Cholesky factor of $W$ itself. Inside a model prefer this to `Wishart`: the
    sampler then works on $L$, without a Cholesky decomposition per density.
    """

    support = constraints.lower_cholesky

    @property
    def _n(self) -> int:
        return self.scale_tril.shape[-1]

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        n, dtype = self._n, self.scale_tril.dtype
        shape = tuple(sample_shape) + self.batch_shape
        k_chi, k_normal = jr.split(key)
        # A_ii^2 ~ chi^2(nu - i + 1) = 2 Gamma((nu - i + 1) / 2), i = 1..n
        dof = self.concentration[..., None] - jnp.arange(n, dtype=dtype)
        diag = jnp.sqrt(2 * jr.gamma(k_chi, dof / 2, shape + (n,), dtype))
        below = jnp.tril(jr.normal(k_normal, shape + (n, n), dtype), -1)
        a = below + diag[..., None] * jnp.eye(n, dtype=dtype)
        return self.scale_tril @ a

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n, nu = self._n, self.concentration
        i = jnp.arange(1, n + 1, dtype=self.scale_tril.dtype)
        log_diag = jnp.log(jnp.diagonal(value, axis1=-2, axis2=-1))
        shape = jnp.broadcast_shapes(jnp.shape(value), self.scale_tril.shape)
        tril = jnp.broadcast_to(self.scale_tril, shape)
        whitened = solve_triangular(tril, jnp.broadcast_to(value, shape), lower=True)
        log_s = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), -1)
        return (
            jnp.sum((nu[..., None] - i) * log_diag, -1)
            - 0.5 * jnp.sum(whitened**2, (-2, -1))
            - nu * log_s
            - 0.5 * n * (nu - 2) * math.log(2)
            - multigammaln(0.5 * nu, n)
        )


class _FactorSquared(_AbstractWishart):
    r"""A law on $X = LL^\top$ given by the law of its Cholesky factor $L$
    (`_cholesky()`, a distribution on `lower_cholesky`): draws are squared
    factors, and the density divides by the Jacobian of $L \mapsto LL^\top$."""

    support = constraints.positive_definite

    def _cholesky(self) -> Distribution:
        raise NotImplementedError

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        chol = self._cholesky().sample(key, sample_shape)
        return chol @ jnp.swapaxes(chol, -2, -1)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n = self.scale_tril.shape[-1]
        chol = jnp.linalg.cholesky(value)
        # p(X) = p(L) / |dX/dL|, |dX/dL| = 2^n prod_i L_ii^(n - i + 1)
        i = jnp.arange(1, n + 1, dtype=chol.dtype)
        log_diag = jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1))
        log_jac = n * math.log(2) + jnp.sum((n + 1 - i) * log_diag, -1)
        return self._cholesky().log_prob(chol) - log_jac


class Wishart(_FactorSquared):
    r"""Wishart($\nu$, $\Sigma$) on $n \times n$ positive-definite matrices
    (NumPyro's ``Wishart``):

    $$\log p(W) = \tfrac{\nu - n - 1}{2}\log|W|
    - \tfrac12\operatorname{tr}(\Sigma^{-1}W) - \tfrac{\nu n}{2}\log 2
    - \tfrac{\nu}{2}\log|\Sigma| - \log\Gamma_n(\nu/2),$$

    the law of $\sum_{k=1}^{\nu} x_k x_k^\top$ for $x_k \sim N(0, \Sigma)$ when
    $\nu$ is an integer. Arguments as `WishartCholesky`, whose samples $L$ give
    $W = LL^\top$. Mean $\nu\Sigma$; variance
    $\operatorname{Var} W_{ij} = \nu(\Sigma_{ij}^2 + \Sigma_{ii}\Sigma_{jj})$.
    """

    def _cholesky(self):
        return WishartCholesky(
            self.concentration, scale_tril=self.scale_tril, validate_args=False
        )

    @property
    def mean(self) -> Array:
        return self.concentration[..., None, None] * self.scale_matrix

    @property
    def variance(self) -> Array:
        s = self.scale_matrix
        d = jnp.diagonal(s, axis1=-2, axis2=-1)
        return self.concentration[..., None, None] * (
            s**2 + d[..., :, None] * d[..., None, :]
        )
