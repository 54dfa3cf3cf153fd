"""Helpers shared by the test suite: tolerant pytree comparison and dtype tolerances."""

import equinox as eqx
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

TOLERANCES = {jnp.dtype("float32"): 5e-3, jnp.dtype("float64"): 1e-6}


def tol(dtype) -> float:
    """Default relative tolerance for results computed in ``dtype``."""
    return TOLERANCES[jnp.dtype(dtype)]


def tree_allclose(x, y, *, rtol=1e-5, atol=1e-8) -> bool:
    """True when two pytrees have the same structure and allclose leaves."""
    return eqx.tree_equal(x, y, typematch=True, rtol=rtol, atol=atol) is True


def assert_tree_allclose(x, y, *, rtol=1e-5, atol=1e-8):
    """Assert leafwise closeness, reporting the worst leaf on failure."""
    lx, tx = jtu.tree_flatten(x)
    ly, ty = jtu.tree_flatten(y)
    assert tx == ty, f"tree structures differ: {tx} vs {ty}"
    for i, (a, b) in enumerate(zip(lx, ly, strict=True)):
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=f"leaf {i}"
        )
