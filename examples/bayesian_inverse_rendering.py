"""Bayesian inverse rendering: a posterior over a light's position from a noisy image.

A 32x32 render of a diffuse sphere on a plane, lit by a point light, is observed
with Gaussian pixel noise. ``sciad.calibrate`` puts a prior on the light's
position, uses the differentiable ray tracer as the simulator, and NUTS returns
the posterior: where the light can be, given the picture. Shading and shadow
edges both inform the position; their gradients come from sciad's soft
visibility (see docs/raytrace.md).

Run: ``python examples/bayesian_inverse_rendering.py``  (``SCIAD_SMOKE=1``: tiny).
"""

import os
import time

import jax.numpy as jnp
import jax.random as jr
import numpy as np

import sciad
from sciad.physics import Camera, Material, Plane, PointLight, Scene, Sphere, render
from sciad.probabilistic import distributions as dist

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
RES = 12 if SMOKE else 32
NOISE = 0.02
TRUE_LIGHT = jnp.array([2.0, 5.0, 3.0])
CAMERA = Camera([0.0, 2.2, 6.0], [0.0, 0.8, 0.0], [0.0, 1.0, 0.0], 40.0, RES, RES)


def picture(params, camera):
    """Render the scene with the light at ``params["light"]``: the simulator."""
    scene = Scene(
        [
            Sphere(
                jnp.array([0.0, 1.0, 0.0]), 1.0, Material(jnp.array([0.9, 0.5, 0.3]))
            ),
            Plane([0.0, 0.0, 0.0], [0.0, 1.0, 0.0], Material(0.7)),
        ],
        [PointLight(params["light"], 40.0)],
        ambient=0.05,
    )
    return render(scene, camera)


def main():
    clean = picture({"light": TRUE_LIGHT}, CAMERA)
    observed = clean + NOISE * jr.normal(jr.key(5), clean.shape)
    prior = dist.Normal(jnp.array([0.0, 4.0, 2.0]), 2.0).to_event(1)
    t0 = time.perf_counter()
    result = sciad.calibrate(
        picture,
        {"light": prior},
        (CAMERA, observed),
        noise=NOISE,
        num_warmup=20 if SMOKE else 300,
        num_samples=20 if SMOKE else 300,
        num_chains=2,
        key=jr.key(0),
        truth={"light": TRUE_LIGHT},
        map_steps=20 if SMOKE else 200,
    )
    print(result.summary())
    print(f"calibrated in {time.perf_counter() - t0:.1f} s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    light = np.asarray(result.samples["light"])
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    axes[0].imshow(np.clip(np.asarray(observed), 0, 1) ** (1 / 2.2))
    axes[0].set_title("observed (noisy)")
    axes[1].imshow(np.clip(np.asarray(picture({"light": light.mean(0)}, CAMERA)), 0, 1)
                   ** (1 / 2.2))  # fmt: skip
    axes[1].set_title("posterior-mean render")
    for ax in axes[:2]:
        ax.axis("off")
    for ax, (i, j) in zip(axes[2:], ((0, 1), (0, 2)), strict=True):
        ax.plot(light[:, i], light[:, j], ".", ms=2, alpha=0.5, label="posterior")
        ax.plot(TRUE_LIGHT[i], TRUE_LIGHT[j], "k*", ms=12, label="truth")
        ax.set_xlabel("xyz"[i])
        ax.set_ylabel("xyz"[j])
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "bayesian_inverse_rendering.png")
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
