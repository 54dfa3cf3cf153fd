"""Input validation shared by the pricers: trace-time checks for concrete values,
`eqx.error_if` for traced ones.

Static (concrete) inputs are checked eagerly so the user gets a ValueError naming
the argument; traced inputs are checked with `eqx.error_if`, which survives `jit`
and can be disabled with ``EQX_ON_ERROR=nan`` for production runs.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def as_float(*args):
    """Broadcast the arguments to one shape and one floating dtype."""
    args = [
        a if isinstance(a, jax.Array | int | float) else np.asarray(a) for a in args
    ]
    dtype = jnp.result_type(*args, 0.0)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    arrays = [jnp.asarray(a, dtype=dtype) for a in args]
    return jnp.broadcast_arrays(*arrays)


def check(x, pred, name: str, expected: str):
    """Raise (concrete input) or attach an `eqx.error_if` (traced input).

    ``pred`` is a function of the array returning True where the value is BAD.
    Returns ``x`` (as an array), which callers must use so the traced check is
    not dead-code eliminated.
    """
    if _is_concrete(x):
        arr = np.asarray(x)
        bad = np.asarray(pred(arr))
        if bad.any():
            got = arr[bad].ravel()[0] if arr.ndim else arr
            raise ValueError(f"`{name}` must be {expected}; got {got!r}.")
        return x
    return eqx.error_if(x, pred(x), f"`{name}` must be {expected}.")


def check_positive(x, name: str):
    return check(x, lambda a: ~(a > 0), name, "> 0")


def check_nonnegative(x, name: str):
    return check(x, lambda a: ~(a >= 0), name, ">= 0")


def check_correlation(x, name: str = "rho"):
    return check(
        x, lambda a: ~((a > -1) & (a < 1)), name, "in the open interval (-1, 1)"
    )


def check_choice(value, name: str, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {tuple(allowed)}; got {value!r}.")


def call_sign(call, dtype):
    """+1 for calls, -1 for puts; ``call`` may be a bool or a boolean array."""
    if isinstance(call, bool | np.bool_):
        return jnp.asarray(1.0 if call else -1.0, dtype)
    return jnp.where(jnp.asarray(call), 1.0, -1.0).astype(dtype)
