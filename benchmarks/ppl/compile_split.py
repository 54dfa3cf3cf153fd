"""Where sciad's first call goes: trace, lower, XLA compile, execute; HLO size.

    python benchmarks/ppl/compile_split.py --models hier_linreg,stoch_vol
    python benchmarks/ppl/compile_split.py --models funnel_nc --options opt0

Captures the one chain program `MCMC.warmup` would compile, then lowers it and
compiles it with each named set of XLA options (`OPTIONS`), and runs each
compiled program once (init + 1000 warmup + 1000 draws, fresh key), so a
compiler option's compile-time saving and its runtime cost are measured side by
side in one process. Also counts instructions, while loops, conditionals and
fusions in the optimised HLO.
"""

import argparse
import collections
import pathlib
import re
import sys
import time

import jax
import jax.random as jr

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

EMIT, OPT = "xla_cpu_use_fusion_emitters", "xla_backend_optimization_level"
OPTIONS = {
    "default": None,  # what sciad uses (`_compiler_options.compiler_options()`)
    "opt0": {"xla_backend_optimization_level": 0},
    "opt1": {"xla_backend_optimization_level": 1},
    "noexp": {"xla_llvm_disable_expensive_passes": True},
    "split2": {"xla_cpu_parallel_codegen_split_count": 2},
    "split1": {"xla_cpu_parallel_codegen_split_count": 1},
    "emit": {"xla_cpu_use_fusion_emitters": True},  # XLA's own default
    "noemit": {"xla_cpu_use_fusion_emitters": False},
    "emit_o1": {EMIT: True, OPT: 1},
    "noemit_o1": {EMIT: False, OPT: 1},
    "noemit_o2": {EMIT: False, OPT: 2},
}


class _Captured(Exception):
    pass


def capture(name, warmup=1000, samples=1000):
    """(program, args) of sciad's chain program for `name`, without running it."""
    import jax.numpy as jnp
    import models_sciad

    from sciad.probabilistic import infer
    from sciad.probabilistic.infer import _mcmc

    args = data.model_args(name)
    jargs = {k: v if isinstance(v, int) else jnp.asarray(v) for k, v in args.items()}
    mcmc = infer.MCMC(
        infer.NUTS(models_sciad.MODELS[name]),
        num_warmup=warmup,
        num_samples=samples,
        progress_bar=False,
    )
    box = {}
    original = _mcmc.build_program

    def build(*a):
        program = original(*a)

        def call(*inputs):
            box["program"], box["inputs"] = program, inputs
            raise _Captured

        return call

    _mcmc.build_program = build
    try:
        mcmc.run(jr.PRNGKey(0), extra_fields=("num_steps",), **jargs)
    except _Captured:
        pass
    finally:
        _mcmc.build_program = original
    chain_inputs, shared, model_args = box["inputs"]
    return box["program"], (chain_inputs, shared, model_args)


def hlo_stats(text):
    ops = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*(?:ROOT\s+)?%?\S+ = .*?\b([a-z][\w-]*)\(", line)
        if m:
            ops[m.group(1)] += 1
    comps = sum(1 for ln in text.splitlines() if re.match(r"^(ENTRY )?%?\S+ .*\{$", ln))
    return {
        "instructions": sum(ops.values()),
        "computations": comps,
        "while": ops["while"],
        "conditional": ops["conditional"],
        "fusion": ops["fusion"],
        "custom-call": ops["custom-call"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="hier_linreg,stoch_vol,funnel_nc,funnel_c")
    p.add_argument("--options", default="default,opt1,noexp")
    p.add_argument("--no-run", action="store_true", help="compile only")
    cfg = p.parse_args()
    events = collections.defaultdict(float)
    jax.monitoring.register_event_duration_secs_listener(
        lambda n, s, **k: events.__setitem__(n, events[n] + s)
    )
    for name in cfg.models.split(","):
        program, inputs = capture(name)
        events.clear()
        t0 = time.perf_counter()
        lowered = program.lower(*inputs)
        t_lower = time.perf_counter() - t0
        trace = events["/jax/core/compile/jaxpr_trace_duration"]
        print(
            f"\n{name}: trace {trace:.2f} s, trace+lower {t_lower:.2f} s, "
            f"StableHLO {len(lowered.as_text()) / 1e3:.0f} kB"
        )
        for opt in cfg.options.split(","):
            t0, c0 = time.perf_counter(), time.process_time()
            compiled = lowered.compile(OPTIONS[opt])
            t_comp = time.perf_counter() - t0
            c_comp = time.process_time() - c0
            stats = hlo_stats(compiled.compiled.as_text())
            line = f"  {opt:8s} compile {t_comp:6.2f} s (cpu {c_comp:5.2f})  {stats}"
            if not cfg.no_run:
                runs, cpus = [], []
                for _ in range(2):
                    t0, c0 = time.perf_counter(), time.process_time()
                    jax.block_until_ready(compiled(*inputs))
                    runs.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                line += f"  run {min(runs):.3f} s (cpu {min(cpus):.3f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
