"""Monotone transforms' `sign`, and `TransformedDistribution.cdf` / `icdf` built on it.

Oracles: scipy's log-normal and Weibull, and closed forms for the reciprocal
and the negated exponential (NumPyro's rules: a decreasing chain flips the base
CDF, `q -> 1 - q`); finite differences in float64 for the gradients.
"""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from jax.test_util import check_grads

import sciad.probabilistic.distributions as dist
import sciad.probabilistic.distributions.transforms as T

Y = jnp.array([0.2, 0.9, 1.7, 4.0])


def test_signs_of_the_monotone_transforms():
    assert T.ExpTransform().sign == 1 and T.SigmoidTransform().sign == 1
    assert T.SoftplusTransform().sign == 1 and T.TanhTransform().sign == 1
    assert T.IdentityTransform().sign == 1
    np.testing.assert_array_equal(
        T.PowerTransform(jnp.array([2.0, -0.5])).sign, [1, -1]
    )
    np.testing.assert_array_equal(
        T.AffineTransform(0.0, jnp.array([3.0, -1.0])).sign, [1, -1]
    )
    chain = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, -2.0)])
    assert chain.sign == -1 and chain.inv.sign == -1
    assert T.IndependentTransform(T.AffineTransform(0.0, -1.0), 1).sign == -1
    with pytest.raises(NotImplementedError, match="StickBreakingTransform is not a"):
        _ = T.StickBreakingTransform().sign


def _lognormal():
    return dist.TransformedDistribution(dist.Normal(0.3, 0.8), T.ExpTransform())


def _reciprocal_exponential():  # 1/X, X ~ Exponential(2): P(1/X <= y) = exp(-2/y)
    return dist.TransformedDistribution(dist.Exponential(2.0), T.PowerTransform(-1.0))


def _negated_weibull():  # -X, X ~ Weibull: P(-X <= y) = 1 - F_X(-y)
    base = dist.Weibull(1.5, 2.0)
    return dist.TransformedDistribution(base, T.AffineTransform(0.0, -1.0))


CASES = {
    "lognormal": (_lognormal, Y, st.lognorm(s=0.8, scale=np.exp(0.3)).cdf(Y)),
    "reciprocal": (_reciprocal_exponential, Y, np.exp(-2.0 / Y)),
    "negated": (_negated_weibull, -Y, st.weibull_min(c=2.0, scale=1.5).sf(Y)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cdf_and_icdf_against_closed_forms(name):
    make, y, expect = CASES[name]
    d = make()
    np.testing.assert_allclose(d.cdf(y), expect, rtol=1e-12)
    np.testing.assert_allclose(d.icdf(jnp.asarray(expect)), y, rtol=1e-10)
    # central differences at moderate quantiles (the tails' curvature would
    # dominate a finite-difference step there)
    q = jnp.array([0.15, 0.5, 0.85])
    check_grads(d.cdf, (d.icdf(q),), order=1, modes=["rev"])
    check_grads(d.icdf, (q,), order=1, modes=["rev"])


def test_gompertz_mean_does_not_overflow():
    eta = jnp.array([0.5, 39.0, 41.0, 120.0, 800.0, 1e6])
    mean = dist.Gompertz(eta, 2.0).mean
    assert bool(jnp.all(jnp.isfinite(mean)))
    ref = [st.gompertz(c=float(e), scale=0.5).mean() for e in eta[:4]]
    np.testing.assert_allclose(mean[:4], ref, rtol=1e-9)
    # e^x E1(x) -> 1/x: the mean of a fast-failing Gompertz is 1 / (eta * rate)
    np.testing.assert_allclose(mean[-1], 1 / (2.0 * 1e6), rtol=2e-6)
    check_grads(lambda e: dist.Gompertz(e, 2.0).mean, (eta,), order=1, modes=["rev"])
    f32 = dist.Gompertz(jnp.float32(200.0), jnp.float32(1.0)).mean
    assert f32.dtype == jnp.float32 and bool(jnp.isfinite(f32))
