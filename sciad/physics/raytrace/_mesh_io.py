"""Mesh constructors: Wavefront `.obj` loading and a few procedural shapes."""

import os

import jax.numpy as jnp
import numpy as np

from ._checks import ScalarIn, Vec3In, as_float, check_positive
from ._material import Material
from ._mesh import TriangleMesh


def load_obj(path: str | os.PathLike, material: Material) -> TriangleMesh:
    """Read the `v` and `f` records of a Wavefront `.obj` file.

    Polygons are fan-triangulated; `f` entries may be `i`, `i/t`, `i/t/n` or
    `i//n` and negative (relative) indices are resolved. Other records
    (normals, texture coordinates, groups, materials) are ignored.

    Raises:
        ValueError: no vertices or faces, or a malformed `v`/`f` line.
    """
    verts, faces = [], []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                if parts[0] == "v":
                    verts.append([float(p) for p in parts[1:4]])
                    if len(verts[-1]) != 3:
                        raise ValueError("vertex needs 3 coordinates")
                elif parts[0] == "f":
                    idx = [int(p.split("/")[0]) for p in parts[1:]]
                    idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
                    if len(idx) < 3:
                        raise ValueError("face needs >= 3 vertices")
                    faces += [
                        [idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1)
                    ]
            except ValueError as err:
                raise ValueError(
                    f"`path` {path!s}, line {lineno}: {err}: {line!r}"
                ) from err
    if not verts or not faces:
        raise ValueError(f"`path` {path!s} has no vertices or no faces.")
    return TriangleMesh(np.asarray(verts), np.asarray(faces, dtype=np.int32), material)


def cube(
    center: Vec3In,
    size: ScalarIn,
    material: Material,
) -> TriangleMesh:
    """Axis-aligned cube of edge length `size` (12 outward-facing triangles)."""
    check_positive(size, "size")
    corners = np.array(
        [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float
    )
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    verts = as_float(center, "center", (3,)) + 0.5 * jnp.asarray(size) * corners
    return TriangleMesh(verts, faces, material)


def _subdivide(verts: list, faces: list) -> list:
    """Split each face in 4, appending unit-length edge midpoints to `verts`."""
    cache: dict[tuple[int, int], int] = {}

    def mid(a: int, b: int) -> int:
        k = (min(a, b), max(a, b))
        if k not in cache:
            m = verts[a] + verts[b]
            verts.append(m / np.linalg.norm(m))
            cache[k] = len(verts) - 1
        return cache[k]

    new = []
    for a, b, c in faces:
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        new += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
    return new


def icosphere(
    center: Vec3In,
    radius: ScalarIn,
    material: Material,
    subdivisions: int = 2,
) -> TriangleMesh:
    """Sphere approximated by a subdivided icosahedron (20 * 4**s faces)."""
    check_positive(radius, "radius")
    if not isinstance(subdivisions, int) or not 0 <= subdivisions <= 6:
        raise ValueError(
            f"`subdivisions` must be an int in [0, 6]; got {subdivisions!r}."
        )
    g = (1 + 5**0.5) / 2
    verts = [[-1, g, 0], [1, g, 0], [-1, -g, 0], [1, -g, 0],
             [0, -1, g], [0, 1, g], [0, -1, -g], [0, 1, -g],
             [g, 0, -1], [g, 0, 1], [-g, 0, -1], [-g, 0, 1]]  # fmt: skip
    faces = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9],
             [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2],
             [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
             [8, 6, 7], [9, 8, 1]]  # fmt: skip
    verts = [np.asarray(v, float) / np.linalg.norm(v) for v in verts]
    for _ in range(subdivisions):
        faces = _subdivide(verts, faces)
    unit = np.asarray(verts)
    pos = as_float(center, "center", (3,)) + jnp.asarray(radius) * unit
    return TriangleMesh(pos, np.asarray(faces), material)


def ground_quad(
    center: Vec3In,
    size: ScalarIn,
    material: Material,
) -> TriangleMesh:
    """Horizontal (y-up) square of side `size` centred at `center`, 2 triangles."""
    check_positive(size, "size")
    corners = 0.5 * np.array([[-1, 0, -1], [1, 0, -1], [1, 0, 1], [-1, 0, 1]], float)
    verts = as_float(center, "center", (3,)) + jnp.asarray(size) * corners
    return TriangleMesh(verts, np.array([[0, 2, 1], [0, 3, 2]]), material)
