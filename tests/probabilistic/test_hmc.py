"""Integrators and the fixed-length HMC kernel."""

from functools import partial

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sciad.probabilistic.diagnostics import effective_sample_size
from sciad.probabilistic.infer import (
    build_hmc_kernel,
    euclidean_metric,
    hmc_kernel,
    make_integrator,
    velocity_verlet,
    window_adaptation,
)
from sciad.probabilistic.infer._compiler_options import compiler_options
from sciad.probabilistic.infer._integrators import IntegratorState


def _oscillator_energy_error(eps, inverse_mass):
    """Max energy error of leapfrog on H = x^2/2 + p^2 m^-1/2 over t = 10."""
    metric = euclidean_metric(inverse_mass)

    def vg(x):
        return jax.value_and_grad(lambda y: 0.5 * jnp.sum(y**2))(x)

    x0 = jnp.array([1.0, 0.0])
    u, g = vg(x0)
    state = IntegratorState(x0, jnp.array([0.3, 0.0]), u, g)
    h0 = u + metric.kinetic_energy(state.momentum)

    def body(s, _):
        s = velocity_verlet(s, eps, vg, metric)
        return s, s.potential_energy + metric.kinetic_energy(s.momentum) - h0

    _, err = jax.lax.scan(body, state, None, length=int(10 / eps))
    return float(jnp.max(jnp.abs(err)))


@pytest.mark.parametrize(
    "inverse_mass", [jnp.ones(2), jnp.array([[1.0, 0.2], [0.2, 0.5]])]
)
def test_leapfrog_energy_error_is_second_order(inverse_mass):
    errs = [_oscillator_energy_error(eps, inverse_mass) for eps in (0.1, 0.05)]
    order = np.log2(errs[0] / errs[1])
    assert 1.8 < order < 2.2, order


def test_make_integrator_rejects_non_palindromes():
    with pytest.raises(ValueError, match="palindrome"):
        make_integrator((0.5, 1.0))
    with pytest.raises(ValueError, match="palindrome"):
        make_integrator((0.2, 1.0, 0.8))


def test_dense_momentum_has_covariance_mass_matrix():
    inv_mass = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    metric = euclidean_metric(inv_mass)
    z = jr.normal(jr.key(0), (20000, 2))
    p = jax.vmap(metric.momentum_from_noise)(z)
    np.testing.assert_allclose(
        np.cov(np.asarray(p).T), np.linalg.inv(inv_mass), atol=0.03
    )


def test_metric_rejects_bad_rank():
    with pytest.raises(ValueError, match="inverse_mass_matrix"):
        euclidean_metric(jnp.ones((2, 2, 2)))


def test_hmc_conjugate_normal_1d(getkey):
    """Normal-normal model with 10 observations: exact posterior N(m, s^2)."""
    y = 1.5 + 2.0 * jr.normal(getkey(), (10,))
    prior_sd, noise_sd = 3.0, 2.0

    def potential(theta):
        return (
            0.5 * jnp.sum((y - theta) ** 2) / noise_sd**2 + 0.5 * theta**2 / prior_sd**2
        )

    prec = 1 / prior_sd**2 + 10 / noise_sd**2
    mean, sd = float(jnp.sum(y) / noise_sd**2 / prec), float(1 / np.sqrt(prec))

    algo = window_adaptation(
        build_hmc_kernel(potential, trajectory_length=1.5), potential
    )
    state = algo.init(jnp.asarray(0.0), 300)

    @partial(jax.jit, compiler_options=compiler_options())
    def run(state, key):
        def body(s, k):
            s, info = algo.step(k, s)
            return s, (s.hmc_state.position, info.accept_prob)

        return jax.lax.scan(body, state, jr.split(key, 2300))

    _, (xs, acc) = run(state, getkey())
    xs = np.asarray(xs[300:])
    ess = float(effective_sample_size(xs[None], kind="basic"))
    assert abs(xs.mean() - mean) < 5 * sd / np.sqrt(ess)
    assert abs(xs.std() / sd - 1) < 5 * np.sqrt(0.5 / ess) + 0.02
    assert 0.6 < float(jnp.mean(acc[300:])) < 0.97


def test_hmc_kernel_pair_and_info():
    algo = hmc_kernel(
        lambda x: 0.5 * jnp.sum(x**2), step_size=0.25, trajectory_length=1.0
    )
    state = algo.init(jnp.ones(3))
    new, info = jax.jit(algo.step)(jr.key(0), state)
    assert int(info.num_steps) == 4
    assert int(info.tree_depth) == 0
    assert new.position.shape == (3,)
    np.testing.assert_allclose(new.potential_energy, 0.5 * jnp.sum(new.position**2))


def test_fixed_num_steps_as_numpyro():
    # NumPyro's HMC(num_steps=...): a fixed number of leapfrog steps, whatever
    # the (adapted) step size; trajectory_length is then ignored
    from sciad.probabilistic.infer import HMC, MCMC

    algo = hmc_kernel(lambda x: 0.5 * jnp.sum(x**2), step_size=0.25, num_steps=3)
    _, info = jax.jit(algo.step)(jr.key(0), algo.init(jnp.ones(3)))
    assert int(info.num_steps) == 3

    scales = jnp.array([1.0, 3.0])
    kernel = HMC(
        potential_fn=lambda x: 0.5 * jnp.sum((x / scales) ** 2),
        num_steps=2,  # ~ a quarter period at the adapted step size: mixes well
        trajectory_length=100.0,
    )
    mcmc = MCMC(kernel, num_warmup=300, num_samples=2000, progress_bar=False)
    mcmc.run(jr.key(1), init_params=jnp.zeros(2), extra_fields=("num_steps",))
    assert np.all(mcmc.get_extra_fields()["num_steps"] == 2)
    draws = mcmc.get_samples()
    ess = effective_sample_size(draws[None], kind="basic")
    # the standard deviations, to five Monte Carlo standard errors
    np.testing.assert_array_less(
        np.abs(draws.std(0) / scales - 1), 5 * np.sqrt(0.5 / ess) + 0.02
    )
    with pytest.raises(ValueError, match="num_steps"):
        HMC(potential_fn=lambda x: jnp.sum(x**2), num_steps=0)
