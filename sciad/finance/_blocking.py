"""Evaluate an elementwise pricer over blocks of options with `lax.map`."""

import jax
import jax.numpy as jnp
import numpy as np


def blocked(fn, args, shape, block: int):
    """``fn(*args)`` (elementwise over the broadcast ``shape``) in blocks of ``block``.

    Why: XLA's CPU backend splits the Heston quadrature (options x nodes) into
    dozens of loop fusions, each streaming several large arrays through main
    memory; for large batches that traffic, not arithmetic, is the cost. A
    `lax.map` over blocks keeps every intermediate in cache (measured 40k ->
    170k options/s in float32). Results are identical to the unblocked call; the
    inputs are padded with their last value (gradients of the padding are
    zero because it is sliced away). ``fn`` returns an array or a tuple.
    """
    size = int(np.prod(shape))
    if size <= 2 * block:
        return fn(*args)
    pad = -size % block
    flat = tuple(
        jnp.pad(jnp.broadcast_to(a, shape).reshape(-1), (0, pad), mode="edge").reshape(
            -1, block
        )
        for a in args
    )
    outs = jax.lax.map(lambda a: fn(*a), flat)
    return jax.tree.map(lambda o: o.reshape(-1)[:size].reshape(shape), outs)
