"""Forward- against reverse-mode gradients in NUTS: sciad and NumPyro.

    python benchmarks/ppl/forward_mode.py [--warmup 500] [--samples 500] [--seed 0]

The model is the Lotka-Volterra calibration of `examples/calibrate_lotka_volterra.py`
(seven parameters, an adaptive Tsit5 solve with diffrax), written once in
NumPyro's modelling language and bound to each library. For each library and
each differentiation mode it runs one chain of NUTS (`dense_mass=True`, as the
example) with `run.py`'s protocol: the first call is `warmup` plus the first
`run` until the draws are in hand, compile included; the sampling time is a
second `run` continuing the chain, minus the XLA compile seconds it triggered
(`run.py`'s `CompileMeter`: NumPyro recompiles on every `run`). It prints
those, the gradient count, µs per gradient and the minimum bulk ESS of the
second run, then ratios sciad/NumPyro. Reverse mode differentiates the solve
with diffrax's default `RecursiveCheckpointAdjoint`, forward mode with
`diffrax.ForwardMode()` and `forward_mode_differentiation=True`.

It also times one bare value-and-gradient of sciad's potential both ways, and of
the logistic-regression benchmark model (55 parameters, N = 50,000), where
forward mode must lose: it costs one pass of the data per parameter.
"""

import argparse
import pathlib
import sys
import time

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import run  # noqa: E402  (the main benchmark: its compile meter)

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

from calibrate_lotka_volterra import TRUE, TS, populations  # noqa: E402


def log_populations(params, adjoint):
    return populations(params, TS, adjoint)


def make_model(lib, dist, adjoint):
    priors = {
        "alpha": (0.5, 0.5),
        "beta": (0.03, 0.5),
        "gamma": (1.0, 0.5),
        "delta": (0.03, 0.5),
        "x0": (30.0, 0.5),
        "y0": (5.0, 0.5),
    }

    def model(obs):
        params = {
            name: lib.sample(name, dist.LogNormal(jnp.log(m), s))
            for name, (m, s) in priors.items()
        }
        noise = lib.sample("noise", dist.HalfNormal(0.5))
        pred = log_populations(params, adjoint)
        lib.sample("obs", dist.Normal(pred, noise).to_event(2), obs=obs)

    return model


def run_nuts(lib_name, forward, obs, args, meter):
    if lib_name == "sciad":
        import sciad.probabilistic as lib
        from sciad.probabilistic import distributions as dist
        from sciad.probabilistic.diagnostics import effective_sample_size
        from sciad.probabilistic.infer import MCMC, NUTS, init_to_median
    else:
        import numpyro as lib
        from numpyro import distributions as dist
        from numpyro.diagnostics import effective_sample_size
        from numpyro.infer import MCMC, NUTS, init_to_median
    adjoint = diffrax.ForwardMode() if forward else diffrax.RecursiveCheckpointAdjoint()
    model = make_model(lib, dist, adjoint)
    # from the prior medians: a uniform start can make the solve fail, which
    # NumPyro's eager initial trace rejects with an error
    kernel = NUTS(
        model,
        dense_mass=True,
        forward_mode_differentiation=forward,
        init_strategy=init_to_median,
    )
    mcmc = MCMC(
        kernel,
        num_warmup=args.warmup,
        num_samples=args.samples,
        progress_bar=False,
    )
    # the main benchmark's protocol: warmup, then sampling until the first
    # draws are in hand (compile included: "first call"), then sampling again
    # from where the chain stopped, timed without its compile seconds
    fields = ("num_steps",)
    keys = jr.split(jr.PRNGKey(args.seed), 3)
    t0 = time.perf_counter()
    mcmc.warmup(keys[0], obs, extra_fields=fields)
    mcmc.run(keys[1], obs, extra_fields=fields)
    jax.block_until_ready(mcmc.get_samples())
    first = time.perf_counter() - t0
    mcmc.post_warmup_state = mcmc.last_state

    def again():
        mcmc.run(keys[2], obs, extra_fields=fields)
        jax.block_until_ready(mcmc.get_samples())

    _, (wall, _), compiles, compile_s = run.timed(meter, again)
    sampling = wall - compile_s
    grads = int(np.sum(mcmc.get_extra_fields()["num_steps"]))
    draws = mcmc.get_samples(group_by_chain=True)
    ess = min(float(np.min(effective_sample_size(np.asarray(draws[k])))) for k in TRUE)
    return {
        "first call s": first,
        "sampling s": sampling,
        "grads": grads,
        "us/grad": 1e6 * sampling / grads,
        "min ESS": ess,
        "ESS/s": ess / sampling,
        "recompiles": compiles,
    }


