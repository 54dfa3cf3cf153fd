"""Base class of bijective transforms (see :mod:`.transforms`)."""

import math

import equinox as eqx
import jax.numpy as jnp

from ..._softplus import softplus
from . import constraints


def _sum_rightmost(x, n):
    return jnp.sum(x, axis=tuple(range(-n, 0))) if n > 0 else x


def _log_tanh_slope(x):
    # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), exact for large |x|
    return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))


class Transform(eqx.Module):
    """Base class of bijections; subclasses define ``__call__``, ``_inverse`` and the
    log-det.
    """

    domain = constraints.real
    codomain = constraints.real

    def __call__(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        raise NotImplementedError

    @property
    def inv(self) -> "Transform":
        return _InverseTransform(self)

    @property
    def sign(self):
        """+1 where the transform increases, -1 where it decreases (a monotone
        scalar map; what `TransformedDistribution.cdf` needs)."""
        raise NotImplementedError(
            f"{type(self).__name__} is not a monotone scalar map: it has no sign."
        )

    def forward_shape(self, shape):
        return tuple(shape)

    def inverse_shape(self, shape):
        return tuple(shape)


class _InverseTransform(Transform):
    base: Transform

    @property
    def domain(self):
        return self.base.codomain

    @property
    def codomain(self):
        return self.base.domain

    @property
    def inv(self):
        return self.base

    @property
    def sign(self):
        return self.base.sign

    def __call__(self, x):
        return self.base._inverse(x)

    def _inverse(self, y):
        return self.base(y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return -self.base.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self.base.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self.base.forward_shape(shape)
