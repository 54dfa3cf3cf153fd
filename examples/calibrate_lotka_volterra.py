"""Calibrate an ODE through diffrax: predator-prey rates, initial state and noise.

The Lotka-Volterra equations

    dx/dt = alpha x - beta x y,        dy/dt = delta x y - gamma y

are solved with diffrax (Tsit5, adaptive steps) inside ``sciad.calibrate``.
Observations are log-normally perturbed population counts at 20 times; NUTS
infers the four rates, the two initial populations and the noise scale.

Seven parameters and a few hundred solver steps: gradients in forward mode
(``diffrax.ForwardMode()`` and ``forward_mode_differentiation=True``) cost ~160
µs against ~650 µs for diffrax's default reverse-mode checkpointed adjoint. The
four rates are strongly correlated a posteriori, so a dense mass matrix pays
for itself. Measured on the 2-core CPU here: 49 s with the defaults (min n_eff
185, R-hat up to 1.019), 31 s with forward mode, 25 s with forward mode and
``dense_mass=True`` (min n_eff 728, R-hat <= 1.001).

Run: ``python examples/calibrate_lotka_volterra.py``  (``SCIAD_SMOKE=1``: tiny run).
"""

import os
import time

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import sciad
from sciad.probabilistic import distributions as dist

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
TRUE = {
    "alpha": 0.55,
    "beta": 0.028,
    "gamma": 0.8,
    "delta": 0.024,
    "x0": 33.0,
    "y0": 6.2,
}
NOISE = 0.1  # log-scale observation noise
TS = jnp.linspace(0.0, 20.0, 21)[1:]


def populations(params, ts, adjoint=None):
    """Log populations at times ``ts``: the simulator being calibrated.

    ``adjoint``: how diffrax differentiates the solve; by default
    ``diffrax.ForwardMode()`` (one batched jvp), ~4x cheaper per gradient here
    than diffrax's default reverse-mode ``RecursiveCheckpointAdjoint()``.
    ``calibrate`` then needs ``forward_mode_differentiation=True``.
    """
    adjoint = diffrax.ForwardMode() if adjoint is None else adjoint

    def field(t, u, args):
        x, y = u
        return jnp.stack(
            [
                params["alpha"] * x - params["beta"] * x * y,
                params["delta"] * x * y - params["gamma"] * y,
            ]
        )

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        t0=0.0,
        t1=ts[-1],
        dt0=0.1,
        y0=jnp.stack([params["x0"], params["y0"]]),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-5, atol=1e-5),
        max_steps=4096,
        adjoint=adjoint,
        # A sampler proposes extreme rates; a failed solve must give a rejected
        # proposal (inf log-population, so a divergence), not an exception.
        throw=False,
    )
    return jnp.log(sol.ys)


PRIORS = {
    "alpha": dist.LogNormal(jnp.log(0.5), 0.5),
    "beta": dist.LogNormal(jnp.log(0.03), 0.5),
    "gamma": dist.LogNormal(jnp.log(1.0), 0.5),
    "delta": dist.LogNormal(jnp.log(0.03), 0.5),
    "x0": dist.LogNormal(jnp.log(30.0), 0.5),
    "y0": dist.LogNormal(jnp.log(5.0), 0.5),
}


def main():
    observed = populations(TRUE, TS) + NOISE * jr.normal(jr.key(7), (TS.size, 2))
    t0 = time.perf_counter()
    result = sciad.calibrate(
        populations,
        PRIORS,
        (TS, observed),
        noise=dist.HalfNormal(0.5),
        num_warmup=20 if SMOKE else 400,
        num_samples=20 if SMOKE else 400,
        num_chains=2,
        key=jr.key(0),
        truth=TRUE | {"noise": NOISE},
        map_steps=30 if SMOKE else 400,
        forward_mode_differentiation=True,
        dense_mass=True,
    )
    print(result.summary())
    print(f"calibrated in {time.perf_counter() - t0:.1f} s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine = jnp.linspace(0.0, 20.0, 201)[1:]
    band = result.predictive(fine)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for k, (name, color) in enumerate((("prey", "C0"), ("predator", "C3"))):
        ax.plot(
            TS, np.exp(observed[:, k]), "o", color=color, ms=4, label=f"{name} data"
        )
        ax.plot(fine, np.exp(band["mean"][:, k]), color=color, label=f"{name} fit")
        ax.fill_between(fine, np.exp(band["lower"][:, k]), np.exp(band["upper"][:, k]),
                        color=color, alpha=0.25)  # fmt: skip
    ax.set_xlabel("time")
    ax.set_ylabel("population")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "calibrate_lotka_volterra.png")
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", os.environ.get("SCIAD_X64") == "1")
    main()
