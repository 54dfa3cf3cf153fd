"""Surface material: Lambert diffuse + normalised Blinn–Phong specular + mirror."""

import equinox as eqx
from jaxtyping import Array, Float

from ._checks import RGBIn, ScalarIn, as_float, check_nonnegative


class Material(eqx.Module):
    r"""Reflectance of a surface, all colours linear RGB.

    The BRDF is $f = \rho/\pi + k_s\,\frac{n+8}{8\pi}(\mathbf n\cdot\mathbf h)^n$
    (Lambert plus energy-normalised Blinn–Phong) with $\rho$ = `albedo`,
    $k_s$ = `specular`, $n$ = `shininess`. A fraction `reflectance` of the
    mirror-reflected radiance is added when `render(..., max_depth >= 2)`, and
    `emission` is radiance the surface emits itself (it does not light others).
    Every field is differentiable.

    Args:
        albedo: diffuse reflectance, RGB or scalar grey, in [0, 1].
        specular: specular weight $k_s$, RGB or scalar.
        shininess: Blinn–Phong exponent $n \ge 0$.
        reflectance: mirror reflectance, RGB or scalar.
        emission: emitted radiance, RGB or scalar.
    """

    albedo: Float[Array, "3"]
    specular: Float[Array, "3"]
    shininess: Float[Array, ""]
    reflectance: Float[Array, "3"]
    emission: Float[Array, "3"]

    def __init__(
        self,
        albedo: RGBIn,
        specular: RGBIn = 0.0,
        shininess: ScalarIn = 32.0,
        reflectance: RGBIn = 0.0,
        emission: RGBIn = 0.0,
    ):
        self.albedo = as_float(albedo, "albedo", (3,), broadcast=True)
        self.specular = as_float(specular, "specular", (3,), broadcast=True)
        self.shininess = as_float(shininess, "shininess", ())
        self.reflectance = as_float(reflectance, "reflectance", (3,), broadcast=True)
        self.emission = as_float(emission, "emission", (3,), broadcast=True)

    def __check_init__(self):
        for name in ("albedo", "specular", "shininess", "reflectance", "emission"):
            check_nonnegative(getattr(self, name), name)
