"""Differentiable ray tracer (`sciad.physics.raytrace`).

The core abstraction is `AbstractShape.intersect`: one ray in, one `Hit` out,
with a *soft coverage* that turns silhouettes and shadow edges into smooth
functions of the geometry, so `jax.grad(render)` includes the edge terms that a
hard hit/miss test loses. Everything else (materials, lights, camera, scene) is
a plain `eqx.Module` whose array leaves are differentiable; `render` vmaps the
per-ray radiance over the image. See `docs/raytrace.md`.
"""

from ._camera import Camera as Camera
from ._image import save_image as save_image
from ._lights import (
    AbstractLight as AbstractLight,
    AreaLight as AreaLight,
    PointLight as PointLight,
)
from ._material import Material as Material
from ._mesh import TriangleMesh as TriangleMesh
from ._mesh_io import (
    cube as cube,
    ground_quad as ground_quad,
    icosphere as icosphere,
    load_obj as load_obj,
)
from ._render import render as render
from ._scene import Scene as Scene
from ._shapes import (
    AbstractShape as AbstractShape,
    Hit as Hit,
    Plane as Plane,
    Sphere as Sphere,
)

__all__ = [
    "AbstractLight",
    "AbstractShape",
    "AreaLight",
    "Camera",
    "Hit",
    "Material",
    "Plane",
    "PointLight",
    "Scene",
    "Sphere",
    "TriangleMesh",
    "cube",
    "ground_quad",
    "icosphere",
    "load_obj",
    "render",
    "save_image",
]
