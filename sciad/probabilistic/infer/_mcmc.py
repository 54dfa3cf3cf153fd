"""The `MCMC` driver: runs chains of `HMC`/`NUTS`, NumPyro's interface.

`MCMC` is the one place that jits (house style): each run configuration
compiles one XLA program (`_chain.build_program`) that is reused by every later
`run()`/`warmup()` with a new key, new data of the same shapes, or a
continuation from `post_warmup_state`. Model arguments that are arrays are
always passed as traced arguments (NumPyro's `jit_model_args=True`), so new
data never recompiles; non-array arguments are static.
"""

import functools
import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.flatten_util import ravel_pytree

from . import _progress
from ._chain import (
    ChainConfig,
    MCMCState,
    build_program,
    check_extra_fields,
)
from ._compiler_options import BIG_DATA_ELEMENTS
from ._forward_mode import explain_differentiation_errors
from ._hmc import HMCState
from ._init_params import INIT_NOT_FINITE, diagnose_init, model_init_params
from ._kernels import AbstractHMCKernel
from ._run_checks import SamplingWarning, periodic_sites, warn_after_run
from ._warmup import padded_schedule
from .util import ParamInfo

CHAIN_METHODS = ("sequential", "parallel", "vectorized")


def _hint_forward_mode(method):
    """Name the fix when the model cannot be differentiated in the chosen mode."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with explain_differentiation_errors():
            return method(*args, **kwargs)

    return wrapper


class MCMC:
    """Run Markov chains of an `HMC` or `NUTS` kernel (NumPyro-compatible).

    Args:
        kernel: an `HMC` or `NUTS` instance.
        num_warmup: adaptation iterations (discarded).
        num_samples: sampling iterations per chain after warmup (as NumPyro:
            `num_samples // thinning` draws are kept).
        num_chains: number of chains.
        thinning: keep every `thinning`-th draw; thinning happens inside the
            compiled loop, so the buffers hold only kept draws.
        chain_method: `"sequential"` (one chain after another, one compiled
            program), `"vectorized"` (`vmap` over chains on one device) or
            `"parallel"` (one chain per device with `shard_map`; falls back to
            `"vectorized"` with a warning when there are fewer devices than
            chains).
        progress_bar: tqdm bars updated from the compiled loop about 100 times
            per run; disabled automatically when stdout is not a terminal.
        jit_model_args: accepted for NumPyro compatibility and ignored. Array
            model arguments (NumPy or JAX, anywhere in `args`/`kwargs`) are
            always traced inputs of the compiled program, which is NumPyro's
            `jit_model_args=True`: new data of the same shapes and dtypes never
            recompiles. NumPyro's default instead bakes the data into the
            program as constants and recompiles for every new dataset; that
            buys no speed here (measured: the 50000 x 54 logistic-regression
            gradient costs the same either way), so it is not offered.
            Non-array arguments (Python numbers, strings) are static: a new
            value compiles a new program.
        storage_dtype: e.g. `jnp.float32` to store draws in single precision.
        postprocess_fn: maps one unconstrained position to what is stored as
            a draw, inside the compiled program (as NumPyro's). By default a
            model's positions are constrained and its deterministic sites
            added; a `potential_fn` kernel's are stored as they are.
    """

    def __init__(
        self,
        kernel: AbstractHMCKernel,
        *,
        num_warmup: int,
        num_samples: int,
        num_chains: int = 1,
        thinning: int = 1,
        chain_method: str = "sequential",
        progress_bar: bool = True,
        jit_model_args: bool = False,
        storage_dtype=None,
        postprocess_fn=None,
    ):
        if not isinstance(kernel, AbstractHMCKernel):
            raise TypeError(
                f"`kernel` must be HMC or NUTS; got {type(kernel).__name__}."
            )
        for name, value, low in [
            ("num_warmup", num_warmup, 0),
            ("num_samples", num_samples, 0),
            ("num_chains", num_chains, 1),
            ("thinning", thinning, 1),
        ]:
            if not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"`{name}` must be an int >= {low}; got {value!r}.")
        if chain_method not in CHAIN_METHODS:
            raise ValueError(
                f"`chain_method` must be one of {CHAIN_METHODS}; got {chain_method!r}."
            )
        if storage_dtype is not None and not jnp.issubdtype(
            storage_dtype, jnp.floating
        ):
            raise ValueError(
                "`storage_dtype` must be a floating dtype (e.g. jnp.float32) or "
                f"None; got {storage_dtype!r}."
            )
        if postprocess_fn is not None and not callable(postprocess_fn):
            raise TypeError(
                "`postprocess_fn` must be callable (a position -> a draw); got "
                f"{type(postprocess_fn).__name__}."
            )
        self.sampler = kernel
        self.postprocess_fn = postprocess_fn
        self.num_warmup, self.num_samples = int(num_warmup), int(num_samples)
        self.num_chains, self.thinning = int(num_chains), int(thinning)
        self.chain_method = chain_method
        self.progress_bar = progress_bar
        self.jit_model_args = jit_model_args
        self.storage_dtype = storage_dtype
        self.post_warmup_state = None
        self._last_state = None
        self._samples = None
        self._extra_fields = None
        self._programs: dict = {}
        self._key_impl = None
        self._key_template = None
        self._problems: dict = {}
        self.num_traces = 0  # incremented whenever a program is (re)traced
        self._latent_sites: tuple = ()

    @property
    def _num_kept(self) -> int:
        """Draws kept per chain by `run`: `num_samples // thinning` (NumPyro's rule)."""
        return self.num_samples // self.thinning

    # ------------------------------------------------------------------ running
    def run(
        self,
        rng_key,
        *args,
        extra_fields=(),
        init_params=None,
        checkpoint_path=None,
        checkpoint_every=None,
        **kwargs,
    ):
        """Warm up (unless `post_warmup_state` is set), then `num_samples` iterations.

        Args:
            rng_key: PRNG key; ignored when continuing from `post_warmup_state`,
                whose own key stream is continued.
            *args, **kwargs: model arguments.
            extra_fields: per-draw fields to collect besides `diverging` and
                `energy`: `accept_prob`, `num_steps`, `tree_depth`,
                `potential_energy`, `adapt_state.step_size`, and as in NumPyro
                `i` (the iteration count, warmup included, after the draw's
                transition) and `mean_accept_prob` (the running mean of
                `accept_prob` over the phase; see `MCMCState`).
            init_params: initial unconstrained position (leading chain axis
                when `num_chains > 1`, or broadcast), or the `ParamInfo` of
                `initialize_model`; required with `potential_fn`.
            checkpoint_path: `.npz` file; sample in segments of
                `checkpoint_every` kept draws, each written atomically, and
                resume from the file if it exists (see `docs/inference.md`).
        """
        if checkpoint_path is None and checkpoint_every is not None:
            raise ValueError(
                "`checkpoint_every` needs `checkpoint_path` (the file the segments "
                "are written to)."
            )
        if checkpoint_path is not None:
            from ._mcmc_io import run_with_checkpoints

            return run_with_checkpoints(
                self,
                rng_key,
                args,
                kwargs,
                extra_fields,
                init_params,
                checkpoint_path,
                checkpoint_every,
            )
        out = self._execute(
            rng_key,
            args,
            kwargs,
            init_params,
            extra_fields,
            self._num_kept,
            self._num_kept,
            start=self.post_warmup_state,
            n_skip=self.num_samples % self.thinning,
        )
        self._store(*out)
        self._warn(args, kwargs)

    def warmup(
        self,
        rng_key,
        *args,
        extra_fields=(),
        collect_warmup=False,
        init_params=None,
        **kwargs,
    ):
        """Run only the warmup; sets `post_warmup_state` so `run` samples next.

        With `collect_warmup=True` the warmup draws are kept, as in NumPyro:
        `get_samples()` and `get_extra_fields()` then return
        `num_warmup // thinning` draws, the last of each `thinning` iterations
        (the first `num_warmup % thinning` iterations are not recorded).
        Collecting compiles a program of its own (its buffers have another
        size); without it, `warmup` and the following `run` share one program.
        """
        kept = self.num_warmup // self.thinning if collect_warmup else self._num_kept
        state, samples, extras = self._execute(
            rng_key,
            args,
            kwargs,
            init_params,
            extra_fields,
            0,
            kept,
            start=None,
            collect_warmup=collect_warmup,
        )
        if collect_warmup:
            self._store(state, samples, extras)
        else:
            self._last_state = state
        self.post_warmup_state = self.last_state

    @_hint_forward_mode
    def _execute(
        self,
        rng_key,
        args,
        kwargs,
        init_params,
        extra_fields,
        n_draws,
        buffer_size,
        start,
        collect_warmup=False,
        n_skip=0,
    ):
        """Run the compiled program; `start=None` initialises and warms up.

        After the warmup, `n_skip` iterations are run and discarded, then
        `n_draws * thinning` iterations yield `n_draws` draws (the last of every
        `thinning`); with `collect_warmup`, the draws come from the warmup
        itself instead.

        All host-side preparation is NumPy: an eager JAX op would compile a tiny
        XLA program of its own, which costs more than it looks on a busy CPU.
        """
        fields = check_extra_fields(extra_fields)
        if isinstance(init_params, ParamInfo):  # NumPyro accepts these too
            init_params = init_params.z
        buffer_size = max(buffer_size, 1)  # (num_samples=0: one unused row)
        method, num_devices = self._resolve_chain_method()
        rng_key = self._rng_key(rng_key, start)
        problem = self._problem(rng_key, args, kwargs, init_params)
        given_init = init_params is not None
        if isinstance(problem.prototype_z, dict):
            self._latent_sites = tuple(problem.prototype_z)
        if given_init and problem.init_fn is not None:  # a model: check sites
            init_z = model_init_params(
                init_params, problem.prototype_z, self.num_chains
            )
        elif given_init:
            init_z = jax.tree.map(lambda a: self._with_chain_axis(a), init_params)
        else:  # unused placeholder: the program initialises from the model
            init_z = jax.tree.map(
                lambda s: np.zeros((self.num_chains,) + s.shape, s.dtype),
                problem.prototype_z,
            )
        windows, num_windows = padded_schedule(self.num_warmup)
        schedule = (windows, np.int32(num_windows), np.int32(self.num_warmup))
        progress = _progress.enabled(self.progress_bar)
        config = ChainConfig(
            buffer_size,
            self.thinning,
            fields,
            self.storage_dtype,
            progress,
            given_init,
            method,
            num_devices,
            self.num_chains,
            self._key_impl,
            _num_elements((args, kwargs)) >= BIG_DATA_ELEMENTS,
        )
        program = self._program(problem, config)
        if start is not None:
            state_in = self._chain_state(start)
            left = state_in.adapt_state.num_warmup - state_in.adapt_state.iteration
            fresh, n_warm_left = False, int(max(np.max(left), 0))
        else:
            state_in = self._dummy_state(problem, rng_key, init_z, args, kwargs)
            fresh, n_warm_left = True, self.num_warmup
        chain_ids = np.arange(self.num_chains, dtype=np.int32)
        if collect_warmup:  # NumPyro's rule: the first remainder is not recorded
            record_start = n_warm_left % self.thinning
            n_kept = n_warm_left // self.thinning
        else:
            record_start, n_kept = n_warm_left + n_skip, n_draws
        shared = (
            rng_key,
            np.asarray(fresh),
            np.int32(n_warm_left),
            np.int32(n_draws),
            np.int32(record_start),
            schedule,
        )
        total = max(n_warm_left, record_start + n_draws * self.thinning)
        bars = _progress.Bars(self.num_chains, total) if progress else _NullContext()
        try:
            with bars:
                if method == "sequential":
                    outs = []
                    for c in range(self.num_chains):
                        inputs = jax.tree.map(
                            lambda a, c=c: a[c], (init_z, state_in, chain_ids)
                        )
                        outs.append(_to_numpy(program(inputs, shared, (args, kwargs))))
                    out = jax.tree.map(lambda *xs: np.stack(xs), *outs)
                else:
                    inputs = (init_z, state_in, chain_ids)
                    out = _to_numpy(program(inputs, shared, (args, kwargs)))
        except Exception as err:
            if not (given_init and INIT_NOT_FINITE in str(err)):
                raise
            why = diagnose_init(problem, args, kwargs, init_z, self.num_chains)
            raise ValueError(why) from None
        state, samples, extras = out
        trim = (lambda a: a[:, :n_kept]) if n_kept < buffer_size else (lambda a: a)
        return (
            state,
            jax.tree.map(trim, samples),
            {k: trim(v) for k, v in extras.items()},
        )

    def _rng_key(self, rng_key, start):
        """The key fed to the program; when continuing, it is only a placeholder."""
        if start is not None and self._key_template is not None:
            return self._key_template
        dtype = getattr(rng_key, "dtype", None)
        typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
        if not (typed or dtype == np.uint32):
            raise TypeError(
                "`rng_key` must be a PRNG key (jax.random.key(seed) or "
                f"jax.random.PRNGKey(seed)); got {type(rng_key).__name__}"
                + (f" of dtype {dtype}." if dtype is not None else ".")
            )
        if typed and rng_key.ndim != 0 or not typed and np.shape(rng_key) != (2,):
            raise ValueError(
                "`rng_key` must be a single PRNG key (jax.random.key(seed)); got "
                f"shape {np.shape(rng_key)}."
            )
        self._key_impl = str(jr.key_impl(rng_key)) if typed else None
        self._key_template = rng_key
        return rng_key

    # ------------------------------------------------------------ bookkeeping
    def _resolve_chain_method(self):
        if self.chain_method != "parallel":
            return self.chain_method, 1
        if jax.device_count() < self.num_chains:
            warnings.warn(
                f"chain_method='parallel' needs one device per chain, but there are "
                f"{jax.device_count()} devices for {self.num_chains} chains; running "
                "the chains vectorized on one device instead. On CPU, set XLA_FLAGS="
                "--xla_force_host_platform_device_count=N before importing jax.",
                SamplingWarning,
                stacklevel=3,
            )
            return "vectorized", 1
        return "parallel", self.num_chains

    def _problem(self, key, args, kwargs, init_params):
        leaves, treedef = jax.tree.flatten((args, kwargs, init_params))
        sig = (
            treedef,
            tuple(
                (np.shape(x), np.dtype(x.dtype).str) if _is_array(x) else x
                for x in leaves
            ),
        )
        if sig not in self._problems:
            problem = self.sampler.setup(key, args, kwargs, init_params)
            if self.postprocess_fn is not None:
                user = self.postprocess_fn
                problem = problem._replace(postprocess_fn=lambda a, k: user)
            self._problems[sig] = problem
        return self._problems[sig]

    def _program(self, problem, config):
        cache_key = (id(problem), config)
        if cache_key not in self._programs:

            def on_trace():
                self.num_traces += 1

            self._programs[cache_key] = build_program(
                self.sampler, problem, config, on_trace
            )
        return self._programs[cache_key]

    def _dummy_state(self, problem, rng_key, init_z, args, kwargs):
        """NumPy zeros shaped like the chain state (the fresh branch ignores them)."""
        from ._warmup import window_adaptation

        def shape_fn(z, key):
            pot = problem.potential_fn(args, kwargs)
            # only `init` is used, which never calls the kernel
            algo = window_adaptation(
                _no_kernel, pot, dense_mass=bool(self.sampler.dense_mass)
            )
            # the program casts the potential to the position's dtype, so the
            # potential need not be traced here
            dtype = ravel_pytree(z)[0].dtype
            h0 = HMCState(z, jnp.zeros((), dtype), z)
            ws = algo.init(z, 0, self.sampler.step_size, hmc_state=h0)
            h = ws.hmc_state
            data = jr.key_data(key) if self._key_impl is not None else key
            return MCMCState(
                h.position,
                h.potential_energy,
                h.potential_energy_grad,
                ws.adapt_state,
                data,
                h.potential_energy,
            )

        first = jax.tree.map(lambda a: a[0], init_z)
        shapes = jax.eval_shape(shape_fn, first, rng_key)
        return jax.tree.map(
            lambda s: np.zeros((self.num_chains,) + s.shape, s.dtype), shapes
        )

    def _with_chain_axis(self, a):
        a = np.asarray(a)
        if self.num_chains > 1 and a.ndim >= 1 and a.shape[0] == self.num_chains:
            return a
        return np.broadcast_to(a, (self.num_chains,) + a.shape)

    def _chain_state(self, state: MCMCState) -> MCMCState:
        state = _to_numpy(state)
        if np.ndim(state.adapt_state.iteration) == 0:
            return jax.tree.map(lambda a: a[None], state)
        return state

    def _store(self, state, samples, extras):
        self._last_state = state
        self._samples = samples
        self._extra_fields = extras

    def _warn(self, args=(), kwargs=None):
        model = getattr(self.sampler, "model", None)
        warn_after_run(
            self._samples,
            self._extra_fields,
            self._latent_sites,
            self._num_kept,
            lambda: periodic_sites(model, args, kwargs or {}),
        )

    # ---------------------------------------------------------------- results
    @property
    def last_state(self):
        """State after the last run (no chain axis when `num_chains == 1`)."""
        if self._last_state is None:
            return None
        if self.num_chains == 1:
            return jax.tree.map(lambda a: a[0], self._last_state)
        return self._last_state

    def transfer_states_to_host(self):
        """NumPyro's memory saver; a no-op here: states are host NumPy arrays."""
        return None

    def get_samples(self, group_by_chain: bool = False):
        """Draws per site, shaped `(chains, draws, ...)` or `(chains*draws, ...)`."""
        return _group(self._samples, group_by_chain)

    def get_extra_fields(self, group_by_chain: bool = False):
        """Per-draw fields: always `diverging` and `energy`, plus those requested."""
        return _group(self._extra_fields, group_by_chain)

    def print_summary(self, prob: float = 0.89, exclude_deterministic: bool = True):
        """Print mean, sd, quantiles, n_eff and r_hat per site, and divergences.

        The quantiles bound the central `prob` interval: 5.5% and 94.5% by
        default, as `diagnostics.print_summary` (NumPyro's default is 0.9).
        With `exclude_deterministic` (the default, as in NumPyro) only sample
        sites are listed, not `deterministic` ones.
        """
        from .. import diagnostics

        samples = self.get_samples(group_by_chain=True)
        if exclude_deterministic and isinstance(samples, dict) and self._latent_sites:
            samples = {k: v for k, v in samples.items() if k in self._latent_sites}
        diagnostics.print_summary(
            samples,
            prob=prob,
            group_by_chain=True,
            divergences=self._extra_fields["diverging"],
        )

    def save(self, path):
        """Write samples, extra fields and the full sampler state to `.npz`."""
        from ._mcmc_io import save

        save(self, path)

    def load(self, path):
        """Restore what `save` wrote; `run` then continues from the saved state."""
        from ._mcmc_io import load

        load(self, path)
        return self


def _no_kernel(*args):
    raise AssertionError("unreachable: shape inference only initialises")


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _to_numpy(tree):
    return jax.tree.map(np.asarray, tree)


def _is_array(x) -> bool:
    return isinstance(x, jax.Array | np.ndarray | np.generic)


def _group(tree, group_by_chain):
    if tree is None:
        raise RuntimeError("No samples yet: call `run` first.")
    if group_by_chain:
        return tree
    return jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), tree)


def _num_elements(tree) -> int:
    return sum(int(np.size(x)) for x in jax.tree.leaves(tree) if _is_array(x))
