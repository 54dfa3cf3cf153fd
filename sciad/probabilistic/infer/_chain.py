"""The compiled per-chain program: initialise, warm up and sample in one loop.

One XLA program serves every call of a run configuration: whether the chain
starts fresh (`fresh=True`: initialise, then warm up) or continues from a
given state, how many warmup iterations remain and how many draws to take are
all *traced* inputs, and the sample buffers are preallocated at their maximum
size. The loop body contains the transition kernel exactly once; warmup
iterations differ only by the adaptation update they apply. Inside the loop
the position is one flat vector (one buffer write per draw); it is unravelled
into the model's sites once, after the loop.
"""

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, PartitionSpec as P

from . import _progress
from ._compiler_options import compiler_options
from ._hmc import HMCState
from ._hoisted_transposes import hoist_data_transposes
from ._init_params import INIT_NOT_FINITE
from ._kernels import AbstractHMCKernel, Problem
from ._keys import derived_key
from ._warmup import WarmupState, WindowAdaptationState, window_adaptation

INFO_FIELDS = ("accept_prob", "num_steps", "diverging", "energy", "tree_depth")
STATE_FIELDS = ("potential_energy", "adapt_state.step_size", "mean_accept_prob", "i")
ALWAYS_COLLECTED = ("diverging", "energy")


class MCMCState(NamedTuple):
    """Full per-chain sampler state (`MCMC.last_state`, `post_warmup_state`).

    `z` is the unconstrained position; `adapt_state` carries the step size, the
    inverse mass matrix and the iteration counter `i`; `rng_key` is the raw key
    data (`jax.random.key_data`) of the chain's key stream, so the whole state
    is plain arrays that can be built, sliced and saved with NumPy.
    `mean_accept_prob` is NumPyro's running mean of the acceptance probability
    over the current phase: warmup iterations while warming up, then all
    sampling iterations so far (it carries over when sampling continues from
    `post_warmup_state`).
    """

    z: Any
    potential_energy: jax.Array
    z_grad: Any
    adapt_state: WindowAdaptationState
    rng_key: jax.Array
    mean_accept_prob: jax.Array

    @property
    def i(self):
        return self.adapt_state.iteration


class ChainConfig(NamedTuple):
    """Static configuration: anything here changing means a new program."""

    buffer_size: int
    thinning: int
    extra_fields: tuple[str, ...]
    storage_dtype: Any
    progress: bool
    given_init: bool
    chain_method: str
    num_devices: int
    num_chains: int
    key_impl: str | None  # None: legacy raw uint32 keys
    big_data: bool  # see `compiler_options`


