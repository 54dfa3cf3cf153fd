"""Quantiles by bisection in log space, for cdfs with no closed-form inverse."""

import math

import jax
import jax.numpy as jnp


def bisect_log(fn, target, dtype, log_hi: float = 0.0):
    """`u` in (tiny, exp(log_hi)] with `fn(u) = target` (`fn` increasing in u).

    Bisecting log u with a fixed number of halvings reaches the dtype's
    relative precision in `u` itself, however small `u` is (deep in a tail),
    with no starting guess and no derivative: robust for any parameters, at
    the price of 32 (float32) or 64 (float64) evaluations of `fn`.
    """
    finfo = jnp.finfo(dtype)
    steps = 64 if finfo.bits == 64 else 32
    lo = jnp.full(jnp.shape(target), math.log(finfo.tiny), dtype)
    hi = jnp.full(jnp.shape(target), log_hi, dtype)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = fn(jnp.exp(mid)) < target
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, steps, body, (lo, hi))
    return jnp.exp(0.5 * (lo + hi))
