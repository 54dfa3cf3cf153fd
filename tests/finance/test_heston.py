import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad
import sciad.finance as sf

LEWIS_K = jnp.array([80.0, 90.0, 100.0, 110.0, 120.0])
# Lewis (2000), "Option Valuation under Stochastic Volatility": S=100, T=1,
# r=0.01, q=0.02, v0=0.04, kappa=4, theta=0.25, sigma=1, rho=-0.5.
LEWIS_CALLS = np.array(
    [
        26.774758743998854,
        20.933349000596710,
        16.070154917028834,
        12.132211516709845,
        9.024913483457836,
    ]
)
PARAMS = (0.04, 4.0, 0.25, 1.0, -0.5)
# Eager op-by-op dispatch of the quadrature is slow; compile once per module.
heston = jax.jit(sf.heston_price, static_argnames="call")


def test_lewis_reference_values():
    got = heston(100.0, LEWIS_K, 1.0, 0.01, 0.02, *PARAMS)
    np.testing.assert_allclose(got, LEWIS_CALLS, rtol=1e-12)
    put = heston(100.0, LEWIS_K, 1.0, 0.01, 0.02, *PARAMS, call=False)
    parity = 100 * np.exp(-0.02) - LEWIS_K * np.exp(-0.01)
    np.testing.assert_allclose(got - put, parity, rtol=1e-12)


def test_black_scholes_limit_and_long_maturity():
    # sigma -> 0 with v0 = theta: constant variance, i.e. Black–Scholes.
    got = heston(100.0, LEWIS_K, 2.0, 0.03, 0.0, 0.09, 2.0, 0.09, 1e-7, 0.3)
    # The vol-of-vol perturbation is O(sigma^2 T) ~ 1e-14 in price; 1e-8 leaves room
    # for the quadrature (which must stay stable as its 1/sigma^2 terms blow up).
    np.testing.assert_allclose(
        got, sf.bs_price(100.0, LEWIS_K, 2.0, 0.03, 0.3), rtol=1e-8
    )
    long = heston(100.0, LEWIS_K, 30.0, 0.02, 0.0, 0.04, 0.5, 0.04, 1.5, -0.9)
    assert np.all(np.isfinite(long)) and np.all(np.diff(long) < 0)


def test_gradients_in_all_parameters():
    f = lambda s, k, t, v0, ka, th, si, rho: heston(
        s, k, t, 0.01, 0.02, v0, ka, th, si, rho
    )
    sciad.check_grads(
        jax.jit(f), (100.0, 105.0, 0.7, 0.05, 2.0, 0.06, 0.8, -0.6), order=1
    )


def test_quantlib_oracle_feller_violated():
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(1, 1, 2020)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    flat = lambda r: ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))
    v0, ka, th, si, rho = 0.02, 0.5, 0.05, 1.2, -0.8  # 2 kappa theta < sigma^2
    model = ql.HestonModel(
        ql.HestonProcess(
            flat(0.03),
            flat(0.01),
            ql.QuoteHandle(ql.SimpleQuote(100.0)),
            v0,
            ka,
            th,
            si,
            rho,
        )
    )
    engine = ql.AnalyticHestonEngine(model, 1e-12, 100000)
    for days, k in [(73, 95.0), (730, 130.0), (1825, 60.0)]:
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Put, k), ql.EuropeanExercise(today + days)
        )
        opt.setPricingEngine(engine)
        got = heston(100.0, k, days / 365, 0.03, 0.01, v0, ka, th, si, rho, call=False)
        # Documented accuracy of the fixed rule: ~2e-10 absolute.
        np.testing.assert_allclose(got, opt.NPV(), rtol=1e-9, atol=1e-9)


def test_vmap_jit_float32_and_bad_rho():
    f = jax.jit(jax.vmap(lambda k: sf.heston_price(100.0, k, 1.0, 0.01, 0.02, *PARAMS)))
    np.testing.assert_allclose(f(LEWIS_K), LEWIS_CALLS, rtol=1e-12)
    p32 = sf.heston_price(
        *(jnp.float32(a) for a in (100.0, 100.0, 1.0, 0.01, 0.02) + PARAMS)
    )
    assert p32.dtype == jnp.float32
    np.testing.assert_allclose(p32, LEWIS_CALLS[2], rtol=1e-4)
    with pytest.raises(ValueError, match="rho"):
        sf.heston_price(100.0, 100.0, 1.0, 0.0, 0.0, 0.04, 1.0, 0.04, 0.5, 1.5)


