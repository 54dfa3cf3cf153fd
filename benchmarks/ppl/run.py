"""NUTS benchmark: sciad.probabilistic vs NumPyro vs BlackJAX, same models, same data.

    python benchmarks/ppl/run.py                       # full: 4 chains, 1000 + 1000
    python benchmarks/ppl/run.py --quick               # 2 chains, 200 + 200
    python benchmarks/ppl/run.py --targets             # the issue's targets, 1 chain
    python benchmarks/ppl/run.py --targets --seeds 3   # + median ESS/s over 3 seeds
    python benchmarks/ppl/run.py --models eight_schools_nc,funnel_c --libs numpyro

Per model and library, in this one process (float32, diagonal mass matrix):

1. `warmup(key1)`: the first call, compile included ("first").
2. `sample(key2)`: 1000 draws per chain from the post-warmup state; the draws
   give min bulk ESS, max rank R-hat, divergences and the gradient count.
3. `sample(key3)` again, continuing the chains ("second run()", new key): its
   wall time and how many XLA compilations it triggered (should be 0).

Time per gradient is the smaller over calls 2 and 3 of (wall time minus XLA
compile time) / gradients; sampling time is that times the gradients of call 2.
See README.md.

Rank-normalised ESS and R-hat are invariant under the monotone bijections, so
BlackJAX's unconstrained draws and the others' constrained draws compare
directly.
"""

import argparse
import dataclasses
import gc
import json
import pathlib
import sys
import time
import warnings

import jax
import jax.random as jr
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import models_blackjax  # noqa: E402
import models_numpyro  # noqa: E402
from runners import BlackjaxRunner, MCMCRunner  # noqa: E402

from sciad.probabilistic.diagnostics import (  # noqa: E402
    effective_sample_size,
    split_gelman_rubin,
)

ALL_LIBS = ("sciad", "numpyro", "blackjax")


class CompileMeter:
    """Counts XLA compilations and the wall seconds spent tracing/lowering/compiling.

    Tracing events nest (an outer jit's trace contains its inner jits' traces),
    so the seconds are the length of the union of the event intervals, not
    their sum.
    """

    EVENTS = (
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    )

    def __init__(self):
        self.count = 0
        self.intervals = []
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, name, secs, **kwargs):
        if name in self.EVENTS:
            end = time.perf_counter()
            self.intervals.append((end - secs, end))
            self.count += name.endswith("backend_compile_duration")

    def snapshot(self):
        return self.count, len(self.intervals)

    def seconds_since(self, index):
        total, reach = 0.0, -float("inf")
        for lo, hi in sorted(self.intervals[index:]):
            lo = max(lo, reach)
            if hi > lo:
                total += hi - lo
            reach = max(reach, hi)
        return total


@dataclasses.dataclass
class Result:
    model: str
    lib: str
    first_s: float  # warmup() incl. compile
    first_cpu_s: float  # its process CPU time (all threads): less noisy when shared
    first_compiles: int
    to_draws_s: float  # first warmup() + first sample(): until draws are in hand
    sample_wall_s: float  # first sample() incl. any compile it needed
    sample_s: float  # same minus compile seconds: pure sampling
    grads: int
    us_per_grad: float
    cpu_us_per_grad: float
    min_ess: float
    ess_per_s: float
    ess_per_s_e2e: float
    max_rhat: float
    divergences: int
    second_s: float  # second sample() with a new key
    second_compiles: int
    to_draws_cpu_s: float = float("nan")  # CPU time of first + first sample()
    error: str = ""
    # --seeds N: sampling ESS/s of N independent warmup+sampling runs (the
    # first is the row's own run), and their median
    seed_ess_per_s: list = dataclasses.field(default_factory=list)
    median_ess_per_s: float = float("nan")
    # the same with process CPU time instead of wall time (steadier when shared)
    seed_cpu_ess_per_s: list = dataclasses.field(default_factory=list)
    median_cpu_ess_per_s: float = float("nan")


