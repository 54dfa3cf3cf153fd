"""Kernel or warmup? Swap the adapted parameters between the three libraries.

    python benchmarks/ppl/swap_params.py [--model hier_linreg] [--seeds 8]
        [--draws 2000] [--libs sciad,numpyro,blackjax]

For each seed, each library warms up as in `run.py` (1 chain, `--warmup`
draws, diagonal mass matrix) and its adapted step size, inverse mass matrix and
last warmup position are kept. Then every library's *bare* NUTS kernel samples
`--draws` transitions with every library's adapted parameters, all on the same
hand-written BlackJAX log density (so only the kernels differ) and from the
same position. The printout gives, per (kernel, parameters) pair, the medians
over seeds of the minimum bulk ESS per draw, the gradients per draw, and the
minimum bulk ESS per 1000 gradients: a row that follows the parameters points
at the warmup, one that follows the kernel points at the transition.
"""

import argparse
import json
import pathlib
import sys
from types import SimpleNamespace

import blackjax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.flatten_util import ravel_pytree

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_blackjax  # noqa: E402
from runners import BlackjaxRunner, MCMCRunner  # noqa: E402

from sciad.probabilistic.diagnostics import effective_sample_size  # noqa: E402
from sciad.probabilistic.infer import nuts_kernel  # noqa: E402


def warmup_params(lib, name, cfg, seed, runners):
    """(step size, flat inverse mass matrix, flat position) after `lib`'s warmup."""
    key = jr.split(jr.PRNGKey(seed))[0]
    if lib not in runners:
        args = {
            k: v if isinstance(v, int) else jnp.asarray(v)
            for k, v in data.model_args(name).items()
        }
        if lib == "blackjax":
            runners[lib] = BlackjaxRunner(models_blackjax.MODELS[name], args, cfg)
        elif lib == "numpyro":
            import models_numpyro
            import numpyro.infer

            runners[lib] = MCMCRunner(
                numpyro.infer, models_numpyro.MODELS[name], args, cfg
            )
        else:
            import models_sciad

            import sciad.probabilistic.infer as si

            runners[lib] = MCMCRunner(si, models_sciad.MODELS[name], args, cfg)
    r = runners[lib]
    r.warmup(key)
    if lib == "blackjax":
        x, _ = ravel_pytree(jax.tree.map(lambda a: a[0], r.state.position))
        eps = float(r.params["step_size"][0])
        imm = np.asarray(r.params["inverse_mass_matrix"][0])
        return eps, imm, np.asarray(x)
    st = r.mcmc.post_warmup_state
    x, _ = ravel_pytree(st.z)
    imm = st.adapt_state.inverse_mass_matrix
    if isinstance(imm, dict):  # NumPyro: {tuple of site names: array}
        (imm,) = imm.values()
    return float(st.adapt_state.step_size), np.asarray(imm), np.asarray(x)


def make_samplers(logdensity, unravel):
    """Per library: jitted `(x, eps, imm, key, draws) -> (positions, steps)`."""

    def potential(x):
        return -logdensity(unravel(x))

    def scan(step, init_state, key, draws, field):
        def body(s, k):
            s, info = step(k, s)
            pos = s.position if not hasattr(s, "z") else s.z
            return s, (pos, getattr(info, field))

        return jax.lax.scan(body, init_state, jr.split(key, draws))[1]

    def run_sciad(x, eps, imm, key, draws):
        k = nuts_kernel(potential, eps, imm)
        return scan(k.step, k.init(x), key, draws, "num_steps")

    def run_blackjax(x, eps, imm, key, draws):
        k = blackjax.nuts(lambda z: -potential(z), eps, imm)
        return scan(k.step, k.init(x), key, draws, "num_integration_steps")

    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")

    def numpyro_state(x, eps, imm, key):
        return init_kernel(
            jnp.asarray(x),
            num_warmup=0,
            step_size=float(eps),
            inverse_mass_matrix=jnp.asarray(imm),
            adapt_step_size=False,
            adapt_mass_matrix=False,
            rng_key=key,
        )

    def np_scan(state, draws):
        def body(s, _):
            s = sample_kernel(s)
            return s, (s.z, s.num_steps)

        return jax.lax.scan(body, state, None, length=draws)[1]

    np_jit = jax.jit(np_scan, static_argnums=1)

    def run_numpyro(x, eps, imm, key, draws):
        return np_jit(numpyro_state(x, eps, imm, key), draws)

    return {
        "sciad": jax.jit(run_sciad, static_argnums=4),
        "blackjax": jax.jit(run_blackjax, static_argnums=4),
        "numpyro": run_numpyro,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="hier_linreg")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--draws", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--libs", default="sciad,numpyro,blackjax")
    p.add_argument("--kernels", default="sciad,numpyro,blackjax")
    p.add_argument("--json", default="")
    cfg = p.parse_args()
    libs = cfg.libs.split(",")
    kernels = cfg.kernels.split(",")
    rcfg = SimpleNamespace(
        warmup=cfg.warmup, samples=10, chains=1, chain_method="sequential"
    )
    args = {
        k: v if isinstance(v, int) else jnp.asarray(v)
        for k, v in data.model_args(cfg.model).items()
    }
    logdensity, init = models_blackjax.MODELS[cfg.model](**args)
    _, unravel = ravel_pytree(init(jr.PRNGKey(0)))
    samplers = make_samplers(logdensity, unravel)
    runners = {}
    rows = []
    for s in range(cfg.seeds):
        params = {lib: warmup_params(lib, cfg.model, rcfg, s, runners) for lib in libs}
        print(
            f"seed {s}: eps "
            + " ".join(f"{lib}={v[0]:.3f}" for lib, v in params.items())
            + " | imm/sciad median "
            + " ".join(
                f"{lib}={np.median(v[1] / params[libs[0]][1]):.2f}"
                for lib, v in params.items()
            ),
            flush=True,
        )
        x0 = params[libs[0]][2]  # one start for all: sciad's warm position
        for plib, (eps, imm, _) in params.items():
            for klib in kernels:
                key = jr.PRNGKey(100 + s)
                pos, steps = samplers[klib](x0, eps, imm, key, cfg.draws)
                pos = np.asarray(pos)[None]
                ess = float(np.min(effective_sample_size(pos)))
                n = int(np.sum(steps))
                rows.append(
                    dict(
                        seed=s,
                        kernel=klib,
                        params=plib,
                        eps=eps,
                        ess_per_draw=ess / cfg.draws,
                        grads_per_draw=n / cfg.draws,
                        ess_per_kgrad=1000 * ess / n,
                    )
                )
                print(
                    f"  kernel {klib:8s} params {plib:8s} eps {eps:.3f} "
                    f"ESS/draw {ess / cfg.draws:.3f} grads/draw {n / cfg.draws:5.1f} "
                    f"ESS/kgrad {1000 * ess / n:.2f}",
                    flush=True,
                )
    print("\nmedians over seeds (ESS/draw, grads/draw, ESS/kgrad):")
    for plib in libs:
        for klib in kernels:
            sel = [r for r in rows if r["kernel"] == klib and r["params"] == plib]
            med = {
                k: float(np.median([r[k] for r in sel]))
                for k in ("eps", "ess_per_draw", "grads_per_draw", "ess_per_kgrad")
            }
            print(
                f"  kernel {klib:8s} params {plib:8s} eps {med['eps']:.3f} "
                f"ESS/draw {med['ess_per_draw']:.3f} "
                f"grads/draw {med['grads_per_draw']:5.1f} "
                f"ESS/kgrad {med['ess_per_kgrad']:.2f}"
            )
    if cfg.json:
        pathlib.Path(cfg.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
