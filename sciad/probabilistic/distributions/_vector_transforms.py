r"""Transforms acting on whole vectors or events: permutation, reshape, the L1 ball,
simplex to ordered cutpoints and the zero-sum map (NumPyro's names and conventions).

Log-determinants are exact; for ``SimplexToOrderedTransform`` the Jacobian is
taken with respect to the free coordinates of the simplex (all but its last entry).
"""

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import expit, logit

from ..._softplus import softplus
from . import constraints
from ._transform_base import Transform, _log_tanh_slope

__all__ = [
    "L1BallTransform",
    "PermuteTransform",
    "ReshapeTransform",
    "SimplexToOrderedTransform",
    "ZeroSumTransform",
]


class PermuteTransform(Transform):
    """``y = x[..., permutation]``; volume preserving (log-det 0)."""

    permutation: tuple[int, ...] = eqx.field(static=True)
    domain = constraints.real_vector
    codomain = constraints.real_vector

    def __init__(self, permutation):
        if isinstance(permutation, jax.core.Tracer):
            raise ValueError(
                "PermuteTransform: `permutation` must be a concrete array or "
                "sequence of ints, not a traced value."
            )
        perm = np.asarray(permutation)
        n = perm.size
        if (
            perm.ndim != 1
            or not np.issubdtype(perm.dtype, np.integer)
            or not np.array_equal(np.sort(perm), np.arange(n))
        ):
            raise ValueError(
                "PermuteTransform: `permutation` must be a 1-D integer array holding "
                f"each of 0, ..., n-1 exactly once; got {permutation!r}."
            )
        self.permutation = tuple(int(i) for i in perm)

    def _check(self, v, name):
        if jnp.shape(v)[-1:] != (len(self.permutation),):
            raise ValueError(
                f"PermuteTransform: `{name}` must have last dimension "
                f"{len(self.permutation)} (the permutation's length); got shape "
                f"{jnp.shape(v)}."
            )

    def __call__(self, x):
        self._check(x, "x")
        return x[..., np.asarray(self.permutation)]

    def _inverse(self, y):
        self._check(y, "y")
        return y[..., np.argsort(self.permutation)]

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return jnp.zeros(jnp.shape(x)[:-1], jnp.result_type(x, float))


class ReshapeTransform(Transform):
    """Reshape the event from ``inverse_shape`` to ``forward_shape``, leaving batch
    dimensions unchanged; volume preserving (log-det 0)."""

    _forward_shape: tuple[int, ...] = eqx.field(static=True)
    _inverse_shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, forward_shape, inverse_shape):
        shapes = {}
        for name, arg in (
            ("forward_shape", forward_shape),
            ("inverse_shape", inverse_shape),
        ):
            shape = tuple(arg) if isinstance(arg, tuple | list) else None
            if shape is None or not all(
                isinstance(d, int | np.integer) and d >= 0 for d in shape
            ):
                raise ValueError(
                    f"ReshapeTransform: `{name}` must be a tuple of non-negative "
                    f"ints; got {arg!r}."
                )
            shapes[name] = tuple(int(d) for d in shape)
        fwd, inv = shapes["forward_shape"], shapes["inverse_shape"]
        if math.prod(fwd) != math.prod(inv):
            raise ValueError(
                f"ReshapeTransform: `forward_shape` {fwd} (size {math.prod(fwd)}) and "
                f"`inverse_shape` {inv} (size {math.prod(inv)}) must have the same "
                "size."
            )
        self._forward_shape = fwd
        self._inverse_shape = inv

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self._inverse_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self._forward_shape))

    @staticmethod
    def _target(shape, source, target, name):
        shape = tuple(shape)
        batch = len(shape) - len(source)
        if batch < 0 or shape[batch:] != source:
            raise ValueError(
                f"ReshapeTransform: `{name}` must end in the event shape {source}; "
                f"got shape {shape}."
            )
        return shape[:batch] + target

    def forward_shape(self, shape):
        return self._target(shape, self._inverse_shape, self._forward_shape, "x")

    def inverse_shape(self, shape):
        return self._target(shape, self._forward_shape, self._inverse_shape, "y")

    def __call__(self, x):
        return jnp.reshape(x, self.forward_shape(jnp.shape(x)))

    def _inverse(self, y):
        return jnp.reshape(y, self.inverse_shape(jnp.shape(y)))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        batch = jnp.shape(x)[: jnp.ndim(x) - len(self._inverse_shape)]
        return jnp.zeros(batch, jnp.result_type(x, float))


def _log1m_abs_tanh(x):
    # log(1 - |tanh x|) = log 2 - 2|x| - softplus(-2|x|), exact for large |x|
    a = jnp.abs(x)
    return math.log(2.0) - 2.0 * a - softplus(-2.0 * a)


def _exclusive_cumsum(v):
    zero = jnp.zeros_like(v[..., :1])
    return jnp.concatenate([zero, jnp.cumsum(v[..., :-1], axis=-1)], axis=-1)


