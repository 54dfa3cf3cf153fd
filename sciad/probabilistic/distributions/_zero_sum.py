"""The zero-sum normal: a normal constrained to sum to zero along its event axes."""

import math

import jax.numpy as jnp

from ..._custom_types import Array, ArrayLike
from . import constraints
from ._base import promote_params
from ._continuous_real import Normal
from ._transformed import TransformedDistribution
from .transforms import ZeroSumTransform

__all__ = ["ZeroSumNormal"]


class ZeroSumNormal(TransformedDistribution):
    r"""$N(0, \sigma^2(I - \tfrac1n J))$ along each of the event axes: a normal whose
    sum along every axis of ``event_shape`` is zero (PyMC's ``ZeroSumNormal``, as
    NumPyro's).

    The usual use is a categorical effect whose levels are identified only up
    to a shared offset: ``beta ~ ZeroSumNormal(sigma, event_shape=(K,))`` keeps
    the intercept identified without dropping a level. It is an isotropic
    normal with standard deviation ``scale`` on the zero-sum subspace (of
    dimension $\prod_i (n_i - 1)$), built as `ZeroSumTransform` (an isometry)
    applied to independent normals, so the sampler works in that subspace and
    the density is with respect to its Lebesgue measure:
    $\log p(x) = -\|x\|^2 / (2\sigma^2) - \tfrac{d}{2}\log(2\pi\sigma^2)$.
    Each coordinate has variance $\sigma^2 \prod_i (1 - 1/n_i)$.

    References:
        PyMC's ``ZeroSumNormal`` (A. Seyboldt); NumPyro's port.
    """

    scale: jnp.ndarray

    def __init__(
        self,
        scale: ArrayLike,
        event_shape: tuple[int, ...],
        *,
        validate_args: bool | None = None,
    ):
        event_shape = tuple(event_shape)
        if not event_shape or not all(
            isinstance(n, int) and n >= 2 for n in event_shape
        ):
            raise ValueError(
                "ZeroSumNormal: `event_shape` must be a non-empty tuple of ints >= 2; "
                f"got {event_shape!r}"
            )
        (self.scale,) = promote_params(scale)
        k = len(event_shape)
        free = tuple(n - 1 for n in event_shape)
        base = Normal(
            0.0, self.scale[(...,) + (None,) * k], validate_args=validate_args
        )
        base = base.expand(self.scale.shape + free).to_event(k)
        super().__init__(base, ZeroSumTransform(k), validate_args=validate_args)

    @property
    def support(self):
        return constraints.zero_sum(len(self.event_shape))

    @property
    def mean(self) -> Array:
        return jnp.zeros(self.batch_shape + self.event_shape, self.scale.dtype)

    @property
    def variance(self) -> Array:
        shrink = math.prod(1 - 1 / n for n in self.event_shape)
        var = self.scale**2 * shrink
        k = len(self.event_shape)
        return jnp.broadcast_to(
            var[(...,) + (None,) * k], self.batch_shape + self.event_shape
        )
