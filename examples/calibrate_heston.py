"""Main demo: Bayesian calibration of the Heston model to an implied-vol surface.

1. Quote an implied-volatility surface (9 strikes x 6 maturities) from known
   Heston parameters with ``sciad.finance.heston_price`` and
   ``sciad.finance.implied_vol``, and add quote noise.
2. ``sciad.calibrate`` writes the Bayesian model (priors on the five Heston
   parameters and on the quote noise), finds the MAP with L-BFGS, then runs NUTS
   with 2 chains. Every gradient flows through the Heston characteristic-function
   quadrature and through implied_vol's implicit-function derivative rule.
3. Prints the posterior table with the true values and saves a figure: fitted vs
   quoted smiles per maturity, and the posterior marginals.

Run: ``python examples/calibrate_heston.py``  (``SCIAD_SMOKE=1``: a tiny run).
"""

import os
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import sciad
from sciad.finance import heston_price, implied_vol
from sciad.probabilistic import distributions as dist

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))

SPOT, RATE, DIVIDEND = 100.0, 0.02, 0.0
TRUE = {"v0": 0.04, "kappa": 1.5, "theta": 0.06, "sigma": 0.5, "rho": -0.7}
QUOTE_NOISE = 0.002  # implied-vol quote noise (0.2 vol points)
STRIKES = jnp.linspace(80.0, 120.0, 9)
MATURITIES = jnp.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.0])


def implied_vol_surface(params, grid):
    """Heston implied vols on a (maturity, strike) grid: the simulator to calibrate.

    ``validate=False``: the sampler proposes extreme values (early warmup,
    divergent trajectories); there the pricers return NaN, which NUTS rejects
    as a divergence, instead of raising.
    """
    maturity, strike = grid
    price = heston_price(
        SPOT, strike, maturity, RATE, DIVIDEND,
        params["v0"], params["kappa"], params["theta"], params["sigma"], params["rho"],
        validate=False,
    )  # fmt: skip
    return implied_vol(price, SPOT, strike, maturity, RATE, DIVIDEND, validate=False)


PRIORS = {
    "v0": dist.LogNormal(jnp.log(0.05), 0.7),
    "kappa": dist.LogNormal(jnp.log(1.0), 0.7),
    "theta": dist.LogNormal(jnp.log(0.05), 0.7),
    "sigma": dist.LogNormal(jnp.log(0.4), 0.7),
    "rho": dist.Uniform(-0.99, 0.99),
}


def main():
    grid = tuple(jnp.meshgrid(MATURITIES, STRIKES, indexing="ij"))
    clean = implied_vol_surface(TRUE, grid)
    quotes = clean + QUOTE_NOISE * jr.normal(jr.key(42), clean.shape)
    print(f"quoted {quotes.size} implied vols "
          f"({len(MATURITIES)} maturities x {len(STRIKES)} strikes), "
          f"noise sd {QUOTE_NOISE}")  # fmt: skip

    t0 = time.perf_counter()
    result = sciad.calibrate(
        implied_vol_surface,
        PRIORS,
        (grid, quotes),
        noise=dist.HalfNormal(0.01),
        num_warmup=20 if SMOKE else 500,
        num_samples=20 if SMOKE else 1000,
        num_chains=2,
        key=jr.key(0),
        truth=TRUE | {"noise": QUOTE_NOISE},
        map_steps=20 if SMOKE else 200,
    )
    elapsed = time.perf_counter() - t0
    print(result.summary())
    print(f"MAP + NUTS (2 chains) in {elapsed:.1f} s")
    if not SMOKE:
        covered = [
            name
            for name in TRUE
            if np.quantile(result.samples[name], 0.05)
            <= TRUE[name]
            <= np.quantile(result.samples[name], 0.95)
        ]
        print(f"true values inside the 90% intervals: {len(covered)}/{len(TRUE)}")
    plot(result, grid, quotes)


def plot(result, grid, quotes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    band = result.predictive(grid)
    fig, axes = plt.subplots(2, 6, figsize=(18, 6))
    for j, ax in enumerate(axes[0]):
        ax.plot(STRIKES, quotes[j], "k.", label="quoted")
        ax.plot(STRIKES, band["mean"][j], "C0-", label="posterior mean")
        ax.fill_between(STRIKES, band["lower"][j], band["upper"][j], color="C0",
                        alpha=0.3, label="90% band")  # fmt: skip
        ax.set_title(f"T = {float(MATURITIES[j]):g} y")
        ax.set_xlabel("strike")
    axes[0, 0].set_ylabel("implied vol")
    axes[0, 0].legend(fontsize=7)
    samples = result.samples
    for ax, name in zip(axes[1], [*TRUE, "noise"], strict=True):
        ax.hist(np.asarray(samples[name]), bins=40, density=True, color="C0", alpha=0.7)
        truth = TRUE.get(name, QUOTE_NOISE)
        ax.axvline(truth, color="k", ls="--", label="truth")
        ax.axvline(float(result.map_estimate[name]), color="C1", label="MAP")
        ax.set_title(name)
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "calibrate_heston.png")
    fig.savefig(path, dpi=90)
    print(f"saved {path}")


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", os.environ.get("SCIAD_X64") == "1")
    main()
