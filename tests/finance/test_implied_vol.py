import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad
import sciad.finance as sf

_iv = jax.jit(
    lambda p, s, k, t, r, q, call=True: sf.implied_vol(p, s, k, t, r, q, call=call)
)


def test_round_trip_over_wide_grid():
    rng = np.random.default_rng(0)
    n = 4000
    k = 100 * np.exp(rng.uniform(-2, 2, n))
    t = np.exp(rng.uniform(np.log(0.01), np.log(10), n))
    vol = np.exp(rng.uniform(np.log(0.03), np.log(2.0), n))
    r, q = rng.uniform(-0.02, 0.1, n), rng.uniform(0, 0.05, n)
    call = jnp.asarray(rng.uniform(size=n) < 0.5)
    price = sf.bs_price(100.0, k, t, r, vol, q, call=call)
    intrinsic = np.maximum(
        np.where(call, 1, -1) * (100 * np.exp(-q * t) - k * np.exp(-r * t)), 0
    )
    # Only prices that still carry time value can be inverted to high accuracy.
    ok = (np.asarray(price) - intrinsic > 1e-6 * np.asarray(price)) & (
        np.asarray(price) > 1e-250
    )
    iv = _iv(price, 100.0, k, t, r, q, call)
    assert not np.isnan(np.asarray(iv)[ok]).any()
    np.testing.assert_allclose(np.asarray(iv)[ok], vol[ok], rtol=1e-8)


def test_nan_only_for_arbitrage():
    iv = _iv(jnp.array([-1.0, 150.0, 1e-12, 99.0]), 100.0, 100.0, 1.0, 0.0, 0.0)
    assert np.isnan(iv[0]) and np.isnan(iv[1])  # below 0 / above the spot bound
    assert np.isfinite(iv[2]) and np.isfinite(iv[3])
    # Exactly intrinsic -> zero vol, not NaN.
    assert _iv(10.0, 110.0, 100.0, 1.0, 0.0, 0.0) == 0.0


def test_custom_rule_matches_finite_differences():
    args = (7.5, 100.0, 105.0, 0.8, 0.02, 0.01)
    sciad.check_grads(_iv, args, order=1)
    put = jax.jit(lambda *a: sf.implied_vol(*a, call=False))
    sciad.check_grads(put, (9.0, 100.0, 105.0, 0.8, 0.02, 0.01))


def test_dvol_dprice_is_inverse_vega():
    @jax.jit
    def both(p):
        vol = sf.implied_vol(p, 100.0, 100.0, 1.0, 0.0)
        vega = sf.bs_greeks(100.0, 100.0, 1.0, 0.0, vol).vega
        return jax.grad(sf.implied_vol)(p, 100.0, 100.0, 1.0, 0.0), vega

    g, vega = both(10.0)
    np.testing.assert_allclose(g, 1.0 / vega, rtol=1e-12)


def test_float32():
    k = jnp.linspace(70.0, 130.0, 13, dtype=jnp.float32)
    vol = jnp.float32(0.3)
    price = sf.bs_price(jnp.float32(100.0), k, jnp.float32(0.5), jnp.float32(0.01), vol)
    iv = sf.implied_vol(
        price, jnp.float32(100.0), k, jnp.float32(0.5), jnp.float32(0.01)
    )
    assert iv.dtype == jnp.float32
    np.testing.assert_allclose(iv, 0.3, rtol=2e-4)  # float32 price carries ~1e-7 rel.


def test_quantlib_oracle():
    ql = pytest.importorskip("QuantLib")
    p = 6.0
    want = ql.blackFormulaImpliedStdDev(
        ql.Option.Call, 105.0, 100.0 * np.exp(0.01), p / np.exp(-0.01), 1.0
    )
    got = sf.implied_vol(p, 100.0, 105.0, 1.0, 0.01)
    np.testing.assert_allclose(got, want, rtol=1e-7)
