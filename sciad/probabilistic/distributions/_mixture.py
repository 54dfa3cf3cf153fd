"""Mixtures of one family: ``MixtureSameFamily``."""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import jax.random as jr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ._base import Distribution
from ._discrete import Categorical

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    r"""$p(x) = \sum_k w_k\, p_k(x)$ with weights from ``mixing_distribution``
    (a `Categorical` over $K$ components) and the $K$ components batched in the
    rightmost batch dimension of ``component_distribution``.

    ``batch_shape`` is the components' batch shape without that dimension,
    ``event_shape`` theirs. The component index is discrete, so draws are not
    reparametrised; ``log_prob`` (a log-sum-exp over components) is smooth in
    every parameter, so the mixture can be a prior or likelihood under NUTS.
    """

    mixing_distribution: Categorical
    component_distribution: Distribution

    def __init__(
        self,
        mixing_distribution: Categorical,
        component_distribution: Distribution,
        *,
        validate_args: bool | None = None,
    ):
        if not isinstance(mixing_distribution, Categorical):
            raise TypeError(
                "MixtureSameFamily: `mixing_distribution` must be a Categorical; "
                f"got {type(mixing_distribution).__name__}."
            )
        if not isinstance(component_distribution, Distribution):
            raise TypeError(
                "MixtureSameFamily: `component_distribution` must be a "
                f"Distribution; got {type(component_distribution).__name__}."
            )
        comp = tuple(component_distribution.batch_shape)
        k = mixing_distribution.probs.shape[-1]
        if not comp or comp[-1] != k:
            raise ValueError(
                "MixtureSameFamily: the components' rightmost batch dimension must "
                f"be the number of mixture weights {k}; got batch_shape {comp}."
            )
        try:
            jnp.broadcast_shapes(tuple(mixing_distribution.batch_shape), comp[:-1])
        except ValueError:
            raise ValueError(
                "MixtureSameFamily: the mixing batch_shape "
                f"{tuple(mixing_distribution.batch_shape)} does not broadcast with "
                f"the components' {comp[:-1]}."
            ) from None
        self.mixing_distribution = mixing_distribution
        self.component_distribution = component_distribution
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(
                tuple(self.mixing_distribution.batch_shape),
                tuple(self.component_distribution.batch_shape)[:-1],
            )
        )

    @property
    def event_shape(self) -> tuple:
        return tuple(self.component_distribution.event_shape)

    @property
    def support(self):
        return self.component_distribution.support

    @property
    def is_discrete(self) -> bool:
        return self.component_distribution.is_discrete

    @property
    def has_rsample(self) -> bool:
        return False

    @property
    def _event_axes(self) -> tuple:
        return tuple(range(-len(self.event_shape), 0))

    def _weights(self) -> Array:
        """Mixture weights shaped to broadcast against a per-component value."""
        w = self.mixing_distribution.probs
        return w.reshape(w.shape + (1,) * len(self.event_shape))

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        key_k, key_x = jr.split(key)
        shape = tuple(sample_shape) + self.batch_shape
        idx = self.mixing_distribution.expand(self.batch_shape).sample(
            key_k, sample_shape
        )
        comp = self.component_distribution.expand(
            self.batch_shape + self.mixing_distribution.probs.shape[-1:]
        )
        xs = comp.sample(key_x, sample_shape)  # (*shape, K, *event)
        idx = idx.reshape(shape + (1,) + (1,) * len(self.event_shape))
        return jnp.take_along_axis(xs, idx, axis=len(shape))[
            (Ellipsis, 0) + (slice(None),) * len(self.event_shape)
        ]

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        value = jnp.asarray(value)
        # a component axis just left of the event dimensions
        x = jnp.expand_dims(value, -1 - len(self.event_shape))
        lp = self.component_distribution.log_prob(x)
        return jax.nn.logsumexp(lp + self.mixing_distribution.logits, axis=-1)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        if self.event_shape:
            raise NotImplementedError("MixtureSameFamily.cdf needs scalar components")
        x = jnp.expand_dims(jnp.asarray(value), -1)
        w = self.mixing_distribution.probs
        return jnp.sum(w * self.component_distribution.cdf(x), axis=-1)

    @property
    def mean(self) -> Array:
        k_axis = -1 - len(self.event_shape)
        mu = self.component_distribution.mean
        return jnp.broadcast_to(
            jnp.sum(self._weights() * mu, axis=k_axis),
            self.batch_shape + self.event_shape,
        )

    @property
    def variance(self) -> Array:
        # law of total variance: E[var] + var[E]
        k_axis = -1 - len(self.event_shape)
        w = self._weights()
        mu, var = self.component_distribution.mean, self.component_distribution.variance
        mean = jnp.sum(w * mu, axis=k_axis)
        second = jnp.sum(w * (var + mu**2), axis=k_axis)
        return jnp.broadcast_to(second - mean**2, self.batch_shape + self.event_shape)
