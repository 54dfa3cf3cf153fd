"""Time one jitted gradient of each library's potential, without any sampler.

    python benchmarks/ppl/grad_cost.py [--models a,b] [--in-loop]

Separates the model's cost (density + gradient, as each library builds it) from
the sampler's overhead: compare with `us/grad` in `run.py`, which includes it.
"""

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import jax.random as jr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_blackjax  # noqa: E402
import models_numpyro  # noqa: E402
import models_sciad  # noqa: E402
from numpyro.infer.util import initialize_model as numpyro_init  # noqa: E402

from sciad.probabilistic.infer import initialize_model as sciad_init  # noqa: E402


def potentials(name):
    args = {
        k: v if isinstance(v, int) else jnp.asarray(v)
        for k, v in data.model_args(name).items()
    }
    key = jr.PRNGKey(0)
    logdensity, init = models_blackjax.MODELS[name](**args)
    return init(key), {
        "sciad": sciad_init(
            key, models_sciad.MODELS[name], model_kwargs=args
        ).potential_fn,
        "numpyro": numpyro_init(
            key, models_numpyro.MODELS[name], model_kwargs=args
        ).potential_fn,
        "blackjax": lambda p: -logdensity(p),
    }


def best_of(fn, x, repeats=5, inner=200):
    jax.block_until_ready(fn(x))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            out = fn(x)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - t0) / inner)
    return min(times)


def in_loop(f, x, n=2000, repeats=5):
    """CPU us per gradient inside one jitted loop (no dispatch cost per call)."""
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(x)
    vg = jax.value_and_grad(lambda y: f(unravel(y)))

    def loop(y):
        def body(i, c):
            y, acc = c
            u, g = vg(y)
            return y - 1e-6 * g, acc + u  # moves y, so nothing is hoisted

        return jax.lax.fori_loop(0, n, body, (y, jnp.zeros((), y.dtype)))

    fn = jax.jit(loop)
    jax.block_until_ready(fn(flat))
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        jax.block_until_ready(fn(flat))
        times.append((time.process_time() - t0) / n)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(data.ALL_MODELS))
    p.add_argument(
        "--in-loop",
        action="store_true",
        help="time 2000 gradients inside one jitted fori_loop, in CPU time (what "
        "a sampler pays; a bare jitted call is dominated by dispatch when loaded)",
    )
    cfg = p.parse_args()
    print(f"{'model':18s} {'sciad':>9s} {'numpyro':>9s} {'blackjax':>9s}  us/grad")
    for name in cfg.models.split(","):
        x, pots = potentials(name)
        inner = 20 if name == "logreg" else 200
        if cfg.in_loop:
            us = {lib: 1e6 * in_loop(f, x) for lib, f in pots.items()}
        else:
            us = {
                lib: 1e6 * best_of(jax.jit(jax.value_and_grad(f)), x, inner=inner)
                for lib, f in pots.items()
            }
        print(f"{name:18s} " + " ".join(f"{us[k]:9.1f}" for k in pots))


if __name__ == "__main__":
    main()
