"""Multivariate continuous distributions: Dirichlet, (low-rank) multivariate normal,
Gaussian random walk."""

import math
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.linalg import cho_solve, solve_triangular
from jax.scipy.special import digamma, gammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype, promote_params

__all__ = [
    "Dirichlet",
    "GaussianRandomWalk",
    "LowRankMultivariateNormal",
    "MultivariateNormal",
]


class Dirichlet(Distribution):
    """Dirichlet on the simplex with ``concentration[..., K]``; event shape ``(K,)``."""

    concentration: jnp.ndarray
    arg_constraints = {
        "concentration": constraints.independent(constraints.positive, 1)
    }
    support = constraints.simplex
    reparametrized_params = ["concentration"]

    def __init__(self, concentration: ArrayLike, *, validate_args: bool | None = None):
        (self.concentration,) = promote_params(concentration)
        if self.concentration.ndim < 1:
            raise ValueError(
                "Dirichlet: `concentration` must have at least one dimension."
            )
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return self.concentration.shape[-1:]

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape
        return jr.dirichlet(key, self.concentration, shape, self.concentration.dtype)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a = self.concentration
        norm = gammaln(jnp.sum(a, -1)) - jnp.sum(gammaln(a), -1)
        return norm + jnp.sum((a - 1) * jnp.log(value), -1)

    def entropy(self) -> Float[Array, "..."]:
        a = self.concentration
        a0 = jnp.sum(a, -1)
        k = a.shape[-1]
        return (
            jnp.sum(gammaln(a), -1)
            - gammaln(a0)
            + (a0 - k) * digamma(a0)
            - jnp.sum((a - 1) * digamma(a), -1)
        )

    @property
    def mean(self) -> Array:
        return self.concentration / jnp.sum(self.concentration, -1, keepdims=True)

    @property
    def variance(self) -> Array:
        a0 = jnp.sum(self.concentration, -1, keepdims=True)
        return self.concentration * (a0 - self.concentration) / (a0**2 * (a0 + 1))


def whiten(loc, scale_tril, value):
    """$z = L^{-1}(x - \\mu)$ and $\\log|L|$, broadcast over value and batch."""
    diff = value - loc
    shape = jnp.broadcast_shapes(diff.shape[:-1], loc.shape[:-1])
    tril = jnp.broadcast_to(scale_tril, shape + scale_tril.shape[-2:])
    diff = jnp.broadcast_to(diff, shape + diff.shape[-1:])
    z = solve_triangular(tril, diff[..., None], lower=True)[..., 0]
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), -1)
    return z, half_log_det


def _cholesky_of_inverse(precision):
    # L with L L^T = P^{-1}, via the Cholesky factor of the flipped precision
    # (only a triangular inverse, which is better conditioned than inv(P)).
    flip = jnp.linalg.cholesky(precision[..., ::-1, ::-1])[..., ::-1, ::-1]
    tril_inv = jnp.swapaxes(flip, -2, -1)
    eye = jnp.broadcast_to(
        jnp.eye(precision.shape[-1], dtype=precision.dtype), tril_inv.shape
    )
    return solve_triangular(tril_inv, eye, lower=True)


def scale_tril_from(owner: str, **given) -> Array:
    """The Cholesky factor from exactly one of three keyword arguments, given in
    the order (covariance-like, precision-like, Cholesky factor)."""
    (cov, prec, _), names = given.values(), list(given)
    if sum(m is not None for m in given.values()) != 1:
        raise ValueError(
            f"{owner}: give exactly one of `{names[0]}`, `{names[1]}` or `{names[2]}`."
        )
    (matrix,) = promote_params(next(m for m in given.values() if m is not None))
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{owner}: the matrix must be (..., n, n); got {matrix.shape}")
    if cov is not None:
        return jnp.linalg.cholesky(matrix)
    if prec is not None:
        return _cholesky_of_inverse(matrix)
    return matrix


