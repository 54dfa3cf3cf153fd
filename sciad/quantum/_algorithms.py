"""Variational drivers: VQE on optax, QAOA for MaxCut, a device-sharded batch map."""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, PyTree

from ._circuit import Circuit
from ._hamiltonians import maxcut
from ._measure import expectation


class VQEResult(NamedTuple):
    """Final parameters, final energy and the energy at every step."""

    params: PyTree
    energy: Float[Array, ""]
    history: Float[Array, " steps"]


def vqe(
    energy_fn: Callable,
    params0: PyTree,
    *,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 200,
) -> VQEResult:
    r"""Variational quantum eigensolver: minimise ``energy_fn(params)`` with optax.

    ``energy_fn`` typically builds a `Circuit` from ``params`` and returns
    `expectation` of a Hamiltonian; its minimum upper-bounds the ground energy
    (Peruzzo et al. 2014). The whole optimisation is one jitted `lax.scan` (this
    is a driver, so it jits), with gradients by whatever ``diff_method`` the
    energy function uses.

    Args:
        energy_fn: ``params -> scalar`` energy.
        params0: initial parameters (any pytree of float arrays).
        optimizer: an optax transformation; default ``optax.adam(0.05)``.
        steps: number of optimiser steps.

    References:
        Peruzzo, A. et al. (2014). A variational eigenvalue solver on a photonic
        quantum processor. Nat. Commun. 5, 4213. arXiv:1304.3061.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"vqe: `steps` must be a positive int; got {steps!r}.")
    opt = optax.adam(0.05) if optimizer is None else optimizer

    @jax.jit
    def run(params):
        def step(carry, _):
            p, s = carry
            e, g = jax.value_and_grad(energy_fn)(p)
            upd, s = opt.update(g, s, p)
            return (optax.apply_updates(p, upd), s), e

        (p, _), hist = jax.lax.scan(step, (params, opt.init(params)), None, steps)
        return p, energy_fn(p), hist

    p, e, hist = run(params0)
    return VQEResult(p, e, hist)


def qaoa_circuit(edges, n_qubits: int, gammas, betas) -> Circuit:
    r"""QAOA state for MaxCut.

    $\prod_l e^{-i\beta_l\sum X}e^{-i\gamma_l C}|+\rangle^{\otimes n}$.

    The cost layer $e^{-i\gamma C}$ with $C = \sum_{(a,b)}\tfrac12(1-Z_aZ_b)$ is,
    up to a global phase, ``rzz(a, b, -γ)`` on every edge; the mixer is
    ``rx(w, 2β)`` on every wire (Farhi et al. 2014).

    References:
        Farhi, E., Goldstone, J. & Gutmann, S. (2014). A quantum approximate
        optimization algorithm. arXiv:1411.4028.
    """
    gammas, betas = jnp.asarray(gammas), jnp.asarray(betas)
    if gammas.ndim != 1 or gammas.shape != betas.shape:
        raise ValueError(
            "qaoa: `gammas` and `betas` must be 1-D of equal length; got shapes "
            f"{gammas.shape} and {betas.shape}."
        )
    c = Circuit(n_qubits)
    for w in range(n_qubits):
        c.h(w)
    for layer in range(gammas.shape[0]):
        for a, b in edges:
            c.rzz(a, b, -gammas[layer])
        for w in range(n_qubits):
            c.rx(w, 2 * betas[layer])
    return c


def qaoa_maxcut(
    edges,
    n_qubits: int,
    gammas: Float[ArrayLike, " p"],
    betas: Float[ArrayLike, " p"],
    *,
    diff_method: str = "best",
) -> Float[Array, ""]:
    """Expected cut size $\\langle C\\rangle$ of the depth-p QAOA state (maximise it).

    Differentiable in ``gammas`` and ``betas``.
    """
    circ = qaoa_circuit(edges, n_qubits, gammas, betas)
    return expectation(circ, maxcut(edges), diff_method=diff_method)


def sharded_map(fn: Callable, batch: PyTree, *, devices: list | None = None) -> PyTree:
    """``vmap(fn)`` over the leading axis of ``batch``, split across ``devices``.

    The batch is padded to a multiple of the device count (by repeating the last
    element), laid out with a `NamedSharding` over a 1-D ``"batch"`` mesh and
    evaluated by one jitted ``vmap``: each device simulates its share of the
    circuits. Results equal the single-device ``vmap`` (same programs, same
    inputs). Default ``devices``: all of ``jax.devices()``.
    """
    devices = list(jax.devices() if devices is None else devices)
    leaves = jax.tree_util.tree_leaves(batch)
    if not leaves:
        raise ValueError("sharded_map: `batch` has no array leaves.")
    size = jnp.shape(leaves[0])[0]
    if any(jnp.shape(x)[:1] != (size,) for x in leaves):
        raise ValueError(
            "sharded_map: all leaves of `batch` need the same leading size."
        )
    pad = (-size) % len(devices)
    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    spec = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))

    def prep(x):
        x = jnp.asarray(x)
        if pad:
            x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)])
        return jax.device_put(x, spec)

    out = jax.jit(jax.vmap(fn))(jax.tree_util.tree_map(prep, batch))
    return jax.tree_util.tree_map(lambda y: y[:size], out)
