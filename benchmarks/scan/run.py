"""NUTS on a model written with `scan`, sciad vs NumPyro (`contrib.control_flow.scan`).

    python benchmarks/scan/run.py                 # 3 rounds, 1000 + 1000 draws
    python benchmarks/scan/run.py --rounds 1 --T 200

The model is the PPL suite's stochastic volatility (`benchmarks/ppl/models_ppl.py`,
on its data, T = 500) with the latent AR(1) path written as a loop: each step draws
its standardised shock `h_std` and observes that day's return, inside `scan`. One
source serves both libraries. Its density equals the vectorised model's (checked
here at random points in sciad, to 1e-4 relative in float32), so both samplers
target the same posterior as `stoch_vol` in `benchmarks/ppl/RESULTS.md`.

For each library, in one process, alternating per round: `first(s)` is a fresh
`MCMC.run` (1 chain, compile included); `second(s)` a second `run` with a new key
on the same object; `ESS/s` the minimum bulk ESS over mu, phi, sigma and the 500
shocks per second of `second(s)` (NumPyro's second run recompiles, so this is end
to end for both). sciad's vectorised `stoch_vol` is timed the same way for scale.
Prints the medians and the ratios sciad / NumPyro.
"""

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "ppl"))

import data  # noqa: E402


def make_scan_model(ppl, dist, scan):
    """Stochastic volatility with the latent path drawn step by step in `scan`."""

    def stoch_vol_scan(y):
        mu = ppl.sample("mu", dist.Cauchy(0.0, 10.0))
        phi = ppl.sample("phi", dist.Uniform(-1.0, 1.0))
        sigma = ppl.sample("sigma", dist.HalfCauchy(5.0))

        def step(h_prev, inputs):
            t, y_t = inputs
            h_std = ppl.sample("h_std", dist.Normal(0.0, 1.0))
            first = t == 0  # the stationary start of `ar1_latent`
            loc = jnp.where(first, mu, mu + phi * (h_prev - mu))
            scale = jnp.where(first, sigma / jnp.sqrt(1 - phi * phi), sigma)
            h = loc + scale * h_std
            ppl.sample("obs", dist.Normal(0.0, jnp.exp(h / 2)), obs=y_t)
            return h, None

        scan(step, mu, (jnp.arange(y.shape[0]), y))

    return stoch_vol_scan


def _sciad():
    import sciad.probabilistic as spp
    from sciad.probabilistic import distributions as dist
    from sciad.probabilistic.contrib.control_flow import scan
    from sciad.probabilistic.infer import MCMC, NUTS

    return make_scan_model(spp, dist, scan), MCMC, NUTS


def _numpyro():
    import numpyro
    from numpyro import distributions as dist
    from numpyro.contrib.control_flow import scan
    from numpyro.infer import MCMC, NUTS

    return make_scan_model(numpyro, dist, scan), MCMC, NUTS


def check_density(model, y):
    """sciad: the scanned model's potential equals the vectorised `stoch_vol`'s."""
    import models_sciad

    from sciad.probabilistic.infer import potential_energy

    for seed in range(3):
        keys = jax.random.split(jax.random.key(seed), 4)
        u = {
            "mu": jax.random.normal(keys[0]),
            "phi": jax.random.normal(keys[1]),
            "sigma": jax.random.normal(keys[2]),
            "h_std": jax.random.normal(keys[3], y.shape),
        }
        a = potential_energy(model, (y,), {}, u)
        b = potential_energy(models_sciad.MODELS["stoch_vol"], (y,), {}, u)
        if not np.isclose(a, b, rtol=1e-4):
            raise AssertionError(f"densities differ: {a} vs {b}")


def bench(make, y, warmup, samples, seed):
    from sciad.probabilistic.diagnostics import effective_sample_size

    model, MCMC, NUTS = make
    mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=samples, progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(jax.random.key(seed), y)
    jax.block_until_ready(mcmc.get_samples())
    t1 = time.perf_counter()
    mcmc.run(jax.random.key(seed + 1000), y)
    draws = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    t2 = time.perf_counter()
    ess = min(
        float(np.min(effective_sample_size(np.asarray(draws[k]))))
        for k in ("mu", "phi", "sigma", "h_std")
    )
    return t1 - t0, t2 - t1, ess / (t2 - t1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--T", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    y = jnp.asarray(data.model_args("stoch_vol")["y"])
    if args.T:
        y = y[: args.T]
    import models_sciad

    from sciad.probabilistic.infer import MCMC, NUTS

    makers = {
        "sciad scan": _sciad(),
        "numpyro scan": _numpyro(),
        "sciad vectorised": (models_sciad.MODELS["stoch_vol"], MCMC, NUTS),
    }
    check_density(makers["sciad scan"][0], y)
    results = {k: [] for k in makers}
    for r in range(args.rounds):
        order = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in order:
            jax.clear_caches()
            res = bench(makers[name], y, args.warmup, args.samples, seed=r)
            results[name].append(res)
            print(
                f"round {r} {name:>16}: first {res[0]:.2f} s, second "
                f"{res[1]:.2f} s, min ESS/s {res[2]:.0f}",
                flush=True,
            )
    med = {k: np.median(np.array(v), axis=0) for k, v in results.items()}
    print(
        f"\nT = {y.shape[0]}, {args.warmup} + {args.samples}, 1 chain, "
        f"medians of {args.rounds} rounds"
    )
    print("| | first call (s) | second run (s) | min ESS/s (second run) |")
    print("|---|---|---|---|")
    for k, (a, b, c) in med.items():
        print(f"| {k} | {a:.2f} | {b:.2f} | {c:.0f} |")
    s, n = med["sciad scan"], med["numpyro scan"]
    print(
        f"\nsciad / NumPyro (scan): first call {s[0] / n[0]:.2f}x, second run "
        f"{s[1] / n[1]:.2f}x, ESS/s {s[2] / n[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
