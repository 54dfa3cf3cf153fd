import jax.numpy as jnp
import numpy as np
import pytest

from sciad.finance._blocking import map_blocks


def _fn(a, b, c):
    return a * b + c, (jnp.sin(a) * c, b - c)


@pytest.mark.parametrize("shape", [(5,), (9,), (12,), (13,), (3, 7)])
def test_map_blocks_equals_direct_evaluation(shape):
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=shape))
    b = jnp.asarray(2.5)  # size one: enters the loop as a scalar
    c = jnp.asarray(rng.normal(size=shape[-1:]))  # broadcast before slicing
    got = map_blocks(_fn, (a, b, c), shape, block=4)
    want = _fn(a, b, c)
    assert got[0].shape == shape and got[1][1].shape == shape
    want = (want[0], *(jnp.broadcast_to(w, shape) for w in want[1]))
    for g, w in zip((got[0], *got[1]), want, strict=True):
        # Same arithmetic; XLA may contract a * b + c into an FMA in one of
        # the two programs but not the other: 1-ulp differences.
        np.testing.assert_allclose(g, w, rtol=4e-16, atol=4e-16)
