r"""Distributions of transformed variables: $Y = T(X)$ with $X\sim$
``base_distribution``.
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, _Wrapper, sum_rightmost
from .transforms import ComposeTransform, Transform

__all__ = ["TransformedDistribution"]


class TransformedDistribution(_Wrapper):
    r"""Push ``base_distribution`` through ``transforms`` (one Transform or a list,
    applied in order).

    $\log p_Y(y) = \log p_X(T^{-1}(y)) - \log|\det J_T(T^{-1}(y))|$.
    """

    base_dist: Distribution
    transforms: tuple
    _event_ndims: int = eqx.field(static=True)

    def __init__(
        self, base_distribution, transforms, *, validate_args: bool | None = None
    ):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        self.transforms = tuple(transforms)
        for t in self.transforms:
            if not isinstance(t, Transform):
                raise TypeError(
                    f"TransformedDistribution: expected Transforms; got {t!r}"
                )
        chain = ComposeTransform(self.transforms)
        in_dim, out_dim = chain._event_dims() if self.transforms else (0, 0)
        base_event = len(base_distribution.event_shape)
        if in_dim > base_event:
            base_distribution = base_distribution.to_event(in_dim - base_event)
        self.base_dist = base_distribution
        self._event_ndims = out_dim + max(base_event - in_dim, 0)
        self._validate_args = base_distribution._validate_args

    def _chain(self):
        return ComposeTransform(self.transforms)

    @property
    def batch_shape(self):
        shape = self._chain().forward_shape(self.base_dist.shape())
        return tuple(shape[: len(shape) - self._event_ndims])

    @property
    def event_shape(self):
        shape = self._chain().forward_shape(self.base_dist.shape())
        return tuple(shape[len(shape) - self._event_ndims :])

    @property
    def support(self):
        codomain = (
            self.transforms[-1].codomain if self.transforms else self.base_dist.support
        )
        extra = self._event_ndims - codomain.event_dim
        return constraints.independent(codomain, extra) if extra > 0 else codomain

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        x = self.base_dist.sample(key, sample_shape)
        return self._chain()(x) if self.transforms else x

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        y = value
        log_prob = 0.0
        event_dim = self._event_ndims
        for t in reversed(self.transforms):
            x = t.inv(y)
            ladj = t.log_abs_det_jacobian(x, y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - sum_rightmost(ladj, event_dim - t.domain.event_dim)
            y = x
        return log_prob + self.base_dist.log_prob(y)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        """$P(Y \\le y)$ through monotone scalar transforms (each has a ``sign``)."""
        sign = 1
        for t in reversed(self.transforms):
            sign = sign * t.sign
            value = t.inv(value)
        q = self.base_dist.cdf(value)
        return jnp.where(sign < 0, 1 - q, q)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        """The inverse of :meth:`cdf`."""
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        value = self.base_dist.icdf(jnp.where(sign < 0, 1 - q, q))
        for t in self.transforms:
            value = t(value)
        return value

    @property
    def mean(self) -> Array:
        raise NotImplementedError("TransformedDistribution has no closed-form mean")

    @property
    def variance(self) -> Array:
        raise NotImplementedError("TransformedDistribution has no closed-form variance")
