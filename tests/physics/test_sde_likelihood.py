"""Exact transition log-densities (OU / GBM / CIR) and the Bessel helper vs scipy."""

import jax
import jax.numpy as jnp
import jaxtyping
import numpy as np
import pytest
import scipy.special
import scipy.stats

import sciad
import sciad.physics as sp

# (nu, z) spanning the three regimes of log_bessel_iv: series (z <= 400),
# Hankel (z > 400, 4 nu^2 <= z) and Debye (large order).
BESSEL_CASES = [
    (-0.7, 0.01), (-0.3, 3.0), (0.0, 1.0), (0.5, 50.0), (2.5, 399.0),
    (9.5, 401.0), (3.0, 1e4), (25.0, 1e3), (80.0, 5e3), (300.0, 1e5),
    (40.0, 0.5), (1000.0, 900.0),
]  # fmt: skip


@pytest.mark.parametrize("nu,z", BESSEL_CASES)
def test_log_bessel_iv_matches_scipy(nu, z):
    ref = np.log(scipy.special.ive(nu, z)) + z
    # scipy's ive is accurate to ~1e-14 relative here; our expansions to ~1e-12.
    np.testing.assert_allclose(sp.log_bessel_iv(nu, z), ref, rtol=1e-10)


def test_log_bessel_iv_gradients():
    # Series, Hankel and Debye regimes in one call (one compile); fwd and rev
    # vs float64 central differences.
    nu, z = jnp.array([1.3, 2.0, 60.0]), jnp.array([7.0, 900.0, 900.0])
    sciad.check_grads(sp.log_bessel_iv, (nu, z), rtol=1e-5)


def test_ncx2_log_prob_matches_scipy():
    x = np.array([0.1, 1.0, 3.0, 20.0, 250.0])
    df = np.array([0.5, 2.0, 4.4, 10.0, 100.0])
    nc = np.array([0.3, 5.0, 1.0, 40.0, 150.0])
    ref = scipy.stats.ncx2.logpdf(x, df, nc)
    np.testing.assert_allclose(sp.ncx2_log_prob(x, df, nc), ref, rtol=1e-9)


def test_ou_transition_matches_scipy():
    m = sp.OrnsteinUhlenbeck(1.3, 0.4, 0.7)
    y0, y1, dt = np.array([-1.0, 0.2, 2.0]), np.array([-0.5, 0.1, 1.0]), 0.3
    mean = 0.4 + (y0 - 0.4) * np.exp(-1.3 * dt)
    sd = np.sqrt(0.49 * (1 - np.exp(-2.6 * dt)) / 2.6)
    ref = scipy.stats.norm.logpdf(y1, mean, sd)
    np.testing.assert_allclose(
        sp.ou_transition_log_prob(m, y0, y1, dt), ref, rtol=1e-12
    )


def test_gbm_transition_matches_scipy():
    m = sp.GeometricBrownianMotion(0.05, 0.3)
    y0, y1, dt = 1.2, np.array([0.9, 1.2, 1.6]), 0.5
    s = 0.3 * np.sqrt(dt)
    scale = y0 * np.exp((0.05 - 0.045) * dt)
    ref = scipy.stats.lognorm.logpdf(y1, s, scale=scale)
    np.testing.assert_allclose(
        sp.gbm_transition_log_prob(m, y0, y1, dt), ref, rtol=1e-12
    )


@pytest.mark.parametrize(
    "kappa,theta,sigma,dt",
    [(1.5, 0.04, 0.3, 0.1), (0.5, 0.1, 0.5, 1.0), (3.0, 0.05, 0.1, 0.01)],
)
def test_cir_transition_matches_scipy(kappa, theta, sigma, dt):
    # Second case violates Feller (df < 2); the third has a huge noncentrality.
    m = sp.CIR(kappa, theta, sigma)
    y0, y1 = 0.05, np.array([0.02, 0.05, 0.09])
    c = 2 * kappa / (sigma**2 * (1 - np.exp(-kappa * dt)))
    df = 4 * kappa * theta / sigma**2
    nc = 2 * c * y0 * np.exp(-kappa * dt)
    ref = scipy.stats.ncx2.logpdf(y1, df, nc, scale=1 / (2 * c))
    np.testing.assert_allclose(
        sp.cir_transition_log_prob(m, y0, y1, dt), ref, rtol=1e-9
    )


def test_transition_log_likelihood_sums_pairs_and_grads():
    ts = np.array([0.0, 0.1, 0.25, 0.7])
    ys = np.array([0.05, 0.045, 0.06, 0.04])

    def ll(params):
        return sp.transition_log_likelihood(sp.CIR(*params), ts, ys)

    params = jnp.array([1.5, 0.04, 0.3])
    m = sp.CIR(*params)
    ref = sum(
        sp.cir_transition_log_prob(m, ys[i], ys[i + 1], ts[i + 1] - ts[i])
        for i in range(3)
    )
    np.testing.assert_allclose(ll(params), ref, rtol=1e-12)
    sciad.check_grads(ll, (params,), rtol=1e-5)
    ou = sp.OrnsteinUhlenbeck(1.0, 0.0, 0.5)
    two_d = sp.transition_log_likelihood(ou, ts, np.stack([ys, -ys], axis=1))
    np.testing.assert_allclose(
        two_d,
        sp.transition_log_likelihood(ou, ts, ys)
        + sp.transition_log_likelihood(ou, ts, -ys),
        rtol=1e-12,
    )


def test_transition_log_likelihood_bad_input():
    ts = np.linspace(0.0, 1.0, 4)
    with pytest.raises(TypeError, match="model"):
        sp.transition_log_likelihood(sp.StochasticLotkaVolterra(), ts, np.ones((4, 2)))
    # Caught by the jaxtyping annotation under the test-suite hook, else ValueError.
    with pytest.raises((ValueError, jaxtyping.TypeCheckError)):
        sp.transition_log_likelihood(
            sp.OrnsteinUhlenbeck(1.0, 0.0, 0.5), ts, np.ones(5)
        )


def test_jit_compatible():
    m = sp.CIR(1.5, 0.04, 0.3)
    f = jax.jit(sp.cir_transition_log_prob)
    np.testing.assert_allclose(
        f(m, 0.05, 0.04, 0.1),
        sp.cir_transition_log_prob(m, 0.05, 0.04, 0.1),
        rtol=1e-12,
    )
