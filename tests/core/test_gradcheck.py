"""check_grads: passes on correct rules, fails loudly and precisely on wrong ones."""

import jax
import jax.numpy as jnp
import pytest

import sciad


def _wrong_sin(scale):
    f = jax.custom_jvp(jnp.sin)
    f.defjvp(lambda p, t: (jnp.sin(p[0]), scale * jnp.cos(p[0]) * t[0]))
    return f


def test_passes_on_correct_derivatives():
    f = lambda x, y: {"a": jnp.sin(x) * y, "b": jnp.exp(x).sum()}  # noqa: E731
    sciad.check_grads(f, (jnp.linspace(0, 1, 4), 2.5), order=2)


def test_matches_jax_test_util_signature():
    import jax.test_util

    f = lambda x: jnp.tanh(x) ** 2  # noqa: E731
    jax.test_util.check_grads(f, (jnp.ones(3),), order=1, modes=("fwd", "rev"))
    sciad.check_grads(f, (jnp.ones(3),), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_names_argument_and_index_of_worst_mismatch(mode):
    bad = _wrong_sin(1.1)

    def f(x, p):
        return p["w"] * 0.0 + bad(p["w"]) + x

    args = (jnp.zeros(3), {"w": jnp.array([0.0, 0.0, 1.5])})
    with pytest.raises(AssertionError) as err:
        sciad.check_grads(f, args, modes=(mode,))
    msg = str(err.value)
    # cos is largest at 0, so the worst mismatch is at index 0 of args[1]['w'].
    assert f"({mode})" in msg
    assert "args[1]['w'][0]" in msg
    assert "output[0]" in msg


def test_complex_inputs_and_outputs():
    sciad.check_grads(lambda z: jnp.exp(1j * z) * z, (jnp.array([1.0 + 0.5j]),))
    with pytest.raises(AssertionError, match=r"imag part"):
        sciad.check_grads(lambda z: _wrong_sin(2.0)(z.imag) + 0 * z.real, (1.0 + 0.5j,))


def test_second_order_catches_wrong_hessian():
    # Correct first derivative 3x^2, but its own derivative comes out as 9x.
    wrong_square = jax.custom_jvp(lambda x: x**2)
    wrong_square.defjvp(lambda p, t: (p[0] ** 2, 3 * p[0] * t[0]))

    @jax.custom_jvp
    def f(x):
        return x**3

    f.defjvp(lambda p, t: (p[0] ** 3, 3 * wrong_square(p[0]) * t[0]))
    sciad.check_grads(f, (0.7,), order=1)
    with pytest.raises(AssertionError, match="over"):
        sciad.check_grads(f, (0.7,), order=2)


def test_non_finite_derivative_reported():
    with pytest.raises(AssertionError, match="not finite"):
        sciad.check_grads(
            lambda x: jnp.sqrt(x), (jnp.array([0.0, 1.0]),), modes=("rev",)
        )


def test_argument_errors():
    with pytest.raises(ValueError, match="order"):
        sciad.check_grads(jnp.sin, (1.0,), order=0)
    with pytest.raises(ValueError, match="modes"):
        sciad.check_grads(jnp.sin, (1.0,), modes=("sideways",))
    with pytest.raises(ValueError, match="floating-point"):
        sciad.check_grads(lambda i: i * 1.0, (jnp.arange(3),))