class MultivariateNormal(Distribution):
    r"""Gaussian $\mathcal{N}(\text{loc}, \Sigma)$ given by exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``
    ($\Sigma = LL^\top$)."""

    loc: jnp.ndarray
    scale_tril: jnp.ndarray
    arg_constraints = {
        "loc": constraints.real_vector,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    reparametrized_params = ["loc", "scale_tril"]

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        covariance_matrix: ArrayLike | None = None,
        precision_matrix: ArrayLike | None = None,
        scale_tril: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        tril = scale_tril_from(
            "MultivariateNormal",
            covariance_matrix=covariance_matrix,
            precision_matrix=precision_matrix,
            scale_tril=scale_tril,
        )
        n = tril.shape[-1]
        loc = jnp.asarray(loc, tril.dtype)
        if loc.ndim == 0:
            loc = jnp.broadcast_to(loc, (n,))
        if loc.shape[-1] != n:
            raise ValueError(
                f"MultivariateNormal: `loc` has event size {loc.shape[-1]}, matrix {n}"
            )
        batch = jnp.broadcast_shapes(loc.shape[:-1], tril.shape[:-2])
        self.loc = jnp.broadcast_to(loc, batch + (n,))
        self.scale_tril = jnp.broadcast_to(tril, batch + (n, n))
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return self.loc.shape[-1:]

    @property
    def covariance_matrix(self):
        return self.scale_tril @ jnp.swapaxes(self.scale_tril, -2, -1)

    @property
    def precision_matrix(self):
        eye = jnp.broadcast_to(
            jnp.eye(self.loc.shape[-1], dtype=self.loc.dtype), self.scale_tril.shape
        )
        return cho_solve((self.scale_tril, True), eye)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        eps = jr.normal(key, self.shape(sample_shape), self.loc.dtype)
        return self.loc + jnp.squeeze(self.scale_tril @ eps[..., None], -1)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z, half_log_det = whiten(self.loc, self.scale_tril, value)
        n = self.loc.shape[-1]
        return -0.5 * jnp.sum(z**2, -1) - half_log_det - 0.5 * n * math.log(2 * math.pi)

    def entropy(self) -> Float[Array, "..."]:
        n = self.loc.shape[-1]
        half_log_det = jnp.sum(
            jnp.log(jnp.diagonal(self.scale_tril, axis1=-2, axis2=-1)), -1
        )
        return 0.5 * n * (1 + math.log(2 * math.pi)) + half_log_det

    @property
    def mean(self) -> Array:
        return self.loc

    @property
    def variance(self) -> Array:
        return jnp.sum(self.scale_tril**2, -1)


class LowRankMultivariateNormal(Distribution):
    r"""Gaussian with covariance $WW^\top + \mathrm{diag}(d)$ (``cov_factor`` W,
    ``cov_diag`` d).

    ``log_prob`` costs $O(nk^2)$ via the Woodbury identity and the matrix-determinant
    lemma.
    """

    loc: jnp.ndarray
    cov_factor: jnp.ndarray
    cov_diag: jnp.ndarray
    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    reparametrized_params = ["loc", "cov_factor", "cov_diag"]

    def __init__(
        self,
        loc: ArrayLike,
        cov_factor: ArrayLike,
        cov_diag: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        loc, cov_diag = promote_params(loc, cov_diag)
        (cov_factor,) = promote_params(cov_factor)
        if cov_factor.ndim < 2 or cov_factor.shape[-2] != loc.shape[-1]:
            raise ValueError(
                "LowRankMultivariateNormal: `cov_factor` must be (..., n, k) with n = "
                f"{loc.shape[-1]}; got {cov_factor.shape}"
            )
        n, k = cov_factor.shape[-2:]
        batch = jnp.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2])
        self.loc = jnp.broadcast_to(loc, batch + (n,))
        self.cov_diag = jnp.broadcast_to(cov_diag, batch + (n,))
        self.cov_factor = jnp.broadcast_to(cov_factor, batch + (n, k))
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return self.loc.shape[-1:]

    @property
    def covariance_matrix(self):
        w = self.cov_factor
        return w @ jnp.swapaxes(w, -2, -1) + self.cov_diag[..., None] * jnp.eye(
            w.shape[-2]
        )

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        k1, k2 = jr.split(key)
        k = self.cov_factor.shape[-1]
        shape = tuple(sample_shape) + self.batch_shape
        eps_w = jr.normal(k1, shape + (k,), self.loc.dtype)
        eps_d = jr.normal(k2, shape + self.event_shape, self.loc.dtype)
        w_eps = jnp.squeeze(self.cov_factor @ eps_w[..., None], -1)
        return self.loc + w_eps + jnp.sqrt(self.cov_diag) * eps_d

    def _capacitance(self):
        # Woodbury with capacitance C = I + W^T D^{-1} W; determinant lemma:
        # log|Sigma| = log|D| + log|C|.
        w, d = self.cov_factor, self.cov_diag
        wt_dinv = jnp.swapaxes(w / d[..., None], -2, -1)
        eye = jnp.eye(w.shape[-1], dtype=w.dtype)
        cap_tril = jnp.linalg.cholesky(eye + wt_dinv @ w)
        log_det = jnp.sum(jnp.log(d), -1) + 2 * jnp.sum(
            jnp.log(jnp.diagonal(cap_tril, axis1=-2, axis2=-1)), -1
        )
        return wt_dinv, cap_tril, log_det

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        diff = value - self.loc
        k = self.cov_factor.shape[-1]
        wt_dinv, cap_tril, log_det = self._capacitance()
        proj = jnp.squeeze(wt_dinv @ diff[..., None], -1)
        proj = jnp.broadcast_to(
            proj, jnp.broadcast_shapes(proj.shape, cap_tril.shape[:-1])
        )
        y = solve_triangular(
            jnp.broadcast_to(cap_tril, proj.shape + (k,)), proj[..., None], lower=True
        )
        mahalanobis = jnp.sum(diff**2 / self.cov_diag, -1) - jnp.sum(y[..., 0] ** 2, -1)
        n = self.loc.shape[-1]
        return -0.5 * (mahalanobis + log_det + n * math.log(2 * math.pi))

    def entropy(self) -> Float[Array, "..."]:
        n = self.loc.shape[-1]
        return 0.5 * (n * (1 + math.log(2 * math.pi)) + self._capacitance()[2])

    @property
    def mean(self) -> Array:
        return self.loc

    @property
    def variance(self) -> Array:
        return jnp.sum(self.cov_factor**2, -1) + self.cov_diag


