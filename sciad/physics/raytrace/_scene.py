"""A scene: shapes, lights and constant ambient/background radiance."""

import equinox as eqx
from jaxtyping import Array, Float

from ._checks import RGBIn, as_float, check_nonnegative
from ._lights import AbstractLight
from ._shapes import AbstractShape


class Scene(eqx.Module):
    """Everything `render` needs besides the camera.

    Args:
        objects: sequence of shapes (`Sphere`, `Plane`, `TriangleMesh`, ...).
        lights: sequence of lights (`PointLight`, `AreaLight`).
        ambient: ambient radiance (RGB or scalar); a surface adds
            `ambient * albedo`, so a point in full shadow is exactly that.
        background: radiance of rays that hit nothing (RGB or scalar).

    All array leaves are differentiable.
    """

    objects: tuple[AbstractShape, ...]
    lights: tuple[AbstractLight, ...]
    ambient: Float[Array, "3"]
    background: Float[Array, "3"]

    def __init__(
        self,
        objects,
        lights,
        ambient: RGBIn = 0.0,
        background: RGBIn = 0.0,
    ):
        self.objects = tuple(objects)
        self.lights = tuple(lights)
        self.ambient = as_float(ambient, "ambient", (3,), broadcast=True)
        self.background = as_float(background, "background", (3,), broadcast=True)

    def __check_init__(self):
        for i, o in enumerate(self.objects):
            if not isinstance(o, AbstractShape):
                raise ValueError(f"`objects[{i}]` must be a shape; got {type(o)}.")
        for i, light in enumerate(self.lights):
            if not isinstance(light, AbstractLight):
                raise ValueError(f"`lights[{i}]` must be a light; got {type(light)}.")
        check_nonnegative(self.ambient, "ambient")
        check_nonnegative(self.background, "background")
