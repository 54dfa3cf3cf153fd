import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.finance as sf

from .quantlib_oracle import bsm_process

american = jax.jit(
    sf.american_price,
    static_argnames=("call", "method", "steps", "extrapolate", "n_paths"),
)
K = jnp.array([85.0, 100.0, 115.0])


def test_binomial_converges_to_black_scholes_for_european_case():
    # No dividends: an American call is never exercised early.
    got = american(100.0, K, 1.0, 0.05, 0.25, 0.0, call=True, steps=201)
    np.testing.assert_allclose(got, sf.bs_price(100.0, K, 1.0, 0.05, 0.25), atol=2e-4)


@pytest.mark.parametrize("vol,t,r,q", [(0.3, 1.0, 0.05, 0.0), (0.4, 2.0, 0.08, 0.04)])
def test_default_within_1e_3_of_2001_step_reference(vol, t, r, q):
    ref = american(100.0, K, t, r, vol, q, steps=2001)
    got = american(100.0, K, t, r, vol, q)
    np.testing.assert_allclose(got, ref, atol=1e-3)
    assert np.all(
        np.asarray(got)
        >= np.asarray(sf.bs_price(100.0, K, t, r, vol, q, call=False)) - 1e-6
    )


def test_ad_delta_matches_finite_difference():
    f = lambda s: american(s, 100.0, 1.0, 0.05, 0.3, 0.0, steps=301, extrapolate=False)
    h = 1e-3
    fd = (f(100.0 + h) - f(100.0 - h)) / (2 * h)
    # The tree price is piecewise smooth in spot; a small central difference
    # agrees with AD to the tree's own resolution.
    np.testing.assert_allclose(jax.grad(f)(100.0), fd, rtol=1e-3)


def test_lsm_close_to_tree():
    ref = american(100.0, 100.0, 1.0, 0.05, 0.3, 0.0)
    got = american(
        100.0,
        100.0,
        1.0,
        0.05,
        0.3,
        0.0,
        method="lsm",
        steps=50,
        n_paths=40_000,
        key=jr.key(1),
    )
    # LSM is low-biased (suboptimal boundary) plus ~0.03 statistical error.
    assert ref - 0.12 < got < ref + 0.08


def test_quantlib_oracle_and_bad_input():
    ql, today, proc = bsm_process(100.0, rate=0.05, dividend=0.02, vol=0.3)
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put, 105.0),
        ql.AmericanExercise(today, today + 365),
    )
    opt.setPricingEngine(ql.BinomialVanillaEngine(proc, "lr", 2001))
    got = american(100.0, 105.0, 1.0, 0.05, 0.3, 0.02)
    np.testing.assert_allclose(got, opt.NPV(), atol=1e-3)
    with pytest.raises(ValueError, match="key"):
        sf.american_price(100.0, 100.0, 1.0, 0.0, 0.2, method="lsm")
    with pytest.raises(ValueError, match="method"):
        sf.american_price(100.0, 100.0, 1.0, 0.0, 0.2, method="pde")
