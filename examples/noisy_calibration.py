"""Infer a depolarizing noise rate from simulated measurement counts with NUTS.

A 3-qubit GHZ-like circuit runs on a density-matrix simulator with depolarizing
noise of unknown rate p after every entangling gate. "Hardware" counts are
sampled at the true rate; the posterior over p given the counts (multinomial
likelihood of the simulated probabilities, which are differentiable in p) is
sampled with NUTS from `sciad.probabilistic`.
"""

import os

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import sciad.probabilistic as spp  # noqa: E402
import sciad.quantum as q  # noqa: E402
from sciad.probabilistic import distributions as dist  # noqa: E402
from sciad.probabilistic.infer import MCMC, NUTS  # noqa: E402

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
P_TRUE = 0.08
SHOTS = 2000 if SMOKE else 20000
N_SAMPLES = 50 if SMOKE else 1000


def probs(p):
    c = q.Circuit(3, mixed=True).h(0).ry(1, 0.6)
    for a, b in [(0, 1), (1, 2)]:
        c.cnot(a, b).depolarizing(p, a).depolarizing(p, b)
    return q.probabilities(c)


def model(counts):
    p = spp.sample("p", dist.Uniform(0.0, 0.5))
    pr = jnp.clip(probs(p), 1e-12, 1.0)
    spp.sample(
        "obs", dist.Multinomial(total_count=SHOTS, probs=pr / pr.sum()), obs=counts
    )


def main():
    bits = q.sample(
        q.Circuit(3, mixed=True)
        .h(0)
        .ry(1, 0.6)
        .cnot(0, 1)
        .depolarizing(P_TRUE, 0)
        .depolarizing(P_TRUE, 1)
        .cnot(1, 2)
        .depolarizing(P_TRUE, 1)
        .depolarizing(P_TRUE, 2),
        SHOTS,
        jax.random.key(0),
    )
    outcome = np.asarray(bits) @ np.array([4, 2, 1])
    counts = jnp.asarray(np.bincount(outcome, minlength=8), dtype=jnp.float32)
    mcmc = MCMC(
        NUTS(model), num_warmup=N_SAMPLES, num_samples=N_SAMPLES, progress_bar=False
    )
    mcmc.run(jax.random.key(1), counts)
    ps = np.asarray(mcmc.get_samples()["p"])
    lo, hi = np.quantile(ps, [0.05, 0.95])
    print(
        f"depolarizing rate: true {P_TRUE}, posterior mean {ps.mean():.4f} "
        f"+- {ps.std():.4f} (90% interval {lo:.4f}..{hi:.4f}) from {SHOTS} shots"
    )
    out = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
    os.makedirs(out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(ps, bins=30, density=True, alpha=0.7, label="NUTS posterior")
    ax.axvline(P_TRUE, color="k", ls="--", label="true rate")
    ax.set_xlabel("depolarizing rate p")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "noisy_calibration.png"), dpi=120)


if __name__ == "__main__":
    main()
