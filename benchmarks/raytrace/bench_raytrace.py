# ruff: noqa: E501  (long report-formatting lines and scene dictionaries)
"""sciad vs Mitsuba 3: render and gradient throughput, silhouette gradient accuracy.

Scene (both renderers): diffuse sphere (r = 1) floating 5 cm above a diffuse
plane, one point light, 256 x 256, 4 spp, direct light + shadow rays. Rays are
counted as camera + shadow rays (2 per sample) for both.

Run:  DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM-19.so \
      python benchmarks/raytrace/bench_raytrace.py [--quick] [--no-mitsuba]
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from sciad.physics import Camera, Material, Plane, PointLight, Scene, Sphere, render

CENTER = (0.4, 1.05, -0.3)
EYE, TARGET, FOV = (0.0, 2.0, 6.0), (0.0, 0.8, 0.0), 45.0
LIGHT, INTENSITY = (3.0, 6.0, 3.0), 60.0
SPHERE_RGB, PLANE_RGB = (0.8, 0.3, 0.2), (0.7, 0.7, 0.7)


def timeit(fn, repeats):
    """Median wall time of `fn()` over `repeats` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sciad_scene(center):
    return Scene(
        [
            Sphere(center, 1.0, Material(jnp.asarray(SPHERE_RGB))),
            Plane(
                jnp.zeros(3),
                jnp.array([0.0, 1.0, 0.0]),
                Material(jnp.asarray(PLANE_RGB)),
            ),
        ],
        [PointLight(jnp.asarray(LIGHT), INTENSITY)],
    )


def bench_sciad(res, spp, repeats, fd_spp):
    cam = Camera(
        jnp.asarray(EYE), jnp.asarray(TARGET), jnp.array([0.0, 1.0, 0.0]), FOV, res, res
    )
    c0 = jnp.asarray(CENTER)
    img_fn = lambda c, k, s=spp, ew=1.0: render(
        sciad_scene(c), cam, spp=s, key=k, edge_width=ew
    )
    loss = lambda c, k: img_fn(c, k).mean()
    f = jax.jit(img_fn)
    g = jax.jit(jax.value_and_grad(loss))
    t = time.perf_counter()
    f(c0, jr.key(0)).block_until_ready()
    compile_render = time.perf_counter() - t
    t = time.perf_counter()
    jax.block_until_ready(g(c0, jr.key(0)))
    compile_grad = time.perf_counter() - t
    keys = iter(jr.split(jr.key(1), 10 * repeats + 10))
    t_render = timeit(lambda: f(c0, next(keys)).block_until_ready(), repeats)
    t_grad = timeit(lambda: jax.block_until_ready(g(c0, next(keys))), repeats)
    # Silhouette gradient: soft-visibility AD at the benchmark setting, averaged
    # over 4 keys, vs central differences of hard (edge_width=0) high-spp renders.
    grads = [g(c0, jr.key(100 + i))[1] for i in range(4)]
    ad = np.mean(np.stack(grads), 0)
    hard = jax.jit(lambda c: img_fn(c, jr.key(7), fd_spp, 0.0).mean())
    h = 0.04
    fd = np.array(
        [(hard(c0.at[i].add(h)) - hard(c0.at[i].add(-h))) / (2 * h) for i in range(3)]
    )
    naive = jax.jit(jax.grad(lambda c: img_fn(c, jr.key(100), spp, 0.0).mean()))(c0)
    return dict(
        compile_render=compile_render,
        compile_grad=compile_grad,
        t_render=t_render,
        t_grad=t_grad,
        ad=ad,
        fd=fd,
        naive=np.asarray(naive),
        image=np.asarray(f(c0, jr.key(0))),
    )


