r"""Shapes: the ray-query interface and the two analytic primitives.

Every shape answers one query for a single ray `o + t d` (unit `d`): a `Hit`
holding a depth `t`, a soft coverage `alpha` in [0, 1], a shading point and
normal. `alpha` is what makes silhouettes differentiable: instead of the hard
indicator "the ray hits", it is a ramp of the signed distance $s$ between the
ray and the shape's silhouette over a band of width
$w(t) = w_0 + w_1 t$ (the pixel footprint at depth $t$, supplied by the
renderer). Rays inside the band that *miss* still return the nearest surface
point, so the radiance blended in at the edge is the silhouette's own. See
`docs/raytrace.md` for why this gives the correct edge term of the gradient.
"""

import abc
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._checks import ScalarIn, Vec3In, as_float, check_nonzero_vector, check_positive
from ._material import Material
from ._safe import BIG, coverage, safe_div, safe_sqrt
from ._vec import Vec3, vwhere


class Hit(NamedTuple):
    """Result of a ray query (all fields for one ray)."""

    t: Float[Array, ""]  # depth of the hit, or of the closest approach
    alpha: Float[Array, ""]  # soft coverage; 0 = no contribution
    point: Vec3
    normal: Vec3  # unit, facing the ray origin
    valid: Bool[Array, ""]  # the surface lies in front of the origin


class AbstractShape(eqx.Module):
    """A surface that can be intersected by a ray and shaded with a material.

    `convex = True` promises the shape cannot shadow its own lit points (true
    for a sphere or a plane), so their shadow rays skip it.
    """

    material: eqx.AbstractVar[Material]
    convex: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def intersect(
        self,
        origin: Vec3,
        direction: Vec3,
        width: tuple[Float[Array, ""], Float[Array, ""]],
    ) -> Hit:
        """Query one ray; `width = (w0, w1)` gives the soft band `w0 + w1 t`."""


def _eps(x: Float[Array, "..."]) -> float:
    """Self-intersection tolerance on hit depths for the dtype of `x`."""
    return 1e-4 if x.dtype == jnp.float32 else 1e-8


class Sphere(AbstractShape):
    r"""Sphere $|\mathbf x - \mathbf c| = r$; `center` and `radius` differentiable.

    Intersection: with $t_* = (\mathbf c - \mathbf o)\cdot\mathbf d$ and
    $d_\perp = |\mathbf o + t_*\mathbf d - \mathbf c|$ the ray's closest-approach
    distance, the front hit is $t_* - \sqrt{r^2 - d_\perp^2}$. The soft coverage
    is $\alpha = \mathrm{clip}(1/2 - (d_\perp - r)/w, 0, 1)$ (symmetric about
    the silhouette, so the first-order bias of the edge cancels). Rays that miss
    inside the band are shaded at the sphere point nearest to them.
    """

    center: Float[Array, "3"]
    radius: Float[Array, ""]
    material: Material
    convex = True

    def __init__(
        self,
        center: Vec3In,
        radius: ScalarIn,
        material: Material,
    ):
        self.center = as_float(center, "center", (3,))
        self.radius = as_float(radius, "radius", ())
        self.material = material

    def __check_init__(self):
        check_positive(self.radius, "radius")

    def intersect(self, origin, direction, width):
        c = Vec3.of(self.center)
        oc = c - origin
        t_star = oc.dot(direction)
        perp = direction * t_star - oc  # closest-approach point minus centre
        dist = perp.norm()
        r = self.radius
        disc = (r - dist) * (r + dist)  # better conditioned than r^2 - dist^2
        half = safe_sqrt(disc)
        eps = _eps(t_star)
        inside_start = t_star - half <= eps  # origin inside: use the exit point
        t_hit = jnp.where(inside_start, t_star + half, t_star - half)
        hit = disc > 0
        t = jnp.where(hit, t_hit, t_star)
        point_hit = origin + direction * t_hit
        n_hit = (point_hit - c) * (1.0 / r)
        n_miss = perp.normalized()
        normal = vwhere(hit, n_hit, n_miss)
        point = vwhere(hit, point_hit, c + n_miss * r)
        # Only an origin inside the sphere sees the inner side; testing the sign
        # of normal . direction instead would flip grazing normals at random.
        normal = vwhere(oc.dot(oc) < r * r, -normal, normal)
        w = width[0] + width[1] * jnp.maximum(t, 0.0)
        alpha = coverage(dist - r, w)
        valid = t > eps
        return Hit(t, jnp.where(valid, alpha, 0.0), point, normal, valid)


class Plane(AbstractShape):
    r"""Infinite two-sided plane through `point` with normal `normal`.

    Hit depth $t = (\mathbf p - \mathbf o)\cdot\mathbf n / (\mathbf d\cdot
    \mathbf n)$, computed with a safe division so rays parallel to the plane
    miss without NaN gradients. A plane has no silhouette, so its coverage is
    hard. `point` and `normal` are differentiable.
    """

    point: Float[Array, "3"]
    normal: Float[Array, "3"]
    material: Material
    convex = True

    def __init__(
        self,
        point: Vec3In,
        normal: Vec3In,
        material: Material,
    ):
        self.point = as_float(point, "point", (3,))
        self.normal = as_float(normal, "normal", (3,))
        self.material = material

    def __check_init__(self):
        check_nonzero_vector(self.normal, "normal")

    def intersect(self, origin, direction, width):
        n = Vec3.of(self.normal).normalized()
        denom = direction.dot(n)
        t, ok = safe_div((Vec3.of(self.point) - origin).dot(n), denom)
        valid = ok & (t > _eps(t)) & (t < BIG)
        t = jnp.where(valid, t, BIG)
        normal = vwhere(denom > 0, -n, n)
        point = origin + direction * jnp.where(valid, t, 0.0)
        return Hit(t, valid.astype(t.dtype), point, normal, valid)