class L1BallTransform(Transform):
    r"""Real vectors onto the open unit L1 ball: $t = \tanh x$, then stick breaking
    $y_i = t_i \prod_{j<i} (1 - |t_j|)$.

    The Jacobian is triangular, so
    $\log|\det J| = \sum_i [\log(1 - t_i^2) + \sum_{j<i} \log(1 - |t_j|)]$,
    computed from $x$ (exact where $|t|$ rounds to 1).
    """

    domain = constraints.real_vector
    codomain = constraints.l1_ball

    def __call__(self, x):
        remainder = jnp.exp(_exclusive_cumsum(_log1m_abs_tanh(x)))
        return jnp.tanh(x) * remainder

    def _inverse(self, y):
        finfo = jnp.finfo(jnp.result_type(y, float))
        remainder = 1 - _exclusive_cumsum(jnp.abs(y))
        t = y / jnp.clip(remainder, finfo.tiny)
        return jnp.arctanh(jnp.clip(t, -1 + finfo.eps, 1 - finfo.eps))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        n = jnp.shape(x)[-1]
        tanh_part = _log_tanh_slope(x)
        # log(1 - |t_j|) enters the diagonal of every later row: n - 1 - j times
        weights = jnp.arange(n - 1, -1, -1, dtype=jnp.result_type(x, float))
        return jnp.sum(tanh_part + weights * _log1m_abs_tanh(x), axis=-1)


class SimplexToOrderedTransform(Transform):
    r"""A simplex $x \in \mathbb{R}^K$ to ordered cutpoints $y \in \mathbb{R}^{K-1}$:
    $y_k = \mathrm{logit}(\sum_{i \le k} x_i) + \text{anchor\_point}$
    (Betancourt's induced-Dirichlet prior for ordinal regression).

    ``anchor_point`` broadcasts against the batch shape ``x.shape[:-1]``. The
    log-det, with respect to $x_1, \dots, x_{K-1}$, is
    $\sum_k [\mathrm{softplus}(z_k) + \mathrm{softplus}(-z_k)]$ with
    $z = y - \text{anchor\_point}$.

    References:
        Betancourt, M. "Ordinal Regression", case study, section 2.2 (2019).
        https://betanalpha.github.io/assets/case_studies/ordinal_regression.html
    """

    anchor_point: Any
    domain = constraints.simplex
    codomain = constraints.ordered_vector

    def __init__(self, anchor_point=0.0):
        self.anchor_point = anchor_point

    def _anchor(self):
        return jnp.expand_dims(jnp.asarray(self.anchor_point), -1)

    def __call__(self, x):
        return logit(jnp.cumsum(x[..., :-1], axis=-1)) + self._anchor()

    def _inverse(self, y):
        s = expit(y - self._anchor())
        return jnp.diff(s, axis=-1, prepend=0.0, append=1.0)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # NumPyro 0.22 evaluates this at y itself, which is exact only for anchor 0.
        z = y - self._anchor()
        return jnp.sum(softplus(z) + softplus(-z), axis=-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)


class ZeroSumTransform(Transform):
    r"""$\mathbb{R}^{n-1} \to \{y \in \mathbb{R}^n : \sum_i y_i = 0\}$ along each of
    the rightmost ``transform_ndims`` axes (PyMC's zero-sum transform, as NumPyro's).

    Per axis, with $s = \sum_i x_i$ and $c = s / (n + \sqrt{n})$,
    $y = (x_1 - c, \dots, x_{n-1} - c, -s/\sqrt{n})$, which sums to
    zero. The map is an isometry onto the hyperplane (the Householder
    reflection taking $e_n$ to $-\mathbf{1}/\sqrt{n}$, restricted to
    $e_n^\perp$), so its log-determinant with respect to the hyperplane's
    Lebesgue measure is 0 and a standard normal in $x$ is the isotropic
    normal on the hyperplane.
    """

    transform_ndims: int = eqx.field(static=True)

    def __init__(self, transform_ndims: int = 1):
        if not (isinstance(transform_ndims, int) and transform_ndims >= 1):
            raise ValueError(
                "ZeroSumTransform: `transform_ndims` must be an int >= 1; "
                f"got {transform_ndims!r}"
            )
        self.transform_ndims = transform_ndims

    @property
    def domain(self):
        return constraints.independent(constraints.real, self.transform_ndims)

    @property
    def codomain(self):
        return constraints.zero_sum(self.transform_ndims)

    def __call__(self, x):
        for axis in range(-self.transform_ndims, 0):
            n = x.shape[axis] + 1
            s = jnp.sum(x, axis, keepdims=True)
            shift = s / (n + math.sqrt(n))
            last = shift - s / math.sqrt(n)  # -s/sqrt(n) once shifted
            x = jnp.concatenate([x, last], axis=axis) - shift
        return x

    def _inverse(self, y):
        for axis in range(-self.transform_ndims, 0):
            n = y.shape[axis]
            last = lax.slice_in_dim(y, n - 1, n, axis=axis % y.ndim)  # -s/sqrt(n)
            shift = -last * math.sqrt(n) / (n + math.sqrt(n))
            y = lax.slice_in_dim(y, 0, n - 1, axis=axis % y.ndim) + shift
        return y

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        k = self.transform_ndims
        return jnp.zeros(jnp.broadcast_shapes(x.shape[:-k], y.shape[:-k]), x.dtype)

    def forward_shape(self, shape):
        k = self.transform_ndims
        return tuple(shape[:-k]) + tuple(d + 1 for d in shape[-k:])

    def inverse_shape(self, shape):
        k = self.transform_ndims
        return tuple(shape[:-k]) + tuple(d - 1 for d in shape[-k:])
