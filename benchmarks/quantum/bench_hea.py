"""sciad.quantum vs PennyLane on a hardware-efficient ansatz (HEA).

Circuit: per layer RY and RZ on every qubit, then a ring of CNOTs; 10 layers.
Observable: H = -sum Z_i Z_{i+1} - sum X_i (periodic). complex64 / float32 everywhere.

Each (library, n, quantity) runs in its own subprocess so that peak memory
(ru_maxrss) and first-call (compile) time are measured cleanly:

* sciad            -- `expectation(..., diff_method="adjoint")` under `jax.jit`
* default.qubit    -- PennyLane default.qubit, JAX interface, backprop, `jax.jit`
* lightning.qubit  -- PennyLane lightning.qubit (C++), adjoint, autograd interface

Usage: python benchmarks/quantum/bench_hea.py [--n 8 12 16 20] [--libs ...]
       [--timeout 300]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

LAYERS = 10


def _sciad(n, kind):
    import jax
    import jax.numpy as jnp

    import sciad.quantum as q

    h = q.hamiltonian.tfim(n)

    def energy(p):
        c = q.Circuit(n)
        for layer in range(LAYERS):
            for i in range(n):
                c.ry(i, p[layer, i, 0]).rz(i, p[layer, i, 1])
            for i in range(n):
                c.cnot(i, (i + 1) % n)
        return q.expectation(c, h)

    f = jax.jit(energy if kind == "value" else jax.grad(energy))
    p = jnp.full((LAYERS, n, 2), 0.1, jnp.float32)
    return lambda: jax.block_until_ready(f(p))


def _pennylane(n, kind, device):
    import pennylane as qml

    if device == "default":
        import jax
        import jax.numpy as jnp

        dev = qml.device("default.qubit", wires=n)
        iface, diff, lib = "jax", "backprop", jnp
    else:
        from pennylane import numpy as pnp

        dev = qml.device(
            "lightning.qubit", wires=n, c_dtype=__import__("numpy").complex64
        )
        iface, diff, lib = "autograd", "adjoint", pnp
    h = qml.Hamiltonian(
        [-1.0] * (2 * n),
        [qml.PauliZ(i) @ qml.PauliZ((i + 1) % n) for i in range(n)]
        + [qml.PauliX(i) for i in range(n)],
    )

    @qml.qnode(dev, interface=iface, diff_method=diff)
    def energy(p):
        for layer in range(LAYERS):
            for i in range(n):
                qml.RY(p[layer, i, 0], wires=i)
                qml.RZ(p[layer, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return qml.expval(h)

    if device == "default":
        f = jax.jit(energy if kind == "value" else jax.grad(energy))
        p = jnp.full((LAYERS, n, 2), 0.1, jnp.float32)
        return lambda: jax.block_until_ready(f(p))
    p = lib.full((LAYERS, n, 2), 0.1, requires_grad=True)
    g = qml.grad(energy)
    return (lambda: energy(p)) if kind == "value" else (lambda: g(p))


def worker(lib, n, kind, repeats):
    if lib == "sciad":
        run = _sciad(n, kind)
    else:
        run = _pennylane(n, kind, lib)
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    steady = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        steady.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    print(
        json.dumps(
            dict(lib=lib, n=n, kind=kind, first=first, steady=min(steady), rss=rss)
        )
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[8, 12, 16, 20])
    ap.add_argument("--libs", nargs="+", default=["sciad", "lightning", "default"])
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--default-max-n", type=int, default=12)
    ap.add_argument("--worker", nargs=3)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.worker:
        lib, n, kind = a.worker
        worker(lib, int(n), kind, a.repeats)
        return
    rows = []
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    for n in a.n:
        for lib in a.libs:
            for kind in ("value", "grad"):
                if lib == "default" and n > a.default_max_n:
                    continue
                cmd = [sys.executable, __file__, "--worker", lib, str(n), kind]
                try:
                    out = subprocess.run(
                        cmd, capture_output=True, text=True, timeout=a.timeout, env=env
                    )
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                except subprocess.TimeoutExpired:
                    row = dict(
                        lib=lib, n=n, kind=kind, first=None, steady=None, rss=None
                    )
                except (IndexError, json.JSONDecodeError):
                    print(out.stderr[-2000:], file=sys.stderr)
                    continue
                rows.append(row)
                fmt = lambda v, s="%.3f": "timeout" if v is None else s % v
                print(
                    f"{lib:>10} n={n:2d} {kind:5s} first {fmt(row['first'], '%.2f')} s"
                    f"  steady {fmt(row['steady'])} s"
                    f"  peak RSS {fmt(row['rss'], '%.0f')} MiB",
                    flush=True,
                )
    by = {(r["lib"], r["n"], r["kind"]): r for r in rows}
    print("\nratios sciad/peer (steady):")
    for n in a.n:
        for peer in ("lightning", "default"):
            for kind in ("value", "grad"):
                s, p = by.get(("sciad", n, kind)), by.get((peer, n, kind))
                if s and p and s["steady"] and p["steady"]:
                    print(
                        f"  n={n:2d} {kind:5s} vs {peer:9s}: "
                        f"{s['steady'] / p['steady']:.2f}"
                    )
    for n in a.n:
        s, v = by.get(("sciad", n, "grad")), by.get(("sciad", n, "value"))
        if s and v and s["steady"] and v["steady"]:
            print(f"  sciad n={n:2d} grad/value: {s['steady'] / v['steady']:.2f}")


if __name__ == "__main__":
    main()
