"""Bare NUTS kernels at a fixed step size and mass matrix: sciad vs BlackJAX.

    python benchmarks/ppl/kernel_cost.py [--models a,b] [--draws 500]

Both kernels run the hand-written BlackJAX log density of each model in a
jitted `lax.scan` of `--draws` transitions (second call, compiled), from the
same position, at the same step size and mass matrix (from a short BlackJAX
warmup). The mean number
of leapfrog steps must agree (same algorithm); the time per gradient then
isolates the kernel's own overhead (tree building, U-turn checks) from
adaptation and the driver.
"""

import argparse
import pathlib
import sys
import time

import blackjax
import jax
import jax.numpy as jnp
import jax.random as jr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_blackjax  # noqa: E402

from sciad.probabilistic.infer import nuts_kernel  # noqa: E402


def timed(fn, *args):
    """Best of 3 (wall, process CPU) seconds; CPU time is steadier when shared."""
    jax.block_until_ready(fn(*args))
    wall = cpu = float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        out = jax.block_until_ready(fn(*args))
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return out, wall, cpu


def scan_of(init, step, steps_field):
    """Jittable `(x, keys) -> leapfrog steps per transition` of one kernel."""

    def run(x, keys):
        def body(state, key):
            state, info = step(key, state)
            return state, getattr(info, steps_field)

        return jax.lax.scan(body, init(x), keys)[1]

    return run


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="eight_schools_nc,hier_linreg,stoch_vol")
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument(
        "--no-emitters",
        action="store_true",
        help="compile with xla_cpu_use_fusion_emitters=False (as sciad's MCMC does)",
    )
    cfg = p.parse_args()
    print(
        f"{'model':18s} {'eps':>5s} {'lib':>9s} {'steps/draw':>10s} "
        f"{'us/grad':>8s} {'cpu us/g':>8s}"
    )
    for name in cfg.models.split(","):
        args = {
            k: v if isinstance(v, int) else jnp.asarray(v)
            for k, v in data.model_args(name).items()
        }
        logdensity, init = models_blackjax.MODELS[name](**args)
        # tuned parameters and a typical position from a short BlackJAX warmup
        adapt = blackjax.window_adaptation(blackjax.nuts, logdensity)
        (state, params), _ = jax.jit(adapt.run, static_argnums=2)(
            jr.PRNGKey(2), init(jr.PRNGKey(0)), cfg.warmup
        )
        x0, eps = state.position, float(params["step_size"])
        imm = params["inverse_mass_matrix"]
        keys = jr.split(jr.PRNGKey(1), cfg.draws)
        bj = blackjax.nuts(logdensity, eps, imm)
        sc = nuts_kernel(lambda z, f=logdensity: -f(z), eps, imm)

        run_bj = scan_of(bj.init, bj.step, "num_integration_steps")
        run_sc = scan_of(sc.init, sc.step, "num_steps")

        for lib, fn in (("sciad", run_sc), ("blackjax", run_bj)):
            opts = {"xla_cpu_use_fusion_emitters": False} if cfg.no_emitters else {}
            steps, secs, cpu = timed(jax.jit(fn, compiler_options=opts), x0, keys)
            n = int(steps.sum())
            print(
                f"{name:18s} {eps:5.2f} {lib:>9s} {n / cfg.draws:10.1f} "
                f"{1e6 * secs / n:8.2f} {1e6 * cpu / n:8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
