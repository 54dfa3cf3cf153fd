"""hvp, jacobian and wirtinger_grad against independent oracles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad


def _rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_hvp_matches_dense_hessian():
    x = jnp.array([0.3, -1.2, 0.8, 2.0])
    v = jnp.array([1.0, 0.5, -0.25, 2.0])
    np.testing.assert_allclose(
        sciad.hvp(_rosen, x, v), jax.hessian(_rosen)(x) @ v, rtol=1e-12
    )


def test_hvp_pytree_and_gradient():
    f = lambda p: jnp.sum(jnp.sin(p["a"]) * p["b"] ** 2)  # noqa: E731
    x = {"a": jnp.array([0.1, 0.2]), "b": jnp.array([1.5, -0.5])}
    v = {"a": jnp.array([1.0, 0.0]), "b": jnp.array([0.0, 1.0])}
    out = sciad.hvp(f, x, v)
    flat = lambda z: jnp.concatenate([z["a"], z["b"]])  # noqa: E731
    H = jax.hessian(lambda z: f({"a": z[:2], "b": z[2:]}))(flat(x))
    np.testing.assert_allclose(flat(out), H @ flat(v), rtol=1e-12)
    # hvp is itself differentiable (third derivatives), checked by FD.
    w = jnp.array([1.0, -1.0, 0.5, 0.0])
    sciad.check_grads(
        lambda a: sciad.hvp(_rosen, a, w), (jnp.array([0.3, -0.2, 0.5, 1.1]),)
    )


def test_hvp_shape_mismatch():
    with pytest.raises(ValueError, match="shapes of `x`"):
        sciad.hvp(_rosen, jnp.ones(3), jnp.ones(4))
    with pytest.raises(ValueError, match="structure of `x`"):
        sciad.hvp(_rosen, jnp.ones(3), (jnp.ones(3),))


@pytest.mark.parametrize("n_in, n_out, expected", [(2, 50, "fwd"), (50, 2, "rev")])
def test_jacobian_auto_picks_cheaper_mode(monkeypatch, n_in, n_out, expected):
    A = jnp.arange(n_in * n_out, dtype=float).reshape(n_out, n_in) / 100
    f = lambda x: jnp.tanh(A @ x)  # noqa: E731
    x = jnp.linspace(-1, 1, n_in)
    used = []
    for name in ("jacfwd", "jacrev"):
        orig = getattr(jax, name)
        monkeypatch.setattr(
            jax, name, lambda *a, _o=orig, _n=name, **k: used.append(_n) or _o(*a, **k)
        )
    J = sciad.jacobian(f)(x)
    assert used == ["jac" + expected]
    np.testing.assert_allclose(J, jax.jacfwd(f)(x), rtol=1e-12)
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(sciad.jacobian(f, mode)(x), J, rtol=1e-12)


def test_jacobian_argnums_and_bad_mode():
    f = lambda x, y: x * y  # noqa: E731
    J = sciad.jacobian(f, argnums=1)(jnp.arange(3.0), jnp.ones(3))
    np.testing.assert_allclose(J, jnp.diag(jnp.arange(3.0)))
    with pytest.raises(ValueError, match="mode"):
        sciad.jacobian(f, "sideways")


def test_wirtinger_grad_against_finite_differences():
    def f(z):
        return jnp.sum(jnp.abs(z) ** 2 * jnp.cos(z.real) + (z * z).imag)

    z = jnp.array([1.0 + 2.0j, -0.5 + 0.3j])
    g = sciad.wirtinger_grad(f)(z)
    eps = 1e-6
    for k in range(2):
        e = jnp.zeros(2).at[k].set(1.0)
        d_re = (f(z + eps * e) - f(z - eps * e)) / (2 * eps)
        d_im = (f(z + 1j * eps * e) - f(z - 1j * eps * e)) / (2 * eps)
        np.testing.assert_allclose(g[k].real, d_re, rtol=1e-7)
        np.testing.assert_allclose(g[k].imag, d_im, rtol=1e-7)


def test_wirtinger_grad_descends():
    target = jnp.array([0.5 - 1.0j])
    f = lambda z: jnp.sum(jnp.abs(z - target) ** 2)  # noqa: E731
    z = jnp.array([3.0 + 3.0j])
    for _ in range(50):
        z = z - 0.1 * sciad.wirtinger_grad(f)(z)
    np.testing.assert_allclose(z, target, atol=1e-4)


def test_wirtinger_grad_rejects_complex_output():
    with pytest.raises(TypeError, match="real-valued"):
        sciad.wirtinger_grad(lambda z: z**2)(1.0 + 1.0j)
    with pytest.raises(TypeError, match="scalar"):
        sciad.wirtinger_grad(lambda z: jnp.abs(z))(jnp.ones(2) + 0j)
