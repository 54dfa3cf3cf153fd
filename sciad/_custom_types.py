"""Shared jaxtyping aliases for sciad's public signatures."""

from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int, PRNGKeyArray, PyTree

RealScalarLike = float | int | ArrayLike
Vec3 = Float[Array, "3"]
Vec3Like = Float[ArrayLike, "3"]
PRNGKey = PRNGKeyArray

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Complex",
    "Float",
    "Int",
    "PRNGKey",
    "PRNGKeyArray",
    "PyTree",
    "RealScalarLike",
    "Vec3",
    "Vec3Like",
]
