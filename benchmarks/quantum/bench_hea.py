"""sciad.quantum vs PennyLane on a hardware-efficient ansatz (HEA).

Circuit: per layer RY and RZ on every qubit, then a ring of CNOTs; 10 layers.
Observable: H = -sum Z_i Z_{i+1} - sum X_i (periodic). complex64 / float32 everywhere.

Each (library, n, quantity) runs in its own subprocess so that peak memory
(ru_maxrss) and first-call (compile) time are measured cleanly:

* sciad            -- `expectation(..., diff_method="adjoint")` under `jax.jit`
* default.qubit    -- PennyLane default.qubit, JAX interface, backprop, `jax.jit`
* lightning.qubit  -- PennyLane lightning.qubit (C++), adjoint, autograd interface

Peak memory is reported twice: the process's peak RSS (``ru_maxrss``, which
includes the Python/JAX/XLA runtime) and its delta over a bare process that only
imports jax and runs one tiny jitted op (measured in its own subprocess).

Usage:
  python benchmarks/quantum/bench_hea.py --quick   # the issue's targets, ~3-5 min
  python benchmarks/quantum/bench_hea.py [--n 8 12 16 20] [--libs ...] [--timeout 300]

``--quick``: sciad first call (value and gradient) at n = 8, 12, 16, 20 and at
n = 8 with 20 layers (flat in depth), steady times and memory at n = 20, and
lightning.qubit at n = 20 only; then a target scorecard.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

LAYERS = 10


def _bare():
    import jax
    import jax.numpy as jnp

    return lambda: jax.block_until_ready(jax.jit(lambda x: x + 1)(jnp.zeros(3)))


def hea_energy(n, layers=LAYERS):
    """The benchmark's energy: HEA (RY, RZ on every qubit, CNOT ring) under the TFIM."""
    import sciad.quantum as q

    h = q.hamiltonian.tfim(n)

    def energy(p):
        c = q.Circuit(n)
        for layer in range(layers):
            for i in range(n):
                c.ry(i, p[layer, i, 0]).rz(i, p[layer, i, 1])
            for i in range(n):
                c.cnot(i, (i + 1) % n)
        return q.expectation(c, h)

    return energy


def _sciad(n, kind, layers=LAYERS):
    import jax
    import jax.numpy as jnp

    energy = hea_energy(n, layers)
    f = jax.jit(energy if kind == "value" else jax.grad(energy))
    p = jnp.full((layers, n, 2), 0.1, jnp.float32)
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


def worker(lib, n, kind, repeats, layers):
    if lib == "bare":
        run = _bare()
    elif lib == "sciad":
        run = _sciad(n, kind, layers)
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
    row = dict(lib=lib, n=n, kind=kind, layers=layers, first=first)
    print(json.dumps(dict(row, steady=min(steady), rss=rss)))


def _cell(lib, n, kind, layers, a, env):
    cmd = [sys.executable, __file__, "--worker", lib, str(n), kind]
    cmd += ["--layers", str(layers), "--repeats", str(a.repeats)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=a.timeout, env=env
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return dict(lib=lib, n=n, kind=kind, layers=layers, first=None, steady=None)
    except (IndexError, json.JSONDecodeError):
        print(out.stderr[-2000:], file=sys.stderr)
        return None


def _fmt(v, s="%.3f"):
    return "timeout" if v is None else s % v


def _scorecard(by, base):
    """The issue's n = 20 targets, from the measured cells."""
    sv, sg = (
        by.get(("sciad", 20, "value", LAYERS)),
        by.get(("sciad", 20, "grad", LAYERS)),
    )
    lg = by.get(("lightning", 20, "grad", LAYERS))
    firsts = [r["first"] for (lib, *_), r in by.items() if lib == "sciad"]
    print("\ntargets (n = 20 unless noted):")
    rows = []
    if sg and lg and sg["steady"] and lg["steady"]:
        rows.append(
            (
                "gradient <= lightning adjoint",
                sg["steady"] <= lg["steady"],
                f"{sg['steady']:.3f} s vs {lg['steady']:.3f} s",
            )
        )
    if sv and sv["steady"]:
        rows.append(("value <= 0.6 s", sv["steady"] <= 0.6, f"{sv['steady']:.3f} s"))
    if sg and sg.get("rss"):
        peak = max(sg["rss"], sv["rss"] if sv else 0)
        delta = peak - base
        rows.append(
            (
                "peak memory <= 1 GB (RSS incl. runtime)",
                peak <= 1024,
                f"{peak:.0f} MiB; {delta:.0f} MiB over a bare jax process "
                f"({base:.0f} MiB)",
            )
        )
    if firsts:
        ok = all(f is not None and f <= 10 for f in firsts)
        worst = max((f for f in firsts if f is not None), default=float("nan"))
        rows.append(
            ("first call <= 10 s at every n and depth", ok, f"worst {worst:.1f} s")
        )
    if sg and sv and sg["steady"] and sv["steady"]:
        r = sg["steady"] / sv["steady"]
        rows.append(("gradient / value <= 3", r <= 3, f"{r:.2f}"))
    for name, ok, what in rows:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[8, 12, 16, 20])
    ap.add_argument("--libs", nargs="+", default=["sciad", "lightning", "default"])
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--default-max-n", type=int, default=12)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", nargs=3)
    ap.add_argument("--layers", type=int, default=LAYERS)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.worker:
        lib, n, kind = a.worker
        worker(lib, int(n), kind, a.repeats, a.layers)
        return
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    if a.quick:
        cells = [
            ("sciad", n, k, LAYERS) for n in (8, 12, 16, 20) for k in ("value", "grad")
        ]
        cells += [("sciad", 8, k, 2 * LAYERS) for k in ("value", "grad")]
        cells += [("lightning", 20, k, LAYERS) for k in ("value", "grad")]
    else:
        cells = [
            (lib, n, k, LAYERS)
            for n in a.n
            for lib in a.libs
            for k in ("value", "grad")
            if not (lib == "default" and n > a.default_max_n)
        ]
    base = _cell("bare", 0, "value", 0, a, env)["rss"]
    print(f"bare `import jax` process: peak RSS {base:.0f} MiB", flush=True)
    by = {}
    for cell in cells:
        row = _cell(*cell, a, env)
        if row is None:
            continue
        by[cell] = row
        lib, n, kind, layers = cell
        rss = row.get("rss")
        mem = "" if rss is None else f"  peak RSS {rss:.0f} MiB (+{rss - base:.0f})"
        print(
            f"{lib:>10} n={n:2d} L={layers:2d} {kind:5s} "
            f"first {_fmt(row['first'], '%.2f')} s"
            f"  steady {_fmt(row['steady'])} s{mem}",
            flush=True,
        )
    print("\nratios sciad/peer (steady):")
    for (lib, n, kind, layers), s_ in by.items():
        if lib != "sciad" or layers != LAYERS:
            continue
        for peer in ("lightning", "default"):
            p_ = by.get((peer, n, kind, layers))
            if p_ and s_["steady"] and p_["steady"]:
                print(
                    f"  n={n:2d} {kind:5s} vs {peer:9s}: "
                    f"{s_['steady'] / p_['steady']:.2f}"
                )
    for n in sorted({c[1] for c in by}):
        g, v = (
            by.get(("sciad", n, "grad", LAYERS)),
            by.get(("sciad", n, "value", LAYERS)),
        )
        if g and v and g["steady"] and v["steady"]:
            print(f"  sciad n={n:2d} grad/value: {g['steady'] / v['steady']:.2f}")
    _scorecard(by, base)


if __name__ == "__main__":
    main()
