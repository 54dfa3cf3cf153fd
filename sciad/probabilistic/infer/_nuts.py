r"""The No-U-Turn Sampler, built iteratively so that it compiles to two loops.

Recursive tree doubling (Hoffman & Gelman 2014) cannot be traced by XLA. As in
NumPyro (Phan et al. 2019) the trajectory is grown by one `while_loop` over
doublings; each doubling runs an inner `while_loop` over the $2^j$ leapfrog
steps of the new subtree. The U-turn checks of every balanced sub-subtree are
made incrementally: when leaf $n$ of the subtree is added, the sub-subtrees
ending at $n$ are exactly those whose left boundaries are the leaves indexed
by the trailing one-bits of $n$, so it suffices to keep a store of at most
`max_tree_depth` boundary momenta and momentum partial sums (checkpoints). All
checks against the store are made at once with a masked vector operation,
which is cheaper on CPU than a third nested loop.

The proposal is drawn by multinomial sampling: uniform progressive sampling
inside a subtree and biased progressive sampling when the subtree is merged
into the trajectory (Betancourt 2017, appendix A.3). The generalised U-turn
criterion compares velocities at both ends with
$\rho - (p_\text{left} + p_\text{right}) / 2$, $\rho$ the momentum sum.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr

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


class _Tree(NamedTuple):
    left: IntegratorState
    right: IntegratorState
    proposal: IntegratorState
    proposal_energy: jax.Array
    log_weight: jax.Array
    momentum_sum: jax.Array
    depth: jax.Array
    turning: jax.Array
    diverging: jax.Array
    sum_accept_prob: jax.Array
    num_steps: jax.Array


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
    return ((x >> 8).astype(dtype) + 0.5) * (2.0**-24)


def _ckpt_range(n):
    """Store slots of the sub-subtrees that end at leaf `n` (NumPyro's scheme)."""
    n = n.astype(jnp.int32)
    idx_max = jax.lax.population_count(n >> 1)
    trailing_ones = jax.lax.population_count((~n & (n + 1)) - 1)
    return idx_max - trailing_ones + 1, idx_max


def build_nuts_kernel(
    potential_fn: Callable,
    max_tree_depth: int = 10,
    integrator: Callable = velocity_verlet,
    max_delta_energy: float = 1000.0,
) -> Callable:
    r"""NUTS transition `kernel(key, state, step_size, inverse_mass_matrix)`.

    References:
        Hoffman & Gelman, "The No-U-Turn Sampler", JMLR 15 (2014),
        arXiv:1111.4246. Betancourt, "A Conceptual Introduction to Hamiltonian
        Monte Carlo" (2017), arXiv:1701.02434. Phan, Pradhan & Jankowiak,
        "Composable Effects for Flexible and Accelerated Probabilistic
        Programming in NumPyro" (2019), arXiv:1912.11554.
    """
    if not isinstance(max_tree_depth, int) or not 1 <= max_tree_depth <= 30:
        raise ValueError(
            f"`max_tree_depth` must be an int in [1, 30]; got {max_tree_depth!r}."
        )

    def kernel(key, state: HMCState, step_size, inverse_mass_matrix):
        key_momentum, key_tree = jr.split(key)
        metric = euclidean_metric(jnp.asarray(inverse_mass_matrix))
        problem = flat_problem(
            potential_fn,
            state,
            lambda x: metric.momentum_from_noise(
                jr.normal(key_momentum, x.shape, x.dtype)
            ),
        )
        start = problem.start
        dtype = start.position.dtype
        eps = jnp.asarray(step_size, dtype)
        energy0 = start.potential_energy + metric.kinetic_energy(start.momentum)
        dim = start.position.shape[0]

        def leaf(s: IntegratorState, signed_eps):
            new = integrator(s, signed_eps, problem.value_and_grad, metric)
            energy = new.potential_energy + metric.kinetic_energy(new.momentum)
            return new, energy, energy_error(energy, energy0)

        def is_turning(v_left, v_right, p_left, p_right, p_sum):
            rho = p_sum - 0.5 * (p_left + p_right)
            return (jnp.dot(v_left, rho) <= 0) | (jnp.dot(v_right, rho) <= 0)

        def build_subtree(tree: _Tree, going_right, seed):
            """Extend `tree` by 2**depth leaves on one side; returns the subtree."""
            signed_eps = jnp.where(going_right, eps, -eps)
            edge = _select(going_right, tree.right, tree.left)
            num_leaves = jnp.left_shift(1, tree.depth)
            zeros = jnp.zeros((max_tree_depth, dim), dtype)
            sub = tree._replace(
                left=edge,
                right=edge,
                log_weight=jnp.asarray(-jnp.inf, dtype),
                momentum_sum=jnp.zeros_like(start.momentum),
                turning=jnp.asarray(False),
                diverging=jnp.asarray(False),
                sum_accept_prob=jnp.zeros((), dtype),
                num_steps=jnp.int32(0),
            )

            def cond(carry):
                sub, _, _ = carry
                return (sub.num_steps < num_leaves) & ~sub.turning & ~sub.diverging

            def body(carry):
                sub, p_ckpts, psum_ckpts = carry
                n = sub.num_steps
                new, energy, delta = leaf(
                    _select(going_right, sub.right, sub.left), signed_eps
                )
                log_weight = jnp.logaddexp(sub.log_weight, -delta)
                # uniform progressive sampling: the new leaf wins with w_new / W
                take = _hash_uniform(seed, n, dtype) < jnp.exp(-delta - log_weight)
                p_sum = sub.momentum_sum + new.momentum
                lo, hi = _ckpt_range(n)
                # checkpoints are taken at even leaves; odd leaves write nowhere
                slot = jnp.where(n % 2 == 0, hi, max_tree_depth)
                p_ckpts = p_ckpts.at[slot].set(new.momentum, mode="drop")
                psum_ckpts = psum_ckpts.at[slot].set(p_sum, mode="drop")
                slots = jnp.arange(max_tree_depth)
                active = (slots >= lo) & (slots <= hi)
                # generalised criterion for every sub-subtree (slot i .. leaf n)
                rho = p_sum - psum_ckpts + 0.5 * (p_ckpts - new.momentum)
                v_ckpts = jax.vmap(metric.velocity)(p_ckpts)
                v_new = metric.velocity(new.momentum)
                turn = (jnp.sum(v_ckpts * rho, axis=-1) <= 0) | (rho @ v_new <= 0)
                sub = sub._replace(
                    left=_select(going_right, sub.left, new),
                    right=_select(going_right, new, sub.right),
                    proposal=_select(take, new, sub.proposal),
                    proposal_energy=jnp.where(take, energy, sub.proposal_energy),
                    log_weight=log_weight,
                    momentum_sum=p_sum,
                    turning=jnp.any(active & turn),
                    diverging=delta > max_delta_energy,
                    sum_accept_prob=sub.sum_accept_prob
                    + jnp.minimum(1.0, jnp.exp(-delta)),
                    num_steps=n + 1,
                )
                return sub, p_ckpts, psum_ckpts

            sub, _, _ = jax.lax.while_loop(cond, body, (sub, zeros, zeros))
            return sub

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
            left = _select(going_right, tree.left, sub.left)
            right = _select(going_right, sub.right, tree.right)
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
            proposal=start,
            proposal_energy=energy0,
            log_weight=jnp.zeros((), dtype),
            momentum_sum=start.momentum,
            depth=jnp.int32(0),
            turning=jnp.asarray(False),
            diverging=jnp.asarray(False),
            sum_accept_prob=jnp.zeros((), dtype),
            num_steps=jnp.int32(0),
        )

        def outer_cond(tree):
            return (tree.depth < max_tree_depth) & ~tree.turning & ~tree.diverging

        bits = jr.bits(key_tree, (3 * max_tree_depth,), jnp.uint32)
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
    max_tree_depth: int = 10,
    max_delta_energy: float = 1000.0,
) -> SamplingAlgorithm:
    """NUTS as an `(init, step)` pair with fixed step size and mass matrix.

    Args:
        potential_fn: negative log density of a position pytree (differentiable).
        step_size: leapfrog step size.
        inverse_mass_matrix: vector (diagonal) or matrix over the flattened
            position; identity when None.
        max_tree_depth: at most `2**max_tree_depth - 1` leapfrog steps.
        max_delta_energy: energy error above which a trajectory is divergent.

    Returns:
        `SamplingAlgorithm(init, step)` with `init(position) -> HMCState` and
        `step(key, state) -> (HMCState, NUTSInfo)`.
    """
    kernel = build_nuts_kernel(
        potential_fn, max_tree_depth, velocity_verlet, max_delta_energy
    )
    return _bind(kernel, potential_fn, step_size, inverse_mass_matrix)
