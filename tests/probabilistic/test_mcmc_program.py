"""The MCMC chain program's compile-size measures: in-loop step-size search, flat init.

Both change how the first call's program is built (one copy of the model's
gradient instead of three), not what it computes; these tests pin the
behaviour they must keep.
"""

from functools import partial

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import distributions as dist
from sciad.probabilistic.infer import (
    MCMC,
    NUTS,
    _init_uniform,
    build_hmc_kernel,
    build_nuts_kernel,
    init_to_median,
    init_to_uniform,
    util,
    window_adaptation,
)


def _normal_1d(x):
    return 0.5 * jnp.sum(x**2)


@pytest.mark.parametrize("build", [build_nuts_kernel, build_hmc_kernel])
def test_inline_search_has_the_classic_searchs_distribution(build):
    # 1-d standard normal started at its mode with eps0 = 1: one leapfrog step
    # has energy error p^2 eps^4 / 8, so the searched step size is a power of
    # two that depends only on |p|, p ~ N(0, 1), in both implementations (the
    # classic search always steps forward, the NUTS trial in a random
    # direction, which at the mode of a symmetric density is the same)
    def searched(inline, key):
        algo = window_adaptation(build(_normal_1d), _normal_1d, inline_search=inline)
        state = algo.init(jnp.zeros(1), 0)  # no adaptation: the search only
        state, info = algo.step(key, state)
        return state.adapt_state.step_size, state.adapt_state.needs_search

    keys = jr.split(jr.key(0), 400)
    out = {}
    for inline in (False, True):
        eps, pending = jax.jit(jax.vmap(partial(searched, inline)))(keys)
        assert not np.any(pending)  # the search ends before the transition
        out[inline] = np.log2(np.asarray(eps))
    for k in out.values():
        np.testing.assert_allclose(k, np.round(k), atol=1e-5)  # powers of two
    # P(log2 eps = k) for k = -1..3: two independent samples of 400 draws;
    # the binomial standard error of each frequency is <= 0.025, so 0.09 is
    # ~2.5 standard errors of the difference
    for k in range(-1, 4):
        np.testing.assert_allclose(
            np.mean(out[True] == k), np.mean(out[False] == k), atol=0.09
        )


def _positive_model():
    spp.sample("mu", dist.Normal(0.0, 1.0))
    spp.sample("s", dist.HalfNormal(1.0))


@pytest.mark.parametrize(
    "strategy, radius",
    [(init_to_uniform, 2.0), (init_to_uniform(radius=0.5), 0.5)],
)
def test_uniform_init_draws_one_flat_vector(strategy, radius):
    key = jr.key(1)
    proto = _init_uniform.uniform_prototype(key, _positive_model, strategy, (), {})
    assert set(proto) == {"mu", "s"}
    assert _init_uniform.uniform_radius(strategy) == radius
    info, ok = jax.jit(
        lambda k: _init_uniform.find_valid_uniform_params(
            k, _positive_model, proto, radius, (), {}
        )
    )(key)
    assert bool(ok)
    for v in info.z.values():
        assert np.all(np.abs(np.asarray(v)) < radius)
    pe, grad = jax.value_and_grad(
        partial(util.potential_energy, _positive_model, (), {})
    )(info.z)
    np.testing.assert_allclose(info.potential_energy, pe, rtol=1e-6)
    for name in info.z:
        np.testing.assert_allclose(info.z_grad[name], grad[name], rtol=1e-6)


def test_uniform_init_falls_back_for_other_strategies_and_preset_sites():
    key = jr.key(2)
    assert (
        _init_uniform.uniform_prototype(key, _positive_model, init_to_median, (), {})
        is None
    )
    preset = spp.handlers.substitute(_positive_model, data={"mu": 0.3})
    assert _init_uniform.uniform_prototype(key, preset, init_to_uniform, (), {}) is None


def test_mcmc_init_error_still_names_the_site():
    def bad(y):
        mu = spp.sample("mu", dist.Normal())
        spp.sample("y", dist.Exponential(jnp.exp(mu)), obs=y)

    mcmc = MCMC(NUTS(bad), num_warmup=5, num_samples=5, progress_bar=False)
    with pytest.raises(Exception, match="log-density of site 'y' is not finite"):
        mcmc.run(jr.key(0), -1.0)
