"""SVI with AutoNormal, sciad vs NumPyro, on the PPL benchmark models and data.

    python benchmarks/svi/run.py                       # all models, 2000 steps
    python benchmarks/svi/run.py --models logreg --steps 5000

Both libraries run the *same* model source (`benchmarks/ppl/models_ppl.py`) on
the same data (`benchmarks/ppl/data.py`, the fixed spec of
`shared/bench/ppl_models.py`), with `AutoNormal`, `Trace_ELBO()` and Adam(0.01),
`progress_bar=False`, in one process, alternating libraries per model. For each:

- `first(s)`: `SVI.run` on a fresh `SVI` object, compile included;
- `second(s)`: a second `run` with a new key on the same object (NumPyro's
  `run` traces and compiles its `lax.scan` again on every call; sciad's is cached);
- `us/step run`: `second(s)` per step (NumPyro's includes its recompile);
- `us/step update`: steady-state time of one `update`, from a `jit`-compiled
  `lax.scan` of `svi.update` timed on its second call (the same harness for
  both; sciad's `run` also forms data-matrix transposes once before its loop,
  which a bare `update` does not);
- `loss`: mean loss over the last 10% of steps (both fit the same objective
  with the same optimiser, so these should agree up to Monte Carlo noise).

Prints a table and the ratios sciad / NumPyro.
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

MODELS = ["eight_schools_nc", "hier_linreg", "stoch_vol", "logreg"]


def _sciad():
    import models_sciad

    from sciad.probabilistic import optim
    from sciad.probabilistic.infer import SVI, Trace_ELBO
    from sciad.probabilistic.infer.autoguide import AutoNormal

    def make(name):
        model = models_sciad.MODELS[name]
        return SVI(model, AutoNormal(model), optim.Adam(0.01), Trace_ELBO())

    return make


def _numpyro():
    import models_numpyro
    from numpyro import optim
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    def make(name):
        model = models_numpyro.MODELS[name]
        return SVI(model, AutoNormal(model), optim.Adam(0.01), Trace_ELBO())

    return make


def measure(make, name, steps, kwargs):
    svi = make(name)
    t0 = time.perf_counter()
    result = svi.run(jax.random.key(0), steps, progress_bar=False, **kwargs)
    jax.block_until_ready(result.losses)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = svi.run(jax.random.key(1), steps, progress_bar=False, **kwargs)
    jax.block_until_ready(result.losses)
    second = time.perf_counter() - t0
    losses = np.asarray(result.losses)

    # steady-state cost of one step: `update` in a scan under `jit`, compiled
    # once and timed on its second call (the same program for both libraries)
    @jax.jit
    def loop(state):
        return jax.lax.scan(lambda s, _: svi.update(s, **kwargs), state, length=steps)

    jax.block_until_ready(loop(result.state))
    t0 = time.perf_counter()
    jax.block_until_ready(loop(result.state))
    per_step = (time.perf_counter() - t0) / steps
    return dict(
        first=first,
        second=second,
        us_run=second / steps * 1e6,
        us_step=per_step * 1e6,
        loss=float(np.mean(losses[-max(1, steps // 10) :])),
        finite=bool(np.isfinite(losses).all()),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--libs", default="sciad,numpyro")
    cfg = p.parse_args()
    makers = {"sciad": _sciad, "numpyro": _numpyro}
    libs = {lib: makers[lib]() for lib in cfg.libs.split(",")}
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, {cfg.steps} steps")
    header = (
        "| model | lib | first(s) | second(s) | us/step run | us/step update "
        "| loss (last 10%) |"
    )
    print(header + "\n|---|---|---|---|---|---|---|")
    rows = {}
    for name in cfg.models.split(","):
        kwargs = {
            k: v if isinstance(v, int) else jnp.asarray(v)
            for k, v in data.model_args(name).items()
        }
        for lib, make in libs.items():
            r = measure(make, name, cfg.steps, kwargs)
            rows[name, lib] = r
            flag = "" if r["finite"] else " (non-finite losses)"
            print(
                f"| {name} | {lib} | {r['first']:.2f} | {r['second']:.3f} | "
                f"{r['us_run']:.1f} | {r['us_step']:.1f} | {r['loss']:.2f}{flag} |",
                flush=True,
            )
    if set(libs) == {"sciad", "numpyro"}:
        print(
            "\n| model | first | second | us/step run | us/step update |\n"
            "|---|---|---|---|---|"
        )
        for name in cfg.models.split(","):
            s, n = rows[name, "sciad"], rows[name, "numpyro"]
            ratios = [s[k] / n[k] for k in ("first", "second", "us_run", "us_step")]
            print(f"| {name} | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |")


if __name__ == "__main__":
    main()
