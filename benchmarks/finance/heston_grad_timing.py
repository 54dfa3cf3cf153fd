"""Heston: 5-parameter gradient vs one price, variants timed interleaved.

Usage: ``python benchmarks/finance/heston_grad_timing.py [--f64] [--rounds N]``.
The option set is the one of ``bench_finance.py`` (20k random (K, T) pairs).
``--variants "label:NAME=expr,NAME=expr;label2:..."`` sets module constants of
``sciad.finance._heston`` (``expr`` evaluated in that module) while tracing a
fresh function (a fresh one per variant: jit's trace cache is keyed on the
function, not on module globals). All programs are compiled first, then timed
round-robin; medians.
"""

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--f64", action="store_true")
parser.add_argument("--rounds", type=int, default=21)
parser.add_argument("--variants", default="")
args = parser.parse_args()
if args.f64:
    jax.config.update("jax_enable_x64", True)

import sciad.finance as sf  # noqa: E402
import sciad.finance._heston as h  # noqa: E402

dtype = jnp.float64 if args.f64 else jnp.float32
rng = np.random.default_rng(0)
n = 1_000_000
k = 100 * np.exp(rng.uniform(-0.5, 0.5, n))
t = rng.uniform(0.1, 3.0, n)
gk = jnp.asarray(k[:20_000], dtype)
gt = jnp.asarray(t[:20_000], dtype)
hp = tuple(jnp.asarray(a, dtype) for a in (0.04, 1.5, 0.06, 0.5, -0.7))


def build(settings):
    def total(v0, kappa, theta, sigma, rho):  # a new function: no trace cache hit
        return jnp.sum(
            sf.heston_price(100.0, gk, gt, 0.03, 0.01, v0, kappa, theta, sigma, rho)
        )

    old = {name: getattr(h, name) for name in settings}
    for name, value in settings.items():
        setattr(h, name, value)
    try:
        price = jax.jit(total).lower(*hp).compile()
        grad = jax.jit(jax.value_and_grad(total, argnums=range(5))).lower(*hp).compile()
    finally:
        for name, value in old.items():
            setattr(h, name, value)
    return price, grad


variants = {"base": {}}
for spec in filter(None, args.variants.split(";")):
    label, _, assigns = spec.partition(":")
    variants[label] = {
        a.split("=")[0]: eval(a.split("=")[1], vars(h))  # noqa: S307
        for a in assigns.split(",")
    }
compiled = {label: build(s) for label, s in variants.items()}
ref = compiled["base"][1](*hp)
for label, (_, g) in compiled.items():
    got = g(*hp)
    err = max(
        float(jnp.max(jnp.abs(a - b) / (1e-30 + jnp.abs(b))))
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True)
    )
    print(f"{label}: max rel diff vs base {err:.2e}")

times = {(label, kind): [] for label in compiled for kind in ("price", "grad")}
for _ in range(args.rounds):
    for label, (p, g) in compiled.items():
        for kind, f in (("price", p), ("grad", g)):
            jax.block_until_ready(f(*hp))
            t0 = time.perf_counter()
            jax.block_until_ready(f(*hp))
            times[label, kind].append(time.perf_counter() - t0)
print(
    f"dtype {jnp.dtype(dtype).name}, load {os.getloadavg()[0]:.2f},",
    f"{args.rounds} rounds",
)
for label in compiled:
    p = np.median(times[label, "price"]) * 1e3
    g = np.median(times[label, "grad"]) * 1e3
    print(f"{label:>12}: price {p:7.2f} ms  grad {g:7.2f} ms  grad/price {g / p:5.2f}")
