r"""The No-U-Turn Sampler, built iteratively so that it compiles to two loops.

Recursive tree doubling (Hoffman & Gelman 2014) cannot be traced by XLA. As in
NumPyro (Phan et al. 2019) the trajectory is grown by one `while_loop` over
doublings; each doubling runs an inner `while_loop` over the $2^j$ leapfrog
steps of the new subtree. The U-turn checks of every balanced sub-subtree are
made incrementally: when leaf $n$ of the subtree is added, the sub-subtrees
ending at $n$ are exactly those whose left boundaries are the leaves indexed
by the trailing one-bits of $n$, so it suffices to keep a store of at most
`max_tree_depth` checkpoints. A checkpoint holds the boundary leaf's velocity
and its momentum offset (see `_Checkpoints`), so each leaf computes its own
velocity once (shared with its kinetic energy) and checks every active
sub-subtree with two `max_tree_depth x d` matrix-vector products, masked to
the active slots; this is cheaper on CPU than a third nested loop.

The proposal is drawn by multinomial sampling: uniform progressive sampling
inside a subtree and biased progressive sampling when the subtree is merged
into the trajectory (Betancourt 2017, appendix A.3). The generalised U-turn
criterion compares velocities at both ends with
$\rho - (p_\text{left} + p_\text{right}) / 2$, $\rho$ the momentum sum.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._hmc import HMCState, SamplingAlgorithm, _bind, energy_error, flat_problem
from ._integrators import IntegratorState, euclidean_metric, velocity_verlet


class NUTSInfo(NamedTuple):
    """Diagnostics of one NUTS transition.

    `accept_prob` is the mean Metropolis acceptance over the trajectory (the
    statistic the step size adaptation targets), `num_steps` the number of
    leapfrog steps (= gradient evaluations), `energy` the Hamiltonian at the
    returned state.
    """

    accept_prob: jax.Array
    num_steps: jax.Array
    diverging: jax.Array
    energy: jax.Array
    tree_depth: jax.Array


class _Proposal(NamedTuple):
    position: jax.Array
    potential_energy: jax.Array
    potential_energy_grad: jax.Array


class _Tree(NamedTuple):
    left: IntegratorState
    right: IntegratorState
    proposal: _Proposal
    proposal_energy: jax.Array
    log_weight: jax.Array
    momentum_sum: jax.Array
    depth: jax.Array
    turning: jax.Array
    diverging: jax.Array
    sum_accept_prob: jax.Array
    num_steps: jax.Array


class _Subtree(NamedTuple):
    edge: IntegratorState  # the last leaf: the subtree's moving end
    proposal: _Proposal
    proposal_energy: jax.Array
    log_weight: jax.Array
    momentum_sum: jax.Array
    turning: jax.Array
    diverging: jax.Array
    sum_accept_prob: jax.Array
    num_steps: jax.Array
    ckpts: Any


def _select(pred, a, b):
    return jax.tree.map(lambda u, v: jnp.where(pred, u, v), a, b)


def _hash_uniform(seed, counter, dtype):
    """Uniform in (0, 1) from a 32-bit integer hash of `(seed, counter)`.

    One threefry call site costs ~0.1 s of XLA compile time; the per-leaf
    progressive-sampling draws instead hash a per-subtree seed from a single
    threefry block with the leaf index (the `lowbias32` finaliser, full
    avalanche), which compiles to a handful of integer ops.
    """
    x = seed + counter.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    x = x ^ (x >> 16)
    return _uniform(x, dtype)


def _uniform(words, dtype):
    """Uniform in (0, 1), never 0 or 1, from the top 23 bits of uint32 words.

    The $2^{23}$ midpoints $(k + 1/2) 2^{-23}$ are exact in float32 and
    symmetric about 1/2 (with 24 bits the top half rounds, and the largest
    word gave exactly 1.0, hence an infinite momentum).
    """
    return ((words >> 9).astype(dtype) + 0.5) * (2.0**-23)


def _normal(words, dtype):
    """Standard normals from uint32 words by inversion (as `jax.random.normal`).

    With 23-bit uniforms the tails are cut at |z| < 5.3, a probability of 1e-7
    per draw: harmless for a momentum refresh.
    """
    return jnp.sqrt(jnp.asarray(2.0, dtype)) * jax.lax.erf_inv(
        2 * _uniform(words, dtype) - 1
    )


def _ckpt_range(n):
    """Store slots of the sub-subtrees that end at leaf `n` (NumPyro's scheme)."""
    n = n.astype(jnp.int32)
    idx_max = jax.lax.population_count(n >> 1)
    trailing_ones = jax.lax.population_count((~n & (n + 1)) - 1)
    return idx_max - trailing_ones + 1, idx_max


class _Checkpoints(NamedTuple):
    r"""Per store slot: velocity $v_c$, offset $p_c/2 - \Sigma_c$, $v_c \cdot$ offset.

    With $\Sigma$ the running momentum sum (inclusive), the generalised U-turn
    vector of the sub-subtree from checkpoint leaf $c$ to the new leaf $n$ is
    $\rho = (\Sigma_n - p_n/2) + (p_c/2 - \Sigma_c)$, so both of its dot
    products need only the new leaf's vectors and what was stored at $c$.
    """

    velocity: jax.Array
    offset: jax.Array
    left_dot: jax.Array


class _UTurnChecks(NamedTuple):
    empty: _Checkpoints
    update: Callable


def _uturn_checks(max_tree_depth: int, dim: int, dtype) -> _UTurnChecks:
    """The checkpoint store and its per-leaf update-and-check (Phan et al. 2019).

    Checkpoints are written at even leaves into slot `hi` of `_ckpt_range`;
    at odd leaf $n$ the sub-subtrees ending at $n$ start at the leaves stored
    in slots `lo..hi`. Slots outside that range hold stale values and are
    never read, so the store needs no reset between subtrees.
    """
    depth = max_tree_depth
    empty = _Checkpoints(
        jnp.zeros((depth, dim), dtype),
        jnp.zeros((depth, dim), dtype),
        jnp.zeros((depth,), dtype),
    )

    def update(ck: _Checkpoints, n, p, v, p_sum):
        lo, hi = _ckpt_range(n)
        slot = jnp.where(n % 2 == 0, hi, depth)  # odd leaves write nowhere
        offset = 0.5 * p - p_sum
        ck = _Checkpoints(
            ck.velocity.at[slot].set(v, mode="drop"),
            ck.offset.at[slot].set(offset, mode="drop"),
            ck.left_dot.at[slot].set(jnp.dot(v, offset), mode="drop"),
        )
        base = p_sum - 0.5 * p
        v_base = jnp.dot(v, base)
        # one masked pass over all slots: two small matrix-vector products
        # beat a loop over the (usually 1-3) active slots even at d = 500
        left = ck.velocity @ base + ck.left_dot
        right = v_base + ck.offset @ v
        slots = jnp.arange(depth)
        active = (slots >= lo) & (slots <= hi)
        return ck, jnp.any(active & ((left <= 0) | (right <= 0)))

    return _UTurnChecks(empty, update)


def check_max_tree_depth(depth) -> tuple[int, int]:
    """`(warmup_depth, sampling_depth)`; raise unless ints in [1, 30].

    `depth` is an int, or NumPyro's pair `(warmup_depth, sampling_depth)`.
    """
    pair = tuple(depth) if isinstance(depth, tuple | list) else (depth, depth)
    if len(pair) != 2 or not all(
        isinstance(d, int | np.integer) and not isinstance(d, bool) and 1 <= d <= 30
        for d in pair
    ):
        raise ValueError(
            "`max_tree_depth` must be an int in [1, 30], or a pair of them "
            f"(warmup depth, sampling depth); got {depth!r}."
        )
    return int(pair[0]), int(pair[1])


def build_nuts_kernel(
    potential_fn: Callable,
    max_tree_depth: int | tuple[int, int] = 10,
    integrator: Callable = velocity_verlet,
    max_delta_energy: float = 1000.0,
) -> Callable:
    r"""NUTS `kernel(key, state, step_size, inverse_mass_matrix, trial, warmup)`.

    With `trial=True` (a traced bool) the trajectory stops after one leapfrog
    step, so `info.accept_prob` is that step's $\min(1, e^{-\Delta H})$: the
    step-size search of the warmup then shares the transition's code (one
    copy of the model's gradient in the compiled program, not two).

    `max_tree_depth` is an int or, as in NumPyro, a pair `(warmup_depth,
    sampling_depth)`: the trajectory is then limited by the first while
    `warmup` (a traced bool, passed by `window_adaptation`) is true. The
    U-turn store is sized for the larger, so one compiled kernel serves both.

    References:
        Hoffman & Gelman, "The No-U-Turn Sampler", JMLR 15 (2014),
        arXiv:1111.4246. Betancourt, "A Conceptual Introduction to Hamiltonian
        Monte Carlo" (2017), arXiv:1701.02434. Phan, Pradhan & Jankowiak,
        "Composable Effects for Flexible and Accelerated Probabilistic
        Programming in NumPyro" (2019), arXiv:1912.11554.
    """
    warmup_depth, sampling_depth = check_max_tree_depth(max_tree_depth)
    max_tree_depth = max(warmup_depth, sampling_depth)

    def kernel(
        key, state: HMCState, step_size, inverse_mass_matrix, trial=False, warmup=False
    ):
        # one threefry block per transition: the momentum's normals, then
        # three words per doubling (direction, subtree seed, merge decision)
        dim = sum(math.prod(jnp.shape(x)) for x in jax.tree.leaves(state.position))
        words = jr.bits(key, (dim + 3 * max_tree_depth,), jnp.uint32)
        bits = words[dim:]
        metric = euclidean_metric(jnp.asarray(inverse_mass_matrix))
        problem = flat_problem(
            potential_fn,
            state,
            lambda x: metric.momentum_from_noise(_normal(words[:dim], x.dtype)),
        )
        start = problem.start
        dtype = start.position.dtype
        eps = jnp.asarray(step_size, dtype)
        energy0 = start.potential_energy + metric.kinetic_energy(start.momentum)
        checks = _uturn_checks(max_tree_depth, dim, dtype)

        def is_turning(v_left, v_right, p_left, p_right, p_sum):
            rho = p_sum - 0.5 * (p_left + p_right)
            return (jnp.dot(v_left, rho) <= 0) | (jnp.dot(v_right, rho) <= 0)

        def build_subtree(tree: _Tree, going_right, seed):
            """Extend `tree` by 2**depth leaves on one side; returns the subtree.

            Only the moving edge is carried (the trajectory's other end stays
            in `tree`), and the proposal carries no momentum.
            """
            signed_eps = jnp.where(going_right, eps, -eps)
            num_leaves = jnp.left_shift(1, tree.depth)
            init = _Subtree(
                edge=_select(going_right, tree.right, tree.left),
                proposal=tree.proposal,
                proposal_energy=tree.proposal_energy,
                log_weight=jnp.asarray(-jnp.inf, dtype),
                momentum_sum=jnp.zeros_like(start.momentum),
                turning=jnp.asarray(False),
                diverging=jnp.asarray(False),
                sum_accept_prob=jnp.zeros((), dtype),
                num_steps=jnp.int32(0),
                ckpts=checks.empty,
            )

            def cond(sub: _Subtree):
                return (sub.num_steps < num_leaves) & ~sub.turning & ~sub.diverging

            def body(sub: _Subtree):
                n = sub.num_steps
                new = integrator(sub.edge, signed_eps, problem.value_and_grad, metric)
                v_new = metric.velocity(new.momentum)
                energy = new.potential_energy + 0.5 * jnp.dot(new.momentum, v_new)
                delta = energy_error(energy, energy0)
                log_weight = jnp.logaddexp(sub.log_weight, -delta)
                # uniform progressive sampling: the new leaf wins with w_new / W
                take = _hash_uniform(seed, n, dtype) < jnp.exp(-delta - log_weight)
                p_sum = sub.momentum_sum + new.momentum
                ckpts, turning = checks.update(sub.ckpts, n, new.momentum, v_new, p_sum)
                prop = _Proposal(
                    new.position, new.potential_energy, new.potential_energy_grad
                )
                return _Subtree(
                    edge=new,
                    proposal=_select(take, prop, sub.proposal),
                    proposal_energy=jnp.where(take, energy, sub.proposal_energy),
                    log_weight=log_weight,
                    momentum_sum=p_sum,
                    turning=turning,
                    diverging=delta > max_delta_energy,
                    sum_accept_prob=sub.sum_accept_prob
                    + jnp.minimum(1.0, jnp.exp(-delta)),
                    num_steps=n + 1,
                    ckpts=ckpts,
                )

            return jax.lax.while_loop(cond, body, init)

        def double(tree: _Tree):
            # three words of the transition's random block per doubling
            going_right = bits[3 * tree.depth] >= jnp.uint32(2**31)
            sub = build_subtree(tree, going_right, bits[3 * tree.depth + 1])
            # biased progressive sampling: prefer the new half when it is heavier
            accept = jnp.where(
                sub.turning | sub.diverging,
                0.0,
                jnp.minimum(1.0, jnp.exp(sub.log_weight - tree.log_weight)),
            )
            take = (
                _hash_uniform(bits[3 * tree.depth + 2], jnp.uint32(0), dtype) < accept
            )
            left = _select(going_right, tree.left, sub.edge)
            right = _select(going_right, sub.edge, tree.right)
            p_sum = tree.momentum_sum + sub.momentum_sum
            turning = sub.turning | is_turning(
                metric.velocity(left.momentum),
                metric.velocity(right.momentum),
                left.momentum,
                right.momentum,
                p_sum,
            )
            return _Tree(
                left=left,
                right=right,
                proposal=_select(take, sub.proposal, tree.proposal),
                proposal_energy=jnp.where(
                    take, sub.proposal_energy, tree.proposal_energy
                ),
                log_weight=jnp.logaddexp(tree.log_weight, sub.log_weight),
                momentum_sum=p_sum,
                depth=tree.depth + 1,
                turning=turning,
                diverging=sub.diverging,
                sum_accept_prob=tree.sum_accept_prob + sub.sum_accept_prob,
                num_steps=tree.num_steps + sub.num_steps,
            )

        tree = _Tree(
            left=start,
            right=start,
            proposal=_Proposal(
                start.position, start.potential_energy, start.potential_energy_grad
            ),
            proposal_energy=energy0,
            log_weight=jnp.zeros((), dtype),
            momentum_sum=start.momentum,
            depth=jnp.int32(0),
            turning=jnp.asarray(False),
            diverging=jnp.asarray(False),
            sum_accept_prob=jnp.zeros((), dtype),
            num_steps=jnp.int32(0),
        )

        if warmup_depth == sampling_depth:
            max_depth = jnp.where(trial, 1, max_tree_depth)
        else:
            depth = jnp.where(warmup, warmup_depth, sampling_depth)
            max_depth = jnp.where(trial, 1, depth)

        def outer_cond(tree):
            return (tree.depth < max_depth) & ~tree.turning & ~tree.diverging

        tree = jax.lax.while_loop(outer_cond, double, tree)
        prop = tree.proposal
        new_state = HMCState(
            problem.unravel(prop.position),
            prop.potential_energy,
            problem.unravel(prop.potential_energy_grad),
        )
        info = NUTSInfo(
            accept_prob=tree.sum_accept_prob / jnp.maximum(tree.num_steps, 1),
            num_steps=tree.num_steps,
            diverging=tree.diverging,
            energy=tree.proposal_energy,
            tree_depth=tree.depth,
        )
        return new_state, info

    return kernel


def nuts_kernel(
    potential_fn: Callable,
    step_size: float | jax.Array = 1.0,
    inverse_mass_matrix: jax.Array | None = None,
    max_tree_depth: int | tuple[int, int] = 10,
    max_delta_energy: float = 1000.0,
) -> SamplingAlgorithm:
    """NUTS as an `(init, step)` pair with fixed step size and mass matrix.

    Args:
        potential_fn: negative log density of a position pytree (differentiable).
        step_size: leapfrog step size.
        inverse_mass_matrix: vector (diagonal) or matrix over the flattened
            position; identity when None.
        max_tree_depth: at most `2**max_tree_depth - 1` leapfrog steps (an
            int: this kernel has no warmup, so NumPyro's pair form belongs to
            `NUTS` or to `window_adaptation(build_nuts_kernel(...), ...)`).
        max_delta_energy: energy error above which a trajectory is divergent.

    Returns:
        `SamplingAlgorithm(init, step)` with `init(position) -> HMCState` and
        `step(key, state) -> (HMCState, NUTSInfo)`.
    """
    if isinstance(max_tree_depth, tuple | list):
        raise ValueError(
            "`nuts_kernel` has no warmup phase, so `max_tree_depth` must be an "
            f"int; got {max_tree_depth!r}. The pair (warmup depth, sampling depth) "
            "works with `NUTS` and with `window_adaptation(build_nuts_kernel(...))`."
        )
    kernel = build_nuts_kernel(
        potential_fn, max_tree_depth, velocity_verlet, max_delta_energy
    )
    return _bind(kernel, potential_fn, step_size, inverse_mass_matrix)
