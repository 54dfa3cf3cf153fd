r"""Radiance along one ray: soft-visibility compositing, direct light, mirrors.

For a ray with hits $k = 1..K$ (one per object, each with depth $t_k$ and soft
coverage $\alpha_k$), the radiance is the front-to-back composite

$$L = \sum_k \alpha_k \prod_{j:\,t_j < t_k} (1-\alpha_j)\, L_k
      + \prod_j (1-\alpha_j)\, L_\text{bg},$$

which is the hard "closest hit" image whenever every $\alpha_k \in \{0, 1\}$.
Each $L_k$ is ambient + emission + direct light from every light with soft
shadow-ray visibility $V = \prod_j (1-\beta_j)$, plus (for `depth > 1`) the
mirror-reflected radiance of the front surface.
"""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ._checks import is_concrete
from ._scene import Scene
from ._shapes import Hit
from ._vec import Vec3, vwhere


def _visibility(scene: Scene, x: Vec3, light_point: Vec3, footprint, skip: int, track):
    r"""Soft fraction of the segment `x -> light_point` left unblocked.

    Also returns whether the visibility depends on an occluder in `track`
    (object indices): whether such an occluder's soft band covers the segment.

    A point light seen past an occluder at depth $t$ along the shadow ray of
    length $t_L$ moves its shadow on the receiver by $t_L/(t_L-t)$ times the
    closest-approach distance, so the band $w(t) = f\,(t_L - t)/t_L$ blurs the
    shadow edge over about one pixel footprint $f$ on the receiver.
    """
    to = light_point - x
    dist = to.norm()
    direction = to.normalized()
    width = (footprint, -footprint / jnp.maximum(dist, 1e-30))
    vis = jnp.ones_like(dist)
    touched = jnp.zeros(dist.shape, bool)
    for k, obj in enumerate(scene.objects):
        if k == skip and obj.convex:
            continue  # a convex surface never shadows its own lit side
        h = obj.intersect(x, direction, width)
        beta = jnp.where(h.valid & (h.t < dist), h.alpha, 0.0)
        vis = vis * (1.0 - beta)
        if k in track:
            # A saturated coverage (0 or 1: fully lit or fully shadowed) has a
            # zero derivative, so only the soft band depends on the occluder.
            touched = touched | ((beta > 0) & (beta < 1))
    return vis, touched


def _pow(x, n):
    """`x ** n` for x >= 0 with finite gradients at x = 0 (also w.r.t. n)."""
    pos = x > 0
    return jnp.where(pos, jnp.exp(n * jnp.log(jnp.where(pos, x, 1.0))), 0.0)


def direct_light(
    scene: Scene, k: int, point: Vec3, normal: Vec3, view: Vec3, footprint, u, track
) -> tuple[Vec3, Array]:
    """Ambient + emission + Lambert/Blinn–Phong direct light on `scene.objects[k]`.

    Also returns whether a shadow ray touched an object in `track`.
    """
    material = scene.objects[k].material
    # A specular weight known to be zero at trace time (scene built inside the
    # jitted function) costs nothing: skip the lobe's exp/log.
    spec_zero = (
        is_concrete(material.specular) and not np.asarray(material.specular).any()
    )
    offset = 1e-4 * (
        1.0 + jnp.maximum(jnp.maximum(abs(point.x), abs(point.y)), abs(point.z))
    )
    x = point + normal * offset  # leave the surface so it cannot shadow itself
    albedo = Vec3.of(material.albedo)
    out = Vec3.of(scene.ambient * material.albedo + material.emission)
    diffuse = albedo * (1.0 / jnp.pi)
    specular = Vec3.of(material.specular * (material.shininess + 8.0) / (8.0 * jnp.pi))
    i = 0
    touched = jnp.zeros(point.x.shape, bool)
    for light in scene.lights:
        y, scale = light.sample(point, u[i : i + light.n_random])
        i += light.n_random
        to = y - point
        dist2 = to.dot(to)
        ldir = to.normalized()
        cos = jnp.maximum(normal.dot(ldir), 0.0)
        vis, t_k = _visibility(scene, x, y, footprint, k, track)
        touched = touched | t_k
        irradiance = scale * (cos * vis / jnp.maximum(dist2, 1e-30))
        if spec_zero:
            out = out + diffuse * irradiance
        else:
            half = (ldir + view).normalized()
            lobe = _pow(normal.dot(half), material.shininess)
            out = out + (diffuse + specular * lobe) * irradiance
    return out, touched


def radiance(
    scene: Scene,
    origin: Vec3,
    direction: Vec3,
    width,
    u: Float[Array, " n"],
    depth: int,
    track: tuple[int, ...] = (),
) -> tuple[Vec3, Bool[Array, ""]]:
    """Radiance (RGB `Vec3`) arriving at `origin` along unit `direction`.

    The second output says whether the radiance depends on the objects whose
    indices are in `track` (the ray or one of its shadow or mirror rays
    touches them); `render`'s sparse reverse pass skips the other rays.
    """
    hits = [obj.intersect(origin, direction, width) for obj in scene.objects]
    weights = []
    transmit_all = jnp.ones_like(direction.x)
    for k, hk in enumerate(hits):
        trans = jnp.ones_like(direction.x)
        for j, hj in enumerate(hits):
            if j != k:
                in_front = (hj.t < hk.t) | ((hj.t == hk.t) & (j < k))
                trans = trans * jnp.where(in_front, 1.0 - hj.alpha, 1.0)
        weights.append(hk.alpha * trans)
        transmit_all = transmit_all * (1.0 - hk.alpha)
    out = Vec3.of(scene.background) * transmit_all
    dep = jnp.zeros(direction.x.shape, bool)
    for k, (hk, wk) in enumerate(zip(hits, weights, strict=True)):
        footprint = width[0] + width[1] * hk.t
        lk, t_k = direct_light(
            scene, k, hk.point, hk.normal, -direction, footprint, u, track
        )
        out = out + lk * wk
        dep = dep | (t_k & (wk > 0))
        if k in track:
            dep = dep | (hk.alpha > 0)
    if depth > 1 and hits:
        # Mirror bounce from the surface with the largest weight only, so the
        # cost grows linearly (not as K**depth) with depth.
        best = hits[0]
        best_w, best_refl = weights[0], Vec3.of(scene.objects[0].material.reflectance)
        for obj, hk, wk in zip(scene.objects[1:], hits[1:], weights[1:], strict=True):
            better = wk > best_w
            best = Hit(
                jnp.where(better, hk.t, best.t),
                best.alpha,
                vwhere(better, hk.point, best.point),
                vwhere(better, hk.normal, best.normal),
                best.valid,
            )
            best_refl = vwhere(better, Vec3.of(obj.material.reflectance), best_refl)
            best_w = jnp.maximum(wk, best_w)
        n = best.normal
        d_r = direction - n * (2.0 * direction.dot(n))
        p = best.point
        scale = 1.0 + jnp.maximum(jnp.maximum(abs(p.x), abs(p.y)), abs(p.z))
        o_r = p + n * (1e-4 * scale)
        w_r = (width[0] + width[1] * best.t, width[1])
        l_r, dep_r = radiance(scene, o_r, d_r, w_r, u, depth - 1, track)
        out = out + l_r * best_refl * best_w
        dep = dep | (dep_r & (best_w > 0))
    return out, dep
