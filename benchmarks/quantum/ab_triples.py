"""A/B in one process: the HEA gradient with the period/triple backward vs pairs only.

``taskset -c 1 python benchmarks/quantum/ab_triples.py [n] [rounds]``: value, the
gradient with `_local.triple_plan` on ("new") and forced off ("old", the pair
loop of `_backward._back_pairs`), interleaved, medians. Both gradients are
compared (float32 round-off). On two cores a round only counts when other
processes used < 5% of its wall time, and
rounds start only after 0.3 s with the other processes idle.
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from bench_hea import LAYERS, hea_energy  # this script's directory is on sys.path

from sciad.quantum import _local


def busy():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    t = os.times()
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK"), t[0] + t[1]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15

    energy = hea_energy(n, LAYERS)

    p = jnp.full((LAYERS, n, 2), 0.1, jnp.float32)
    fs = {"value": jax.jit(energy).lower(p).compile()}
    plan = _local.triple_plan
    t0 = time.perf_counter()
    fs["new"] = jax.jit(jax.grad(energy)).lower(p).compile()
    t_new = time.perf_counter() - t0
    _local.triple_plan = lambda *a: None
    t0 = time.perf_counter()
    fs["old"] = jax.jit(jax.grad(energy)).lower(p).compile()
    t_old = time.perf_counter() - t0
    _local.triple_plan = plan
    print(f"compile: new {t_new:.2f} s, old {t_old:.2f} s")
    g_new, g_old = fs["new"](p), fs["old"](p)
    scale = float(jnp.max(jnp.abs(g_old)))
    diff = float(jnp.max(jnp.abs(g_new - g_old))) / scale
    print(f"max |new - old| / max |old| = {diff:.1e}")
    ts, kept = {k: [] for k in fs}, 0
    pinned = len(os.sched_getaffinity(0)) == 1
    deadline = time.perf_counter() + 600
    for _ in range(rounds):
        while not pinned and time.perf_counter() < deadline:  # start rounds when idle
            a0 = busy()
            time.sleep(0.3)
            a1 = busy()
            if (a1[0] - a0[0]) - (a1[1] - a0[1]) < 0.03:
                break
            time.sleep(2)
        b0, w0, row = busy(), time.perf_counter(), {}
        for k, f in fs.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(p))
            row[k] = time.perf_counter() - t0
        b1 = busy()
        if pinned or (b1[0] - b0[0]) - (b1[1] - b0[1]) < 0.05 * (
            time.perf_counter() - w0
        ):
            kept += 1
            for k, v in row.items():
                ts[k].append(v)
    print(
        f"n = {n}: {kept} of {rounds} rounds kept ({'pinned' if pinned else '2 cores'})"
    )
    if not kept:
        return
    med = {k: float(np.median(v)) for k, v in ts.items()}
    for k, v in ts.items():
        print(f"  {k:5s} median {med[k]:.4f} s  min {min(v):.4f} s")
    r_old, r_new = med["old"] / med["value"], med["new"] / med["value"]
    print(f"  gradient new/old {med['new'] / med['old'] - 1:+.1%};", end=" ")
    print(f"grad/value old {r_old:.2f} -> new {r_new:.2f}")


if __name__ == "__main__":
    main()
