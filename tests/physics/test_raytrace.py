"""Ray tracer: analytic radiance, meshes, tiles, sharding, image output, errors."""

import struct
import zlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sciad.physics import (
    AreaLight,
    Camera,
    Material,
    Plane,
    PointLight,
    Scene,
    Sphere,
    TriangleMesh,
    cube,
    ground_quad,
    icosphere,
    load_obj,
    render,
    save_image,
)

UP = [0.0, 1.0, 0.0]
# One jitted renderer for the file: scenes of equal structure share a compile,
# and eager op-by-op dispatch of a whole renderer is far slower than one jit.
RENDER = eqx.filter_jit(render)


def test_lambert_sphere_head_on_centre_pixel():
    # Light at the eye, sphere straight ahead: the centre ray hits at distance
    # D - r with normal towards the light, so L = rho/pi * I / (D - r)^2.
    rho, intensity, dist, r = 0.6, 7.0, 5.0, 1.0
    scene = Scene(
        [Sphere([0.0, 0.0, 0.0], r, Material(rho))],
        [PointLight([0.0, 0.0, dist], intensity)],
    )
    cam = Camera([0.0, 0.0, dist], [0.0, 0.0, 0.0], UP, 30.0, 9, 9)
    img = RENDER(scene, cam)
    expected = rho / np.pi * intensity / (dist - r) ** 2
    np.testing.assert_allclose(img[4, 4], expected, rtol=1e-12)


def test_pixel_in_shadow_is_exactly_ambient():
    # Light above an occluding sphere; the centre ray hits the plane in the umbra.
    albedo, ambient = np.array([0.3, 0.5, 0.7]), 0.125
    scene = Scene(
        [
            Sphere([0.0, 3.0, 0.0], 1.0, Material(1.0)),
            Plane([0.0, 0.0, 0.0], UP, Material(albedo)),
        ],
        [PointLight([0.0, 10.0, 0.0], 100.0)],
        ambient=ambient,
    )
    cam = Camera([0.0, 5.0, 5.0], [0.0, 0.0, 0.0], UP, 20.0, 7, 7)
    img = RENDER(scene, cam)
    np.testing.assert_array_equal(np.asarray(img[3, 3]), ambient * albedo)
    assert np.all(np.asarray(img[0, 3]) > ambient * albedo)  # lit plane further up


def test_plane_inverse_square_falloff():
    # Every pixel of a plane lit from height h: L = rho/pi * I * h / |x - light|^3.
    rho, intensity, h = 0.5, 20.0, 2.0
    light = np.array([0.3, h, -0.2])
    scene = Scene(
        [Plane([0.0, 0.0, 0.0], UP, Material(rho))], [PointLight(light, intensity)]
    )
    cam = Camera([0.0, 4.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0], 60.0, 8, 6)
    img = np.asarray(RENDER(scene, cam))
    ys, xs = np.mgrid[0:6, 0:8] + 0.5
    d = cam.ray_direction(jnp.asarray(xs), jnp.asarray(ys)).array()
    hit = np.asarray(cam.eye) + (4.0 / -np.asarray(d[..., 1]))[..., None] * np.asarray(
        d
    )
    r = np.linalg.norm(light - hit, axis=-1)
    expected = rho / np.pi * intensity * h / r**3
    np.testing.assert_allclose(img, np.repeat(expected[..., None], 3, -1), rtol=1e-10)


def test_specular_mirror_emission_and_area_light_are_finite_and_ordered():
    base = dict(albedo=0.5)
    shiny = Material(**base, specular=0.5, shininess=20.0)
    mirror = Material(**base, reflectance=0.8)
    lights = [AreaLight([-0.5, 4.0, -0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], 10.0)]
    cam = Camera([0.0, 1.0, 5.0], [0.0, 0.5, 0.0], UP, 40.0, 12, 12)

    def img(mat, depth):
        scene = Scene(
            [
                Sphere([0.0, 1.0, 0.0], 1.0, mat),
                Plane([0.0, 0.0, 0.0], UP, Material(0.5, emission=0.01)),
            ],
            lights,
            background=0.2,
        )
        return np.asarray(RENDER(scene, cam, spp=4, key=jr.key(0), max_depth=depth))

    plain, spec = img(Material(**base), 1), img(shiny, 1)
    assert np.all(np.isfinite(spec)) and spec.sum() > plain.sum()
    assert img(mirror, 2).sum() > img(mirror, 1).sum()  # the bounce adds light


