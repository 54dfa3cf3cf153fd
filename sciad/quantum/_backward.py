r"""The adjoint method's backward walk: un-apply every step, collect small Grams.

Per step the cotangent only needs the reduced outer product
$g_{ab} = \sum_{\rm rest}\mu_a\psi_b$ of the states *before* the step on its
leading qubits (`_kernels.gram`, one GEMM on free views; $\mu = \bar\lambda$).

**Pair Grams.** In a rolled block of one repeated step (a CNOT ring:
"4×4 on the two leading qubits, rotate by one"), two consecutive steps touch
only three leading qubits of the first one's input layout. One 8×8 Gram $G$ of
the pair's input states then gives both cotangents: the first step's is the
partial trace of $G$ over the third qubit, the second's the partial trace of
$\bar E_1 G E_1^T$ ($E_1$ the first step's matrix embedded in the three qubits)
onto its two qubits (for a ring running the other way through the layout the
three qubits lead only *between* the two steps; the Gram is taken there, see
`PairPlan`). On XLA:CPU the GEMM costs more than an un-apply pass, and
an 8×8 Gram costs ~1.2 4×4 Grams, so this nearly halves the reduction work. It
also lets every GEMM read the loop carry: a GEMM on a kernel's output inside the
loop made XLA duplicate the (permuting) kernel into the GEMM's operand, one
extra pass per two steps.

**Triples.** When a ring's ops only need their target's reduced Gram (`_local`:
"constant entangler after single-qubit gates", angles on the target), one 8x8
Gram over carry qubits 1-3 serves three steps (`_back_periods`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels, _local
from ._kernels import Step
from ._layout import Block, Program, _unroll

_PAIR_MAX_QUBITS = 3  # an 8x8 Gram; 16x16 costs ~2x an 8x8 on XLA:CPU (measured)


def _gram(step, psi, mu):
    if not step.grad:
        return jnp.zeros((2**step.k,) * 2, psi.dtype)
    return _kernels.gram(step.k, mu, psi)


def _unapply_both(step, u, psi, mu):
    """Un-apply ``step`` (matrix ``u``) to the state and the conjugated co-state."""
    return _kernels.unapply(step, u, psi), _kernels.unapply(step, jnp.conj(u), mu)


def _after(g, u):
    """``u``, made to depend on the Gram ``g`` (plus ``0 * g[0, 0]``; exact).

    The Gram reads the loop carry that the body's last un-apply overwrites. Without
    a data path from the GEMM to the un-applies, XLA cannot order the GEMM first
    and its copy insertion copies both carried states every iteration (two 8 MiB
    passes at n = 20, ~15% of the backward walk, measured; an
    `optimization_barrier` does not remove them). Only a non-finite Gram changes
    ``u`` (to NaN, which then reaches the earlier steps' cotangents; that Gram's
    own cotangents are non-finite anyway).
    """
    return u + 0 * g[0, 0].astype(u.dtype)


def _back_steps(steps, x, psi, mu, carry_first: bool):
    """Un-apply ``steps`` (last first) to the state and the *conjugated* co-state.

    Returns the states before the steps and, per step, the Gram of the states
    before it. Carrying $\\mu = \\bar\\lambda$ (un-applied with $\\bar U$) avoids a
    conjugation pass. With ``carry_first`` the Gram of the *incoming* states is
    returned first and the first step's Gram is left to the caller: then every
    GEMM reads a materialised loop carry.
    """
    grams = []
    if carry_first:
        grams.append(_gram(steps[0], psi, mu))
    for j in range(len(steps) - 1, -1, -1):
        psi, mu = _unapply_both(steps[j], x[j], psi, mu)
        if j > 0 or not carry_first:
            grams.append(_gram(steps[j], psi, mu))
    return psi, mu, grams


class PairPlan(NamedTuple):
    """How one Gram on a loop carry serves two consecutive steps of a rolled block.

    ``ahead``: the carry is the pair's input; the first step's qubits lead, the
    second's sit at ``pos``. Otherwise the carry lies *between* the two steps:
    the second step's qubits lead and the first's (in the mid layout) sit at
    ``pos`` -- a ring that runs the other way through the layout.
    """

    gram: Step  # only ``k`` (span) and ``grad`` are used
    ahead: bool
    pos: tuple[int, ...]


def pair_plan(block: Block) -> PairPlan | None:
    """A `PairPlan` for a one-step rolled block whose pair spans <= 3 qubits."""
    if block.reps is None or len(block.steps) != 1 or block.reps < 2:
        return None
    s = block.steps[0]
    ahead = tuple(s.out_pos[: s.k])
    behind = tuple(s.out_pos.index(q) for q in range(s.k))
    for pos, is_ahead in ((ahead, True), (behind, False)):
        span = set(range(s.k)) | set(pos)
        if span == set(range(len(span))) and len(span) <= _PAIR_MAX_QUBITS:
            return PairPlan(Step("dense", len(span), (), s.grad), is_ahead, pos)
    return None


def _order(pos: tuple[int, ...], big: int) -> tuple[int, ...]:
    return tuple(pos) + tuple(q for q in range(big) if q not in pos)


def _embed(u, pos: tuple[int, ...], big: int):
    """``u`` acting on qubit positions ``pos`` (in that order) of ``big`` qubits."""
    inv = tuple(int(i) for i in np.argsort(_order(pos, big)))
    eye = jnp.eye(2 ** (big - len(pos)), dtype=u.dtype)
    full = jnp.kron(u, eye).reshape((2,) * 2 * big)
    return full.transpose(inv + tuple(big + i for i in inv)).reshape(2**big, 2**big)


def _trace_onto(g, pos: tuple[int, ...], big: int):
    """Partial trace of a ``big``-qubit Gram onto qubit positions ``pos``."""
    k, order = len(pos), _order(pos, big)
    t = g.reshape((2,) * 2 * big).transpose(order + tuple(big + q for q in order))
    return jnp.einsum("arbr->ab", t.reshape(2**k, 2 ** (big - k), 2**k, -1))


def _split_pair_gram(step: Step, plan: PairPlan, g, u):
    """Grams of the two steps a carry Gram ``g`` serves, in step order.

    ``u`` is the matrix of the step the carry is *not* directly before: the first
    step (``ahead``: $\bar E g E^T$ are the states after it) or the first step
    seen from the mid layout (else: $E^T g \bar E$ are the states before it).
    """
    big, lead = plan.gram.k, tuple(range(step.k))
    u = jnp.diag(u) if step.kind == "diag" else u
    if plan.ahead:
        e = _embed(u, lead, big)
        return _trace_onto(g, lead, big), _trace_onto(
            jnp.conj(e) @ g @ e.T, plan.pos, big
        )
    e = _embed(u, plan.pos, big)
    return _trace_onto(e.T @ g @ jnp.conj(e), plan.pos, big), _trace_onto(g, lead, big)


def _back_pairs(block: Block, plan: PairPlan, x, psi, mu):
    """Backward walk of a one-step rolled block, one Gram per two steps."""
    (step,), (u,) = block.steps, x
    odd = block.reps % 2
    up = u[odd:].reshape(-1, 2, *u.shape[1:])

    def body(carry, u2):
        p_, m_ = carry
        g = _gram(plan.gram, p_, m_)  # reads the loop carry (see module docstring)
        for v in (_after(g, u2[1]), u2[0]):
            p_, m_ = _unapply_both(step, v, p_, m_)
        return (p_, m_), g

    # no unroll: two un-applies per iteration already write the carry directly
    (psi, mu), ys = jax.lax.scan(body, (psi, mu), up, reverse=True)
    split = jax.vmap(lambda g, v: _split_pair_gram(step, plan, g, v))
    if plan.ahead:  # ys[j]: steps 2j + 2, 2j + 3 (after the odd one)
        g1, g2 = split(
            jnp.concatenate([_gram(plan.gram, psi, mu)[None], ys[:-1]]), up[:, 0]
        )
    else:  # ys[j]: steps 2j + 1, 2j + 2; the last "2j + 2" does not exist
        g1, g2 = split(ys, up[:, 1])
    grams = jnp.stack([g1, g2], 1).reshape(-1, *g1.shape[1:])  # in step order
    if not plan.ahead:
        grams = jnp.concatenate([_gram(step, psi, mu)[None], grams[:-1]])
    if odd:
        psi, mu = _unapply_both(step, u[0], psi, mu)
        grams = jnp.concatenate([_gram(step, psi, mu)[None], grams])
    return psi, mu, [grams]


def _back_periods(block: Block, plan: PairPlan, tp: _local.TriplePlan, x, psi, mu):
    """Backward walk of a ring whose periods are "pair + triples" (`_local`).

    Per period (last first): the leading 8x8 Gram of the incoming carry (it
    serves the *next* period's pair), the last group un-applied, an inner scan
    over the triples (each iteration: the 8x8 Gram over carry qubits 1-3 of its
    carry, which serves the following group, then three steps), the inner Gram
    of the first triple's input, then the pair. Every Gram reads a loop carry or
    a loop's output and orders the next un-apply (`_after`), as in `_back_pairs`.
    """
    (step,), (u,) = block.steps, x
    up = u.reshape(block.reps // tp.period, tp.period, *u.shape[1:])
    t_end = 2 + 3 * tp.triples  # then a last group of 1-3 steps

    def mid(p_, m_):
        return _kernels.gram_inner(3, 1, m_, p_)

    def inner(carry, u3):
        p_, m_ = carry
        g = mid(p_, m_)  # the input of the following group
        for v in (_after(g, u3[2]), u3[1], u3[0]):
            p_, m_ = _unapply_both(step, v, p_, m_)
        return (p_, m_), g

    def outer(carry, ups):
        p_, m_ = carry
        lead = _gram(plan.gram, p_, m_)  # the next period's pair input
        tail = ups[t_end:]
        for j in range(len(tail) - 1, -1, -1):
            v = _after(lead, tail[j]) if j == len(tail) - 1 else tail[j]
            p_, m_ = _unapply_both(step, v, p_, m_)
        u3 = ups[2:t_end].reshape(tp.triples, 3, *ups.shape[1:])
        (p_, m_), gm = jax.lax.scan(inner, (p_, m_), u3, reverse=True)
        g0 = mid(p_, m_)  # the first triple's input
        for v in (_after(g0, ups[1]), ups[0]):
            p_, m_ = _unapply_both(step, v, p_, m_)
        return (p_, m_), (lead, jnp.concatenate([g0[None], gm]))

    (psi, mu), (leads, mids) = jax.lax.scan(outer, (psi, mu), up, reverse=True)
    leads = jnp.concatenate([_gram(plan.gram, psi, mu)[None], leads[:-1]])
    split = jax.vmap(lambda g, v: _split_pair_gram(step, plan, g, v))
    g0, g1 = split(leads, up[:, 0])
    sizes = [3] * tp.triples + [tp.period - t_end]
    local = [
        _local.target_gram(mids[:, t], j, psi.dtype)
        for t, size in enumerate(sizes)
        for j in range(size)
    ]
    grams = jnp.stack([g0, g1, *local], 1)  # (reps, period, 4, 4), step order
    return psi, mu, [grams.reshape(-1, *g0.shape[1:])]


def backward(program: Program, xs, psi, lam):
    """Walk the program backwards from $\\psi$ and $\\lambda = H\\psi$.

    Returns per-step $M = \\bar U g$ (`_kernels.cotangent`) with the structure of
    ``xs``.
    """
    cts, mu = [], jnp.conj(lam)
    for block, x in reversed(list(zip(program.blocks, xs, strict=True))):
        p = len(block.steps)
        plan = pair_plan(block)
        tp = _local.triple_plan(program, block, plan)
        if tp is not None:
            psi, mu, grams = _back_periods(block, plan, tp, x, psi, mu)
        elif plan is not None:
            psi, mu, grams = _back_pairs(block, plan, x, psi, mu)
        elif block.reps is None:
            psi, mu, grams = _back_steps(block.steps, x, psi, mu, False)
            grams = grams[::-1]
        else:

            def body(carry, x, steps=block.steps):
                p_, m_, grams = _back_steps(steps, x, *carry, True)
                return (p_, m_), tuple(grams)

            (psi, mu), ys = jax.lax.scan(
                body, (psi, mu), x, reverse=True, unroll=_unroll(block)
            )
            # ys[0][r]: step 0 of repetition r + 1; ys[i][r], i >= 1: step p - i of r
            first = _gram(block.steps[0], psi, mu)
            grams = [jnp.concatenate([first[None], ys[0][:-1]])]
            grams += [ys[i] for i in range(p - 1, 0, -1)]
        cts.append(
            tuple(
                _kernels.cotangent(s, u, g)
                for s, u, g in zip(block.steps, x, grams, strict=True)
            )
        )
    return tuple(cts[::-1])
