"""Statevector kernels: a gate on the *leading* qubits, fused with a qubit permutation.

The flat ``(2**n,)`` state is stored in a *layout*: a permutation of the wires,
the first one being the most significant bit of the array index. Every kernel
applies its ``(2**k, 2**k)`` matrix (or diagonal) to the ``k`` leading qubits of
the layout -- ``state.reshape(2**k, -1)`` is free and its rows are contiguous
streams -- and writes its output directly in the layout the *next* gate wants,
with that gate's wires leading. The permutation costs nothing extra: the output
blocks are stacked along the new axis positions inside the same XLA loop
fusion, so a gate is still a single streaming pass over the state.

Why: a kernel no longer depends on *which* wires it acts on, only on the
relative permutation (`Step.out_pos`). In a layered circuit (a ring or ladder
of two-qubit gates) every gate becomes the same kernel "matrix on the two
leading qubits, then rotate the layout by one", so a whole circuit is one
`lax.scan` over a stack of small matrices and the compiled program size is
independent of both the qubit count and the depth. (``einsum`` over arbitrary
axes of a ``(2,)*n`` tensor instead makes XLA transpose the whole state, several
times slower.)
"""

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np


class Step(NamedTuple):
    """Static signature of one kernel application.

    ``out_pos[j]`` is the input-layout position of the qubit placed at output
    position ``j``; input positions ``0..k-1`` are the gate's qubits.
    """

    kind: str  # "dense" (2**k, 2**k) matrix or "diag" (2**k,) diagonal
    k: int
    out_pos: tuple[int, ...]
    grad: bool  # whether the adjoint pass needs this gate's cotangent


class _Geometry(NamedTuple):
    out_shape: tuple[int, ...]  # output layout grouped into axes
    op_axes: tuple[tuple[int, int], ...]  # (axis, gate qubit), ascending axis
    rest_in: tuple[int, ...]  # sizes of the non-gate axis groups, input order
    to_out: tuple[int, ...] | None  # their transposition into output order


@functools.lru_cache(maxsize=512)
def _geometry(k: int, out_pos: tuple[int, ...]) -> _Geometry:
    segs = []  # ("op", t) or [start, length] of a run of consecutive rest qubits
    for p in out_pos:
        if p < k:
            segs.append(("op", p))
        elif segs and segs[-1][0] != "op" and segs[-1][0] + segs[-1][1] == p:
            segs[-1][1] += 1
        else:
            segs.append([p, 1])
    shape = tuple(2 if s[0] == "op" else 2 ** s[1] for s in segs)
    op_axes = tuple((a, s[1]) for a, s in enumerate(segs) if s[0] == "op")
    rest = [s for s in segs if s[0] != "op"]
    by_start = sorted(range(len(rest)), key=lambda i: rest[i][0])
    rest_in = tuple(2 ** rest[i][1] for i in by_start)
    # axis order of the output's rest groups, in terms of input-order groups
    to_out = tuple(by_start.index(i) for i in range(len(rest)))
    to_out = None if to_out == tuple(range(len(rest))) else to_out
    return _Geometry(shape, op_axes, rest_in, to_out)


def _combine(step: Step, mat, blocks, dagger: bool):
    """``out_i = sum_j U_ij b_j`` (``U^dagger`` with ``dagger``), unrolled."""
    if step.kind == "diag":
        d = jnp.conj(mat) if dagger else mat
        return [d[i] * b for i, b in enumerate(blocks)]
    u = jnp.conj(mat.T) if dagger else mat
    dim = len(blocks)
    return [sum(u[i, j] * blocks[j] for j in range(dim)) for i in range(dim)]


def apply(step: Step, mat, state):
    """Apply ``mat`` to the leading ``k`` qubits and permute to the output layout."""
    geo = _geometry(step.k, step.out_pos)
    x = state.reshape(2**step.k, -1)
    outs = _combine(step, mat, [x[i] for i in range(2**step.k)], dagger=False)
    outs = [o.reshape(geo.rest_in) for o in outs]
    if geo.to_out is not None:
        outs = [jnp.transpose(o, geo.to_out) for o in outs]
    # insert the gate axes innermost first, each at its final index counted from
    # the end (every axis after it already exists); stacking the minor axis
    # first is what lets XLA emit one streaming loop (2-3x faster than
    # outermost first, measured)
    keyed = dict(zip(np.ndindex(*(2,) * step.k), outs, strict=True))
    rank = len(geo.out_shape)
    for axis, t in reversed(geo.op_axes):
        axis -= rank
        pairs = {}
        for bits, o in keyed.items():
            # qubit t is consumed by this stack: mark its bit as -1 in the key
            pairs.setdefault(bits[:t] + (-1,) + bits[t + 1 :], {})[bits[t]] = o
        keyed = {b: jnp.stack([pr[0], pr[1]], axis) for b, pr in pairs.items()}
    return keyed[(-1,) * step.k].reshape(-1)


def unapply(step: Step, mat, state):
    """Inverse of `apply`: undo the permutation, then apply ``mat^dagger``."""
    geo = _geometry(step.k, step.out_pos)
    y = state.reshape(geo.out_shape)
    blocks = []
    for bits in np.ndindex(*(2,) * step.k):
        idx = [slice(None)] * len(geo.out_shape)
        for axis, t in geo.op_axes:
            idx[axis] = bits[t]
        b = y[tuple(idx)]
        if geo.to_out is not None:
            b = jnp.transpose(b, np.argsort(geo.to_out))
        blocks.append(b.reshape(-1))
    return jnp.stack(_combine(step, mat, blocks, dagger=True)).reshape(-1)


def gram(k: int, mu, psi):
    r"""$\mathrm{M}\Psi^T$ over the rest: ``(2**k, 2**k)``, one GEMM on free views.

    (XLA's CPU reductions of complex products are several times slower than a
    matmul.)
    """
    return mu.reshape(2**k, -1) @ psi.reshape(2**k, -1).T


def gram_inner(k: int, skip: int, mu, psi):
    r"""`gram` over the ``k`` qubits *after* the ``skip`` leading ones.

    A `dot_general` batched over the leading qubits (free views, no transpose),
    then summed over them.
    """
    m, p = (x.reshape(2**skip, 2**k, -1) for x in (mu, psi))
    return jnp.einsum("iar,ibr->iab", m, p).sum(0)


def cotangent(step: Step, mat, g):
    r"""Reduced outer product $M_{ab} = \sum_{\rm rest}\bar\lambda^{\rm out}_a\psi_b$.

    ``g`` is `gram` of $\mu = \bar\lambda$ and $\psi$ *before* the gate (input
    layout, gate qubits leading, as returned by `unapply`); the co-state after
    the gate is $U\lambda$, so $M = \bar U g$. ``mat`` and ``g`` may carry
    leading batch axes.
    """
    if step.kind == "diag":
        return jnp.conj(mat) * jnp.diagonal(g, axis1=-2, axis2=-1)
    return jnp.conj(mat) @ g
