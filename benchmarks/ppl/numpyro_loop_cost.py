"""NumPyro's in-loop cost per gradient, timed without its recompilation.

    python benchmarks/ppl/numpyro_loop_cost.py stoch_vol [num_warmup]

NumPyro recompiles on every `run()`, so `run.py` can only estimate its sampling
time by subtracting compile time. Here `kernel.sample` runs in a jitted
`lax.scan` of 500 transitions from the post-warmup state; the second call is
pure sampling.
"""

import pathlib
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
from numpyro.infer import MCMC, NUTS

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_numpyro  # noqa: E402


def main():
    warnings.filterwarnings("ignore", message=".*(divergent|R-hat|E-BFMI).*")
    name = sys.argv[1]
    num_warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    args = {
        k: v if isinstance(v, int) else jnp.asarray(v)
        for k, v in data.model_args(name).items()
    }
    kernel = NUTS(models_numpyro.MODELS[name])
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=10, progress_bar=False)
    mcmc.warmup(jr.PRNGKey(0), **args)

    @jax.jit
    def loop(state):
        def body(s, _):
            s = kernel.sample(s, (), args)
            return s, s.num_steps

        return jax.lax.scan(body, state, None, length=500)[1]

    for label in ("first (compiles)", "second"):
        t0, c0 = time.perf_counter(), time.process_time()
        steps = jax.block_until_ready(loop(mcmc.post_warmup_state))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = int(steps.sum())
        print(
            f"{label}: {n} grads, {1e6 * wall / n:.1f} us/grad wall, "
            f"{1e6 * cpu / n:.1f} us/grad cpu"
        )


if __name__ == "__main__":
    main()
