"""Fit a neural SDE to Ornstein-Uhlenbeck paths and compare the simulated laws.

Data: paths of dY = theta (mu - Y) dt + sigma dW started away from equilibrium.
Model: `sciad.physics.NeuralSDE` (MLP drift and diagonal diffusion), trained with
`sciad.physics.fit` on `marginal_moment_loss + energy_distance` between simulated
and observed path sets. Prints the learnt stationary mean/variance against the
closed form and saves a plot of data vs model paths and moment curves.

SCIAD_SMOKE=1 runs a reduced problem in a few seconds; SCIAD_OUT sets the
output directory (default examples/out).
"""

import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import optax

import sciad.physics as sp

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = Path(os.environ.get("SCIAD_OUT", Path(__file__).parent / "out"))

THETA, MU, SIGMA, Y0 = 2.0, 0.5, 0.6, 2.0
T, N_TIMES = 4.0, 11 if SMOKE else 41
N_DATA, N_SIM = (256, 64) if SMOKE else (2000, 256)
STEPS = 20 if SMOKE else 500


def make_data(key):
    ts = np.linspace(0.0, T, N_TIMES)
    ou = sp.OrnsteinUhlenbeck(THETA, MU, SIGMA)
    return ts, sp.simulate(ou, jnp.array([Y0]), ts, key=key, n_paths=N_DATA, dt0=0.02)


def main():
    key_data, key_model, key_fit, key_eval = jr.split(jr.key(0), 4)
    ts, data = make_data(key_data)
    model = sp.NeuralSDE(1, width=16, depth=1, key=key_model)

    def loss(model, data, key):
        sim = sp.simulate(model, jnp.array([Y0]), ts, key=key, n_paths=N_SIM)
        # The energy distance on a random data subset keeps the cost O(N_SIM^2).
        sub = jr.choice(jr.fold_in(key, 1), data.shape[0], (N_SIM,), replace=False)
        return sp.marginal_moment_loss(sim, data) + sp.energy_distance(sim, data[sub])

    start = time.perf_counter()
    model, history = sp.fit(
        model, data, loss, optax.adam(1e-2), STEPS, key=key_fit, progress=False
    )
    elapsed = time.perf_counter() - start
    n_eval = 256 if SMOKE else 4000
    sim = sp.simulate(model, jnp.array([Y0]), ts, key=key_eval, n_paths=n_eval)

    stat_mean, stat_var = MU, SIGMA**2 / (2 * THETA)
    tail = slice(-N_TIMES // 4, None)  # t >= 3: within e^-6 of stationarity
    fit_mean = float(sim[:, tail, 0].mean())
    fit_var = float(sim[:, tail, 0].var(0).mean())
    print(
        f"trained {STEPS} steps in {elapsed:.1f} s; loss {history[0]:.4f} -> "
        f"{history[-1]:.4f}"
    )
    print(f"stationary mean: model {fit_mean:.4f}, closed form {stat_mean:.4f}")
    print(f"stationary var:  model {fit_var:.4f}, closed form {stat_var:.4f}")

    OUT.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for i in range(20):
        axes[0].plot(ts, data[i, :, 0], color="C0", alpha=0.4, lw=0.8)
        axes[0].plot(ts, sim[i, :, 0], color="C1", alpha=0.4, lw=0.8)
    axes[0].set(title="paths (blue data, orange model)", xlabel="t")
    axes[1].plot(ts, data[..., 0].mean(0), label="data mean")
    axes[1].plot(ts, sim[..., 0].mean(0), "--", label="model mean")
    axes[1].plot(ts, data[..., 0].var(0), label="data var")
    axes[1].plot(ts, sim[..., 0].var(0), "--", label="model var")
    axes[1].legend(fontsize=7)
    axes[1].set(title="marginal moments", xlabel="t")
    axes[2].semilogy(np.asarray(history))
    axes[2].set(title="training loss", xlabel="step")
    fig.tight_layout()
    path = OUT / "neural_sde_fit.png"
    fig.savefig(path, dpi=110)
    print(f"saved {path}")
    jax.block_until_ready(sim)


if __name__ == "__main__":
    main()
