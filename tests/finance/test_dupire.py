import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad.finance as sf

T = jnp.array([0.25, 1.0, 2.0])
K = jnp.array([80.0, 100.0, 125.0])
S, R, Q = 100.0, 0.03, 0.01


def test_flat_and_term_structure():
    flat = sf.dupire_local_vol(lambda t, k: 0.2 + 0 * k, T, K, spot=S, rate=R)
    np.testing.assert_allclose(flat, 0.2, rtol=1e-12)
    # sigma_imp(T)^2 T = int_0^T sigma_loc(t)^2 dt with sigma_imp^2 = a + bT
    # gives sigma_loc(T)^2 = a + 2bT (strike-independent).
    a, b = 0.04, 0.02
    got = sf.dupire_local_vol(
        lambda t, k: jnp.sqrt(a + b * t) + 0 * k, T, K, spot=S, rate=R, dividend=Q
    )
    np.testing.assert_allclose(
        got**2, jnp.broadcast_to((a + 2 * b * T)[:, None], got.shape), rtol=1e-12
    )


def skewed(t, k):
    # A smooth, arbitrage-free-looking skew with term structure.
    y = jnp.log(k / S)
    return 0.2 + 0.05 * jnp.exp(-t) * jnp.tanh(-2.0 * y) + 0.02 * y * y + 0.01 * t


def test_skew_matches_price_form_of_dupire():
    # Independent oracle: Dupire in call prices,
    # sigma^2 = (C_T + (r - q) K C_K + q C) / (K^2 C_KK / 2), by AD of BS(sigma_imp).
    def call(t, k):
        return sf.bs_price(S, k, t, R, skewed(t, k), Q)

    c_t = jax.grad(call, 0)
    c_k = jax.grad(call, 1)
    c_kk = jax.grad(c_k, 1)

    def oracle(t, k):
        num = c_t(t, k) + (R - Q) * k * c_k(t, k) + Q * call(t, k)
        return jnp.sqrt(num / (0.5 * k * k * c_kk(t, k)))

    want = jax.vmap(jax.vmap(oracle, (None, 0)), (0, None))(T, K)
    got = sf.dupire_local_vol(skewed, T, K, spot=S, rate=R, dividend=Q)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert float(got[0, 0]) > float(got[0, 2])  # the skew carries over


def test_bad_input_and_gradient_through_surface():
    with pytest.raises(ValueError, match="strikes"):
        sf.dupire_local_vol(skewed, T, -K, spot=S, rate=R)
    # The jaxtyping annotation (checked in tests) or the 1-D check rejects it.
    with pytest.raises((ValueError, TypeError)):
        sf.dupire_local_vol(skewed, T[:, None], K, spot=S, rate=R)

    def level(a):
        return sf.dupire_local_vol(lambda t, k: a + 0 * k, T, K, spot=S, rate=R).sum()

    np.testing.assert_allclose(jax.grad(level)(0.3), 9.0, rtol=1e-12)
