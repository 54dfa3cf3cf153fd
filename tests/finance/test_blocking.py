import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciad.finance._blocking import fused_outputs


def _fn(a, b, c):
    shared = jnp.exp(a * b)  # used by every output
    return a * b + c, shared * c, shared - b


@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 7)])
def test_fused_outputs_equal_direct_evaluation(shape):
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=shape))
    b = jnp.asarray(2.5)  # a scalar: the outputs are broadcast to `shape`
    c = jnp.asarray(rng.normal(size=shape[-1:]))
    got = fused_outputs(_fn, (a, b, c), shape)
    want = _fn(a, b, c)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == shape and g.dtype == w.dtype
        # Same arithmetic; XLA may contract a * b + c into an FMA in one of
        # the two programs but not the other: 1-ulp differences.
        np.testing.assert_allclose(g, jnp.broadcast_to(w, shape), rtol=4e-16)


def test_fused_outputs_under_jit_and_vmap_keep_nan_inf_and_dtypes():
    def fn(x, n):
        return jnp.log(x), jnp.sqrt(x), (x > 0).astype(jnp.int32), n

    x = jnp.array([[2.0, 0.0, -1.0], [1.0, jnp.inf, jnp.nan]])
    n = jnp.array([1, 2, 3], jnp.int32)
    got = jax.jit(jax.vmap(lambda x: fused_outputs(fn, (x, n), (3,))))(x)
    want = jax.vmap(lambda x: fn(x, n))(x)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
