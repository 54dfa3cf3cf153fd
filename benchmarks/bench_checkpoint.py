"""Memory and time of checkpointed_scan schedules vs a plain scan.

For n = 1e3, 1e4, 1e5 steps of a 1,000-float carry, compiles
``jit(grad(loss))`` under each schedule ("all" = plain ``lax.scan``, "sqrt",
binomial with k=8 stored carries), reads XLA's temporary-buffer size from
``memory_analysis()`` and times the steady-state gradient.

Run: ``python benchmarks/bench_checkpoint.py [--steps 1000 10000 100000]``.
"""

import argparse
import platform
import time

import jax
import jax.numpy as jnp

import sciad


def grad_fn(schedule):
    def loss(c0, xs):
        step = lambda c, x: (jnp.tanh(0.99 * c + 0.01 * jnp.sin(c) + x), None)  # noqa: E731
        carry, _ = sciad.checkpointed_scan(step, c0, xs, checkpoints=schedule)
        return jnp.sum(carry**2)

    return jax.jit(jax.grad(loss))


def measure(schedule, n, d, repeats):
    args = (jnp.ones(d), jnp.linspace(0.0, 1.0, n))
    t0 = time.perf_counter()
    compiled = grad_fn(schedule).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    temp = compiled.memory_analysis().temp_size_in_bytes
    compiled(*args).block_until_ready()
    t0 = time.perf_counter()
    for _ in range(repeats):
        compiled(*args).block_until_ready()
    return temp, (time.perf_counter() - t0) / repeats, compile_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[1_000, 10_000, 100_000]
    )
    parser.add_argument("--dim", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"jax {jax.__version__}, {platform.processor() or platform.machine()}, "
        f"float32, carry of {args.dim} floats"
    )
    header = f"{'steps':>8} {'schedule':>8} {'temp MB':>10} {'mem/all':>8} "
    print(header + f"{'grad s':>8} {'time/all':>9} {'compile s':>9}")
    for n in args.steps:
        base = None
        for schedule in ("all", "sqrt", 8):
            temp, t, c = measure(schedule, n, args.dim, args.repeats)
            base = base or (temp, t)
            print(
                f"{n:>8} {schedule!s:>8} {temp / 1e6:>10.2f} {temp / base[0]:>8.3f} "
                f"{t:>8.4f} {t / base[1]:>9.2f} {c:>9.2f}"
            )


if __name__ == "__main__":
    main()
