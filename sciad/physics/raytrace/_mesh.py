r"""Triangle meshes with soft silhouette coverage from their silhouette edges.

Hard hits use the Möller–Trumbore test on every face (vectorised; no BVH, so
the cost is linear in the face count: see `docs/raytrace.md`). For the silhouette, an
edge is *silhouette* for a ray if it borders only one face, or if its two faces
point to opposite sides of the ray origin. A ray that misses the mesh at a
distance $s$ from the nearest silhouette edge gets coverage
$\alpha = \mathrm{clip}(1 - s/w, 0, 1)$: a one-sided ramp, i.e. the mesh is
dilated by about half a band width. One-sided because a hit ray may lie near
an *interior* contour with more of the mesh behind it, where a symmetric ramp
would blend in the background.
"""

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Real

from ._checks import is_concrete
from ._material import Material
from ._safe import BIG, coverage, safe_div
from ._shapes import AbstractShape, Hit, _eps
from ._vec import Vec3, vwhere


def _edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges `(E, 2)` and their adjacent faces `(E, 2)` (repeat if one)."""
    nf = faces.shape[0]
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    owner = np.tile(np.arange(nf), 3)
    key = np.sort(pairs, axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    adj = np.full((len(uniq), 2), -1)
    for e, f in zip(inverse.ravel(), owner, strict=True):
        adj[e, 0 if adj[e, 0] < 0 else 1] = f
    adj[:, 1] = np.where(adj[:, 1] < 0, adj[:, 0], adj[:, 1])
    return uniq, adj


class TriangleMesh(AbstractShape):
    """Triangle mesh; `vertices` are differentiable, `faces` are fixed indices.

    Args:
        vertices: `(V, 3)` vertex positions.
        faces: `(F, 3)` integer vertex indices (concrete, not traced).
        material: the surface material (flat shaded, two-sided).

    Raises:
        ValueError: bad shapes, indices outside `[0, V)`, or a degenerate
            (zero-area) triangle.
    """

    vertices: Float[Array, "V 3"]
    faces: Int[Array, "F 3"]
    edges: Int[Array, "E 2"]
    edge_faces: Int[Array, "E 2"]
    material: Material
    convex = False

    def __init__(
        self,
        vertices: Real[ArrayLike, "V 3"] | Sequence[Sequence[float | int]],
        faces: Int[ArrayLike, "F 3"] | Sequence[Sequence[int]],
        material: Material,
    ):
        verts = jnp.asarray(vertices)
        if not jnp.issubdtype(verts.dtype, jnp.floating):
            verts = verts.astype(jnp.result_type(float))
        if verts.ndim != 2 or verts.shape[1] != 3 or verts.shape[0] < 3:
            raise ValueError(
                f"`vertices` must have shape (V>=3, 3); got {verts.shape}."
            )
        if not is_concrete(faces):
            raise ValueError("`faces` must be concrete integers, not traced.")
        f = np.asarray(faces)
        if f.ndim != 2 or f.shape[1] != 3 or f.shape[0] < 1:
            raise ValueError(f"`faces` must have shape (F>=1, 3); got {f.shape}.")
        if not np.issubdtype(f.dtype, np.integer):
            raise ValueError(f"`faces` must be integers; got dtype {f.dtype}.")
        if f.min() < 0 or f.max() >= verts.shape[0]:
            raise ValueError(
                f"`faces` must index vertices in [0, {verts.shape[0]}); "
                f"got indices in [{f.min()}, {f.max()}]."
            )
        e, ef = _edges(f)
        self.vertices = verts
        self.faces = jnp.asarray(f, dtype=jnp.int32)
        self.edges = jnp.asarray(e, dtype=jnp.int32)
        self.edge_faces = jnp.asarray(ef, dtype=jnp.int32)
        self.material = material

    def __check_init__(self):
        if is_concrete(self.vertices, self.faces):
            v = np.asarray(self.vertices)[np.asarray(self.faces)]
            area2 = np.linalg.norm(
                np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1
            )
            scale = np.max(np.ptp(np.asarray(self.vertices), axis=0)) ** 2
            bad = np.flatnonzero(~(area2 > 1e-10 * scale))
            if bad.size:
                raise ValueError(
                    f"`faces` contains degenerate (zero-area) triangles at rows "
                    f"{bad[:5].tolist()}."
                )

    def intersect(self, origin, direction, width):
        # Structure of arrays: every per-face / per-edge quantity is a `Vec3`
        # of `(F,)` or `(E,)` arrays, so under `vmap` all intermediates are
        # plain `(n_rays, F)` arrays that XLA fuses (an `(n_rays, F, 3)`
        # layout was 10-100x slower).
        o, d = origin, direction
        v = self.vertices[self.faces]
        eps = _eps(v)
        p0 = Vec3.of(v[:, 0])
        e1, e2 = Vec3.of(v[:, 1]) - p0, Vec3.of(v[:, 2]) - p0
        # Möller–Trumbore, all faces at once; safe division for parallel rays.
        pvec = d.cross(e2)
        det = e1.dot(pvec)
        inv, ok = safe_div(jnp.ones_like(det), det)
        tvec = o - p0
        u = tvec.dot(pvec) * inv
        qvec = tvec.cross(e1)
        w = qvec.dot(d) * inv
        t_f = qvec.dot(e2) * inv
        inside = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t_f > eps)
        t_f = jnp.where(inside, t_f, BIG)
        best = jnp.argmin(t_f)
        t_hit = t_f[best]
        hit = t_hit < BIG
        # Nearest silhouette edge: line-to-segment distance in the plane
        # perpendicular to the ray.
        nf = e1.cross(e2)
        ef0, ef1 = self.edge_faces[:, 0], self.edge_faces[:, 1]
        a = Vec3.of(self.vertices[self.edges[:, 0]])
        e = Vec3.of(self.vertices[self.edges[:, 1]]) - a
        w0 = a - o
        side0 = Vec3(*(c[ef0] for c in nf)).dot(w0)
        side1 = Vec3(*(c[ef1] for c in nf)).dot(w0)
        silhouette = (ef0 == ef1) | (side0 * side1 <= 0)
        pw0 = w0 - d * w0.dot(d)
        pe = e - d * e.dot(d)
        s_par, _ = safe_div(-pw0.dot(pe), pe.dot(pe))
        s_par = jnp.clip(s_par, 0.0, 1.0)
        dist = (pw0 + pe * s_par).norm()
        closest = a + e * s_par
        t_e = (closest - o).dot(d)
        dist = jnp.where(silhouette & (t_e > eps), dist, BIG)
        k = jnp.argmin(dist)
        # The face of edge k that faces the origin (or its only face).
        front = jnp.where(side0[k] < 0, ef0[k], ef1[k])
        face = jnp.where(hit, best, front)
        n_face = Vec3(*(c[face] for c in nf)).normalized()
        normal = vwhere(n_face.dot(d) > 0, -n_face, n_face)
        t = jnp.where(hit, t_hit, t_e[k])
        point = vwhere(hit, o + d * t_hit, Vec3(*(c[k] for c in closest)))
        wk = width[0] + width[1] * jnp.maximum(t_e[k], 0.0)
        # coverage(s - w/2, w) = clip(1 - s/w): one-sided ramp outside the mesh.
        alpha = jnp.where(hit, 1.0, coverage(dist[k] - 0.5 * wk, wk))
        alpha = jnp.where(dist[k] < BIG, alpha, hit.astype(alpha.dtype))
        valid = hit | (dist[k] < BIG)
        return Hit(t, alpha, point, normal, valid)