def bare_gradients():
    """µs per value-and-gradient of sciad's potentials, reverse against forward."""
    import data
    import models_sciad

    from sciad.probabilistic.infer import initialize_model
    from sciad.probabilistic.infer._forward_mode import forward_mode_potential

    def timed(fn, z, inner=50, repeats=5):
        jax.block_until_ready(fn(z))
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(inner):
                out = fn(z)
            jax.block_until_ready(out)
            best = min(best, (time.perf_counter() - t0) / inner)
        return 1e6 * best

    import sciad.probabilistic as lib
    from sciad.probabilistic import distributions as dist

    obs = log_populations(TRUE, diffrax.RecursiveCheckpointAdjoint())
    rows = []
    for name, forward in (("reverse", False), ("forward", True)):
        adjoint = (
            diffrax.ForwardMode() if forward else diffrax.RecursiveCheckpointAdjoint()
        )
        info = initialize_model(
            jr.PRNGKey(0),
            make_model(lib, dist, adjoint),
            model_args=(obs,),
            forward_mode_differentiation=forward,
        )
        pot = info.potential_fn
        pot = forward_mode_potential(pot) if forward else pot
        rows.append(
            (
                "lotka_volterra (7)",
                name,
                timed(jax.jit(jax.value_and_grad(pot)), info.param_info.z),
            )
        )
    args = {
        k: v if isinstance(v, int) else jnp.asarray(v)
        for k, v in data.model_args("logreg").items()
    }
    info = initialize_model(
        jr.PRNGKey(0), models_sciad.MODELS["logreg"], model_kwargs=args
    )
    for name, forward in (("reverse", False), ("forward", True)):
        pot = info.potential_fn
        pot = forward_mode_potential(pot) if forward else pot
        rows.append(
            (
                "logreg (55)",
                name,
                timed(jax.jit(jax.value_and_grad(pot)), info.param_info.z, inner=10),
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    obs = log_populations(TRUE, diffrax.RecursiveCheckpointAdjoint())
    obs = obs + 0.1 * jr.normal(jr.PRNGKey(7), obs.shape)

    print("bare value-and-gradient of sciad's potential (µs, best of 5):")
    for model, mode, us in bare_gradients():
        print(f"  {model:20s} {mode:8s} {us:9.0f}")

    meter = run.CompileMeter()
    results = {}
    for forward in (False, True):
        for lib_name in ("sciad", "numpyro"):
            jax.clear_caches()
            results[lib_name, forward] = run_nuts(lib_name, forward, obs, args, meter)
    keys = list(results["sciad", False])
    print(
        f"\nNUTS on Lotka-Volterra, 1 chain, {args.warmup}+{args.samples}, "
        f"dense mass, seed {args.seed}:"
    )
    print(f"| mode | library | {' | '.join(keys)} |")
    print("|---|---|" + "---|" * len(keys))
    for (lib_name, forward), r in results.items():
        cells = " | ".join(f"{r[k]:.4g}" for k in keys)
        print(f"| {'forward' if forward else 'reverse'} | {lib_name} | {cells} |")
    for forward in (False, True):
        s, n = results["sciad", forward], results["numpyro", forward]
        ratios = ", ".join(
            f"{k} {s[k] / n[k]:.2f}x" for k in ("first call s", "ESS/s", "us/grad")
        )
        print(f"{'forward' if forward else 'reverse'}: sciad/NumPyro {ratios}")


if __name__ == "__main__":
    main()
