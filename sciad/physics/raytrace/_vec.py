"""`Vec3`: a 3-vector stored as three separate arrays (structure of arrays).

The per-ray code is written for one ray and `vmap`-ed over the image. If
vectors were `(3,)` arrays, `vmap` would turn them into `(n_rays, 3)` arrays
mixed with `(n_rays,)` scalars, and XLA:CPU splits such mixed-shape graphs into
dozens of separately materialised, partly recomputed kernels. With a tuple of
three scalars every intermediate is an `(n_rays,)` array, the whole shader
fuses into a few element-wise loops, and rendering runs several times faster.
"""

from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float


class Vec3(NamedTuple):
    """Three scalar (or equally shaped) arrays with vector arithmetic."""

    x: Float[Array, "*b"]
    y: Float[Array, "*b"]
    z: Float[Array, "*b"]

    @classmethod
    def of(cls, a: Float[Array, "*b 3"]) -> "Vec3":
        """Split the last axis of an array into a `Vec3`."""
        return cls(a[..., 0], a[..., 1], a[..., 2])

    def array(self) -> Float[Array, "*b 3"]:
        """Stack back into an array with a trailing axis of size 3."""
        return jnp.stack(tuple(self), axis=-1)

    def __add__(self, o):  # type: ignore[override]
        return Vec3(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o):
        return Vec3(self.x - o.x, self.y - o.y, self.z - o.z)

    def __mul__(self, s):  # type: ignore[override]
        """Scale by a scalar, or multiply component-wise by another `Vec3`."""
        if isinstance(s, Vec3):
            return Vec3(self.x * s.x, self.y * s.y, self.z * s.z)
        return Vec3(self.x * s, self.y * s, self.z * s)

    __rmul__ = __mul__

    def __neg__(self):
        return Vec3(-self.x, -self.y, -self.z)

    def dot(self, o: "Vec3") -> Float[Array, "*b"]:
        return self.x * o.x + self.y * o.y + self.z * o.z

    def cross(self, o: "Vec3") -> "Vec3":
        return Vec3(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )

    def norm(self) -> Float[Array, "*b"]:
        """Length, with zero (not NaN) gradient at the zero vector."""
        sq = self.dot(self)
        ok = sq > 0
        return jnp.where(ok, jnp.sqrt(jnp.where(ok, sq, 1.0)), 0.0)

    def normalized(self) -> "Vec3":
        """Unit vector; the zero vector maps to zero with zero gradient."""
        n = self.norm()
        ok = n > 0
        return self * jnp.where(ok, 1.0 / jnp.where(ok, n, 1.0), 0.0)


def vwhere(cond, a: Vec3, b: Vec3) -> Vec3:
    """Component-wise `jnp.where` for `Vec3`s."""
    return Vec3(*(jnp.where(cond, ai, bi) for ai, bi in zip(a, b, strict=True)))
