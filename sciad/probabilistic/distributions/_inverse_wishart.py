r"""Inverse-Wishart distributions on positive-definite matrices and their Cholesky
factors: the laws of $W^{-1}$ for a Wishart draw $W$."""

import math
from collections.abc import Sequence

import jax.numpy as jnp
import jax.random as jr
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import multigammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._wishart import _AbstractWishart, _FactorSquared

__all__ = ["InverseWishart", "InverseWishartCholesky"]


def _log_diag(tril):
    return jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1))


class InverseWishartCholesky(_AbstractWishart):
    r"""The Cholesky factor $L$ of $X = LL^\top \sim W^{-1}(\nu, \Psi)$
    (NumPyro's ``InverseWishartCholesky``).

    $\Psi = SS^\top$ is given by exactly one of ``scale_matrix``,
    ``rate_matrix`` ($\Psi^{-1}$) or ``scale_tril`` ($S$); the
    ``concentration`` (degrees of freedom) $\nu$ must exceed $n - 1$. With the
    Jacobian $2^n \prod_i L_{ii}^{n-i+1}$ of $L \mapsto LL^\top$ (rows
    $i = 1..n$) the density of the free coordinates (the lower triangle) is

    $$\log p(L) = \nu\sum_i \log S_{ii} - \sum_i (\nu + i)\log L_{ii}
    - \tfrac12\|L^{-1}S\|_F^2 + n(1 - \tfrac{\nu}{2})\log 2
    - \log\Gamma_n(\nu/2).$$

    Sampling: $X^{-1} \sim \mathrm{Wishart}(\nu, \Psi^{-1})$. Take $B$ lower
    triangular with $B_{ii}^2 \sim \chi^2_{\nu - n + i}$ and $B_{ij} \sim N(0, 1)$
    below the diagonal; $B^\top B \sim \mathrm{Wishart}(\nu, I)$ (the Bartlett
    decomposition with the rows taken in reverse order), so
    $L = SB^{-1}$ is lower triangular with a positive diagonal and
    $LL^\top = S(B^\top B)^{-1}S^\top \sim W^{-1}(\nu, \Psi)$. The draw is
    reparametrised in the scale.
    """

    support = constraints.lower_cholesky

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        n, dtype = self.scale_tril.shape[-1], self.scale_tril.dtype
        shape = tuple(sample_shape) + self.batch_shape
        k_chi, k_normal = jr.split(key)
        # B_ii^2 ~ chi^2(nu - n + i) = 2 Gamma((nu - n + i) / 2), i = 1..n
        dof = self.concentration[..., None] - n + jnp.arange(1, n + 1, dtype=dtype)
        diag = jnp.sqrt(2 * jr.gamma(k_chi, dof / 2, shape + (n,), dtype))
        below = jnp.tril(jr.normal(k_normal, shape + (n, n), dtype), -1)
        b = below + diag[..., None] * jnp.eye(n, dtype=dtype)
        eye = jnp.broadcast_to(jnp.eye(n, dtype=dtype), b.shape)
        return self.scale_tril @ solve_triangular(b, eye, lower=True)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n, nu = self.scale_tril.shape[-1], self.concentration
        i = jnp.arange(1, n + 1, dtype=self.scale_tril.dtype)
        shape = jnp.broadcast_shapes(jnp.shape(value), self.scale_tril.shape)
        value = jnp.broadcast_to(value, shape)
        # tr(Psi X^-1) = ||L^-1 S||_F^2
        whitened = solve_triangular(
            value, jnp.broadcast_to(self.scale_tril, shape), lower=True
        )
        return (
            nu * jnp.sum(_log_diag(self.scale_tril), -1)
            - jnp.sum((nu[..., None] + i) * _log_diag(value), -1)
            - 0.5 * jnp.sum(whitened**2, (-2, -1))
            + n * (1 - 0.5 * nu) * math.log(2)
            - multigammaln(0.5 * nu, n)
        )


class InverseWishart(_FactorSquared):
    r"""Inverse-Wishart $W^{-1}(\nu, \Psi)$ on $n \times n$ positive-definite
    matrices (NumPyro's ``InverseWishart``), the conjugate prior of a Gaussian
    covariance:

    $$\log p(X) = \tfrac{\nu}{2}\log|\Psi| - \tfrac{\nu + n + 1}{2}\log|X|
    - \tfrac12\operatorname{tr}(\Psi X^{-1}) - \tfrac{\nu n}{2}\log 2
    - \log\Gamma_n(\nu/2).$$

    $X \sim W^{-1}(\nu, \Psi)$ exactly when $X^{-1} \sim
    \mathrm{Wishart}(\nu, \Psi^{-1})$. Arguments as `InverseWishartCholesky`,
    whose samples $L$ give $X = LL^\top$. Mean $\Psi/(\nu - n - 1)$ for
    $\nu > n + 1$; for $\nu > n + 3$ the entrywise variance is

    $$\operatorname{Var} X_{ij} = \frac{(\nu - n + 1)\Psi_{ij}^2
    + (\nu - n - 1)\Psi_{ii}\Psi_{jj}}{(\nu - n)(\nu - n - 1)^2(\nu - n - 3)}$$

    (Press 1982, *Applied Multivariate Analysis*, §5.2; scipy's ``invwishart``).
    Where a moment does not exist it is NaN, as in NumPyro.
    """

    def _cholesky(self):
        return InverseWishartCholesky(
            self.concentration, scale_tril=self.scale_tril, validate_args=False
        )

    @property
    def mean(self) -> Array:
        n = self.scale_tril.shape[-1]
        nu = self.concentration[..., None, None]
        ok = nu > n + 1
        return jnp.where(
            ok, self.scale_matrix / jnp.where(ok, nu - n - 1, 1.0), jnp.nan
        )

    @property
    def variance(self) -> Array:
        n = self.scale_tril.shape[-1]
        nu = self.concentration[..., None, None]
        ok = nu > n + 3
        nu = jnp.where(ok, nu, n + 4.0)
        s = self.scale_matrix
        d = jnp.diagonal(s, axis1=-2, axis2=-1)
        num = (nu - n + 1) * s**2 + (nu - n - 1) * d[..., :, None] * d[..., None, :]
        var = num / ((nu - n) * (nu - n - 1) ** 2 * (nu - n - 3))
        return jnp.where(ok, var, jnp.nan)
