"""Pinhole camera generating one primary ray per image-plane sample."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._checks import ScalarIn, Vec3In, as_float, check_nonzero_vector, is_concrete
from ._vec import Vec3


class Camera(eqx.Module):
    r"""Pinhole camera looking from `eye` at `look_at`.

    The image plane spans a vertical field of view `fov_degrees`; pixel
    $(i, j)$ (row $i$ from the top) covers
    $x \in [j, j+1)$, $y \in [i, i+1)$ in pixel units. `eye`, `look_at`, `up` and
    `fov_degrees` are differentiable; `width` and `height` are static.

    Raises:
        ValueError: `width`/`height` not positive integers, `eye == look_at`,
            `up` of zero length or parallel to the viewing direction, or a field
            of view outside (0, 180).
    """

    eye: Float[Array, "3"]
    look_at: Float[Array, "3"]
    up: Float[Array, "3"]
    fov_degrees: Float[Array, ""]
    width: int = eqx.field(static=True)
    height: int = eqx.field(static=True)

    def __init__(
        self,
        eye: Vec3In,
        look_at: Vec3In,
        up: Vec3In,
        fov_degrees: ScalarIn,
        width: int,
        height: int,
    ):
        for name, val in (("width", width), ("height", height)):
            if (
                not isinstance(val, int | np.integer)
                or isinstance(val, bool)
                or val <= 0
            ):
                raise ValueError(f"`{name}` must be a positive integer; got {val!r}.")
        self.eye = as_float(eye, "eye", (3,))
        self.look_at = as_float(look_at, "look_at", (3,))
        self.up = as_float(up, "up", (3,))
        self.fov_degrees = as_float(fov_degrees, "fov_degrees", ())
        self.width, self.height = int(width), int(height)

    def __check_init__(self):
        check_nonzero_vector(self.up, "up")
        check_nonzero_vector(self.look_at - self.eye, "look_at - eye")
        if is_concrete(self.up, self.eye, self.look_at, self.fov_degrees):
            fwd = np.asarray(self.look_at - self.eye, dtype=float)
            up = np.asarray(self.up, dtype=float)
            sin = (
                np.linalg.norm(np.cross(fwd, up))
                / np.linalg.norm(fwd)
                / np.linalg.norm(up)
            )
            if not sin > 1e-6:
                raise ValueError(
                    f"`up` must not be parallel to the viewing direction "
                    f"`look_at - eye` = {fwd}; got up = {up}."
                )
            fov = float(self.fov_degrees)
            if not 0 < fov < 180:
                raise ValueError(f"`fov_degrees` must be in (0, 180); got {fov}.")

    def basis(self) -> tuple[Vec3, Vec3, Vec3]:
        """Orthonormal (right, true up, forward) frame of the camera."""
        fwd = Vec3.of(self.look_at - self.eye).normalized()
        right = fwd.cross(Vec3.of(self.up)).normalized()
        return right, right.cross(fwd), fwd

    def pixel_angle(self) -> Float[Array, ""]:
        """Side of one pixel on the image plane at unit distance."""
        return 2.0 * jnp.tan(jnp.deg2rad(self.fov_degrees) / 2) / self.height

    def ray_direction(self, x: Float[Array, "*b"], y: Float[Array, "*b"]) -> Vec3:
        """Unit direction (a `Vec3`) of the ray through image point `(x, y)`."""
        right, up, fwd = self.basis()
        a = self.pixel_angle()
        px = (x - 0.5 * self.width) * a
        py = (0.5 * self.height - y) * a
        return (fwd + right * px + up * py).normalized()
