import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.finance as sf

GBM = sf.GBM(100.0, 0.05, 0.2, 0.01)
HESTON = sf.Heston(100.0, 0.01, 0.02, 0.04, 4.0, 0.25, 1.0, -0.5)


@functools.partial(
    jax.jit, static_argnames=("n_paths", "n_steps", "checkpoints", "chunk_size", "cv")
)
def price(
    model,
    payoff,
    key,
    n_paths=8192,
    n_steps=16,
    checkpoints="sqrt",
    chunk_size=None,
    cv=None,
):
    return sf.mc_price(
        model,
        payoff,
        n_paths=n_paths,
        n_steps=n_steps,
        key=key,
        checkpoints=checkpoints,
        chunk_size=chunk_size,
        control_variate=cv,
    )


def within(result, exact, n_sigma=3.0):
    assert abs(float(result.price) - float(exact)) < n_sigma * float(result.stderr), (
        result,
        exact,
    )


@pytest.mark.parametrize("call", [True, False])
def test_gbm_european_and_digital(call):
    k = jr.key(0)
    within(
        price(GBM, sf.European(105.0, 1.0, call), k),
        sf.bs_price(100.0, 105.0, 1.0, 0.05, 0.2, 0.01, call=call),
    )
    # Digital = -dC/dK for calls; smoothing makes it unbiased for the scheme.
    digital = -jax.grad(
        lambda kk: sf.bs_price(100.0, kk, 1.0, 0.05, 0.2, 0.01, call=call)
    )(105.0)
    within(price(GBM, sf.Digital(105.0, 1.0, call), k), digital if call else -digital)


def test_heston_european_with_control_variate():
    exact = sf.heston_price(100.0, 100.0, 1.0, 0.01, 0.02, 0.04, 4.0, 0.25, 1.0, -0.5)
    res = price(HESTON, sf.European(100.0, 1.0), jr.key(1), n_steps=64)
    # Full truncation has an O(dt) bias; 64 steps keeps it well below 3 stderr.
    within(res, exact)


def test_asian_control_variate_and_barrier():
    res = price(
        GBM, sf.AsianArithmetic(100.0, 1.0), jr.key(2), cv=sf.AsianGeometric(100.0, 1.0)
    )
    plain = price(GBM, sf.AsianArithmetic(100.0, 1.0), jr.key(2))
    within(res, plain.price, n_sigma=3.0 * float(plain.stderr / res.stderr))
    assert res.stderr < 0.1 * plain.stderr
    exact = sf.barrier_price(
        100.0, 100.0, 90.0, 1.0, 0.05, 0.2, 0.01, kind="down-and-out"
    )
    within(price(GBM, sf.Barrier(100.0, 90.0, 1.0), jr.key(3)), exact)
    exact_in = sf.barrier_price(
        100.0, 100.0, 115.0, 1.0, 0.05, 0.2, 0.01, call=False, kind="up-and-in"
    )
    within(
        price(GBM, sf.Barrier(100.0, 115.0, 1.0, False, "up-and-in"), jr.key(4)),
        exact_in,
    )


def test_pathwise_greeks_vs_closed_forms():
    def mc(s, v, payoff):
        return price(sf.GBM(s, 0.05, v, 0.01), payoff, jr.key(5)).price

    g = jax.grad(mc, argnums=(0, 1))(100.0, 0.2, sf.European(100.0, 1.0))
    bs = sf.bs_greeks(100.0, 100.0, 1.0, 0.05, 0.2, 0.01)
    np.testing.assert_allclose(
        g, (bs.delta, bs.vega), rtol=0.03
    )  # MC noise at 8k paths
    # Smoothed payoffs: non-zero, correct Greeks.
    dig = jax.grad(mc)(100.0, 0.2, sf.Digital(100.0, 1.0))
    want = jax.grad(jax.grad(lambda s, k: -sf.bs_price(s, k, 1.0, 0.05, 0.2, 0.01), 1))(
        100.0, 100.0
    )
    np.testing.assert_allclose(dig, want, rtol=0.05)
    bar = jax.grad(mc)(100.0, 0.2, sf.Barrier(100.0, 90.0, 1.0))
    want = jax.grad(lambda s: sf.barrier_price(s, 100.0, 90.0, 1.0, 0.05, 0.2, 0.01))(
        100.0
    )
    np.testing.assert_allclose(bar, want, rtol=0.05)


