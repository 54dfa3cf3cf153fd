r"""SDE paths under the Euler-Maruyama scheme (NumPyro's `EulerMaruyama`)."""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution
from ._continuous_real import _HALF_LOG_2PI

__all__ = ["EulerMaruyama"]


class EulerMaruyama(Distribution):
    r"""The law of an Euler-Maruyama path of $dX = f(X, t)\,dt + g(X, t)\,dW$.

    On the grid $t_0 < \dots < t_{T-1}$, $X_{t_0} \sim$ ``init_dist`` and

    $$X_{t_{i+1}} \mid X_{t_i} \sim \mathcal N\big(X_{t_i} + f(X_{t_i}, t_i)\,
    \Delta t_i,\; g(X_{t_i}, t_i)^2 \Delta t_i\big),$$

    independently per coordinate (a diagonal diffusion), so

    $$\log p(x) = \log p_0(x_0) + \sum_{i} \log \mathcal N\big(x_{i+1};
    x_i + f_i \Delta t_i, g_i^2 \Delta t_i\big).$$

    ``sde_fn(x, t) -> (drift, diffusion)`` takes one state (``init_dist``'s event
    shape) and a scalar time; each output broadcasts to the state's shape. The event
    shape is ``(T,) + init_dist.event_shape`` (time leading), the batch shape that of
    ``t[..., :-1]`` broadcast with ``init_dist``'s. Sampling runs the scheme in a
    `lax.scan`, differentiable in everything ``sde_fn`` closes over (draws are
    reparametrised). As NumPyro's `EulerMaruyama` (Kloeden & Platen 1992, ch. 9).

    Args:
        t: the time grid, strictly increasing along its last axis.
        sde_fn: ``(x, t) -> (f, g)``.
        init_dist: the distribution of the path's first value.
    """

    t: Array
    init_dist: Distribution
    sde_fn: Callable = eqx.field(static=True)
    arg_constraints = {"t": constraints.ordered_vector}

    def __init__(
        self,
        t: ArrayLike,
        sde_fn: Callable,
        init_dist: Distribution,
        *,
        validate_args: bool | None = None,
    ):
        if not isinstance(init_dist, Distribution):
            raise TypeError(
                f"EulerMaruyama: `init_dist` must be a Distribution; got "
                f"{type(init_dist).__name__}."
            )
        if not callable(sde_fn):
            raise TypeError(
                "EulerMaruyama: `sde_fn` must be callable (x, t) -> (f, g)."
            )
        t = jnp.asarray(t, dtype=jnp.result_type(t, float))
        if t.ndim < 1 or t.shape[-1] < 2:
            raise ValueError(
                f"EulerMaruyama: `t` needs a time axis of length >= 2; got shape "
                f"{t.shape}."
            )
        self.t = t
        self.sde_fn = sde_fn
        self.init_dist = init_dist
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(self.t.shape[:-1], tuple(self.init_dist.batch_shape))
        )

    @property
    def event_shape(self) -> tuple:
        return (self.t.shape[-1], *self.init_dist.event_shape)

    @property
    def support(self):
        return constraints.independent(constraints.real, self.event_dim)

    def _grid(self, batch: tuple) -> tuple[Array, Array]:
        """Times and steps broadcast to ``batch`` and flattened: ``(n, T - 1)`` each."""
        t = jnp.broadcast_to(self.t, batch + self.t.shape[-1:]).reshape(
            -1, self.t.shape[-1]
        )
        return t[:, :-1], jnp.diff(t, axis=-1)

    def _coefficients(self, x, t):
        """``(f, g)`` at one state and time, broadcast to the state's shape."""
        f, g = self.sde_fn(x, t)
        return jnp.broadcast_to(f, x.shape), jnp.broadcast_to(g, x.shape)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        batch = tuple(sample_shape) + self.batch_shape
        key_init, key_noise = jr.split(key)
        x0 = self.init_dist.expand(batch).sample(key_init)
        state_shape = tuple(self.init_dist.event_shape)
        steps = self.event_shape[0] - 1
        noise = jr.normal(key_noise, batch + (steps, *state_shape), x0.dtype)
        times, dts = self._grid(batch)

        def one(x0, noise, times, dts):
            def step(x, inputs):
                eps, t, dt = inputs
                f, g = self._coefficients(x, t)
                x = x + f * dt + g * jnp.sqrt(dt) * eps
                return x, x

            _, path = jax.lax.scan(step, x0, (noise, times, dts))
            return jnp.concatenate([x0[None], path])

        flat = jax.vmap(one)(
            x0.reshape(-1, *state_shape),
            noise.reshape(-1, steps, *state_shape),
            times.astype(x0.dtype),
            dts.astype(x0.dtype),
        )
        return flat.reshape(batch + self.event_shape)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        value = jnp.asarray(value)
        event = self.event_shape
        lead = tuple(
            jnp.broadcast_shapes(
                value.shape[: value.ndim - len(event)], self.batch_shape
            )
        )
        value = jnp.broadcast_to(value, lead + event)
        times, dts = self._grid(lead)
        state_ndim = len(event) - 1

        def transitions(path, times, dts):
            f, g = jax.vmap(self._coefficients)(path[:-1], times)
            dt = dts.reshape(dts.shape + (1,) * state_ndim)
            sd = g * jnp.sqrt(dt)
            z = (path[1:] - path[:-1] - f * dt) / sd
            return jnp.sum(-0.5 * z * z - jnp.log(sd) - _HALF_LOG_2PI)

        flat = value.reshape(-1, *event)
        lp = jax.vmap(transitions)(flat, times, dts).reshape(lead)
        return lp + self.init_dist.log_prob(
            value[(..., 0) + (slice(None),) * state_ndim]
        )
