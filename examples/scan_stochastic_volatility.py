"""A latent volatility SDE calibrated from returns, written with `scan`.

Log-volatility follows an Ornstein-Uhlenbeck process observed through daily
returns (the discrete-time stochastic volatility model):

    h_t = mu + phi (h_{t-1} - mu) + sigma eps_t,    r_t ~ Normal(0, exp(h_t / 2)).

The model is one `scan` over the days, so its trace holds one site per
quantity (not one per day) and its compile time does not grow with the
number of days. The per-day volatility shocks are non-centred by applying
`LocScaleReparam` from outside: `reparam`, like `substitute` and `condition`,
acts inside the loop at each step. NUTS recovers mu, phi and sigma from 2,000
simulated days; `Predictive` then runs the same model 30 days past the data
(the posterior draws cover the first 2,000 days, the model draws the rest) for a
volatility forecast. For scale, the same model written as a Python loop is
compiled at 50 days.

Prints the posterior of (mu, phi, sigma) against the truth and the timings;
saves the filtered and forecast volatility.

Run: ``python examples/scan_stochastic_volatility.py``  (``SCIAD_SMOKE=1``: tiny run).
"""

import os
import time
import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import sciad.probabilistic as spp
from sciad.probabilistic import distributions as dist, handlers
from sciad.probabilistic.contrib.control_flow import scan
from sciad.probabilistic.diagnostics import print_summary
from sciad.probabilistic.infer import MCMC, NUTS, Predictive, SamplingWarning
from sciad.probabilistic.reparam import LocScaleReparam

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
TRUE = {"mu": -1.0, "phi": 0.95, "sigma": 0.25}
DAYS = 60 if SMOKE else 2000
AHEAD = 5 if SMOKE else 30
WARMUP, SAMPLES = (100, 100) if SMOKE else (1000, 1000)


def priors():
    mu = spp.sample("mu", dist.Normal(0.0, 2.0))
    phi = spp.sample("phi", dist.Uniform(-1.0, 1.0))
    sigma = spp.sample("sigma", dist.HalfNormal(0.5))
    return mu, phi, sigma


def stochastic_volatility(returns=None, days=DAYS, ahead=0):
    """The model: `returns` observed for the first days, `ahead` more simulated."""
    mu, phi, sigma = priors()

    def day(h_prev, _):
        h = spp.sample("h", dist.Normal(mu + phi * (h_prev - mu), sigma))
        spp.sample("r", dist.Normal(0.0, jnp.exp(h / 2)))
        return h, None

    h0 = mu  # the process starts at its mean
    with handlers.condition(data={} if returns is None else {"r": returns}):
        scan(day, h0, None, length=days + ahead)


def as_a_python_loop(returns, days):
    """The same density with one site per day (what `scan` replaces)."""
    mu, phi, sigma = priors()
    h = mu
    for t in range(days):
        h = spp.sample(f"h{t}", dist.Normal(mu + phi * (h - mu), sigma))
        spp.sample(f"r{t}", dist.Normal(0.0, jnp.exp(h / 2)), obs=returns[t])


def fit(model, *args, warmup=WARMUP, samples=SAMPLES, **kwargs):
    mcmc = MCMC(
        NUTS(model, target_accept_prob=0.9),
        num_warmup=warmup,
        num_samples=samples,
        progress_bar=False,
    )
    start = time.perf_counter()
    mcmc.run(jr.key(1), *args, **kwargs)
    jax.block_until_ready(mcmc.get_samples())
    return mcmc, time.perf_counter() - start


def main():
    simulate = Predictive(
        handlers.substitute(stochastic_volatility, TRUE),
        num_samples=1,
        return_sites=["h", "r"],
    )
    truth = {k: v[0] for k, v in simulate(jr.key(0), days=DAYS, ahead=AHEAD).items()}
    returns = truth["r"][:DAYS]

    non_centred = handlers.reparam(
        stochastic_volatility, {"h": LocScaleReparam(centered=0)}
    )
    mcmc, seconds = fit(non_centred, returns)
    posterior = mcmc.get_samples()
    print(f"NUTS on {DAYS} days, {WARMUP} + {SAMPLES} draws: {seconds:.1f} s")
    by_chain = mcmc.get_samples(group_by_chain=True)
    divergences = mcmc.get_extra_fields()["diverging"]
    print_summary({k: by_chain[k] for k in TRUE}, divergences=divergences)
    covered = 0
    for name, value in TRUE.items():
        lo, hi = np.quantile(posterior[name], [0.05, 0.95])
        covered += lo <= value <= hi
        mean = float(posterior[name].mean())
        print(
            f"{name:>6}: true {value:+.3f}  posterior mean {mean:+.3f}  "
            f"90% interval [{lo:+.3f}, {hi:+.3f}]"
        )
    print(f"{covered}/{len(TRUE)} true values inside their 90% intervals")
    h = Predictive(non_centred, posterior, return_sites=["h"])(jr.key(3), returns)["h"]
    lo, hi = np.quantile(np.asarray(h), [0.05, 0.95], axis=0)
    inside = np.mean((lo <= truth["h"][:DAYS]) & (truth["h"][:DAYS] <= hi))
    print(
        f"latent log-volatility: the true path lies inside the 90% band on "
        f"{100 * inside:.0f}% of the {DAYS} days"
    )

    # forecast: posterior draws of h cover the data's days, the model draws the rest
    forecast = Predictive(non_centred, posterior, return_sites=["h"])(
        jr.key(2), returns, ahead=AHEAD
    )["h"]
    vol = np.exp(np.asarray(forecast) / 2)
    print(
        f"forecast: {vol.shape[1] - DAYS} days past the data, "
        f"90% band of the last day's volatility "
        f"[{np.quantile(vol[:, -1], 0.05):.3f}, {np.quantile(vol[:, -1], 0.95):.3f}]"
    )

    if not SMOKE:
        # timing only (the draws are not used, their warnings are not shown): the
        # same non-centred model, one site per day
        warnings.simplefilter("ignore", SamplingWarning)
        loop_days = 50
        loop = handlers.reparam(
            as_a_python_loop,
            {f"h{t}": LocScaleReparam(centered=0) for t in range(loop_days)},
        )
        _, loop_s = fit(loop, returns, loop_days, warmup=200, samples=200)
        _, scan_s = fit(
            non_centred, returns[:loop_days], days=loop_days, warmup=200, samples=200
        )
        print(
            f"{loop_days} days, 200 + 200 draws including compile: Python loop "
            f"{loop_s:.1f} s, scan {scan_s:.1f} s"
        )

    plot(np.exp(np.asarray(truth["h"]) / 2), vol, returns)


def plot(true_vol, vol, returns):
    import matplotlib.pyplot as plt

    days = np.arange(vol.shape[1])
    lo, mid, hi = np.quantile(vol, [0.05, 0.5, 0.95], axis=0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    top.plot(np.arange(len(returns)), returns, lw=0.6, color="0.4")
    top.set_ylabel("return")
    bottom.fill_between(days, lo, hi, alpha=0.3, label="posterior 90%")
    bottom.plot(days, mid, label="posterior median")
    bottom.plot(days, true_vol, "k--", lw=0.8, label="true")
    bottom.axvline(len(returns) - 0.5, color="r", lw=0.8, label="forecast starts")
    bottom.set_xlabel("day")
    bottom.set_ylabel("volatility exp(h/2)")
    bottom.legend(loc="upper left", fontsize=8)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "scan_stochastic_volatility.png")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