def test_blocked_and_shared_cf_paths_agree(monkeypatch):
    import sciad.finance._heston as h

    k = jnp.array([80.0, 95.0, 100.0, 110.0, 130.0, 90.0, 105.0])
    t = jnp.array([0.1, 0.5, 1.0, 2.0, 5.0, 1.0, 0.3])
    f = lambda k, t: sf.heston_price(100.0, k, t, 0.01, 0.02, *PARAMS)
    # Reference: one option per call (scalar shapes: never blocked or shared).
    one_by_one = jax.jit(jax.vmap(f))
    monkeypatch.setattr(h, "_BLOCK", 2)
    # (k, t) pairs in blocks of 2 (with padding); a strike vector at one
    # maturity (CF shared across strikes): both must match exactly.
    both = jax.jit(lambda k, t: (f(k, t), f(k, 1.0)))
    pairs, shared = both(k, t)
    np.testing.assert_allclose(pairs, one_by_one(k, t), rtol=1e-13)
    np.testing.assert_allclose(shared, one_by_one(k, jnp.ones_like(t)), rtol=1e-13)


def test_validate_flag():
    g = jax.jit(
        lambda v0: sf.heston_price(100.0, 100.0, 1.0, 0.0, 0.0, v0, *PARAMS[1:])
    )
    with pytest.raises(Exception, match="v0"):
        g(-0.04).block_until_ready()
    loose = jax.jit(
        lambda v0: sf.heston_price(
            100.0, 100.0, 1.0, 0.0, 0.0, v0, *PARAMS[1:], validate=False
        )
    )
    np.testing.assert_allclose(loose(0.04), g(0.04), rtol=1e-14)
    assert np.isnan(loose(-0.04))  # no error: the caller opted out -> NaN