def test_icosphere_converges_to_sphere():
    mat = Material([0.7, 0.4, 0.2])
    light = [PointLight([2.0, 4.0, 4.0], 30.0)]
    cam = Camera([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], UP, 40.0, 16, 16)
    ref = RENDER(
        Scene([Sphere([0.0, 0.0, 0.0], 1.0, mat)], light), cam, spp=4, edge_width=0.0
    )
    errs = []
    for s in (0, 1, 2):
        mesh = icosphere([0.0, 0.0, 0.0], 1.0, mat, subdivisions=s)
        img = RENDER(Scene([mesh], light), cam, spp=4, edge_width=0.0)
        errs.append(float(jnp.abs(img - ref).mean()))
    # Flat-shaded facets: normal error O(h) with h halving per subdivision,
    # so each level must at least roughly halve the image error.
    assert all(b < 0.6 * a for a, b in zip(errs, errs[1:], strict=False)), errs
    assert errs[-1] < 0.25 * errs[0], errs


def test_mesh_helpers_and_obj_loader(tmp_path):
    mat = Material(0.5)
    c = cube([0.0, 0.0, 0.0], 2.0, mat)
    assert c.faces.shape == (12, 3) and c.edges.shape == (18, 2)
    assert icosphere([0.0, 0.0, 0.0], 1.0, mat, 1).faces.shape == (80, 3)
    q = ground_quad([0.0, 0.0, 0.0], 4.0, mat)
    assert np.allclose(np.asarray(q.vertices)[:, 1], 0.0)
    obj = tmp_path / "quad.obj"
    obj.write_text(
        "# quad\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 4//1\n"
    )
    m = load_obj(obj, mat)
    np.testing.assert_array_equal(np.asarray(m.faces), [[0, 1, 2], [0, 2, 3]])
    bad = tmp_path / "bad.obj"
    bad.write_text("v 0 0\n")
    with pytest.raises(ValueError, match="line 1"):
        load_obj(bad, mat)
    # A cube seen face-on covers exactly the square it projects to.
    cam = Camera([0.0, 0.0, 5.0], [0.0, 0.0, 0.0], UP, 30.0, 16, 16)
    scene = Scene([c], [PointLight([0.0, 0.0, 5.0], 10.0)], background=1.0)
    img = np.asarray(RENDER(scene, cam, edge_width=0.0))
    assert np.all(img[8, 8] < 1.0) and np.all(img[0, 0] == 1.0)


def test_tiles_and_sharding_match_plain_render():
    scene = Scene(
        [
            Sphere([0.2, 1.0, 0.0], 1.0, Material([0.8, 0.3, 0.2])),
            Plane([0.0, 0.0, 0.0], UP, Material(0.7)),
        ],
        [PointLight([3.0, 6.0, 3.0], 60.0)],
        ambient=0.05,
    )
    cam = Camera([0.0, 2.0, 6.0], [0.0, 0.8, 0.0], UP, 45.0, 13, 10)
    f = lambda **kw: jax.jit(lambda s: RENDER(s, cam, spp=2, key=jr.key(3), **kw))(
        scene
    )
    plain = f()
    assert len(jax.devices()) == 4
    np.testing.assert_allclose(f(tile_size=4), plain, rtol=0, atol=1e-12)
    sharded = f(devices=jax.devices())
    assert len(sharded.sharding.device_set) == 4
    np.testing.assert_allclose(sharded, plain, rtol=0, atol=1e-12)


