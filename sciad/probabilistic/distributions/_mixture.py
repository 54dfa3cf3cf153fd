"""Mixtures: ``MixtureSameFamily`` (one batched family) and ``MixtureGeneral``
(a list of components of any families)."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ._base import Distribution
from ._discrete import Categorical

__all__ = ["Mixture", "MixtureGeneral", "MixtureSameFamily"]


def _pick(xs, idx, shape, n_event) -> Array:
    """Each draw's chosen component: `xs` is `(*shape, K, *event)`."""
    idx = idx.reshape(shape + (1,) + (1,) * n_event)
    picked = jnp.take_along_axis(xs, idx, axis=len(shape))
    return picked[(Ellipsis, 0) + (slice(None),) * n_event]


def _weights(mixing, n_event) -> Array:
    """Mixture weights shaped to broadcast against a per-component value."""
    w = mixing.probs
    return w.reshape(w.shape + (1,) * n_event)


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
        return _weights(self.mixing_distribution, len(self.event_shape))

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
        return _pick(xs, idx, shape, len(self.event_shape))

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


class MixtureGeneral(Distribution):
    r"""$p(x) = \sum_k w_k\, p_k(x)$ over components of any families.

    ``component_distributions`` is a list of $K$ distributions with a common
    batch and event shape, ``mixing_distribution`` a `Categorical` over them
    (NumPyro's ``MixtureGeneral``). Components with different supports need
    ``support`` (the union's constraint, e.g. ``constraints.real``).
    """

    mixing_distribution: Categorical
    component_distributions: tuple
    _support: object = eqx.field(static=True)

    def __init__(
        self,
        mixing_distribution: Categorical,
        component_distributions: Sequence[Distribution],
        *,
        support=None,
        validate_args: bool | None = None,
    ):
        if not isinstance(mixing_distribution, Categorical):
            raise TypeError(
                "MixtureGeneral: `mixing_distribution` must be a Categorical; got "
                f"{type(mixing_distribution).__name__}."
            )
        comps = tuple(component_distributions)
        if not comps or not all(isinstance(c, Distribution) for c in comps):
            raise TypeError(
                "MixtureGeneral: `component_distributions` must be a non-empty list "
                "of Distributions."
            )
        k = mixing_distribution.probs.shape[-1]
        if len(comps) != k:
            raise ValueError(
                f"MixtureGeneral: {len(comps)} components for {k} mixture weights."
            )
        events = {tuple(c.event_shape) for c in comps}
        if len(events) != 1:
            raise ValueError(
                f"MixtureGeneral: the components' event shapes differ: {events}."
            )
        if support is None:
            supports = {repr(c.support) for c in comps}
            if len(supports) != 1:
                raise ValueError(
                    "MixtureGeneral: the components' supports differ "
                    f"({sorted(supports)}); pass `support=` (their union)."
                )
            support = comps[0].support
        self.mixing_distribution = mixing_distribution
        self.component_distributions = comps
        self._support = support
        jnp.broadcast_shapes(*(tuple(c.batch_shape) for c in comps))
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(
                tuple(self.mixing_distribution.batch_shape),
                *(tuple(c.batch_shape) for c in self.component_distributions),
            )
        )

    @property
    def event_shape(self) -> tuple:
        return tuple(self.component_distributions[0].event_shape)

    @property
    def support(self):
        return self._support

    @property
    def is_discrete(self) -> bool:
        return all(c.is_discrete for c in self.component_distributions)

    @property
    def has_rsample(self) -> bool:
        return False

    def _stack(self, values) -> Array:
        """Per-component arrays stacked on an axis left of the event dims."""
        shape = self.batch_shape + self.event_shape
        axis = -1 - len(self.event_shape)
        return jnp.stack(
            [
                jnp.broadcast_to(v, jnp.broadcast_shapes(jnp.shape(v), shape))
                for v in values
            ],
            axis=axis,
        )

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        keys = jr.split(key, len(self.component_distributions) + 1)
        shape = tuple(sample_shape) + self.batch_shape
        idx = self.mixing_distribution.expand(self.batch_shape).sample(
            keys[0], sample_shape
        )
        xs = jnp.stack(
            [
                c.expand(self.batch_shape).sample(k, sample_shape)
                for c, k in zip(self.component_distributions, keys[1:], strict=True)
            ],
            axis=len(shape),
        )  # (*shape, K, *event)
        return _pick(xs, idx, shape, len(self.event_shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        lps = _stack_last([c.log_prob(value) for c in self.component_distributions])
        return jax.nn.logsumexp(lps + self.mixing_distribution.logits, axis=-1)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        if self.event_shape:
            raise NotImplementedError("MixtureGeneral.cdf needs scalar components")
        cdfs = _stack_last([c.cdf(value) for c in self.component_distributions])
        return jnp.sum(self.mixing_distribution.probs * cdfs, axis=-1)

    @property
    def mean(self) -> Array:
        w = self._weights()
        mu = self._stack([c.mean for c in self.component_distributions])
        return jnp.sum(w * mu, axis=-1 - len(self.event_shape))

    @property
    def variance(self) -> Array:
        w = self._weights()
        k_axis = -1 - len(self.event_shape)
        comps = self.component_distributions
        mu = self._stack([c.mean for c in comps])
        var = self._stack([c.variance for c in comps])
        mean = jnp.sum(w * mu, axis=k_axis)
        return jnp.sum(w * (var + mu**2), axis=k_axis) - mean**2

    def _weights(self) -> Array:
        return _weights(self.mixing_distribution, len(self.event_shape))


def _stack_last(arrays) -> Array:
    """Per-component results (batch shapes may differ) on a last axis."""
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in arrays))
    return jnp.stack([jnp.broadcast_to(a, shape) for a in arrays], axis=-1)


def Mixture(
    mixing_distribution: Categorical,
    component_distributions,
    *,
    support=None,
    validate_args: bool | None = None,
) -> Distribution:
    """NumPyro's ``Mixture``: a list of components makes a `MixtureGeneral`, one
    batched distribution a `MixtureSameFamily`."""
    if isinstance(component_distributions, Distribution):
        if support is not None:
            raise ValueError("Mixture: `support` is for a list of components.")
        return MixtureSameFamily(
            mixing_distribution, component_distributions, validate_args=validate_args
        )
    return MixtureGeneral(
        mixing_distribution,
        component_distributions,
        support=support,
        validate_args=validate_args,
    )