def make_runner(lib, name, cfg):
    import jax.numpy as jnp

    args = data.model_args(name)
    jargs = {k: v if isinstance(v, int) else jnp.asarray(v) for k, v in args.items()}
    if lib == "blackjax":
        return BlackjaxRunner(models_blackjax.MODELS[name], jargs, cfg)
    if lib == "numpyro":
        import numpyro.infer

        return MCMCRunner(numpyro.infer, models_numpyro.MODELS[name], jargs, cfg)
    import models_sciad

    import sciad.probabilistic.infer

    return MCMCRunner(sciad.probabilistic.infer, models_sciad.MODELS[name], jargs, cfg)


def timed(meter, fn, *args):
    """Run fn; return its output, wall and CPU seconds, compilations, compile s."""
    c0, s0 = meter.snapshot()
    t0, p0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    wall, cpu = time.perf_counter() - t0, time.process_time() - p0
    c1, _ = meter.snapshot()
    return out, (wall, cpu), c1 - c0, meter.seconds_since(s0)


def bench_one(lib, name, cfg, meter, do_second=True):
    keys = jr.split(jr.PRNGKey(cfg.seed), 3)
    if not cfg.keep_caches:
        # Every library's first call starts from empty JAX caches, as in a
        # fresh process. Without this, the caches that earlier models and
        # libraries filled (NumPyro's seed runs compile thousands of programs)
        # slow later first calls: sciad's funnel_c took 1.7 s after NumPyro's
        # 10-seed eight schools and stoch_vol runs, 1.18 s after
        # `jax.clear_caches()`, 1.05 s in a fresh process (gc.collect alone:
        # 1.61 s).
        jax.clear_caches()
        gc.collect()
    runner = make_runner(lib, name, cfg)
    _, (first, first_cpu), first_c, _ = timed(meter, runner.warmup, keys[0])
    (draws, steps, div), (wall, cpu), _, comp_s = timed(meter, runner.sample, keys[1])
    grads = int(steps.sum())
    # seconds per gradient: the better of the two sampling calls (same work),
    # compile time taken out; the machine is shared, so the minimum is the
    # least contended estimate
    rates = [max(wall - comp_s, 1e-6) / max(grads, 1)]
    # compile seconds are wall seconds: take out the same fraction of CPU time
    cpu_rates = [cpu * max(1 - comp_s / wall, 0) / max(grads, 1)]
    second, second_c = float("nan"), -1
    if do_second and not cfg.no_second:
        (_, steps2, _), (second, cpu2), second_c, comp2_s = timed(
            meter, runner.sample, keys[2]
        )
        rates.append(max(second - comp2_s, 1e-6) / max(int(steps2.sum()), 1))
        cpu2 *= max(1 - comp2_s / second, 0)
        cpu_rates.append(cpu2 / max(int(steps2.sum()), 1))
    if cfg.targets and len(rates) > 1:
        # the second call compiled nothing: a clean rate, while subtracting a
        # first call's compile seconds can over-subtract on a busy machine
        rates, cpu_rates = rates[1:], cpu_rates[1:]
    sample_s = min(rates) * grads
    min_ess = min(float(np.min(effective_sample_size(v))) for v in draws.values())
    max_rhat = max(float(np.max(split_gelman_rubin(v))) for v in draws.values())
    seed_rates = [min_ess / sample_s]
    cpu_sample_s = min([r for r in cpu_rates if r > 0] or [float("nan")]) * grads
    seed_cpu_rates = [min_ess / cpu_sample_s]
    for s in range(1, cfg.seeds):
        rate, cpu_rate = reseeded_ess_per_s(runner, cfg.seed + 1000 * s, meter)
        seed_rates.append(rate)
        seed_cpu_rates.append(cpu_rate)
    return Result(
        model=name,
        lib=lib,
        first_s=first,
        first_cpu_s=first_cpu,
        first_compiles=first_c,
        to_draws_s=first + wall,
        to_draws_cpu_s=first_cpu + cpu,
        sample_wall_s=wall,
        sample_s=sample_s,
        grads=grads,
        us_per_grad=1e6 * min(rates),
        cpu_us_per_grad=1e6 * min([r for r in cpu_rates if r > 0] or [float("nan")]),
        min_ess=min_ess,
        ess_per_s=min_ess / sample_s,
        ess_per_s_e2e=min_ess / (first + wall),
        max_rhat=max_rhat,
        divergences=int(div.sum()),
        second_s=second,
        second_compiles=second_c,
        seed_ess_per_s=seed_rates,
        median_ess_per_s=float(np.median(seed_rates)),
        seed_cpu_ess_per_s=seed_cpu_rates,
        median_cpu_ess_per_s=float(np.median(seed_cpu_rates)),
    )