class GaussianRandomWalk(Distribution):
    r"""$x_t = x_{t-1} + \sigma\varepsilon_t$, $x_0 = 0$, observed at $t = 1..T$
    (``num_steps`` $= T$): event shape ``(T,)``, covariance
    $\sigma^2 \min(s, t)$; reparametrised.
    """

    scale: jnp.ndarray
    num_steps: int = eqx.field(static=True)
    arg_constraints = {"scale": constraints.positive}
    support = constraints.real_vector
    reparametrized_params = ["scale"]

    def __init__(
        self,
        scale: ArrayLike = 1.0,
        num_steps: int = 1,
        *,
        validate_args: bool | None = None,
    ):
        if not isinstance(num_steps, int | np.integer) or num_steps < 1:
            raise ValueError(
                f"GaussianRandomWalk: `num_steps` must be an int >= 1; got "
                f"{num_steps!r}."
            )
        (self.scale,) = promote_dtype(scale)
        self.num_steps = int(num_steps)
        self._finish_init(validate_args)

    @property
    def event_shape(self) -> tuple:
        return (self.num_steps,)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        eps = jr.normal(key, self.shape(sample_shape), self.scale.dtype)
        return jnp.cumsum(self.scale[..., None] * eps, axis=-1)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        value = jnp.asarray(value)
        steps = jnp.diff(value, axis=-1, prepend=jnp.zeros_like(value[..., :1]))
        z = steps / self.scale[..., None]
        n = self.num_steps
        return (
            -0.5 * jnp.sum(z**2, -1)
            - n * jnp.log(self.scale)
            - n * 0.5 * math.log(2 * math.pi)
        )

    @property
    def mean(self) -> Array:
        return jnp.zeros(self.batch_shape + self.event_shape, self.scale.dtype)

    @property
    def variance(self) -> Array:
        t = jnp.arange(1, self.num_steps + 1, dtype=self.scale.dtype)
        return self.scale[..., None] ** 2 * t
