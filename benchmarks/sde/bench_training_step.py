"""Neural SDE training step: sciad vs raw diffrax vs hand-written scan vs torchsde.

Problem (issue 8): state dim 4, MLP width 32, depth 2, batch 256 paths, Euler-
Maruyama with 100 steps on [0, 1], loss = marginal moments vs fixed data, one
step = loss + gradient + Adam update. All implementations run in this one
process, interleaved round by round so that machine load hits them alike; we
report the minimum (least disturbed) and median wall time per step.

JAX (XLA) and torch are both pinned to one intra-op thread.

Compile time is reported as process CPU time of `lower().compile()` (less
sensitive to other processes than wall time) and as wall time.

Memory (`--memory`): JAX peak = XLA's compiled temp + argument + output bytes
(`memory_analysis()`); torchsde = peak increase of the resident set during one
step (the first: a warm-up would let malloc reuse freed memory), sampled
every ms in a thread, in a fresh subprocess
per configuration. The two measures are not identical; compare growth with
the number of steps rather than absolute values.

    python benchmarks/sde/bench_training_step.py [--rounds 15] [--memory]
        [--skip-timing]
"""

import os

# Single-threaded JAX and torch: the 2-core benchmark machine is shared, and
# intra-op thread pools under contention measure the scheduler, not the code.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import resource
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import _jax_configs as J  # noqa: E402


def _jax_steps(n_steps):
    ts, data, model, dt0 = J.make_problem(n_steps)
    opt = J.optimizer()
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    out = {}
    for name, loss in J.configs(ts, data, dt0).items():
        step = J.make_step(loss, opt)
        cpu, wall = time.process_time(), time.perf_counter()
        compiled = step.lower(model, opt_state, jr.key(0)).compile()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        jax.block_until_ready(step(model, opt_state, jr.key(0)))
        mem = compiled.compiled.memory_analysis()
        peak = mem.temp_size_in_bytes + mem.argument_size_in_bytes
        peak += mem.output_size_in_bytes

        def run(seed, step=step):
            return jax.block_until_ready(step(model, opt_state, jr.key(seed)))

        out[name] = dict(run=run, compile_cpu=cpu, compile_wall=wall, mem=peak)
    return out, np.asarray(data)


def _torch_steps(n_steps, data):
    import _torch_configs as T
    import torch

    torch.set_num_threads(1)
    data_t = torch.tensor(data)
    out = {}
    for adjoint in (False, True):
        name = f"torchsde {'sdeint_adjoint' if adjoint else 'sdeint'} (Euler)"
        step = T.make_step(n_steps, data_t, adjoint=adjoint)
        step(0)  # warm-up
        out[name] = dict(run=step, compile_cpu=None, compile_wall=None, mem=None)
    return out


def timing(rounds):
    impls, data = _jax_steps(100)
    impls.update(_torch_steps(100, data))
    times = {name: [] for name in impls}
    for r in range(rounds):
        for name, impl in impls.items():
            t = time.perf_counter()
            impl["run"](r + 1)
            times[name].append(time.perf_counter() - t)
    scan = min(times["hand-written lax.scan EM"])
    sciad = min(times["sciad simulate (default)"])
    print(f"\n## Training step, 100 steps, batch 256 ({rounds} interleaved rounds)\n")
    print(
        "| implementation | min ms | median ms | min / scan | sciad / this |"
        " compile CPU s | compile wall s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, tt in times.items():
        impl = impls[name]
        cc = "-" if impl["compile_cpu"] is None else f"{impl['compile_cpu']:.2f}"
        cw = "-" if impl["compile_wall"] is None else f"{impl['compile_wall']:.2f}"
        print(
            f"| {name} | {1e3 * min(tt):.1f} | {1e3 * np.median(tt):.1f} | "
            f"{min(tt) / scan:.2f} | {sciad / min(tt):.2f} | {cc} | {cw} |"
        )


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _torch_memory_child(n_steps, adjoint):
    import threading

    import _torch_configs as T
    import torch

    torch.set_num_threads(1)
    data = torch.randn(T.BATCH, 101, T.D) * 0.3
    step = T.make_step(n_steps, data, adjoint=adjoint)
    # No warm-up step: after one, malloc reuses the freed activations and the
    # second step's growth is ~0 whatever its true peak.
    before, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():  # current RSS every ~1 ms (max RSS would hide small steps)
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    thread = threading.Thread(target=sample)
    thread.start()
    step(1)
    done.set()
    thread.join()
    print(max(peak[0], _rss_bytes()) - before)


def memory():
    print("\n## Peak memory of one training step (MB)\n")
    print("| implementation | 100 steps | 1,000 steps | 10,000 steps |")
    print("|---|---|---|---|")
    rows = {}
    for n in (100, 1000, 10_000):
        impls, _ = _jax_steps_compile_only(n)
        for name, mem in impls.items():
            rows.setdefault(name, []).append(mem / 2**20)
        for adjoint in (False, True):
            kind = "sdeint_adjoint" if adjoint else "sdeint"
            name = f"torchsde {kind} (peak RSS growth)"
            out = subprocess.run(
                [sys.executable, __file__, "--torch-mem", str(n), str(int(adjoint))],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.setdefault(name, []).append(int(out.stdout.split()[-1]) / 2**20)
    for name, mems in rows.items():
        print(f"| {name} | " + " | ".join(f"{m:.1f}" for m in mems) + " |")


def _jax_steps_compile_only(n_steps):
    ts, data, model, dt0 = J.make_problem(n_steps)
    opt = J.optimizer()
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    out = {}
    for name, loss in J.configs(ts, data, dt0).items():
        compiled = J.make_step(loss, opt).lower(model, opt_state, jr.key(0)).compile()
        mem = compiled.compiled.memory_analysis()
        out[name] = (
            mem.temp_size_in_bytes + mem.argument_size_in_bytes
            + mem.output_size_in_bytes
        )  # fmt: skip
    return out, data


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--torch-mem", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_mem:
        _torch_memory_child(args.torch_mem[0], bool(args.torch_mem[1]))
    else:
        print(f"jax {jax.__version__}, devices {jax.devices()}")
        if not args.skip_timing:
            timing(args.rounds)
        if args.memory:
            memory()
