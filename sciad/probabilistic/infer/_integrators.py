r"""Euclidean metric and symplectic integrators on flat position vectors.

The samplers ravel the user's position pytree once per transition and work on a
flat vector $x \in \mathbb{R}^d$ from then on: the mass matrix, momentum and
U-turn checks are then plain vector algebra, and `unravel` is only a slice.

The Hamiltonian is $H(x, p) = U(x) + \tfrac12 p^\top M^{-1} p$ with the
*inverse* mass matrix $M^{-1}$ given either as a vector (diagonal) or as a
dense symmetric positive-definite matrix.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular


class Metric(NamedTuple):
    """Kinetic energy, velocity and momentum sampler of one mass matrix."""

    kinetic_energy: Callable
    velocity: Callable
    momentum_from_noise: Callable


def euclidean_metric(inverse_mass_matrix: jax.Array) -> Metric:
    r"""Gaussian kinetic energy $K(p) = \tfrac12 p^\top M^{-1} p$, $p \sim N(0, M)$.

    For a dense $M^{-1} = L L^\top$ the momentum is $p = L^{-\top} z$ with
    $z \sim N(0, I)$ (`momentum_from_noise(z)`), whose covariance is
    $(L L^\top)^{-1} = M$; the Cholesky factor is computed once per
    transition, outside the leapfrog loop.
    """
    if inverse_mass_matrix.ndim == 1:

        def velocity(p):
            return inverse_mass_matrix * p

        def momentum_from_noise(z):
            return z * jax.lax.rsqrt(inverse_mass_matrix)

    elif inverse_mass_matrix.ndim == 2:
        chol = jnp.linalg.cholesky(inverse_mass_matrix)

        def velocity(p):
            return inverse_mass_matrix @ p

        def momentum_from_noise(z):
            return solve_triangular(chol.T, z, lower=False)

    else:
        raise ValueError(
            "`inverse_mass_matrix` must be a vector (diagonal) or a square matrix; "
            f"got ndim={inverse_mass_matrix.ndim}."
        )

    def kinetic_energy(p):
        return 0.5 * jnp.dot(p, velocity(p))

    return Metric(kinetic_energy, velocity, momentum_from_noise)


class IntegratorState(NamedTuple):
    """A point of phase space with its potential energy and gradient."""

    position: jax.Array
    momentum: jax.Array
    potential_energy: jax.Array
    potential_energy_grad: jax.Array


def make_integrator(coefficients: tuple[float, ...]) -> Callable:
    r"""Palindromic splitting integrator from alternating kick/drift weights.

    `coefficients = (b_0, a_1, b_1, a_2, ...)` means: kick $p \mathrel{-}= b_0
    \epsilon \nabla U$, drift $x \mathrel{+}= a_1 \epsilon M^{-1} p$, kick with
    $b_1$, and so on; velocity Verlet is `(0.5, 1.0, 0.5)`. The gradient of the
    last kick is carried to the next step, so each drift costs one
    `value_and_grad` of the potential.

    Returns:
        `step(state, step_size, value_and_grad, metric) -> state`.
    """
    if len(coefficients) % 2 == 0 or coefficients != coefficients[::-1]:
        raise ValueError(
            "`coefficients` must be an odd-length palindrome (b0, a1, b1, ...); "
            f"got {coefficients}."
        )

    def step(state: IntegratorState, step_size, value_and_grad, metric: Metric):
        x, p, u, g = state
        p = p - coefficients[0] * step_size * g
        for i in range(1, len(coefficients), 2):
            x = x + coefficients[i] * step_size * metric.velocity(p)
            u, g = value_and_grad(x)
            p = p - coefficients[i + 1] * step_size * g
        return IntegratorState(x, p, u, g)

    return step


velocity_verlet = make_integrator((0.5, 1.0, 0.5))
