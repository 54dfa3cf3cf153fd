"""SVI with TraceEnum_ELBO (discrete sites summed out), sciad vs NumPyro.

    python benchmarks/svi/enum_run.py                 # both models, 2000 steps
    python benchmarks/svi/enum_run.py --models gmm --steps 5000

Two models, the same source for both libraries (each library's `sample`,
`plate`, `markov`), the same data, `AutoDelta` on the model with the discrete
sites hidden by `block` and the same starting point (`init_to_value`),
`TraceEnum_ELBO()`, Adam(0.05), in one process:

- `gmm`: a 3-component 1-d Gaussian mixture, 1,000 points (weights, locations
  and a common scale are fitted; the assignments are enumerated);
- `hmm`: a 3-state HMM with Gaussian emissions over 60 steps written as a Python
  loop under `markov` (state means and the transition matrix are fitted; the
  states are enumerated, i.e. the forward algorithm).

For each: `first(s)`, `SVI.run` on a fresh object, compile included;
`second(s)`, a second `run` with a new key (NumPyro recompiles its loop);
`us/step`, the steady-state step of a `jit`-compiled `lax.scan` of 1000
`update`s (best of three);
`loss`, the mean of the last 10% of steps; and `cross`, each library's loss
evaluated at the other's final params (the objectives must agree there).
NumPyro's TraceEnum_ELBO needs `funsor`.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

K, N, T = 3, 1000, 60


START = {
    "gmm": {
        "w": jnp.full(K, 1.0 / K),
        "locs": jnp.array([-1.0, 0.0, 1.0]),
        "scale": jnp.array(1.0),
    },
    "hmm": {"trans": jnp.full((K, K), 1.0 / K), "locs": jnp.array([-1.0, 0.0, 1.0])},
}


def gmm_data():
    rng = np.random.default_rng(0)
    z = rng.choice(K, size=N, p=[0.2, 0.5, 0.3])
    return jnp.asarray(np.array([-4.0, 0.0, 5.0])[z] + rng.normal(size=N))


def hmm_data():
    rng = np.random.default_rng(1)
    trans = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    x, ys = 0, []
    for _ in range(T):
        x = rng.choice(K, p=trans[x])
        ys.append(rng.normal([-2.0, 0.0, 2.0][x], 0.7))
    return jnp.asarray(np.array(ys))


def build(lib):
    """(models, SVI factory, loss function) in one library's modelling API."""
    if lib == "sciad":
        import sciad.probabilistic as S
        import sciad.probabilistic.distributions as D
        from sciad.probabilistic import handlers as H
        from sciad.probabilistic.infer import SVI, TraceEnum_ELBO, init_to_value
        from sciad.probabilistic.infer.autoguide import AutoDelta

        markov = S.markov
    else:
        import numpyro as S
        import numpyro.distributions as D
        from numpyro import handlers as H
        from numpyro.contrib.funsor import markov
        from numpyro.infer import SVI, TraceEnum_ELBO, init_to_value
        from numpyro.infer.autoguide import AutoDelta

    def gmm(y):
        w = S.sample("w", D.Dirichlet(jnp.ones(K)))
        locs = S.sample("locs", D.Normal(0.0, 10.0).expand([K]).to_event(1))
        scale = S.sample("scale", D.HalfNormal(2.0))
        with S.plate("data", y.shape[0]):
            z = S.sample("z", D.Categorical(w), infer={"enumerate": "parallel"})
            S.sample("y", D.Normal(locs[z], scale), obs=y)

    def hmm(y):
        trans = S.sample(
            "trans", D.Dirichlet(jnp.ones((K, K)) + 4 * jnp.eye(K)).to_event(1)
        )
        locs = S.sample("locs", D.Normal(jnp.array([-1.0, 0.0, 1.0]), 2.0).to_event(1))
        x = 0
        for t in markov(range(y.shape[0])):
            x = S.sample(
                f"x_{t}", D.Categorical(trans[x]), infer={"enumerate": "parallel"}
            )
            S.sample(f"y_{t}", D.Normal(locs[x], 0.7), obs=y[t])

    hidden = {"gmm": ["z"], "hmm": [f"x_{t}" for t in range(T)]}
    models = {"gmm": (gmm, 1), "hmm": (hmm, 0)}

    def make(name):
        import optax

        model, nesting = models[name]
        start = init_to_value(values=START[name])  # the same start for both
        guide = AutoDelta(H.block(model, hide=hidden[name]), init_loc_fn=start)
        elbo = TraceEnum_ELBO(max_plate_nesting=nesting)
        if lib == "sciad":
            optim = optax.adam(0.05)
        else:
            from numpyro.optim import Adam

            optim = Adam(0.05)
        return SVI(model, guide, optim, elbo), model, guide, elbo

    return make


def timed(fn):
    t = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return out, time.perf_counter() - t


def bench(lib, name, y, steps):
    make = build(lib)
    svi, model, guide, elbo = make(name)
    res, first = timed(lambda: svi.run(jr.key(0), steps, y, progress_bar=False))
    _, second = timed(lambda: svi.run(jr.key(1), steps, y, progress_bar=False))
    state = svi.init(jr.key(2), y)

    @jax.jit
    def many(state):
        return jax.lax.scan(lambda s, _: svi.update(s, y), state, None, length=1000)

    timed(lambda: many(state))
    t_upd = min(timed(lambda: many(state))[1] for _ in range(3)) / 1000
    loss = float(np.mean(np.asarray(res.losses)[-steps // 10 :]))

    def evaluate(params):
        return float(elbo.loss(jr.key(3), params, model, guide, y))

    return dict(
        first=first,
        second=second,
        step_us=t_upd * 1e6,
        loss=loss,
        params=res.params,
        evaluate=evaluate,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="gmm,hmm")
    p.add_argument("--steps", type=int, default=2000)
    cfg = p.parse_args(argv)
    jax.config.update("jax_enable_x64", False)
    data = {"gmm": gmm_data(), "hmm": hmm_data()}
    print(f"jax {jax.__version__}, float32, {cfg.steps} steps, AutoDelta")
    print(
        "| model | lib | first(s) | second(s) | us/step | loss "
        "| loss at the other's params |"
    )
    print("|" + "---|" * 7)
    for name in cfg.models.split(","):
        out = {
            lib: bench(lib, name, data[name], cfg.steps) for lib in ("sciad", "numpyro")
        }
        for lib, other in (("sciad", "numpyro"), ("numpyro", "sciad")):
            r = out[lib]
            cross = r["evaluate"](out[other]["params"])
            print(
                f"| {name} | {lib} | {r['first']:.2f} | {r['second']:.2f} | "
                f"{r['step_us']:.1f} | {r['loss']:.3f} | {cross:.3f} |"
            )
        s, n = out["sciad"], out["numpyro"]
        ratios = [s[k] / n[k] for k in ("first", "second", "step_us")]
        print(f"| {name} | sciad/numpyro | " + " | ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
