"""List every XLA compilation a library triggers on one model, phase by phase.

    python benchmarks/ppl/profile_compiles.py --model eight_schools_nc --lib sciad

Prints, for `warmup()` (first call), the first `sample()` and a second
`sample()`, each compiled function's name and its trace / lower / compile
seconds, sorted by cost: where first-call time goes and what recompiles.
"""

import argparse
import collections
import logging
import pathlib
import re
import sys
import time
import warnings

import jax
import jax.random as jr

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from run import make_runner, parse_args  # noqa: E402

PATTERNS = {
    "trace": re.compile(r"Finished tracing (\S+) for \S+ in ([\d.e-]+) sec"),
    "lower": re.compile(
        r"Finished jaxpr to MLIR module conversion (\S+) in ([\d.e-]+)"
    ),
    "compile": re.compile(r"Finished XLA compilation of (\S+) in ([\d.e-]+) sec"),
}


class CompileLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        msg = record.getMessage()
        for stage, pattern in PATTERNS.items():
            m = pattern.search(msg)
            if m:
                name = m.group(1) if stage != "trace" else f"jit({m.group(1)})"
                self.records.append((stage, name, float(m.group(2))))


def report(phase, records, wall):
    per_fn = collections.defaultdict(lambda: collections.Counter())
    for stage, fn, secs in records:
        per_fn[fn][stage] += secs
        per_fn[fn]["n_" + stage] += 1
    total = sum(secs for _, _, secs in records)
    n = sum(1 for stage, _, _ in records if stage == "compile")
    print(
        f"\n== {phase}: wall {wall:.2f} s, {n} XLA compilations, {total:.2f} s in them"
    )
    rows = sorted(per_fn.items(), key=lambda kv: -sum(kv[1][s] for s in PATTERNS))
    for fn, c in rows[:25]:
        print(
            f"  {fn[:60]:60s} x{c['n_compile']:<3d} trace {c['trace']:6.2f}"
            f"  lower {c['lower']:6.2f}  compile {c['compile']:6.2f}"
        )
    if len(rows) > 25:
        print(f"  ... {len(rows) - 25} more functions")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="eight_schools_nc")
    p.add_argument("--lib", default="sciad")
    args, rest = p.parse_known_args()
    cfg = parse_args(rest + ["--quick"] if "--full" not in rest else [])
    warnings.filterwarnings("ignore", message=".*(divergent|R-hat|E-BFMI).*")
    jax.config.update("jax_log_compiles", True)
    handler = CompileLog()
    # records of the jax._src.* loggers propagate here, once each
    logging.getLogger("jax").addHandler(handler)
    logging.getLogger("jax").setLevel(logging.DEBUG)
    logging.getLogger("jax").propagate = False
    runner = make_runner(args.lib, args.model, cfg)
    keys = jr.split(jr.PRNGKey(cfg.seed), 3)
    phases = (
        ("warmup (first call)", runner.warmup, keys[0]),
        ("sample #1", runner.sample, keys[1]),
        ("sample #2 (new key)", runner.sample, keys[2]),
    )
    for phase, fn, key in phases:
        handler.records.clear()
        t0 = time.perf_counter()
        fn(key)
        report(phase, list(handler.records), time.perf_counter() - t0)


if __name__ == "__main__":
    main()