def reseeded_ess_per_s(runner, seed, meter):
    """Warm up and sample again from scratch with another seed: sampling ESS/s.

    One chain's minimum ESS varies by +-20% between seeds, so a single run
    cannot separate two samplers within that range; the median over seeds can.
    The sampling time is the wall time of the sampling call minus its compile
    seconds (zero for sciad and BlackJAX, whose programs are already compiled).
    Returns `(ESS per wall second, ESS per process CPU second)`.
    """
    k_warm, k_sample = jr.split(jr.PRNGKey(seed))
    if isinstance(runner, MCMCRunner):
        runner.sampled = False  # sample from the new post-warmup state
    runner.warmup(k_warm)
    _, s0 = meter.snapshot()
    t0, c0 = time.perf_counter(), time.process_time()
    draws, steps, _ = runner.sample(k_sample)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    comp_s = meter.seconds_since(s0)
    sample_s = max(wall - comp_s, 1e-6)
    # compile seconds are wall seconds: take out the same fraction of CPU time
    cpu_s = max(cpu * max(1 - comp_s / wall, 0), 1e-6)
    ess = min(float(np.min(effective_sample_size(v))) for v in draws.values())
    return ess / sample_s, ess / cpu_s


COLUMNS = [
    ("first_s", "first(s)", "{:8.2f}"),
    ("first_cpu_s", "cpu(s)", "{:7.2f}"),
    ("first_compiles", "#comp", "{:5d}"),
    ("to_draws_s", "e2e(s)", "{:7.2f}"),
    ("sample_s", "sample(s)", "{:9.2f}"),
    ("grads", "grads", "{:8d}"),
    ("us_per_grad", "us/grad", "{:8.1f}"),
    ("cpu_us_per_grad", "cpu us/g", "{:8.1f}"),
    ("min_ess", "minESS", "{:7.0f}"),
    ("ess_per_s", "ESS/s", "{:8.1f}"),
    ("ess_per_s_e2e", "ESS/s e2e", "{:9.1f}"),
    ("max_rhat", "maxRhat", "{:7.3f}"),
    ("divergences", "div", "{:5d}"),
    ("second_s", "2nd(s)", "{:7.2f}"),
    ("second_compiles", "#comp2", "{:6d}"),
]
RATIO_KEYS = (
    "first_s",
    "first_cpu_s",
    "to_draws_s",
    "sample_s",
    "us_per_grad",
    "cpu_us_per_grad",
    "ess_per_s",
    "ess_per_s_e2e",
)