@pytest.mark.parametrize("shared", [False, True])
def test_derivative_rule_matches_plain_ad(monkeypatch, shared):
    """The forward-mode rule of `_lewis` against plain AD through the quadrature.

    First order in all ten arguments on the blocked path (blocks of 2 with
    padding) and on the shared-characteristic-function path (a strike vector
    at one maturity); one second derivative (v0, sigma) on the latter.
    """
    import sciad.finance._heston as h

    monkeypatch.setattr(h, "_BLOCK", 2)
    k = jnp.array([80.0, 95.0, 100.0, 110.0, 130.0])
    t = 0.8 if shared else jnp.array([0.1, 0.5, 1.0, 2.0, 5.0])

    def total(s, t, r, q, v0, kappa, theta, sigma, rho):
        args = (s, k, t, r, q, v0, kappa, theta, sigma, rho)
        return jnp.sum(sf.heston_price(*args, call=False))

    args = (100.0, t, 0.01, 0.02, 0.05, 2.0, 0.06, 0.8, -0.6)
    first = lambda: jax.jit(jax.grad(total, argnums=range(9)))(*args)  # noqa: E731

    def second():  # d/d(sigma) of d/d(v0): forward-over-reverse, one direction
        dv0 = lambda *a: jax.grad(total, argnums=4)(*a)  # noqa: E731
        tangents = tuple(
            1.0 if i == 7 else 0.0 * jnp.asarray(a) for i, a in enumerate(args)
        )
        return jax.jit(lambda *a: jax.jvp(dv0, a, tangents)[1])(*args)

    second = second if shared else tuple  # plain AD of lax.map compiles slowly
    with_rule = first(), second()
    plain = lambda x, *m: h._evaluate(h._lewis_integral, (x, *m[:-1]), m[-1])  # noqa: E731
    monkeypatch.setattr(h, "_lewis", plain)
    # Same derivatives of the same program, evaluated in another order.
    plain_ad = first(), second()
    for got, want in zip(
        jax.tree.leaves(with_rule), jax.tree.leaves(plain_ad), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _edge_case_parameters(n=240, seed=1):
    """Random (x, T, v0, kappa, theta, sigma, rho) with the awkward corners."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.6, 0.6, n)
    t = np.exp(rng.uniform(np.log(0.02), np.log(10.0), n))
    v0, kappa = rng.uniform(0.001, 0.3, n), rng.uniform(0.1, 6.0, n)
    theta, sigma = rng.uniform(0.005, 0.3, n), rng.uniform(0.0, 2.0, n)
    rho = rng.uniform(-0.99, 0.99, n)
    sigma[:10], sigma[10:20], sigma[20:30] = 0.0, 1e-7, 1e-4  # BS limit, series
    rho[30:40], rho[40:50] = -0.999, 0.999
    t[50:60], sigma[60:70] = 30.0, 2.5
    kappa[70:80], sigma[70:80] = 0.3, 1.5  # Feller strongly violated
    return [jnp.asarray(a) for a in (x, t, v0, kappa, theta, sigma, rho)]


def test_hand_written_partials_match_forward_ad():
    """`lewis_partials` against forward AD of `_lewis_integral`, all 7 arguments."""
    import sciad.finance._heston as h
    from sciad.finance._heston_partials import lewis_partials

    args = _edge_case_parameters()

    @jax.jit
    def plain(*a):
        def column(j):
            e = [jnp.zeros_like(b) for b in a]
            e[j] = jnp.ones_like(a[j])
            return jax.jvp(h._lewis_integral, a, tuple(e))[1]

        return h._lewis_integral(*a), [column(j) for j in range(7)]

    (w0, i0), ref = plain(*args)
    all_live = jax.jit(lambda *a: lewis_partials(range(7), *a))
    (w, i), (dw, di) = all_live(*args)
    np.testing.assert_allclose(i, i0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(w, w0, rtol=1e-15)
    for j in range(7):
        want_w, want_i = ref[j]
        assert np.all(np.isfinite(di[j])), j
        # Relative to each option's value, floored at 1e-3 of the largest
        # (partials that vanish, e.g. in rho at sigma = 0, are round-off).
        scale = np.abs(want_i) + 1e-3 * np.max(np.abs(want_i))
        assert np.max(np.abs(di[j] - want_i) / scale) < 1e-9, j
        np.testing.assert_allclose(dw[j], want_w, rtol=1e-13, atol=1e-16)
    # A subset of live arguments gives the same partials.
    for live in ([0], [5], [1, 6], [2, 3, 4]):
        subset = jax.jit(functools.partial(lewis_partials, live))
        (_, i_sub), (_, di_sub) = subset(*args)
        np.testing.assert_allclose(i_sub, i, rtol=0, atol=1e-15)
        for j, d in zip(live, di_sub, strict=True):
            np.testing.assert_allclose(d, di[j], rtol=1e-12, atol=1e-15)


def test_gradient_at_zero_vol_of_vol_is_finite_and_continuous():
    def price(sigma, rho):
        return heston(100.0, LEWIS_K, 1.0, 0.01, 0.0, 0.04, 1.5, 0.06, sigma, rho)

    grad = jax.jit(jax.jacfwd(price, argnums=(0, 1)))
    at_zero, near_zero = grad(0.0, -0.7), grad(1e-9, -0.7)
    for a, b in zip(at_zero, near_zero, strict=True):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    # d/drho = 0 at sigma = 0 (rho only enters as sigma * rho).
    np.testing.assert_allclose(at_zero[1], 0.0, atol=1e-12)


@pytest.mark.parametrize("shared", [False, True])
def test_second_order_matches_plain_ad(monkeypatch, shared):
    """Full Hessians in (spot, T, r, q, v0, kappa, theta, sigma, rho).

    Second order differentiates the hand-written rule: it must equal plain
    AD through the quadrature.
    Five options: unblocked (one maturity each) or shared (one maturity).
    """
    import sciad.finance._heston as h

    k = jnp.array([80.0, 95.0, 100.0, 110.0, 130.0])
    t_scale = jnp.ones(1) if shared else jnp.array([0.1, 0.5, 1.0, 2.0, 5.0])

    def total(a):
        t = a[1] if shared else a[1] * t_scale
        args = (a[0], k, t, a[2], a[3], *a[4:])
        return jnp.sum(sf.heston_price(*args, call=False))

    a = jnp.array([100.0, 0.8, 0.01, 0.02, 0.05, 2.0, 0.06, 0.8, -0.6])
    # Forward-over-reverse on one path, reverse-over-reverse on the other
    # (plain AD's Hessians compile slowly).
    hessian = jax.hessian if shared else lambda f: jax.jacrev(jax.jacrev(f))
    with_rule = jax.jit(hessian(total))(a)
    plain = lambda x, *m: h._evaluate(h._lewis_integral, (x, *m[:-1]), m[-1])  # noqa: E731
    monkeypatch.setattr(h, "_lewis", plain)
    plain_ad = jax.jit(hessian(total))(a)
    np.testing.assert_allclose(with_rule, plain_ad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n", [1, 5, 6, 11])
def test_fused_sums_are_plain_sums(n):
    from sciad.finance._blocking import fused_sums

    rng = np.random.default_rng(n)
    terms = [jnp.asarray(rng.normal(size=(7, 33))) for _ in range(n)]
    terms[-1] = terms[-1][:1] if n > 1 else terms[-1]  # broadcast
    got = jax.jit(fused_sums)(terms)
    want = [jnp.sum(jnp.broadcast_to(t, (7, 33)), -1) for t in terms]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-14)