def build_program(
    kernel: AbstractHMCKernel, problem: Problem, config: ChainConfig, on_trace
):
    """Return `run(chain_inputs, shared, model_args)`.

    `chain_inputs = (init_z, state_in, chain_id)` carry a leading chain axis
    unless `config.chain_method == "sequential"`. `shared = (rng_key, fresh,
    n_warm_left, n_draws, record_start, schedule)` is common to all chains, so
    the loop trip count is the same for every chain (a vmapped loop then has an
    unbatched counter and the progress callback an unbatched predicate); draws
    are recorded from loop iteration `record_start` on (after the warmup and
    the discarded remainder `num_samples % thinning`, or inside the warmup for
    `MCMC.warmup(collect_warmup=True)`), and the loop ends after the warmup or
    after `n_draws` recorded draws, whichever is later;
    `schedule = (windows, num_windows, num_warmup)`. Per-chain keys are split
    from `rng_key` inside the program, so the host does no array work at all.
    """
    if config.key_impl is None:
        wrap = unwrap = _identity
    else:
        unwrap = jr.key_data

        def wrap(data):
            return jr.wrap_key_data(data, impl=config.key_impl)

    mass_mask = kernel.mass_matrix_mask(problem.prototype_z)
    inverse_mass_matrix = kernel.initial_inverse_mass_matrix(problem.prototype_z)

    def adaptation(potential_fn):
        return window_adaptation(
            kernel.build_kernel(potential_fn),
            potential_fn,
            dense_mass=bool(kernel.dense_mass),
            mass_mask=mass_mask,
            adapt_step_size=kernel.adapt_step_size,
            adapt_mass_matrix=kernel.adapt_mass_matrix,
            target_accept_prob=kernel.target_accept_prob,
            regularize_mass_matrix=kernel.regularize_mass_matrix,
            find_heuristic_step_size=kernel.find_heuristic_step_size,
            # the step-size search reuses the transition's kernel call: one
            # copy of the model's gradient in the program instead of two
            inline_search=True,
        )

    def one_chain(chain_inputs, shared, model_args):
        init_z, state_in, chain_id = chain_inputs
        rng_key, fresh, n_warm_left, n_draws, record_start, schedule = shared
        windows, num_windows, n_warm = schedule
        args, kwargs = model_args
        raw_potential = problem.potential_fn(args, kwargs)

        def potential_fn(z):
            # in the position's dtype: a float64 potential of float32 starting
            # points (or the reverse) would change the loop carry's type
            dtype = jnp.result_type(*jax.tree.leaves(z))
            return raw_potential(z).astype(dtype)

        algo = adaptation(potential_fn)

        def start(_):
            key = rng_key
            if config.num_chains > 1:
                key = jr.split(rng_key, config.num_chains)[chain_id]
            # the init draws from a derived key, the chain's stream from `key`
            key_init, key_run = derived_key(key, 1), key
            if config.given_init:
                z, h0 = init_z, None
            else:  # the model's init loop already evaluated potential and grad
                z, pe0, grad0 = problem.init_fn(key_init, args, kwargs)
                h0 = HMCState(z, pe0, grad0)
            schedule = (windows, num_windows)
            ws = algo.init(
                z,
                n_warm,
                kernel.step_size,
                inverse_mass_matrix,
                schedule=schedule,
                hmc_state=h0,
            )
            # in the position's dtype, as the kernel uses it (and as the
            # placeholder state of `MCMC._dummy_state` is typed)
            pe = ws.hmc_state.potential_energy.astype(ravel_pytree(z)[0].dtype)
            finite = [jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(ws.hmc_state)]
            # `MCMC` catches this and names the site (see `_init_params`)
            pe = eqx.error_if(pe, ~jnp.all(jnp.stack(finite)), INIT_NOT_FINITE)
            h = ws.hmc_state
            return MCMCState(
                h.position,
                pe,
                h.potential_energy_grad,
                ws.adapt_state,
                unwrap(key_run),
                jnp.zeros((), pe.dtype),
            )

        state = jax.lax.cond(fresh, start, lambda _: state_in, None)
        # the loop carries the position as one flat vector: the kernel would
        # ravel and unravel the pytree at every transition, and every site
        # would cost its own buffer write (separate small ops, which on a
        # 10-d model are as costly as the gradients)
        x0, unravel = ravel_pytree(state.z)
        g0, _ = ravel_pytree(state.z_grad)
        state = state._replace(z=x0, z_grad=g0)

        def flat_potential(x):
            return potential_fn(unravel(x))

        # here, outside the loop: data transposes are formed once per run
        # (for reverse mode: forward mode never transposes the data)
        if not kernel.forward_mode_differentiation:
            flat_potential = hoist_data_transposes(flat_potential, x0)
        flat_algo = adaptation(flat_potential)
        n_total = jnp.maximum(n_warm_left, record_start + n_draws * config.thinning)
        size = config.buffer_size
        z_buf = jnp.zeros((size,) + x0.shape, x0.dtype)
        fields = tuple(dict.fromkeys(ALWAYS_COLLECTED + config.extra_fields))
        dtype = state.potential_energy.dtype
        ex_buf = {f: jnp.zeros((size,), _field_dtype(f, dtype)) for f in fields}
        every = jnp.maximum(n_total // _progress.NUM_UPDATES, 1)

        def body(j, carry):
            state, z_buf, ex_buf, ndiv = carry
            key, sub = jr.split(wrap(state.rng_key))
            ws = WarmupState(
                HMCState(state.z, state.potential_energy, state.z_grad),
                state.adapt_state,
            )
            ws, info = flat_algo.step(sub, ws)
            h = ws.hmc_state
            i, n_warm = ws.adapt_state.iteration, ws.adapt_state.num_warmup
            n = jnp.where(i > n_warm, i - n_warm, i).astype(dtype)
            mean_acc = state.mean_accept_prob
            mean_acc = mean_acc + (info.accept_prob.astype(dtype) - mean_acc) / n
            new = MCMCState(
                h.position,
                h.potential_energy,
                h.potential_energy_grad,
                ws.adapt_state,
                unwrap(key),
                mean_acc,
            )
            s = j - record_start
            idx = jnp.where(
                (s >= 0) & ((s + 1) % config.thinning == 0), s // config.thinning, size
            )
            z_buf = z_buf.at[idx].set(h.position, mode="drop")
            ex_buf = {
                f: b.at[idx].set(_extract(f, info, new).astype(b.dtype), mode="drop")
                for f, b in ex_buf.items()
            }
            ndiv = ndiv + info.diverging.astype(jnp.int32)
            if config.progress:
                due = ((j + 1) % every == 0) | (j + 1 == n_total)
                jax.lax.cond(
                    due,
                    lambda: jax.debug.callback(
                        _progress.update,
                        j,
                        n_total,
                        n_warm_left,
                        new.adapt_state.step_size,
                        ndiv,
                        chain_id,
                    ),
                    lambda: None,
                )
            return new, z_buf, ex_buf, ndiv

        state, z_buf, ex_buf, _ = jax.lax.fori_loop(
            0, n_total, body, (state, z_buf, ex_buf, jnp.int32(0))
        )
        state = state._replace(z=unravel(state.z), z_grad=unravel(state.z_grad))
        z_buf = jax.vmap(unravel)(z_buf)
        if problem.postprocess_fn is not None:
            samples = jax.vmap(problem.postprocess_fn(args, kwargs))(z_buf)
        else:
            samples = z_buf
        if config.storage_dtype is not None:
            samples = jax.tree.map(
                lambda a: (
                    a.astype(config.storage_dtype)
                    if jnp.issubdtype(a.dtype, jnp.floating)
                    else a
                ),
                samples,
            )
        return state, samples, ex_buf

    def run(chain_inputs, shared, model_args):
        on_trace()
        if config.chain_method == "sequential":
            return one_chain(chain_inputs, shared, model_args)
        batched = jax.vmap(one_chain, in_axes=(0, None, None))
        if config.chain_method == "vectorized":
            return batched(chain_inputs, shared, model_args)
        mesh = Mesh(jax.devices()[: config.num_devices], ("chains",))
        dyn, static = eqx.partition(model_args, eqx.is_array)

        def sharded(chain_inputs, shared, dyn):
            return batched(chain_inputs, shared, eqx.combine(dyn, static))

        return jax.shard_map(
            sharded,
            mesh=mesh,
            in_specs=(P("chains"), P(), P()),
            out_specs=P("chains"),
            # equinox's runtime checks (error_if) are not varying-axis aware
            check_vma=False,
        )(chain_inputs, shared, dyn)

    return eqx.filter_jit(run, compiler_options=compiler_options(config.big_data))


def _identity(x):
    return x


def _field_dtype(name, float_dtype):
    if name == "diverging":
        return jnp.bool_
    if name in ("num_steps", "tree_depth", "i"):
        return jnp.int32
    return float_dtype


def _extract(name: str, info, state: MCMCState):
    if name in INFO_FIELDS:
        return jnp.asarray(getattr(info, name))
    if name == "potential_energy":
        return state.potential_energy
    if name in ("adapt_state.step_size", "step_size"):
        return state.adapt_state.step_size
    if name == "mean_accept_prob":
        return state.mean_accept_prob
    if name == "i":
        return state.adapt_state.iteration
    raise ValueError(
        f"Unknown extra field {name!r}; choose from {INFO_FIELDS + STATE_FIELDS}."
    )


def check_extra_fields(extra_fields) -> tuple[str, ...]:
    fields = tuple(extra_fields)
    allowed = INFO_FIELDS + STATE_FIELDS + ("step_size",)
    for f in fields:
        if f not in allowed:
            raise ValueError(f"Unknown extra field {f!r}; choose from {allowed}.")
    return fields