def format_table(results, markdown=False):
    head = ["model", "lib"] + [c[1] for c in COLUMNS]
    rows = []
    for r in results:
        if r.error:
            rows.append(
                [r.model, r.lib, "error: " + r.error[:60]] + [""] * (len(COLUMNS) - 1)
            )
            continue
        rows.append([r.model, r.lib] + [f.format(getattr(r, k)) for k, _, f in COLUMNS])
    by = {(r.model, r.lib): r for r in results if not r.error}
    for model in dict.fromkeys(r.model for r in results):
        base = by.get((model, "sciad"))
        for peer in ("numpyro", "blackjax"):
            other = by.get((model, peer))
            if base is None or other is None:
                continue
            cells = []
            for k, _, _ in COLUMNS:
                cells.append(
                    f"{getattr(base, k) / getattr(other, k):.2f}x"
                    if k in RATIO_KEYS
                    else ""
                )
            rows.append([model, f"sciad/{peer}"] + cells)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.strip() for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = lambda row: "  ".join(
        str(x).rjust(w) for x, w in zip(row, widths, strict=True)
    )
    return "\n".join([fmt(head)] + [fmt(row) for row in rows])


def format_targets(results, markdown=False):
    """The issue's three targets per model, as sciad / peer ratios.

    ESS/s: sampling only, against the better peer (pass: >= 1). First call:
    warmup plus the first sampling call, compile included, until the draws are
    in hand (`e2e(s)`; pass: <= 1x BlackJAX and <= 0.3x NumPyro). Second run:
    compilations in sciad's second `run()` (pass: 0).
    """
    head = [
        "model",
        "ESS/s vs best",
        "e2e vs blackjax",
        "e2e vs numpyro",
        "warmup vs blackjax",
        "#comp2",
        "met",
        "cpu: ESS/s",
        "e2e vs bj",
        "e2e vs np",
    ]
    seeds = max((len(r.seed_ess_per_s) for r in results), default=1)
    if seeds > 1:
        head.append(f"median ESS/s vs best ({seeds} seeds)")
    rows = []
    by = {(r.model, r.lib): r for r in results if not r.error}
    for model in dict.fromkeys(r.model for r in results):
        s, n, b = (by.get((model, lib)) for lib in ALL_LIBS)
        if s is None or n is None or b is None:
            continue
        ess = s.ess_per_s / max(n.ess_per_s, b.ess_per_s)
        e2e_b, e2e_n = s.to_draws_s / b.to_draws_s, s.to_draws_s / n.to_draws_s
        ok = [ess >= 1, e2e_b <= 1, e2e_n <= 0.3, s.second_compiles == 0]
        # the same with process CPU time, steadier on a shared machine
        best_cpu = max(
            n.min_ess / (n.grads * n.cpu_us_per_grad),
            b.min_ess / (b.grads * b.cpu_us_per_grad),
        )
        ess_cpu = s.min_ess / (s.grads * s.cpu_us_per_grad) / best_cpu
        rows.append(
            [
                model,
                f"{ess:.2f}x",
                f"{e2e_b:.2f}x",
                f"{e2e_n:.2f}x",
                f"{s.first_s / b.first_s:.2f}x",
                str(s.second_compiles),
                "".join("y" if k else "n" for k in ok),
                f"{ess_cpu:.2f}x",
                f"{s.to_draws_cpu_s / b.to_draws_cpu_s:.2f}x",
                f"{s.to_draws_cpu_s / n.to_draws_cpu_s:.2f}x",
            ]
        )
        if seeds > 1:
            best = max(n.median_ess_per_s, b.median_ess_per_s)
            rows[-1].append(f"{s.median_ess_per_s / best:.2f}x")
    note = (
        "targets: ESS/s >= 1x the better peer; e2e (first call until draws in "
        "hand) <= 1x BlackJAX and <= 0.3x NumPyro; #comp2 = 0. "
        "'met' = those four, y/n (wall time). The cpu columns repeat the first "
        "three with process CPU time instead of wall time."
    )
    if seeds > 1:
        note += (
            f" The last column is the median over {seeds} seeds (each a fresh "
            "warmup and sampling run) of each library's sampling ESS/s, sciad's "
            "over the better peer's: a steadier estimate than the first column."
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines + ["", note])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = lambda row: "  ".join(x.rjust(w) for x, w in zip(row, widths, strict=True))
    return "\n".join([fmt(head)] + [fmt(row) for row in rows] + [note])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(data.ALL_MODELS))
    p.add_argument("--libs", default=None, help="default: all three")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument(
        "--chain-method",
        default="sequential",
        choices=("sequential", "vectorized", "parallel"),
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="2 chains, 200 + 200 draws")
    p.add_argument(
        "--targets",
        action="store_true",
        help="the issue's targets: 1 chain, 1000 + 1000, all libraries, no second "
        "call for NumPyro, then a pass/fail table",
    )
    p.add_argument(
        "--keep-caches",
        action="store_true",
        help="do not clear JAX's caches before each library's first call",
    )
    p.add_argument(
        "--no-second", action="store_true", help="skip the second sampling call"
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="also warm up and sample with N-1 more seeds per model and library "
        "and report the median sampling ESS/s (one chain's ESS is +-20%% noise)",
    )
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    p.add_argument("--from-json", help="only print the table of an earlier --json run")
    cfg = p.parse_args(argv)
    if cfg.quick:
        cfg.chains, cfg.warmup, cfg.samples = 2, 200, 200
    if cfg.targets:
        if cfg.libs is not None and set(cfg.libs.split(",")) != set(ALL_LIBS):
            p.error("--targets compares sciad with both peers: drop --libs")
        cfg.chains, cfg.warmup, cfg.samples = 1, 1000, 1000
    cfg.libs = cfg.libs or ",".join(ALL_LIBS)
    for name in cfg.models.split(","):
        if name not in data.ALL_MODELS:
            p.error(f"unknown model {name!r}; choose from {data.ALL_MODELS}")
    return cfg


