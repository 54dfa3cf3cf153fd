"""`EulerMaruyama`: the law of an SDE path on a time grid.

Oracles: the transition densities written out step by step; NumPyro's
`EulerMaruyama` (same rules); the exact mean and variance of the Euler scheme
for an Ornstein-Uhlenbeck process (a linear recursion); finite differences in
float64 for the gradient in the drift's parameter. Monte Carlo checks use 4.5
standard errors (a false alarm ~1e-5 per check).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st
from jax.test_util import check_grads

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic import infer

T_GRID = jnp.array([0.0, 0.1, 0.25, 0.3, 0.5, 0.8])


def two_d_sde(x, t):
    """A drift and a state-dependent diffusion, per coordinate."""
    return -2.0 * x + jnp.array([0.5, -0.3]) * t, 0.3 + 0.1 * x**2


def _by_hand(path, t, sde_fn, init):
    lp = init.log_prob(path[0])
    for i in range(len(t) - 1):
        dt = t[i + 1] - t[i]
        f, g = sde_fn(path[i], t[i])
        lp += st.norm(path[i] + f * dt, g * np.sqrt(dt)).logpdf(path[i + 1]).sum()
    return lp


def test_log_prob_is_the_product_of_transitions():
    init = dist.Normal(jnp.array([0.2, -0.1]), 0.5).to_event(1)
    d = dist.EulerMaruyama(T_GRID, two_d_sde, init)
    assert d.event_shape == (6, 2) and d.batch_shape == ()
    paths = d.sample(jr.key(0), (3,))
    assert paths.shape == (3, 6, 2)
    expect = [
        _by_hand(np.asarray(p), np.asarray(T_GRID), two_d_sde, init) for p in paths
    ]
    np.testing.assert_allclose(d.log_prob(paths), expect, rtol=1e-12)


def test_batched_grids_and_initial_laws():
    # two grids (batch 2) and three initial means (batch 3, 1): batch shape (3, 2)
    grids = jnp.stack([T_GRID, 2 * T_GRID])
    init = dist.Normal(jnp.array([[0.0], [1.0], [-1.0]]), 0.3)
    d = dist.EulerMaruyama(grids, lambda x, t: (-x, 0.5), init)
    assert d.batch_shape == (3, 2) and d.event_shape == (6,)
    paths = d.sample(jr.key(1), (4,))
    assert paths.shape == (4, 3, 2, 6)
    lp = d.log_prob(paths)
    assert lp.shape == (4, 3, 2)
    k, i, j = 2, 1, 1
    one = dist.EulerMaruyama(grids[j], lambda x, t: (-x, 0.5), dist.Normal(1.0, 0.3))
    np.testing.assert_allclose(lp[k, i, j], one.log_prob(paths[k, i, j]), rtol=1e-12)


def test_agrees_with_numpyro():
    nd = pytest.importorskip("numpyro.distributions")
    init = dist.Normal(jnp.zeros(2), 1.0).to_event(1)
    theirs = nd.EulerMaruyama(
        T_GRID, two_d_sde, nd.Normal(jnp.zeros(2), 1.0).to_event(1)
    )
    paths = dist.EulerMaruyama(T_GRID, two_d_sde, init).sample(jr.key(2), (5,))
    np.testing.assert_allclose(
        dist.EulerMaruyama(T_GRID, two_d_sde, init).log_prob(paths),
        theirs.log_prob(paths),
        rtol=1e-12,
    )


def test_draws_follow_the_euler_recursion_of_an_ou_process():
    # x_{i+1} = (1 - theta dt) x_i + sigma sqrt(dt) eps: closed-form mean, variance
    theta, sigma, n, dt = 1.5, 0.4, 20, 0.05
    t = jnp.arange(n + 1) * dt
    d = dist.EulerMaruyama(t, lambda x, s: (-theta * x, sigma), dist.Normal(1.0, 0.1))
    draws = d.sample(jr.key(3), (4000,))[:, -1]
    a = 1 - theta * dt
    mean = a**n
    var = 0.01 * a ** (2 * n) + sigma**2 * dt * sum(a ** (2 * k) for k in range(n))
    assert abs(float(draws.mean()) - mean) < 4.5 * np.sqrt(var / 4000)
    assert abs(float(draws.var()) / var - 1) < 4.5 * np.sqrt(2 / 4000)


def test_gradient_in_the_drift_parameter():
    path = jnp.array([0.3, 0.1, 0.2, -0.1, 0.05, 0.0])

    def lp(theta):
        sde = lambda x, t: (-theta * x, 0.5)  # noqa: E731
        return dist.EulerMaruyama(T_GRID, sde, dist.Normal(0.0, 1.0)).log_prob(path)

    check_grads(lp, (1.3,), order=2, modes=["rev", "fwd"])
    sample = lambda theta: dist.EulerMaruyama(  # noqa: E731
        T_GRID, lambda x, t: (-theta * x, 0.5), dist.Normal(0.0, 1.0)
    ).sample(jr.key(0))
    check_grads(sample, (1.3,), order=1, modes=["rev"])


# one chain of 300 draws: the max split R-hat over 21 path values may pass 1.01
@pytest.mark.filterwarnings("ignore::sciad.probabilistic.infer.SamplingWarning")
def test_nuts_calibrates_an_sde_drift():
    # a latent OU path observed with noise: the drift's posterior concentrates
    # near the truth (theta = 2), and no draw diverges
    t = jnp.linspace(0.0, 2.0, 21)
    truth = dist.EulerMaruyama(t, lambda x, s: (-2.0 * x, 0.3), dist.Normal(1.0, 0.1))
    path = truth.sample(jr.key(4))
    y = path + 0.05 * jr.normal(jr.key(5), path.shape)

    def model(y):
        theta = spp.sample("theta", dist.LogNormal(0.0, 1.0))
        x = spp.sample(
            "x",
            dist.EulerMaruyama(
                t, lambda x, s: (-theta * x, 0.3), dist.Normal(1.0, 0.1)
            ),
        )
        spp.sample("y", dist.Normal(x, 0.05), obs=y)

    mcmc = infer.MCMC(
        infer.NUTS(model), num_warmup=300, num_samples=300, progress_bar=False
    )
    mcmc.run(jr.key(6), y)
    theta = mcmc.get_samples()["theta"]
    assert int(mcmc.get_extra_fields()["diverging"].sum()) == 0
    lo, hi = np.quantile(theta, [0.005, 0.995])
    assert lo < 2.0 < hi, (lo, hi)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="init_dist"):
        dist.EulerMaruyama(T_GRID, two_d_sde, 0.0)
    with pytest.raises(TypeError, match="sde_fn"):
        dist.EulerMaruyama(T_GRID, None, dist.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="length >= 2"):
        dist.EulerMaruyama(jnp.zeros(1), two_d_sde, dist.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="`t` must satisfy"):
        dist.EulerMaruyama(
            jnp.array([0.0, 0.2, 0.1]),
            two_d_sde,
            dist.Normal(0.0, 1.0),
            validate_args=True,
        )
