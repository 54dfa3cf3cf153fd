"""The core abstraction of `sciad.physics.sde`: an SDE model as an `eqx.Module`.

A model is anything with `drift(t, y, args) -> (d,)` and
`diffusion(t, y, args) -> (d,)` (diagonal noise, one Brownian motion per state
component) or `(d, m)` (general noise driven by an m-dimensional Brownian
motion), acting on ONE unbatched state `y` of shape `(d,)`. `simulate` vmaps
over paths. The Itô SDE is

    dY_t = drift(t, Y_t) dt + diffusion(t, Y_t) dW_t.

`AbstractSDE` is a convenience base, not a requirement: `simulate` duck-types,
so e.g. `sciad.finance.Heston` works without inheriting from it.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float


def as_float_array(x: ArrayLike) -> Array:
    """`jnp.asarray`, promoting integer/bool input to the default float dtype."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def check_positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise `ValueError` if a concrete (non-traced) parameter is not positive."""
    if isinstance(value, jax.core.Tracer):
        return
    v = np.asarray(value)
    bad = (v < 0) if allow_zero else (v <= 0)
    if np.any(bad) or np.any(np.isnan(v)):
        rng = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {rng}; got {v.tolist()}.")


class AbstractSDE(eqx.Module):
    """Base class for Itô SDE models acting on a single state of shape `(d,)`.

    Subclasses set the class variable `additive_noise = True` when the diffusion
    does not depend on the state; `default_solver` then picks a stochastic
    Runge-Kutta method that is strong order 1.5 for such noise.
    """

    additive_noise: ClassVar[bool] = False

    @abc.abstractmethod
    def drift(
        self, t: float | Float[ArrayLike, ""], y: Float[Array, " d"], args
    ) -> Float[Array, " d"]:
        """Drift vector field `mu(t, y)`, shape `(d,)`."""

    @abc.abstractmethod
    def diffusion(
        self, t: float | Float[ArrayLike, ""], y: Float[Array, " d"], args
    ) -> Float[Array, " d"] | Float[Array, "d m"]:
        """Diffusion: `(d,)` for diagonal noise or `(d, m)` for general noise."""
