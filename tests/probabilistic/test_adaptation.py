"""Warmup building blocks: dual averaging, Welford, Stan's windows, step size search."""

from functools import partial

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sciad.probabilistic.infer import (
    adaptation_schedule,
    build_nuts_kernel,
    dual_averaging,
    find_reasonable_step_size,
    welford_covariance,
    window_adaptation,
)
from sciad.probabilistic.infer._compiler_options import compiler_options
from sciad.probabilistic.infer._integrators import IntegratorState


def test_dual_averaging_finds_the_target():
    # acceptance exp(-eps) as a function of the step size: the fixed point of
    # target = accept is eps* = -log(0.8)
    da = dual_averaging()
    state = da.init(jnp.log(10.0))

    def body(state, _):
        accept = jnp.exp(-jnp.exp(state.log_step))
        return da.update(state, 0.8 - accept), None

    state, _ = jax.lax.scan(body, state, None, length=2000)
    np.testing.assert_allclose(da.final(state), -np.log(0.8), rtol=2e-2)


@pytest.mark.parametrize("dense", [False, True])
def test_welford_matches_numpy_with_stan_regularisation(dense, getkey):
    x = np.asarray(jr.normal(getkey(), (40, 3))) * np.array([1.0, 2.0, 3.0])
    w = welford_covariance(dense)
    state = w.init(jnp.zeros(3))
    for row in x:
        state = w.update(state, jnp.asarray(row))
    n = len(x)
    cov = np.cov(x, rowvar=False) if dense else np.var(x, axis=0, ddof=1)
    eye = np.eye(3) if dense else 1.0
    expected = n / (n + 5) * cov + 1e-3 * 5 / (n + 5) * eye
    np.testing.assert_allclose(w.final(state), expected, rtol=1e-10)
    np.testing.assert_allclose(state.mean, x.mean(0), rtol=1e-10)


@pytest.mark.parametrize(
    "n", [0, 10, 19, 20, 100, 149, 150, 151, 500, 1000, 2000, 4321]
)
def test_schedule_matches_numpyro(n):
    hmc_util = pytest.importorskip("numpyro.infer.hmc_util")
    expected = np.asarray(hmc_util.build_adaptation_schedule(n)).reshape(-1, 2)
    got = adaptation_schedule(n)
    if n == 0:  # numpyro returns one window (0, -1); ours is clamped to (0, 0)
        assert got.shape == (1, 2)
        return
    np.testing.assert_array_equal(got, expected)


def test_schedule_windows_tile_the_warmup():
    w = adaptation_schedule(1000)
    assert w[0, 0] == 0 and w[-1, 1] == 999
    np.testing.assert_array_equal(w[1:, 0], w[:-1, 1] + 1)
    assert list(w[0]) == [0, 74] and list(w[-1]) == [950, 999]
    sizes = np.diff(w[1:-1], axis=1)[:, 0] + 1
    assert list(sizes[:-1]) == [25, 50, 100, 200]


def test_find_reasonable_step_size_crosses_target():
    # one leapfrog step on a standard normal from x: accept is ~exp(-eps^2 ...)
    def vg(x):
        return jax.value_and_grad(lambda y: 0.5 * jnp.sum(y**2))(x)

    x = jnp.full(4, 0.3)
    u, g = vg(x)
    start = IntegratorState(x, jnp.zeros(4), u, g)
    noise = jnp.array([0.5, -1.0, 0.2, 1.5])
    for eps0 in (1e-4, 1.0, 50.0):
        eps = find_reasonable_step_size(vg, start, eps0, jnp.ones(4), noise)
        assert 1e-2 < float(eps) < 10.0, (eps0, eps)


def test_window_adaptation_learns_scales_and_step_size():
    scales = jnp.array([0.1, 1.0, 10.0])

    def potential(x):
        return 0.5 * jnp.sum((x / scales) ** 2)

    algo = window_adaptation(build_nuts_kernel(potential, 8), potential)
    state = algo.init(jnp.ones(3), 600)

    @partial(jax.jit, compiler_options=compiler_options())
    def run(state, key):
        return jax.lax.scan(lambda s, k: algo.step(k, s), state, jr.split(key, 600))

    state, info = run(state, jr.key(0))
    _, eps, inv_mass = algo.final(state)
    # estimated variances within ~40% after 500 slow-window draws
    np.testing.assert_allclose(inv_mass, scales**2, rtol=0.4)
    # a well-preconditioned Gaussian in 3-d takes steps of order 1
    assert 0.3 < float(eps) < 2.0
    assert float(jnp.mean(info.accept_prob[-50:])) > 0.6
    assert int(state.adapt_state.window_idx) == len(adaptation_schedule(600))


def test_slow_window_end_restarts_dual_averaging_from_the_average():
    # When the mass matrix changes, dual averaging restarts from the window's
    # averaged step size (BlackJAX's rule), with no new step-size search.
    def potential(x):
        return 0.5 * jnp.sum((x / jnp.array([0.5, 2.0])) ** 2)

    algo = window_adaptation(build_nuts_kernel(potential, 6), potential)
    first_slow_end = int(adaptation_schedule(300)[1, 1])
    state = algo.init(jnp.ones(2), 300)
    step = jax.jit(algo.step, compiler_options=compiler_options())
    keys = jr.split(jr.key(1), first_slow_end + 1)
    for key in keys[:-1]:
        state, _ = step(key, state)
    before = state.adapt_state
    state, info = step(keys[-1], state)
    after = state.adapt_state
    da = dual_averaging().update(before.dual_averaging, 0.8 - info.accept_prob)
    eps = np.exp(float(da.log_step_avg))
    np.testing.assert_allclose(float(after.step_size), eps, rtol=1e-6)
    assert int(after.dual_averaging.count) == 0
    np.testing.assert_allclose(
        float(after.dual_averaging.prox_center), np.log(10 * eps), rtol=1e-6
    )
    assert not bool(after.needs_search)
    assert not np.allclose(after.inverse_mass_matrix, before.inverse_mass_matrix)