def main(argv=None):
    cfg = parse_args(argv)
    if cfg.from_json:
        rows = json.loads(pathlib.Path(cfg.from_json).read_text())
        print(format_table([Result(**r) for r in rows], markdown=cfg.markdown))
        return
    # the samplers' own divergence/R-hat warnings: the table reports both
    warnings.filterwarnings("ignore", message=".*(divergent|R-hat|E-BFMI).*")
    meter = CompileMeter()
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, float32, "
        f"{cfg.chains} chains ({cfg.chain_method}), {cfg.warmup} warmup + "
        f"{cfg.samples} samples"
    )
    results = []
    for name in cfg.models.split(","):
        fp = data.fingerprint(data.get_data(name))
        print(f"\n{name}: dim {data.DIMS[name]}, data {fp}")
        for lib in cfg.libs.split(","):
            try:
                # NumPyro recompiles on every run(): its second call would only
                # add compile time (its rate is then wall minus compile seconds
                # of one call, which over-subtracts: optimistic for NumPyro)
                do_second = lib != "numpyro" or not cfg.targets
                r = bench_one(lib, name, cfg, meter, do_second)
            except Exception as e:  # a library failing must not hide the others
                r = Result(name, lib, *([0] * 17), error=f"{type(e).__name__}: {e}")
            results.append(r)
            print(format_table([r]).splitlines()[-1], flush=True)
            if len(r.seed_ess_per_s) > 1:
                rates = ", ".join(f"{x:.1f}" for x in r.seed_ess_per_s)
                print(f"    ESS/s per seed: {rates}; median {r.median_ess_per_s:.1f}")
                rates = ", ".join(f"{x:.1f}" for x in r.seed_cpu_ess_per_s)
                print(
                    f"    ESS per CPU second per seed: {rates}; "
                    f"median {r.median_cpu_ess_per_s:.1f}"
                )
            if cfg.json:  # after every run, so a long run that dies keeps its rows
                pathlib.Path(cfg.json).write_text(
                    json.dumps([dataclasses.asdict(r) for r in results], indent=1)
                )
    print()
    print(format_table(results, markdown=cfg.markdown))
    if cfg.targets:
        print()
        print(format_targets(results, markdown=cfg.markdown))


if __name__ == "__main__":
    main()
