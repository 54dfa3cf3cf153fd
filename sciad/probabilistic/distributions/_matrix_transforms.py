"""Transforms onto matrix spaces: Cholesky factors, correlation and covariance matrices.

Log-determinants are taken with respect to the free coordinates: the lower (or
strictly lower) triangle, row-major.
"""

import math

import jax.numpy as jnp
import numpy as np

from ..._softplus import softplus
from . import constraints
from ._transform_base import Transform


def _tril_size_to_n(m, diagonal):
    # m = n (n + 1) / 2 (diagonal included) or n (n - 1) / 2 (strict).
    n = int(round((math.sqrt(8 * m + 1) - 1) / 2)) + (1 if diagonal < 0 else 0)
    if n * (n + 1 + 2 * diagonal) // 2 != m:
        raise ValueError(f"last dimension {m} is not a triangular number")
    return n


def vec_to_tril_matrix(x, diagonal=0):
    """Fill the lower triangle (``diagonal=-1``: strict) of a matrix, row-major."""
    n = _tril_size_to_n(x.shape[-1], diagonal)
    rows, cols = np.tril_indices(n, diagonal)
    out = jnp.zeros(x.shape[:-1] + (n, n), x.dtype)
    return out.at[..., rows, cols].set(x)


def matrix_to_tril_vec(y, diagonal=0):
    """Inverse of :func:`vec_to_tril_matrix`."""
    rows, cols = np.tril_indices(y.shape[-1], diagonal)
    return y[..., rows, cols]


class LowerCholeskyTransform(Transform):
    """Vector of length ``n(n+1)/2`` to a lower-triangular matrix with positive
    diagonal.
    """

    domain = constraints.real_vector
    codomain = constraints.lower_cholesky

    def __call__(self, x):
        n = _tril_size_to_n(x.shape[-1], 0)
        off = vec_to_tril_matrix(x[..., :-n], diagonal=-1)
        return off + jnp.exp(x[..., -n:])[..., None] * jnp.eye(n, dtype=x.dtype)

    def _inverse(self, y):
        diag = jnp.diagonal(y, axis1=-2, axis2=-1)
        return jnp.concatenate([matrix_to_tril_vec(y, -1), jnp.log(diag)], axis=-1)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        n = y.shape[-1]
        return jnp.sum(x[..., -n:], axis=-1)

    def forward_shape(self, shape):
        n = _tril_size_to_n(shape[-1], 0)
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n + 1) // 2,)


class CorrCholeskyTransform(Transform):
    r"""Vector of length ``n(n-1)/2`` to the Cholesky factor of a correlation matrix.

    Entries pass through ``tanh`` to partial correlations $z_{ij}\in(-1,1)$; row $i$ is
    then $L_{ij} = z_{ij}\sqrt{1-\sum_{k<j}L_{ik}^2}$ with unit row norm (LKJ 2009).
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def __call__(self, x):
        z = vec_to_tril_matrix(jnp.tanh(x), diagonal=-1)
        n = z.shape[-1]
        stick = jnp.cumprod(jnp.sqrt(1 - z**2), axis=-1)
        ones = jnp.ones(z.shape[:-1] + (1,), z.dtype)
        stick = jnp.concatenate([ones, stick[..., :-1]], axis=-1)
        return (z + jnp.eye(n, dtype=z.dtype)) * stick

    def _inverse(self, y):
        sq = jnp.cumsum(y**2, axis=-1)
        zeros = jnp.zeros(y.shape[:-1] + (1,), y.dtype)
        remaining = 1 - jnp.concatenate([zeros, sq[..., :-1]], axis=-1)
        tiny = jnp.finfo(jnp.result_type(y, float)).tiny
        z = matrix_to_tril_vec(y / jnp.sqrt(jnp.clip(remaining, tiny)), diagonal=-1)
        eps = jnp.finfo(z.dtype).eps
        return jnp.arctanh(jnp.clip(z, -1 + eps, 1 - eps))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        sq = jnp.cumsum(y**2, axis=-1)
        zeros = jnp.zeros(y.shape[:-1] + (1,), y.dtype)
        remaining = 1 - jnp.concatenate([zeros, sq[..., :-1]], axis=-1)
        stick_logdet = 0.5 * jnp.sum(
            jnp.log(matrix_to_tril_vec(remaining, -1)), axis=-1
        )
        tanh_logdet = jnp.sum(2.0 * (math.log(2.0) - x - softplus(-2.0 * x)), -1)
        return stick_logdet + tanh_logdet

    def forward_shape(self, shape):
        n = _tril_size_to_n(shape[-1], -1)
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape):
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)


class CholeskyTransform(Transform):
    r"""Positive-definite $X$ to its Cholesky factor $L$ (Jacobian w.r.t. the lower
    triangles).

    $\log|\det| = -n\log 2 - \sum_i (n-i)\log L_{ii}$ ($i$ from 0).
    """

    domain = constraints.positive_definite
    codomain = constraints.lower_cholesky

    def __call__(self, x):
        return jnp.linalg.cholesky(x)

    def _inverse(self, y):
        return y @ jnp.swapaxes(y, -2, -1)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        n = y.shape[-1]
        order = jnp.arange(n, 0, -1, dtype=y.dtype)
        log_diag = jnp.log(jnp.diagonal(y, axis1=-2, axis2=-1))
        return -n * math.log(2.0) - jnp.sum(order * log_diag, axis=-1)


class CorrMatrixCholeskyTransform(CholeskyTransform):
    """Correlation matrix to its Cholesky factor (Jacobian w.r.t. the strict lower
    triangles).
    """

    domain = constraints.corr_matrix
    codomain = constraints.corr_cholesky

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        n = y.shape[-1]
        order = jnp.arange(n - 1, -1, -1, dtype=y.dtype)
        log_diag = jnp.log(jnp.diagonal(y, axis1=-2, axis2=-1))
        return -jnp.sum(order * log_diag, axis=-1)
