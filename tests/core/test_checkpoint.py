"""checkpointed_scan against plain lax.scan: values, gradients, memory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad

SCHEDULES = ["all", "sqrt", 1, 3, 8]


def _step(c, x):
    # Nonlinear, state-dependent, with a pytree carry and stacked pytree outputs.
    a, b = c
    a = jnp.sin(a) * 0.9 + x["u"] * b
    b = jnp.tanh(b + x["v"]) * jnp.cos(a).mean()
    return (a, b), {"s": a.sum() * b, "a": a}


def _inputs(n):
    xs = {"u": jnp.linspace(-1.0, 1.0, n), "v": jnp.cos(jnp.arange(n, dtype=float))}
    return (jnp.linspace(0.1, 0.5, 3), jnp.asarray(0.3)), xs


def _loss(scan, init, xs):
    (a, b), ys = scan(_step, init, xs)
    return a.sum() + b + ys["s"].sum() + (ys["a"] ** 2).sum()


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("n", [1, 7, 37])
def test_values_and_gradients_match_lax_scan(schedule, n):
    init, xs = _inputs(n)
    ref = jax.lax.scan(_step, init, xs)
    out = sciad.checkpointed_scan(_step, init, xs, checkpoints=schedule)
    # Identical operations in identical order: equal to float64 round-off.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-14), out, ref)

    def scan(f, c, x):
        return sciad.checkpointed_scan(f, c, x, checkpoints=schedule)

    g = jax.grad(lambda i, x: _loss(scan, i, x), argnums=(0, 1))(init, xs)
    g_ref = jax.grad(lambda i, x: _loss(jax.lax.scan, i, x), argnums=(0, 1))(init, xs)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12), g, g_ref)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_closed_over_parameters_and_length_only(schedule):
    def loss(p, scan):
        f = lambda c, _: (jnp.tanh(p * c + 0.1), c * p)  # noqa: E731
        c, ys = scan(f, jnp.ones(2), None, 25)
        return c.sum() + ys.sum()

    def ours(f, c, xs, n):
        return sciad.checkpointed_scan(f, c, xs, length=n, checkpoints=schedule)

    g = jax.grad(loss)(0.7, ours)
    g_ref = jax.grad(loss)(0.7, jax.lax.scan)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12)


@pytest.mark.parametrize("schedule", ["all", "sqrt"])
def test_check_grads_both_modes(schedule):
    _, xs = _inputs(6)

    def f(init_a, u):
        x = dict(xs, u=u)
        return _loss(
            lambda f, c, x: sciad.checkpointed_scan(f, c, x, checkpoints=schedule),
            (init_a, jnp.asarray(0.3)),
            x,
        )

    sciad.check_grads(f, (jnp.linspace(0.1, 0.5, 3), xs["u"]))


def test_hvp_through_sqrt_schedule_matches_plain_scan_hessian():
    # Forward-over-reverse through the checkpointed scan (mixed mode works).
    init, xs = _inputs(9)

    def loss(a, scan):
        return _loss(scan, (a, init[1]), xs)

    def ours(f, c, x):
        return sciad.checkpointed_scan(f, c, x, checkpoints="sqrt")

    v = jnp.array([1.0, -2.0, 0.5])
    H = jax.hessian(loss)(init[0], jax.lax.scan)
    np.testing.assert_allclose(
        sciad.hvp(lambda a: loss(a, ours), init[0], v), H @ v, rtol=1e-12
    )


def test_binomial_schedule_reverse_mode_check_grads():
    _, xs = _inputs(12)

    def f(init_a):
        return _loss(
            lambda f, c, x: sciad.checkpointed_scan(f, c, x, checkpoints=3),
            (init_a, jnp.asarray(0.3)),
            xs,
        )

    sciad.check_grads(f, (jnp.linspace(0.1, 0.5, 3),), modes=("rev",))


def test_sqrt_uses_10x_less_temporary_memory():
    # The criterion: 10,000 steps of a 1,000-float carry. "all" stores
    # every carry (10,000 x 1,000 x 8 bytes = 80 MB in float64); "sqrt" stores
    # ~2*sqrt(n) = 200 carries (1.6 MB).
    n, d = 10_000, 1_000

    def grad_fn(schedule):
        def loss(c0, xs):
            step = lambda c, x: (jnp.tanh(0.99 * c + x), None)  # noqa: E731
            return (
                sciad.checkpointed_scan(step, c0, xs, checkpoints=schedule)[0] ** 2
            ).sum()

        return jax.jit(jax.grad(loss))

    args = (jnp.ones(d), jnp.linspace(0.0, 1.0, n))
    mem = {
        s: grad_fn(s).lower(*args).compile().memory_analysis().temp_size_in_bytes
        for s in ("all", "sqrt")
    }
    assert mem["all"] >= 10 * mem["sqrt"], mem


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(checkpoints="log"), "checkpoints"),
        (dict(checkpoints=0), ">= 1"),
        (dict(checkpoints=True), "checkpoints"),
        (dict(length=5), "disagrees"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sciad.checkpointed_scan(lambda c, x: (c, x), 0.0, jnp.ones(3), **kwargs)


def test_needs_xs_or_length():
    with pytest.raises(ValueError, match="`xs` or `length`"):
        sciad.checkpointed_scan(lambda c, x: (c, x), 0.0)


def test_ragged_xs_rejected():
    with pytest.raises(ValueError, match="different leading axis"):
        sciad.checkpointed_scan(lambda c, x: (c, x), 0.0, (jnp.ones(3), jnp.ones(4)))