def bench_mitsuba(res, spp, repeats, fd_spp):
    import drjit as dr
    import mitsuba as mi

    out = {}

    def scene_dict(integrator):
        T = mi.ScalarTransform4f  # the variant must be set before this lookup
        rgb = lambda v: {"type": "rgb", "value": list(v)}
        return {
            "type": "scene",
            "integrator": integrator,
            "sensor": {
                "type": "perspective",
                "fov": FOV,
                "fov_axis": "y",
                "to_world": T().look_at(origin=list(EYE), target=list(TARGET), up=[0, 1, 0]),
                "film": {"type": "hdrfilm", "width": res, "height": res,
                         "rfilter": {"type": "box"}, "pixel_format": "rgb"},
                "sampler": {"type": "stratified", "sample_count": spp},
            },  # fmt: skip
            "sphere": {"type": "sphere", "center": list(CENTER), "radius": 1.0,
                       "bsdf": {"type": "diffuse", "reflectance": rgb(SPHERE_RGB)}},
            "plane": {"type": "rectangle", "to_world": T().rotate([1, 0, 0], -90).scale(50),
                      "bsdf": {"type": "diffuse", "reflectance": rgb(PLANE_RGB)}},
            "light": {"type": "point", "position": list(LIGHT), "intensity": rgb([INTENSITY] * 3)},
        }  # fmt: skip

    direct = {"type": "direct", "emitter_samples": 1, "bsdf_samples": 0}

    def run(scene, seed, s=spp, params=None):
        img = mi.render(scene, params, spp=s, seed=seed)
        dr.eval(img)
        dr.sync_thread()
        return img

    for variant in ("llvm_ad_rgb", "scalar_rgb"):
        mi.set_variant(variant)
        scene = mi.load_dict(scene_dict(direct))
        t = time.perf_counter()
        run(scene, 0)
        first = time.perf_counter() - t
        seeds = iter(range(1, 1000))
        reps = repeats if variant.startswith("llvm") else 1
        t_render = timeit(lambda s=scene, it=seeds: run(s, next(it)), reps)
        out[variant] = dict(first=first, t_render=t_render)
    mi.set_variant("llvm_ad_rgb")
    out["image"] = np.asarray(run(mi.load_dict(scene_dict(direct)), 0))

    def grad_step(scene, params, seed, s=spp):
        t = mi.Point3f(*CENTER)
        dr.enable_grad(t)
        params["sphere.to_world"] = mi.Transform4f().translate(t)
        params.update()
        img = mi.render(scene, params, spp=s, seed=seed, seed_grad=seed + 1)
        loss = dr.mean(img, axis=None)
        dr.backward(loss)
        g = dr.grad(t)
        dr.eval(g)
        dr.sync_thread()
        return np.array([g.x[0], g.y[0], g.z[0]])

    for name in ("direct_projective", "prb"):
        integ = {"type": name, "max_depth": 2}
        if name == "direct_projective":
            integ["sppi"] = 0  # direct light only: no indirect silhouettes
        scene = mi.load_dict(scene_dict(integ))
        params = mi.traverse(scene)
        params.keep(["sphere.to_world"])
        t = time.perf_counter()
        grad_step(scene, params, 0)
        first = time.perf_counter() - t
        seeds = iter(range(1, 1000))
        step = lambda sc=scene, p=params, it=seeds: grad_step(sc, p, next(it))
        t_grad = timeit(step, repeats)
        ad = np.mean([grad_step(scene, params, 500 + i) for i in range(4)], 0)
        out[name] = dict(first=first, t_grad=t_grad, ad=ad)
    # Mitsuba's own finite-difference reference (same scene, high spp, fixed seed).
    scene = mi.load_dict(scene_dict(direct))
    params = mi.traverse(scene)
    h = 0.04

    def mean_at(c):
        params["sphere.to_world"] = mi.ScalarTransform4f().translate(list(c))
        params.update()
        return float(np.asarray(run(scene, 7, fd_spp, params), np.float64).mean())

    fd = []
    for i in range(3):
        cp, cm = list(CENTER), list(CENTER)
        cp[i] += h
        cm[i] -= h
        fd.append((mean_at(cp) - mean_at(cm)) / (2 * h))
    out["fd"] = np.array(fd)
    return out


def rel_err(ad, fd):
    return np.abs(np.asarray(ad) - fd) / np.abs(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="64x64, fewer repeats")
    ap.add_argument("--no-mitsuba", action="store_true")
    args = ap.parse_args()
    res, spp = (64, 4) if args.quick else (256, 4)
    repeats, fd_spp = (3, 64) if args.quick else (7, 256)
    rays = res * res * spp * 2
    print(f"scene: sphere on plane, point light, {res}x{res}, {spp} spp; "
          f"{rays} rays/render; jax {jax.__version__} on {jax.devices()}")  # fmt: skip
    s = bench_sciad(res, spp, repeats, fd_spp)
    print("\n== sciad (float32, XLA:CPU) ==")
    print(
        f"compile render {s['compile_render']:.2f} s, compile grad {s['compile_grad']:.2f} s"
    )
    print(
        f"render {s['t_render'] * 1e3:.1f} ms = {rays / s['t_render'] / 1e6:.1f} M rays/s"
    )
    print(f"render+grad {s['t_grad'] * 1e3:.1f} ms = {rays / s['t_grad'] / 1e6:.1f} M rays/s;"
          f" grad/render = {s['t_grad'] / s['t_render']:.2f}")  # fmt: skip
    print(f"d mean / d centre: soft AD {s['ad']}, hard FD ({fd_spp} spp) {s['fd']}")
    print(f"  rel. error per component: {rel_err(s['ad'], s['fd'])}")
    print(
        f"  naive AD (edge_width=0): {s['naive']}, rel. error {rel_err(s['naive'], s['fd'])}"
    )
    if args.no_mitsuba:
        return
    m = bench_mitsuba(res, spp, repeats, fd_spp)
    print("\n== Mitsuba", __import__("mitsuba").__version__, "==")
    for v in ("llvm_ad_rgb", "scalar_rgb"):
        r = m[v]
        print(f"{v}: first call {r['first']:.2f} s, render {r['t_render'] * 1e3:.1f} ms = "
              f"{rays / r['t_render'] / 1e6:.1f} M rays/s")  # fmt: skip
    for name in ("direct_projective", "prb"):
        r = m[name]
        print(f"{name}: first {r['first']:.2f} s, render+grad {r['t_grad'] * 1e3:.1f} ms, "
              f"grad/render(direct) = {r['t_grad'] / m['llvm_ad_rgb']['t_render']:.2f}")  # fmt: skip
        print(
            f"  d mean / d centre {r['ad']}, Mitsuba FD {m['fd']}, rel. error {rel_err(r['ad'], m['fd'])}"
        )
    diff = np.abs(s["image"] - m["image"]).mean() / np.abs(m["image"]).mean()
    print(f"\nimage agreement sciad vs Mitsuba (mean |diff| / mean): {diff:.3f}")
    print(f"ratios sciad/Mitsuba-llvm: render rays/s "
          f"{m['llvm_ad_rgb']['t_render'] / s['t_render']:.2f}x, "
          f"render+grad time {s['t_grad'] / m['direct_projective']['t_grad']:.2f}x (vs direct_projective)")  # fmt: skip


if __name__ == "__main__":
    main()
