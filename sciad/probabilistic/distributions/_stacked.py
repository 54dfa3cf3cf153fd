r"""Distributions of sites recorded inside `scan`, stacked along a time axis.

At step $t$ of a `scan`, a site `x` is drawn from a distribution $p_t$ whose
parameters may depend on the carry. After the loop, the trace holds one site
`x` with value $(x_0, \dots, x_{T-1})$ and distribution $\prod_t p_t(x_t)$: a
:class:`StackedDistribution` holding $p_0, \dots, p_{T-1}$ as one pytree whose
array leaves carry a leading time axis. Its methods evaluate the step
distribution under `jax.vmap` over that axis, so every family works as it is
(parameters stored unbroadcast, static fields, wrappers), with no need to align
the shapes of its parameters the way NumPyro's `promote_batch_shape` does.

A support with array parameters (``interval(low_t, high_t)``, a bound that
depends on the carry) is stacked the same way, and so is its bijection
(:class:`StackedTransform`), so that HMC's unconstraining maps each step onto
its own support.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from . import constraints
from ._base import Distribution
from .transforms import Transform, biject_to

__all__ = ["StackedDistribution", "StackedTransform"]


def _time_axis(x, step_ndim: int) -> int:
    """Position of the time axis in `x`, an array of `(..., T) + step_shape`."""
    lead = jnp.ndim(x) - step_ndim - 1
    if lead < 0:
        raise ValueError(
            f"scan site: expected a value with a leading time axis and {step_ndim} "
            f"more dims; got shape {jnp.shape(x)}"
        )
    return lead


class StackedDistribution(Distribution):
    """The step distributions of a `scan` site, stacked along a leading time axis.

    ``batch_shape = (length,) + step batch_shape``; ``event_shape`` is the step's.
    Built by `scan`; a value's leading dims beyond ``shape()`` are sample dims.
    """

    dynamic: Any  # the step distribution's array leaves, each with a time axis
    static: Any = eqx.field(static=True)  # its structure and non-array fields
    length: int = eqx.field(static=True)
    step_batch_shape: tuple = eqx.field(static=True)
    step_event_shape: tuple = eqx.field(static=True)
    step_support: Any = eqx.field(static=True)  # None when it holds arrays
    step_has_rsample: bool = eqx.field(static=True)
    # what a support with arrays shows without reading them (see StackedSupport)
    support_info: tuple = eqx.field(static=True)  # (event_dim, is_discrete, repr)

    def __init__(self, step: Distribution, length: int):
        """Stack `step`, a distribution whose array leaves have a time axis."""
        self.dynamic, self.static = eqx.partition(step, eqx.is_array)
        self.length = int(length)
        shapes = jax.eval_shape(lambda d: jax.tree.map(lambda x: x[0], d), step)
        self.step_batch_shape = tuple(shapes.batch_shape)
        self.step_event_shape = tuple(shapes.event_shape)
        support = shapes.support
        self.step_support = None if _array_attributes(support) else support
        self.support_info = (support.event_dim, support.is_discrete, repr(support))
        self.step_has_rsample = bool(shapes.has_rsample)
        self._finish_init(False)  # each step was checked at its own site

    # --- shapes -------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple:
        return (self.length, *self.step_batch_shape)

    @property
    def event_shape(self) -> tuple:
        return self.step_event_shape

    def step(self, index) -> Distribution:
        """The distribution of step ``index``."""
        leaves = jax.tree.map(lambda x: x[index], self.dynamic)
        return eqx.combine(leaves, self.static)

    def _map(self, method, *values, out_axis=0, in_axes=None):
        """`method(step_distribution, *step_values)` over the time axis."""

        def one(dyn, *v):
            return method(eqx.combine(dyn, self.static), *v)

        axes = (0, *(in_axes or (0,) * len(values)))
        return jax.vmap(one, in_axes=axes, out_axes=out_axis)(self.dynamic, *values)

    def _map_series(self, method, *values, step_ndim=None):
        """`_map` over series of shape ``(..., T) + step shape``: leading dims kept.

        ``step_ndim`` is the rank of one step's value (default: this site's)."""
        if step_ndim is None:
            step_ndim = len(self.shape()) - 1
        axis = _time_axis(values[0], step_ndim)
        return self._map(method, *values, out_axis=axis, in_axes=(axis,) * len(values))

    # --- interface ----------------------------------------------------------
    @property
    def support(self):
        if self.step_support is None:
            return StackedSupport(self)
        return self.step_support  # the same on every step: it broadcasts as it is

    @property
    def has_rsample(self) -> bool:
        return self.step_has_rsample

    @property
    def has_enumerate_support(self) -> bool:
        return False

    def sample(self, key, sample_shape=()):
        keys = jr.split(key, self.length)
        n = len(tuple(sample_shape))
        return self._map(
            lambda d, k: d.sample(k, sample_shape), keys, out_axis=n, in_axes=(0,)
        )

    def log_prob(self, value):
        value = jnp.asarray(value)
        value = jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, self.shape()))
        return self._map_series(lambda d, v: d.log_prob(v), value)

    @property
    def mean(self):
        return self._map(lambda d: d.mean)

    @property
    def variance(self):
        return self._map(lambda d: d.variance)

    def entropy(self):
        return self._map(lambda d: d.entropy())

    def cdf(self, value):
        return self._map_series(lambda d, v: d.cdf(v), value)

    def icdf(self, q):
        return self._map_series(lambda d, v: d.icdf(v), q)


def _array_attributes(constraint, depth: int = 0) -> bool:
    """Whether a constraint holds arrays (its bounds), a few levels deep."""
    if isinstance(constraint, jax.Array | np.ndarray | jax.ShapeDtypeStruct):
        return True
    fields = getattr(constraint, "__dict__", None)
    if depth > 4 or not fields:
        return False
    return any(_array_attributes(v, depth + 1) for v in fields.values())


class StackedSupport(constraints.Constraint):
    """The supports of a `scan` site's steps, for bounds that change with the step."""

    def __init__(self, dist: StackedDistribution):
        self.dist = dist
        self.event_dim, self.is_discrete, self._repr = dist.support_info

    def __call__(self, x):
        return self.dist._map_series(lambda d, v: d.support(v), x)

    def feasible_like(self, prototype):
        return self.dist._map_series(lambda d, v: d.support.feasible_like(v), prototype)

    def __repr__(self):
        return f"stacked({self._repr}, length={self.dist.length})"


class StackedTransform(Transform):
    """`biject_to` of each step's support, mapped over the time axis."""

    dist: StackedDistribution

    def _step_transform(self):
        return biject_to(self.dist.step(0).support)

    def _unconstrained_ndim(self):
        value_shape = self.dist.shape()[1:]
        return len(self._step_transform().inverse_shape(value_shape))

    @property
    def domain(self):
        return self._step_transform().domain

    @property
    def codomain(self):
        return StackedSupport(self.dist)

    def __call__(self, x):
        return self.dist._map_series(
            lambda d, u: biject_to(d.support)(u),
            x,
            step_ndim=self._unconstrained_ndim(),
        )

    def _inverse(self, y):
        return self.dist._map_series(lambda d, v: biject_to(d.support).inv(v), y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return self.dist._map_series(
            lambda d, u, v: biject_to(d.support).log_abs_det_jacobian(u, v),
            x,
            y,
            step_ndim=self._unconstrained_ndim(),
        )

    def forward_shape(self, shape):
        return self._step_transform().forward_shape(shape)

    def inverse_shape(self, shape):
        return self._step_transform().inverse_shape(shape)


biject_to.register(StackedSupport, lambda c: StackedTransform(c.dist))
