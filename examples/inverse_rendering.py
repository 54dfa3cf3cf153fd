"""Inverse rendering: recover a light, then a sphere's position and colour, from images.

Stage 1 (the ∂P paper's example): the point light's position is unknown; fit it
by gradient descent on the squared image error. Stage 2: the sphere's centre
and albedo are unknown. Moving the sphere moves its silhouette and its shadow,
whose gradients come from sciad's soft-visibility edges (naive AD through the
hit test would miss them). Both stages use optax Adam; one jitted loss serves
both (each stage updates only its own parameters).

Prints the parameter errors and writes a before / target / after strip (one row
per stage) to `$SCIAD_OUT/inverse_rendering.png` (default `examples/out/`).
`SCIAD_SMOKE=1` runs a tiny version in seconds.
"""

import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciad.physics import (
    Camera,
    Material,
    Plane,
    PointLight,
    Scene,
    Sphere,
    render,
    save_image,
)

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
RES, STEPS = (16, 4) if SMOKE else (64, 150)
OUT = pathlib.Path(os.environ.get("SCIAD_OUT", pathlib.Path(__file__).parent / "out"))

CAM = Camera([0.0, 2.2, 6.0], [0.0, 0.8, 0.0], [0.0, 1.0, 0.0], 40.0, RES, RES)
TRUE = {
    "light": jnp.array([2.0, 5.0, 3.0]),
    "center": jnp.array([0.3, 1.1, 0.0]),
    "albedo": jnp.array([0.2, 0.55, 0.9]),
}


def image(p):
    scene = Scene(
        [
            Sphere(p["center"], 1.0, Material(p["albedo"])),
            Plane([0.0, 0.0, 0.0], [0.0, 1.0, 0.0], Material(0.7)),
        ],
        [PointLight(p["light"], 40.0)],
        ambient=0.05,
    )
    # Deterministic stratified 2x2 samples: a smooth objective for Adam.
    return render(scene, CAM, spp=4, edge_width=1.5)


@jax.jit
def loss_and_grad(p, target):
    return jax.value_and_grad(lambda q: jnp.mean((image(q) - target) ** 2))(p)


def fit(p, target, names, lr):
    """Adam on the parameters in `names` only (the others stay fixed)."""
    opt = optax.adam(lr)
    state = opt.init(p)
    for step in range(STEPS):
        loss, g = loss_and_grad(p, target)
        g = {k: (v if k in names else jnp.zeros_like(v)) for k, v in g.items()}
        updates, state = opt.update(g, state, p)
        p = optax.apply_updates(p, updates)
        if step % 25 == 0 or step == STEPS - 1:
            print(f"  step {step:3d}  loss {float(loss):.3e}")
    return p


def main():
    target = image(TRUE)
    rows = []
    # Stage 1: light position from a wrong guess.
    start = dict(TRUE, light=jnp.array([-2.0, 4.0, 1.0]))
    print("stage 1: point light position")
    fitted = fit(start, target, {"light"}, lr=0.15)
    err = float(jnp.linalg.norm(fitted["light"] - TRUE["light"]))
    print(f"  light {fitted['light'].round(3)} (true {TRUE['light']}), err {err:.3f}")
    rows.append([image(start), target, image(fitted)])
    # Stage 2: sphere centre and albedo.
    start = dict(
        TRUE, center=jnp.array([-0.2, 1.35, 0.3]), albedo=jnp.array([0.6, 0.6, 0.6])
    )
    print("stage 2: sphere centre and colour")
    fitted = fit(start, target, {"center", "albedo"}, lr=0.03)
    err_c = float(jnp.linalg.norm(fitted["center"] - TRUE["center"]))
    err_a = float(jnp.abs(fitted["albedo"] - TRUE["albedo"]).max())
    print(
        f"  centre {fitted['center'].round(3)} (true {TRUE['center']}), err {err_c:.3f}"
    )
    print(
        f"  albedo {fitted['albedo'].round(3)} (true {TRUE['albedo']}), err {err_a:.3f}"
    )
    rows.append([image(start), target, image(fitted)])
    # before | target | after, one row per stage, 2-pixel white gutters.
    gut = np.ones((RES, 2, 3))
    strip = [
        np.concatenate(
            [np.asarray(r[0]), gut, np.asarray(r[1]), gut, np.asarray(r[2])], 1
        )
        for r in rows
    ]
    grid = np.concatenate([strip[0], np.ones((2, strip[0].shape[1], 3)), strip[1]], 0)
    grid = (
        np.kron(grid, np.ones((4, 4, 1))) if not SMOKE else grid
    )  # upscale for viewing
    OUT.mkdir(parents=True, exist_ok=True)
    save_image(OUT / "inverse_rendering.png", grid)
    print(f"saved {OUT / 'inverse_rendering.png'}")


if __name__ == "__main__":
    main()
