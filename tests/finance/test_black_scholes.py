import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

import sciad
import sciad.finance as sf

S, K, T, R, V, Q = 100.0, jnp.array([80.0, 100.0, 125.0]), 0.75, 0.03, 0.25, 0.01


def closed_form_greeks(s, k, t, r, v, q, call):
    sq = jnp.sqrt(t)
    d1 = (jnp.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * sq)
    d2 = d1 - v * sq
    dq, dr = jnp.exp(-q * t), jnp.exp(-r * t)
    pdf = norm.pdf(d1)
    th = 1.0 if call else -1.0
    delta = th * dq * norm.cdf(th * d1)
    gamma = dq * pdf / (s * v * sq)
    vega = s * dq * pdf * sq
    theta = (
        -s * dq * pdf * v / (2 * sq)
        - th * r * k * dr * norm.cdf(th * d2)
        + th * q * s * dq * norm.cdf(th * d1)
    )
    rho = th * k * t * dr * norm.cdf(th * d2)
    div_rho = -th * s * t * dq * norm.cdf(th * d1)
    vanna = -dq * pdf * d2 / v
    volga = vega * d1 * d2 / v
    return sf.Greeks(delta, gamma, vega, theta, rho, div_rho, vanna, volga)


@pytest.mark.parametrize("call", [True, False])
def test_greeks_match_closed_forms(call):
    got = sf.bs_greeks(S, K, T, R, V, Q, call=call)
    want = closed_form_greeks(S, K, T, R, V, Q, call)
    for name, g, w in zip(sf.Greeks._fields, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=name)


def test_put_call_parity_and_known_value():
    c = sf.bs_price(S, K, T, R, V, Q)
    p = sf.bs_price(S, K, T, R, V, Q, call=False)
    np.testing.assert_allclose(
        c - p, S * np.exp(-Q * T) - K * np.exp(-R * T), rtol=1e-12
    )
    # Hull's textbook example: S=42, K=40, r=0.1, sigma=0.2, T=0.5 -> 4.76 / 0.81.
    np.testing.assert_allclose(
        sf.bs_price(42.0, 40.0, 0.5, 0.1, 0.2), 4.7594, atol=1e-4
    )
    np.testing.assert_allclose(
        sf.bs_price(42.0, 40.0, 0.5, 0.1, 0.2, call=False), 0.8086, atol=1e-4
    )


def test_check_grads_second_order():
    # Second order in the two Greeks-relevant inputs (spot, vol); first order in all.
    f2 = jax.jit(lambda s, v: sf.bs_price(s, 95.0, 0.5, 0.02, v, 0.01))
    sciad.check_grads(f2, (100.0, 0.3), order=2)
    sciad.check_grads(
        jax.jit(lambda s, k, t, r, v, q: sf.bs_price(s, k, t, r, v, q, call=False)),
        (100.0, 95.0, 0.5, 0.02, 0.3, 0.01),
        order=1,
        modes=("rev",),
    )


@pytest.mark.parametrize("call", [True, False])
def test_hessian_jacfwd_and_reverse_over_reverse_match_closed_forms(call):
    # The first-order partials are one fused evaluation; every higher order
    # must differentiate the closed forms instead (scalar inputs: shape ()).
    want = closed_form_greeks(S, 100.0, T, R, V, Q, call)
    f = lambda x: sf.bs_price(x[0], 100.0, T, R, x[1], Q, call=call)  # noqa: E731
    x = jnp.array([S, V])
    second = [[want.gamma, want.vanna], [want.vanna, want.volga]]
    np.testing.assert_allclose(jax.jit(jax.hessian(f))(x), second, rtol=1e-10)
    rev_rev = jax.jit(jax.jacrev(jax.jacrev(f)))(x)
    np.testing.assert_allclose(rev_rev, second, rtol=1e-10)
    first = jax.jit(jax.jacfwd(f))(x)
    np.testing.assert_allclose(first, [want.delta, want.vega], rtol=1e-10)


def test_vectorised_boolean_call_and_float32():
    call = jnp.array([True, False, True])
    got = sf.bs_price(S, K, T, R, V, Q, call=call)
    want = jnp.where(
        call, sf.bs_price(S, K, T, R, V, Q), sf.bs_price(S, K, T, R, V, Q, call=False)
    )
    np.testing.assert_allclose(got, want)
    f32 = sf.bs_price(
        jnp.float32(S),
        K.astype(jnp.float32),
        jnp.float32(T),
        jnp.float32(R),
        jnp.float32(V),
    )
    assert f32.dtype == jnp.float32
    np.testing.assert_allclose(f32, sf.bs_price(S, K, T, R, V), rtol=5e-5)


@pytest.mark.parametrize("arg", [0, 1, 2, 4])
def test_bad_inputs_raise(arg):
    args = [100.0, 100.0, 1.0, 0.01, 0.2]
    args[arg] = -1.0
    with pytest.raises(ValueError, match="must be > 0"):
        sf.bs_price(*args)


def test_traced_bad_input_errors():
    f = jax.jit(lambda v: sf.bs_price(100.0, 100.0, 1.0, 0.0, v))
    with pytest.raises(Exception, match="vol"):
        f(-0.2).block_until_ready()


