"""XLA options for the chain program, chosen from measurements on CPU.

Two XLA:CPU code-generation choices change the sampler's cost a lot, in
opposite directions, and not the same way on every CPU:

- the "fusion emitters" (XLA's newer code generator for loop fusions) roughly
  double the compile time of this loop-heavy program (eight schools 1.3 s ->
  3.2 s of CPU, stoch_vol 5 s -> 9.5 s); without them XLA:CPU runs every
  `scatter` as a serial loop (an indexed lookup's gradient is a scatter-add:
  hierarchical regression with 900 group lookups, 9.4 instead of 7 µs per
  gradient), ~0.1 s over a 1000 + 1000 run against ~1 s of compile;
- the YNNPACK library fusions, which XLA forms for large reductions.

Programs whose model arguments hold fewer than `BIG_DATA_ELEMENTS` elements
compile without the fusion emitters, everywhere. For *big data* (each
gradient streams megabytes: the logistic regression on 50,000 x 54) the best
choice depends on the CPU (benchmarks/ppl/RESULTS.md):

- Intel Xeon (2-core VM): the emitters made the bare gradient 0.97 instead of
  1.65 ms (session 7), and YNNPACK's fusions 0.76 instead of 0.72 ms
  (session 9);
- AMD EPYC (2-core VM, session 12, logistic regression 1000 + 1000 in
  `MCMC`, medians of an A/B in one process):

  | options | compile + warmup | µs per gradient |
  |---|---|---|
  | emitters, no YNNPACK (the Xeon choice) | 5.3 s | 346 |
  | emitters, YNNPACK (XLA's defaults) | 4.5 s | 268 |
  | no emitters, YNNPACK (the small-program options) | 3.7 s | 250 |
  | no emitters, no YNNPACK | 4.4 s | 343 |

So on Intel the emitters stay on and YNNPACK's reductions are left out; on
AMD both stay as for small programs (the same options). Other CPUs get the
Intel choice, which was the rule before AMD was measured.

On AMD every chain program also compiles with LLVM at -O2 rather than XLA's
default -O3 (session 13, same VM). XLA's compile CPU time drops 10-25%
(`compile_split.py`: hier_linreg 2.27 -> 1.71 s, funnel_nc 1.20 -> 0.91 s) and
no program samples slower. In-process A/B (`xla_options_ab.py`, 1000 + 1000, two
runs of five rounds each in opposite orders, medians), -O3 -> -O2:

| model | first call (s) | µs per gradient |
|---|---|---|
| hier_linreg | 2.30 / 2.16 -> 1.93 / 1.95 | 16.2 / 12.9 -> 11.4 / 11.4 |
| stoch_vol | 3.82 / 3.57 -> 3.66 / 3.51 | 21.3 / 17.5 -> 18.7 / 18.2 |
| logreg | 3.45 / 3.45 -> 3.40 / 3.31 | 239 / 223 -> 229 / 220 |
| eight schools | 1.04 / 1.02 -> 1.02 / 1.08 | 3.1 / 2.9 -> 2.3 / 2.3 |

-O1 saves a little more compile time but made stoch_vol's sampling 15-20%
slower. Not measured on Intel, so not applied there.

The `jax.jit` option for YNNPACK is experimental in XLA, so it is only passed
when this XLA accepts it. The emitter switch for scatters alone
(`xla_cpu_disable_new_fusion_emitters`) would cost nothing at compile time,
but it is a backend "extra option" that `jax.jit` cannot pass per program.
"""

import functools

import jax
import jax.numpy as jnp

# Model arguments holding at least this many array elements make the program's
# gradient stream megabytes per evaluation.
BIG_DATA_ELEMENTS = 2**20

NO_FUSION_EMITTERS = (("xla_cpu_use_fusion_emitters", False),)
NO_YNN_FUSIONS = (("xla_cpu_experimental_ynn_fusion_type", ""),)
# LLVM -O2 instead of XLA's -O3 (measured on AMD only; see the module docstring)
LLVM_O2 = (("xla_backend_optimization_level", 2),)


def compiler_options(big_data: bool = False) -> dict:
    """XLA options for the sampling program (see the module docstring).

    `big_data`: the model's array arguments hold at least `BIG_DATA_ELEMENTS`
    elements (data closed over by the model, not passed, is not counted).
    """
    if jax.default_backend() != "cpu":
        return {}
    if cpu_vendor() == "AuthenticAMD":
        return dict(NO_FUSION_EMITTERS + LLVM_O2)
    if not big_data:
        return dict(NO_FUSION_EMITTERS)
    return dict(NO_YNN_FUSIONS) if _accepted(NO_YNN_FUSIONS) else {}


@functools.cache
def cpu_vendor() -> str:
    """The host CPU's vendor string (`GenuineIntel`, `AuthenticAMD`), or ""."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return ""


@functools.cache
def _accepted(options: tuple) -> bool:
    """Whether this XLA compiles a trivial program with `options`."""
    try:
        jax.jit(jnp.negative, compiler_options=dict(options)).lower(1.0).compile()
    except Exception:  # an unknown option: XLA raises a plain RuntimeError
        return False
    return True