def test_float32_render():
    scene = Scene(
        [
            Sphere(
                jnp.zeros(3, jnp.float32), jnp.float32(1.0), Material(jnp.float32(0.5))
            )
        ],
        [],
    )
    cam = Camera(
        jnp.array([0, 0, 4], jnp.float32),
        jnp.zeros(3, jnp.float32),
        jnp.array(UP, jnp.float32),
        jnp.float32(40.0),
        8,
        8,
    )
    scene = Scene(
        scene.objects, [PointLight(jnp.array([0, 0, 4], jnp.float32), jnp.float32(5.0))]
    )
    img = RENDER(scene, cam, spp=4, key=jr.key(0))
    assert img.dtype == jnp.float32 and np.all(np.isfinite(img))


def _read_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        chunks[tag] = chunks.get(tag, b"") + data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(
        h, 1 + 3 * w
    )
    return raw[:, 1:].reshape(h, w, 3)


def test_save_image_srgb(tmp_path):
    img = np.zeros((2, 3, 3))
    img[0, 0] = 1.0
    img[0, 1] = 0.5
    img[1, 2] = 2.0  # clipped
    save_image(tmp_path / "a.png", img)
    px = _read_png(tmp_path / "a.png")
    assert px.shape == (2, 3, 3)
    assert px[0, 0, 0] == 255 and px[1, 2, 0] == 255 and px[1, 0, 0] == 0
    assert px[0, 1, 0] == 188  # sRGB(0.5) = 0.7354 -> 188, not 128
    with pytest.raises(ValueError, match="image"):
        save_image(tmp_path / "b.png", np.zeros((2, 3)))


MAT = Material(0.5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Camera([0, 0, 5.0], [0, 0, 0.0], [0, 0, 1.0], 40.0, 8, 8), "up"),
        (lambda: Camera([0, 0, 5.0], [0, 0, 0.0], [0, 0, 0.0], 40.0, 8, 8), "up"),
        (lambda: Camera([0, 0, 5.0], [0, 0, 5.0], UP, 40.0, 8, 8), "look_at"),
        (lambda: Camera([0, 0, 5.0], [0, 0, 0.0], UP, 40.0, 0, 8), "width"),
        (lambda: Camera([0, 0, 5.0], [0, 0, 0.0], UP, 40.0, 8, -2), "height"),
        (lambda: Camera([0, 0, 5.0], [0, 0, 0.0], UP, 200.0, 8, 8), "fov_degrees"),
        (lambda: Sphere([0, 0, 0.0], -1.0, MAT), "radius"),
        (lambda: Sphere([0, 0.0], 1.0, MAT), "center"),
        (lambda: Plane([0, 0, 0.0], [0, 0, 0.0], MAT), "normal"),
        (
            lambda: TriangleMesh([[0, 0, 0.0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]], MAT),
            "degenerate",
        ),
        (
            lambda: TriangleMesh([[0, 0, 0.0], [1, 0, 0], [0, 1, 0]], [[0, 1, 3]], MAT),
            "faces",
        ),
        (
            lambda: TriangleMesh([[0, 0, 0.0], [1, 0, 0], [0, 1, 0]], [[0, 1]], MAT),
            "faces",
        ),
        (lambda: Material(-0.1), "albedo"),
        (lambda: Material(0.5, shininess=-1.0), "shininess"),
        (lambda: PointLight([0, 0, 0.0], -1.0), "intensity"),
        (lambda: AreaLight([0, 0, 0.0], [1, 0, 0.0], [2, 0, 0.0], 1.0), "edge_u"),
        (lambda: Scene([MAT], []), "objects"),
        (lambda: icosphere([0, 0, 0.0], 1.0, MAT, subdivisions=9), "subdivisions"),
        (lambda: cube([0, 0, 0.0], -1.0, MAT), "size"),
    ],
)
def test_bad_input_raises(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_render_arguments():
    scene = Scene([Sphere([0, 0, 0.0], 1.0, MAT)], [])
    cam = Camera([0, 0, 5.0], [0, 0, 0.0], UP, 40.0, 4, 4)
    for kw, match in [
        ({"spp": 0}, "spp"),
        ({"max_depth": 0}, "max_depth"),
        ({"tile_size": 0}, "tile_size"),
        ({"edge_width": -1.0}, "edge_width"),
        ({"adjoint": "forward"}, "adjoint"),
    ]:
        with pytest.raises(ValueError, match=match):
            render(scene, cam, **kw)