def test_validate_false_skips_traced_checks_only():
    f = jax.jit(lambda v: sf.bs_price(100.0, 100.0, 1.0, 0.0, v, validate=False))
    assert np.isnan(f(-0.2))  # NaN, no error
    np.testing.assert_allclose(
        f(jnp.array([0.2, -0.2, 0.3]))[::2],
        sf.bs_price(100.0, 100.0, 1.0, 0.0, jnp.array([0.2, 0.3])),
    )  # only the bad option is NaN
    assert np.isnan(f(jnp.array([0.2, -0.2]))[1])
    with pytest.raises(ValueError, match="vol"):  # concrete: always checked
        sf.bs_price(100.0, 100.0, 1.0, 0.0, -0.2, validate=False)
    g = jax.jit(lambda s, k: sf.bs_price(s, k, 1.0, 0.0, 0.2))
    with pytest.raises(Exception, match="strike"):  # names the bad argument
        g(100.0, -1.0).block_until_ready()


# A book of calls and puts large enough that XLA splits the fused
# first-order partials (`fused_outputs`) across threads.
N_BOOK = 17_385


def _random_book(n, seed=0):
    rng = np.random.default_rng(seed)
    k = 100.0 * np.exp(rng.uniform(-0.6, 0.6, n))
    t = rng.uniform(0.05, 3.0, n)
    return k, t, rng.random(n) < 0.5


def _closed_forms_mixed(k, t, call, s=100.0, r=0.03, v=0.25, q=0.01):
    """Closed-form Greeks and dV/dK for a book mixing calls and puts."""
    pick = lambda a, b: np.where(call, a, b)  # noqa: E731
    greeks = [
        pick(c, p)
        for c, p in zip(
            closed_form_greeks(s, k, t, r, v, q, True),
            closed_form_greeks(s, k, t, r, v, q, False),
            strict=True,
        )
    ]
    d2 = (np.log(s / k) + (r - q - 0.5 * v * v) * t) / (v * np.sqrt(t))
    th = np.where(call, 1.0, -1.0)
    d_strike = -th * np.exp(-r * t) * norm.cdf(th * d2)
    return sf.Greeks(*greeks), d_strike


def test_first_order_greeks_of_a_book_match_closed_forms():
    k, t, call = _random_book(N_BOOK)
    full = lambda x: np.full(N_BOOK, x)  # noqa: E731 (per-option gradients)
    args = (full(100.0), k, t, full(0.03), full(0.25), full(0.01))
    total = lambda *a: jnp.sum(sf.bs_price(*a, call=call))  # noqa: E731
    value, grads = jax.jit(jax.value_and_grad(total, argnums=range(6)))(*args)
    want, d_strike = _closed_forms_mixed(k, t, call)
    np.testing.assert_allclose(value, np.sum(sf.bs_price(*args, call=call)))
    expected = (want.delta, d_strike, -want.theta, want.rho, want.vega)
    for got, w in zip(grads, (*expected, want.dividend_rho), strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-10)


def test_book_scalar_args_forward_mode_and_second_order():
    k, t, call = _random_book(N_BOOK, seed=1)
    want, _ = _closed_forms_mixed(k, t, call)
    price = lambda v: sf.bs_price(100.0, k, t, 0.03, v, 0.01, call=call)  # noqa: E731
    # Scalar vol: reverse mode sums the vegas; forward mode gives each vega.
    grad_v = jax.jit(jax.grad(lambda v: jnp.sum(price(v))))(0.25)
    np.testing.assert_allclose(grad_v, np.sum(want.vega), rtol=1e-10)
    _, vegas = jax.jit(lambda v: jax.jvp(price, (v,), (1.0,)))(0.25)
    np.testing.assert_allclose(vegas, want.vega, rtol=1e-10, atol=1e-12)
    got = jax.jit(lambda k, t: sf.bs_greeks(100.0, k, t, 0.03, 0.25, 0.01, call=call))(
        k, t
    )
    for name, g, w in zip(sf.Greeks._fields, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10, err_msg=name)


def test_book_float32():
    k, t, call = _random_book(N_BOOK, seed=2)
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    total = lambda s, k, t, v: jnp.sum(  # noqa: E731
        sf.bs_price(s, k, t, f32(0.03), v, f32(0.01), call=call)
    )
    grads = jax.jit(jax.grad(total, argnums=(0, 1, 2, 3)))(
        f32(np.full(N_BOOK, 100.0)), f32(k), f32(t), f32(np.full(N_BOOK, 0.25))
    )
    want, d_strike = _closed_forms_mixed(k, t, call)
    # float32 round-off (eps 6e-8) amplified by the condition of log(S/K),
    # exp and N: measured <= 1e-6 of each Greek's largest value on 1e5 options.
    expected = (want.delta, d_strike, -want.theta, want.vega)
    for got, w in zip(grads, expected, strict=True):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-5 * np.max(np.abs(w)))


def test_book_gradient_compiles_to_one_loop_fusion():
    # The cost claim (all first-order Greeks ~1.2x a price, benchmarks/finance)
    # rests on XLA emitting the price and its six partials as ONE multi-output
    # loop fusion (`_blocking.fused_outputs`); an XLA upgrade that splits it
    # again (15 loops, ~2.5x) should fail here, not silently in the benchmark.
    k, t, call = _random_book(N_BOOK, seed=3)
    full = lambda x: np.full(N_BOOK, x)  # noqa: E731
    args = (full(100.0), k, t, full(0.03), full(0.25), full(0.01))
    total = lambda *a: jnp.sum(sf.bs_price(*a, call=call))  # noqa: E731
    hlo = jax.jit(jax.grad(total, argnums=range(6))).lower(*args).compile().as_text()
    entry = hlo[hlo.index("ENTRY") :]
    fusions = [line for line in entry.splitlines() if " fusion(" in line]
    assert len(fusions) == 1, "\n".join(fusions)
    assert " while(" not in hlo
