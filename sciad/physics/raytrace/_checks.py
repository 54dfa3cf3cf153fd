"""Construction-time validation shared by the scene Modules.

Checks run only on concrete values: a Module rebuilt inside `jit` from traced
leaves is not re-validated (its values were checked when first built).
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Real


def is_concrete(*xs) -> bool:
    """True when none of `xs` is a JAX tracer (so numpy can inspect them)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def as_float(x, name: str, shape: tuple[int, ...], broadcast: bool = False):
    """`x` as a float JAX array of `shape` (scalars broadcast if allowed)."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    if broadcast and arr.shape == ():
        arr = jnp.broadcast_to(arr, shape)
    if arr.shape != shape:
        allowed = f"{shape} or a scalar" if broadcast else f"{shape}"
        raise ValueError(f"`{name}` must have shape {allowed}; got shape {arr.shape}.")
    return arr


def check_nonnegative(x, name: str) -> None:
    """Raise if a concrete `x` has a negative (or NaN) entry."""
    if is_concrete(x):
        v = np.asarray(x)
        if not np.all(v >= 0):
            raise ValueError(f"`{name}` must be >= 0; got {v.tolist()}.")


def check_positive(x, name: str) -> None:
    """Raise if a concrete `x` has a non-positive (or NaN) entry."""
    if is_concrete(x):
        v = np.asarray(x)
        if not np.all(v > 0):
            raise ValueError(f"`{name}` must be > 0; got {v.tolist()}.")


def check_nonzero_vector(x, name: str) -> None:
    """Raise if a concrete 3-vector `x` has (near) zero length."""
    if is_concrete(x) and not np.linalg.norm(np.asarray(x)) > 1e-12:
        raise ValueError(f"`{name}` must be a non-zero vector; got {np.asarray(x)}.")


# Generous input annotations for constructors (the test suite checks them at
# runtime): Python numbers and sequences are accepted as well as arrays.
ScalarIn = float | int | Real[ArrayLike, ""]
Vec3In = Sequence[float | int] | Real[ArrayLike, "3"]
RGBIn = float | int | Sequence[float | int] | Real[ArrayLike, ""] | Real[ArrayLike, "3"]
