"""A/B of XLA options for sciad's chain program, in one process, round-robin.

    python benchmarks/ppl/xla_options_ab.py --model logreg --rounds 3
    python benchmarks/ppl/xla_options_ab.py --model hier_linreg --sets current,noemit

For each round and each named option set (`SETS`), clears JAX's caches, runs
`MCMC` (NUTS, one chain, 1000 + 1000) on the benchmark model with the chain
program compiled under those options, and prints the first call (warmup,
compile included), the sampling call and its µs per gradient; then the medians.
Round-robin in one process, so a machine whose speed drifts (a VM) biases no set.
`current` is what `sciad.probabilistic.infer._compiler_options` picks on this CPU.
Used in session 12 to choose the big-data options on an AMD EPYC.
"""

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_sciad  # noqa: E402

from sciad.probabilistic import infer  # noqa: E402
from sciad.probabilistic.infer import _chain  # noqa: E402

YNN = "xla_cpu_experimental_ynn_fusion_type"
EMIT, OPT = "xla_cpu_use_fusion_emitters", "xla_backend_optimization_level"
SETS = {
    "current": None,
    "xla": {},  # XLA's own defaults: emitters on, YNNPACK reductions on
    "noemit": {"xla_cpu_use_fusion_emitters": False},
    "emit_noynn": {YNN: ""},
    "noemit_noynn": {"xla_cpu_use_fusion_emitters": False, YNN: ""},
    "noemit_o1": {EMIT: False, OPT: 1},
    "noemit_o2": {EMIT: False, OPT: 2},
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="logreg")
    p.add_argument("--sets", default="current,xla,noemit,emit_noynn,noemit_noynn")
    p.add_argument("--rounds", type=int, default=3)
    cfg = p.parse_args()
    args = {
        k: v if isinstance(v, int) else jnp.asarray(v)
        for k, v in data.model_args(cfg.model).items()
    }
    names = cfg.sets.split(",")
    original = _chain.compiler_options
    results = {n: [] for n in names}
    try:
        for r in range(cfg.rounds):
            for name in names:
                opts = SETS[name]
                _chain.compiler_options = (
                    original if opts is None else (lambda big_data=False, o=opts: o)
                )
                jax.clear_caches()
                mcmc = infer.MCMC(
                    infer.NUTS(models_sciad.MODELS[cfg.model]),
                    num_warmup=1000,
                    num_samples=1000,
                    progress_bar=False,
                )
                fields = ("num_steps", "diverging")
                t0 = time.perf_counter()
                mcmc.warmup(jr.key(r), extra_fields=fields, **args)
                jax.block_until_ready(mcmc.post_warmup_state)
                t1 = time.perf_counter()
                mcmc.run(jr.key(100 + r), extra_fields=fields, **args)
                jax.block_until_ready(mcmc.get_samples())
                t2 = time.perf_counter()
                grads = int(np.sum(mcmc.get_extra_fields()["num_steps"]))
                us = (t2 - t1) / grads * 1e6
                results[name].append((t1 - t0, t2 - t1, us))
                print(
                    f"round {r} {name:13s} first {t1 - t0:5.2f} s  sampling "
                    f"{t2 - t1:5.2f} s  {grads} gradients  {us:6.1f} us/grad",
                    flush=True,
                )
    finally:
        _chain.compiler_options = original
    print(f"medians over {cfg.rounds} rounds ({cfg.model}):")
    for name, rows in results.items():
        first, sampling, us = np.median(np.array(rows), axis=0)
        print(
            f"  {name:13s} first {first:5.2f} s  sampling {sampling:5.2f} s  "
            f"{us:6.1f} us/grad"
        )


if __name__ == "__main__":
    main()
