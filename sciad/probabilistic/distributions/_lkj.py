"""LKJ distributions over correlation matrices and their Cholesky factors."""

import math
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import gammaln, multigammaln

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_params
from ._matrix_transforms import CorrMatrixCholeskyTransform
from ._transformed import TransformedDistribution

__all__ = ["LKJ", "LKJCholesky"]


class LKJCholesky(Distribution):
    r"""LKJ($\eta$) on the Cholesky factor $L$ of a ``dimension`` x ``dimension``
    correlation matrix.

    The correlation matrix $C = LL^\top$ has density $\propto \det(C)^{\eta-1}$; on $L$
    (free coordinates: the strict lower triangle) this is
    $\prod_{i} L_{ii}^{2(\eta-1) + n - 1 - i}$ times the normaliser of Lewandowski,
    Kurowicka & Joe (2009). Sampling uses the onion method.

    References:
        Lewandowski, Kurowicka, Joe, "Generating random correlation matrices based on
        vines and extended onion method", J. Multivariate Anal. 100 (2009),
        doi:10.1016/j.jmva.2009.04.008.
    """

    concentration: jnp.ndarray
    dimension: int = eqx.field(static=True)
    sample_method: str = eqx.field(static=True)
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(
        self,
        dimension,
        concentration: ArrayLike = 1.0,
        sample_method="onion",
        *,
        validate_args: bool | None = None,
    ):
        if not (isinstance(dimension, int) and dimension >= 2):
            raise ValueError(
                f"LKJCholesky: `dimension` must be an int >= 2; got {dimension!r}"
            )
        if sample_method != "onion":
            raise ValueError(
                "LKJCholesky: only sample_method='onion' "
                f"is supported; got {sample_method!r}"
            )
        (self.concentration,) = promote_params(concentration)
        self.dimension = dimension
        self.sample_method = sample_method
        self._finish_init(validate_args)

    @property
    def event_shape(self):
        return (self.dimension, self.dimension)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        n = self.dimension
        dtype = self.concentration.dtype
        shape = tuple(sample_shape) + self.batch_shape
        k_beta, k_normal = jr.split(key)
        # Row i (i >= 1) gets squared norm y_i ~ Beta(i/2, eta + (n-1-i)/2) (LKJ 2009,
        # 3.2).
        offset = 0.5 * jnp.arange(n - 1, dtype=dtype)
        marginal = self.concentration[..., None] + 0.5 * (n - 2)
        y = jr.beta(k_beta, offset + 0.5, marginal - offset, shape + (n - 1,), dtype)
        y = jnp.concatenate([jnp.zeros(shape + (1,), dtype), y], axis=-1)
        u = jnp.tril(jr.normal(k_normal, shape + (n, n), dtype), -1)
        norm = jnp.linalg.norm(u, axis=-1, keepdims=True)
        u = jnp.where(norm > 0, u / jnp.where(norm > 0, norm, 1.0), 0.0)
        w = jnp.sqrt(y)[..., None] * u
        tiny = jnp.finfo(dtype).tiny
        diag = jnp.sqrt(jnp.clip(1 - jnp.sum(w**2, -1), tiny))
        return w + diag[..., None] * jnp.eye(n, dtype=dtype)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n = self.dimension
        eta = self.concentration
        i = jnp.arange(n, dtype=eta.dtype)
        order = 2 * (eta[..., None] - 1) + n - 1 - i
        log_diag = jnp.log(jnp.diagonal(value, axis1=-2, axis2=-1))
        unnormalised = jnp.sum(order * log_diag, -1)
        alpha = eta + 0.5 * (n - 1)
        log_norm = (
            0.5 * (n - 1) * math.log(math.pi)
            + multigammaln(alpha - 0.5, n - 1)
            - (n - 1) * gammaln(alpha)
        )
        return unnormalised - log_norm


class LKJ(TransformedDistribution):
    r"""LKJ($\eta$) on ``dimension`` x ``dimension`` correlation matrices $C$:
    density $\propto \det(C)^{\eta - 1}$ (NumPyro's ``LKJ``).

    `LKJCholesky` pushed through $L \mapsto LL^\top$, with that map's Jacobian.
    Inside a model prefer `LKJCholesky`: a sampler then works on the factor
    directly, without a Cholesky decomposition per density evaluation. The
    mean is the identity for every $\eta$ (the law is invariant under
    permutations and sign flips of the coordinates).
    """

    def __init__(
        self,
        dimension,
        concentration: ArrayLike = 1.0,
        sample_method="onion",
        *,
        validate_args: bool | None = None,
    ):
        base = LKJCholesky(
            dimension, concentration, sample_method, validate_args=validate_args
        )
        super().__init__(
            base, CorrMatrixCholeskyTransform().inv, validate_args=validate_args
        )

    @property
    def dimension(self) -> int:
        return self.base_dist.dimension

    @property
    def concentration(self) -> Array:
        return self.base_dist.concentration

    @property
    def mean(self) -> Array:
        eye = jnp.eye(self.dimension, dtype=self.concentration.dtype)
        return jnp.broadcast_to(eye, self.batch_shape + self.event_shape)