def test_checkpointing_does_not_change_gradients():
    def mc(s, checkpoints):
        return price(
            sf.GBM(s, 0.05, 0.2),
            sf.AsianArithmetic(100.0, 1.0),
            jr.key(6),
            n_paths=256,
            checkpoints=checkpoints,
        ).price

    np.testing.assert_allclose(
        jax.grad(mc)(100.0, "sqrt"), jax.grad(mc)(100.0, "all"), rtol=1e-12
    )


def test_sharded_equals_single_device():
    devices = jax.devices()
    assert len(devices) == 4
    kw = dict(n_paths=4096, n_steps=8, key=jr.key(7), chunk_size=512)
    one = sf.mc_price(HESTON, sf.European(100.0, 1.0), **kw)
    many = sf.mc_price(HESTON, sf.European(100.0, 1.0), devices=devices, **kw)
    np.testing.assert_allclose(many.price, one.price, rtol=1e-13)
    np.testing.assert_allclose(many.stderr, one.stderr, rtol=1e-10)


def test_local_vol_flat_equals_gbm_and_sde_interface():
    lv = sf.LocalVol(
        100.0,
        0.05,
        0.01,
        jnp.array([0.0, 1.0]),
        jnp.array([50.0, 200.0]),
        jnp.full((2, 2), 0.2),
    )
    a = price(lv, sf.European(100.0, 1.0), jr.key(8), n_paths=1024)
    b = price(GBM, sf.European(100.0, 1.0), jr.key(8), n_paths=1024)
    np.testing.assert_allclose(a.price, b.price, rtol=1e-12)
    y = jnp.array([jnp.log(100.0), 0.04])
    assert HESTON.drift(0.0, y, None).shape == (2,)
    cov = HESTON.diffusion(0.0, y, None) @ HESTON.diffusion(0.0, y, None).T
    np.testing.assert_allclose(
        cov, 0.04 * jnp.array([[1.0, -0.5], [-0.5, 1.0]]), rtol=1e-12
    )
    assert GBM.diffusion(0.0, jnp.array([4.6]), None).shape == (1, 1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="chunk_size"):
        sf.mc_price(
            GBM,
            sf.European(100.0, 1.0),
            n_paths=1000,
            n_steps=4,
            key=jr.key(0),
            chunk_size=300,
        )
    with pytest.raises(ValueError, match="rho"):
        sf.Heston(100.0, 0.0, 0.0, 0.04, 1.0, 0.04, 0.5, -1.2)
    with pytest.raises(ValueError, match="vol"):
        sf.GBM(100.0, 0.0, -0.2)
    with pytest.raises(ValueError, match="no closed form"):
        sf.mc_price(
            HESTON,
            sf.European(100.0, 1.0),
            n_paths=8,
            n_steps=2,
            key=jr.key(0),
            control_variate=sf.AsianGeometric(100.0, 1.0),
        )


def test_heston_qe_scheme_small_bias_feller_violated():
    # 2 kappa theta = 0.04 < sigma^2 = 1: full truncation with 8 steps is
    # visibly biased; QE with 8 steps must sit within 3 standard errors.
    params = (0.04, 0.5, 0.04, 1.0, -0.9)
    exact = sf.heston_price(100.0, 100.0, 1.0, 0.03, 0.01, *params)
    qe = sf.Heston(100.0, 0.03, 0.01, *params, scheme="qe")
    res = price(qe, sf.European(100.0, 1.0), jr.key(2), n_paths=65536, n_steps=8)
    within(res, exact)
    ft = sf.Heston(100.0, 0.03, 0.01, *params)
    biased = price(ft, sf.European(100.0, 1.0), jr.key(2), n_paths=65536, n_steps=8)
    assert abs(float(biased.price - exact)) > 3 * abs(float(res.price - exact))
    with pytest.raises(ValueError, match="scheme"):
        sf.Heston(100.0, 0.03, 0.01, *params, scheme="euler")
    with pytest.raises(ValueError, match="sigma"):
        sf.Heston(100.0, 0.03, 0.01, 0.04, 0.5, 0.04, 0.0, -0.9, scheme="qe")
