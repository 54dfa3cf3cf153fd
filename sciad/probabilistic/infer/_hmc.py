r"""Hamiltonian Monte Carlo with a fixed trajectory length: the functional core.

Every sampler in this package is a pair of pure functions, as in blackjax:

* `init(position) -> HMCState`, where `position` is any pytree of arrays;
* `step(key, state) -> (HMCState, Info)`.

`build_hmc_kernel(...)` exposes the lower-level `kernel(key, state, step_size,
inverse_mass_matrix)` whose tuning parameters are ordinary (traceable) arrays;
that is what the warmup adaptation and the `MCMC` driver call, so changing the
step size never recompiles anything.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.flatten_util import ravel_pytree

from ._integrators import IntegratorState, euclidean_metric, velocity_verlet


class HMCState(NamedTuple):
    """Position (any pytree), its potential energy and the potential's gradient."""

    position: Any
    potential_energy: jax.Array
    potential_energy_grad: Any


class HMCInfo(NamedTuple):
    """Diagnostics of one HMC transition.

    `energy` is the Hamiltonian at the returned state (used by E-BFMI);
    `tree_depth` is always 0 and only present so HMC and NUTS share fields.
    """

    accept_prob: jax.Array
    num_steps: jax.Array
    diverging: jax.Array
    energy: jax.Array
    tree_depth: jax.Array


class SamplingAlgorithm(NamedTuple):
    """The `(init, step)` pair returned by `hmc_kernel` and `nuts_kernel`."""

    init: Callable
    step: Callable


def init(position: Any, potential_fn: Callable) -> HMCState:
    """Evaluate the potential and its gradient at `position`."""
    u, g = jax.value_and_grad(potential_fn)(position)
    return HMCState(position, u, g)


class FlatProblem(NamedTuple):
    start: IntegratorState
    value_and_grad: Callable
    unravel: Callable


def flat_problem(potential_fn: Callable, state: HMCState, momentum) -> FlatProblem:
    """Ravel `state` once; the returned `value_and_grad` acts on flat vectors."""
    x, unravel = ravel_pytree(state.position)
    g, _ = ravel_pytree(state.potential_energy_grad)
    u = jnp.asarray(state.potential_energy, x.dtype)

    def value_and_grad(flat):
        return jax.value_and_grad(lambda y: potential_fn(unravel(y)))(flat)

    return FlatProblem(IntegratorState(x, momentum(x), u, g), value_and_grad, unravel)


def energy_error(energy_new, energy_start):
    """Energy change with NaN mapped to +inf so NaNs always count as divergent."""
    delta = energy_new - energy_start
    return jnp.where(jnp.isnan(delta), jnp.inf, delta)


def build_hmc_kernel(
    potential_fn: Callable,
    trajectory_length: float = 2 * math.pi,
    integrator: Callable = velocity_verlet,
    max_delta_energy: float = 1000.0,
    num_steps: int | None = None,
) -> Callable:
    r"""HMC transition `kernel(key, state, step_size, inverse_mass_matrix, trial)`.

    Integrates Hamilton's equations for
    $L = \max(1, \lceil \text{trajectory\_length} / \epsilon \rceil)$ leapfrog
    steps (or exactly `num_steps` when given, as NumPyro's `HMC(num_steps=...)`;
    the trajectory length is then ignored)
    from a fresh momentum $p \sim N(0, M)$ and accepts the end point with
    probability $\min(1, e^{-\Delta H})$. A transition is *divergent* when
    $\Delta H > $ `max_delta_energy`. With `trial=True` (a traced bool) it
    makes one leapfrog step: the warmup's step-size search.

    References:
        Neal, "MCMC using Hamiltonian dynamics", Handbook of MCMC (2011),
        arXiv:1206.1901.
    """
    check_num_steps(num_steps)

    def kernel(key, state: HMCState, step_size, inverse_mass_matrix, trial=False):
        key_momentum, key_accept = jr.split(key)
        metric = euclidean_metric(jnp.asarray(inverse_mass_matrix))
        problem = flat_problem(
            potential_fn,
            state,
            lambda x: metric.momentum_from_noise(
                jr.normal(key_momentum, x.shape, x.dtype)
            ),
        )
        start = problem.start
        eps = jnp.asarray(step_size, start.position.dtype)
        if num_steps is None:
            steps = jnp.ceil(trajectory_length / eps)
            steps = jnp.maximum(steps, 1).astype(jnp.int32)
        else:
            steps = jnp.int32(num_steps)
        steps = jnp.where(trial, 1, steps)

        def body(_, s):
            return integrator(s, eps, problem.value_and_grad, metric)

        end = jax.lax.fori_loop(0, steps, body, start)
        energy_start = start.potential_energy + metric.kinetic_energy(start.momentum)
        energy_end = end.potential_energy + metric.kinetic_energy(end.momentum)
        delta = energy_error(energy_end, energy_start)
        accept_prob = jnp.minimum(1.0, jnp.exp(-delta))
        accept = jr.uniform(key_accept, (), delta.dtype) < accept_prob
        x, u, g, energy = jax.tree.map(
            lambda a, b: jnp.where(accept, a, b),
            (end.position, end.potential_energy, end.potential_energy_grad, energy_end),
            (
                start.position,
                start.potential_energy,
                start.potential_energy_grad,
                energy_start,
            ),
        )
        new_state = HMCState(problem.unravel(x), u, problem.unravel(g))
        info = HMCInfo(
            accept_prob, steps, delta > max_delta_energy, energy, jnp.int32(0)
        )
        return new_state, info

    return kernel


def hmc_kernel(
    potential_fn: Callable,
    step_size: float | jax.Array = 1.0,
    inverse_mass_matrix: jax.Array | None = None,
    trajectory_length: float = 2 * math.pi,
    max_delta_energy: float = 1000.0,
    num_steps: int | None = None,
) -> SamplingAlgorithm:
    """HMC as an `(init, step)` pair with fixed step size and mass matrix.

    Args:
        potential_fn: negative log density of a position pytree (differentiable).
        step_size: leapfrog step size.
        inverse_mass_matrix: vector (diagonal) or matrix over the flattened
            position; identity when None.
        trajectory_length: integration time; the number of steps is
            `ceil(trajectory_length / step_size)`.
        max_delta_energy: energy error above which a transition is divergent.
        num_steps: a fixed number of leapfrog steps instead (`trajectory_length`
            is then ignored).

    Returns:
        `SamplingAlgorithm(init, step)` with `init(position) -> HMCState` and
        `step(key, state) -> (HMCState, HMCInfo)`.
    """
    kernel = build_hmc_kernel(
        potential_fn, trajectory_length, velocity_verlet, max_delta_energy, num_steps
    )
    return _bind(kernel, potential_fn, step_size, inverse_mass_matrix)


def _bind(kernel, potential_fn, step_size, inverse_mass_matrix) -> SamplingAlgorithm:
    def init_fn(position):
        return init(position, potential_fn)

    def step_fn(key, state):
        imm = inverse_mass_matrix
        if imm is None:
            x, _ = ravel_pytree(state.position)
            imm = jnp.ones_like(x)
        return kernel(key, state, step_size, imm)

    return SamplingAlgorithm(init_fn, step_fn)


def check_num_steps(num_steps) -> None:
    """Raise unless `num_steps` is None or an int >= 1 (also `HMC`)."""
    if num_steps is not None and (
        not isinstance(num_steps, int | np.integer) or num_steps < 1
    ):
        raise ValueError(f"`num_steps` must be None or an int >= 1; got {num_steps!r}.")
