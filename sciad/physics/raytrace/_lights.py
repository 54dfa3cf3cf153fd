"""Light sources: an abstract base, a point light and a sampled area light."""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import RGBIn, Vec3In, as_float, check_nonnegative, check_nonzero_vector
from ._vec import Vec3


class AbstractLight(eqx.Module):
    """A light that can be sampled from a shading point.

    `n_random` uniforms in [0, 1) per shading sample are handed to `sample`.
    """

    n_random: eqx.AbstractClassVar[int]

    @abc.abstractmethod
    def sample(self, point: Vec3, u: Float[Array, " n"]) -> tuple[Vec3, Vec3]:
        """Return `(light_point, scale)`: irradiance is `scale * cos / dist**2`.

        `scale` is an RGB `Vec3`; `point` is the shading point.
        """


class PointLight(AbstractLight):
    r"""Isotropic point light of radiant intensity $I$ (W/sr, RGB).

    Irradiance at distance $r$ on a surface at angle $\theta$ is
    $E = I\cos\theta / r^2$ (inverse-square law). `position` and `intensity` are
    differentiable.
    """

    position: Float[Array, "3"]
    intensity: Float[Array, "3"]
    n_random = 0

    def __init__(
        self,
        position: Vec3In,
        intensity: RGBIn,
    ):
        self.position = as_float(position, "position", (3,))
        self.intensity = as_float(intensity, "intensity", (3,), broadcast=True)

    def __check_init__(self):
        check_nonnegative(self.intensity, "intensity")

    def sample(self, point, u):
        return Vec3.of(self.position), Vec3.of(self.intensity)


class AreaLight(AbstractLight):
    r"""Two-sided parallelogram emitter of uniform radiance $L_e$ (RGB).

    The surface is `corner + a * edge_u + b * edge_v`, $a, b \in [0, 1]$.
    Each shading sample picks one uniform point $\mathbf y$ on it, so soft
    shadows converge as `spp` grows. The estimator of the irradiance at
    $\mathbf x$ is $L_e A |\cos\theta_y| \cos\theta_x / |\mathbf y-\mathbf x|^2$
    with $A$ the area. All fields are differentiable.
    """

    corner: Float[Array, "3"]
    edge_u: Float[Array, "3"]
    edge_v: Float[Array, "3"]
    intensity: Float[Array, "3"]
    n_random = 2

    def __init__(
        self,
        corner: Vec3In,
        edge_u: Vec3In,
        edge_v: Vec3In,
        intensity: RGBIn,
    ):
        self.corner = as_float(corner, "corner", (3,))
        self.edge_u = as_float(edge_u, "edge_u", (3,))
        self.edge_v = as_float(edge_v, "edge_v", (3,))
        self.intensity = as_float(intensity, "intensity", (3,), broadcast=True)

    def __check_init__(self):
        check_nonnegative(self.intensity, "intensity")
        check_nonzero_vector(jnp.cross(self.edge_u, self.edge_v), "edge_u x edge_v")

    def sample(self, point, u):
        eu, ev = Vec3.of(self.edge_u), Vec3.of(self.edge_v)
        y = Vec3.of(self.corner) + eu * u[0] + ev * u[1]
        to_x = point - y
        # A |cos_y| = |(e_u x e_v) . to_x| / |to_x|
        cos_area = jnp.abs(eu.cross(ev).dot(to_x)) / jnp.sqrt(to_x.dot(to_x) + 1e-30)
        return y, Vec3.of(self.intensity) * cos_area
