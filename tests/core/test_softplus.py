import jax
import jax.numpy as jnp
import numpy as np

from sciad._softplus import softplus


def test_softplus_matches_jax_in_value_and_two_derivatives():
    # float64 throughout (conftest); 1e-14 is a few ulps of the O(1) results
    x = jnp.linspace(-40.0, 40.0, 801)
    x = jnp.concatenate([x, jnp.array([0.0, -800.0, 800.0])])
    np.testing.assert_allclose(softplus(x), jax.nn.softplus(x), rtol=1e-14, atol=0)
    d1 = jax.vmap(jax.grad(softplus))(x)
    np.testing.assert_allclose(d1, jax.nn.sigmoid(x), rtol=1e-14, atol=1e-300)
    d2 = jax.vmap(jax.grad(jax.grad(softplus)))(x)
    e = jnp.exp(-jnp.abs(x))  # exact sigma(x) sigma(-x); jax's s(1-s) cancels
    np.testing.assert_allclose(d2, e / (1 + e) ** 2, rtol=1e-12, atol=1e-300)
    assert d2[801] == 0.25  # smooth at 0, unlike differentiating max/abs
