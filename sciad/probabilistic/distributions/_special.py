"""Degenerate and improper distributions: Delta, Unit (``factor``), ImproperUniform."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_params

__all__ = ["Delta", "ImproperUniform", "Unit"]


class Delta(Distribution):
    """Point mass at ``v``, with an optional extra ``log_density`` (as in NumPyro)."""

    v: jnp.ndarray
    log_density: jnp.ndarray
    _event_ndims: int = eqx.field(static=True)
    reparametrized_params = ["v", "log_density"]

    def __init__(
        self,
        v: ArrayLike = 0.0,
        log_density: ArrayLike = 0.0,
        event_dim=0,
        *,
        validate_args: bool | None = None,
    ):
        (v,) = promote_params(v)
        if event_dim > v.ndim:
            raise ValueError(
                f"Delta: event_dim {event_dim} exceeds ndim of `v` ({v.ndim})"
            )
        self.v = v
        self._event_ndims = int(event_dim)
        batch = v.shape[: v.ndim - event_dim]
        self.log_density = jnp.broadcast_to(jnp.asarray(log_density, v.dtype), batch)
        self._validate_args = bool(validate_args)

    @property
    def arg_constraints(self):
        return {
            "v": constraints.independent(constraints.real, self._event_ndims),
            "log_density": constraints.real,
        }

    @property
    def support(self):
        return constraints.independent(constraints.real, self._event_ndims)

    @property
    def batch_shape(self):
        return self.v.shape[: self.v.ndim - self._event_ndims]

    @property
    def event_shape(self):
        return self.v.shape[self.v.ndim - self._event_ndims :]

    def sample(
        self, key: PRNGKeyArray | None, sample_shape: Sequence[int] = ()
    ) -> Array:
        return jnp.broadcast_to(self.v, self.shape(sample_shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        eq = value == self.v
        n = self._event_ndims
        if n:
            eq = jnp.all(eq, axis=tuple(range(-n, 0)))
        return jnp.log(eq.astype(self.v.dtype)) + self.log_density

    @property
    def mean(self) -> Array:
        return self.v

    @property
    def variance(self) -> Array:
        return jnp.zeros_like(self.v)


class Unit(Distribution):
    """Trivial distribution over empty values whose ``log_prob`` is ``log_factor``.

    Used by ``factor``; values have shape ``batch_shape + (0,)``.
    """

    log_factor: jnp.ndarray
    arg_constraints = {"log_factor": constraints.real}
    support = constraints.real

    def __init__(self, log_factor: ArrayLike, *, validate_args: bool | None = None):
        (self.log_factor,) = promote_params(log_factor)
        self._validate_args = False

    @property
    def event_shape(self):
        return (0,)

    def sample(
        self, key: PRNGKeyArray | None, sample_shape: Sequence[int] = ()
    ) -> Array:
        return jnp.empty(self.shape(sample_shape), self.log_factor.dtype)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        shape = jnp.broadcast_shapes(self.batch_shape, jnp.shape(value)[:-1])
        return jnp.broadcast_to(self.log_factor, shape)


class ImproperUniform(Distribution):
    """Flat (zero) log-density on ``support``; cannot be sampled, only initialised."""

    _support: object = eqx.field(static=True)
    _batch: tuple = eqx.field(static=True)
    _event: tuple = eqx.field(static=True)

    def __init__(
        self, support, batch_shape, event_shape, *, validate_args: bool | None = None
    ):
        self._support = support
        self._batch = tuple(batch_shape)
        self._event = tuple(event_shape)
        if len(self._event) < support.event_dim:
            raise ValueError(
                f"ImproperUniform: event_shape {self._event} has fewer dims than the "
                f"support's event_dim {support.event_dim}"
            )
        self._validate_args = False

    @property
    def support(self):
        return (
            constraints.independent(
                self._support, len(self._event) - self._support.event_dim
            )
            if len(self._event) > self._support.event_dim
            else self._support
        )

    @property
    def batch_shape(self):
        return self._batch

    @property
    def event_shape(self):
        return self._event

    def sample(
        self, key: PRNGKeyArray | None, sample_shape: Sequence[int] = ()
    ) -> Array:
        raise NotImplementedError(
            "ImproperUniform cannot be sampled; give the site a value or use an "
            "init strategy such as init_to_uniform."
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        shape = jnp.shape(value)[: jnp.ndim(value) - len(self._event)]
        return jnp.zeros(jnp.broadcast_shapes(shape, self._batch))
