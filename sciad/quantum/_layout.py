"""Lower fused ops to a *program*: per-op memory layouts and rolled scans.

Each op runs as a `_kernels.Step` on the leading qubits of the state's current
layout and leaves the state in the layout the next op wants (`_target`: a cyclic
rotation when one brings the next op's wires to the front, else those wires
moved to the front). The last op restores wire order. Because the kernels only
see *relative* permutations, the ops of a layered circuit (a CNOT ring, a ladder)
all get the same `Step` signature whatever wires they touch.

The program then has two halves:

1. **matrix building** -- ops with the same fused structure form a `Group`; its
   matrices are built by one `vmap` over the group (angles gathered by index) and
   land in a *pool* per matrix shape. Graph size: one build per distinct
   structure, not per gate.
2. **state passes** -- the sequence of step signatures is scanned for periodic
   runs; each run becomes one `Block`, a `lax.scan` over ``reps`` whose inputs are
   the pool rows of its steps. A hardware-efficient ansatz is a single scan of
   ``layers * n`` identical steps, so compile time is flat in depth and in ``n``.

Everything is cached on the circuit's static structure (`compile_program`).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels
from ._kernels import Step
from ._program import OpSpec, fuse, op_matrix

_MIN_ROLLED_STEPS = 4


class Group(NamedTuple):
    """Ops sharing a fused structure and leading-qubit order, built in one vmap."""

    spec: OpSpec  # representative (wires renumbered 0..k-1)
    front: tuple[int, ...]  # leading position i holds the op's wire front[i]
    aidx: np.ndarray  # (G, n_angles) indices into theta
    midx: np.ndarray  # (G, n_mats) indices into mats


class Block(NamedTuple):
    """``reps`` repetitions (None: once, unrolled) of a run of steps."""

    steps: tuple[Step, ...]
    rows: tuple  # per step: pool rows, (reps,) int array or an int
    reps: int | None


class Program(NamedTuple):
    n_reg: int
    order0: tuple[int, ...]  # layout of the initial state
    groups: tuple[Group, ...]
    blocks: tuple[Block, ...]
    rules: np.ndarray  # per-angle parameter-shift rule: 0 none, 1 two-term, 2 four-term
    n_angles: int


def _target(order: tuple[int, ...], wires: tuple[int, ...]) -> tuple[int, ...]:
    """A layout with ``wires`` leading, reached cheaply from ``order``."""
    k, ws = len(wires), set(wires)
    for r in range(len(order)):
        cand = order[r:] + order[:r]
        if set(cand[:k]) == ws:
            return cand
    return tuple(w for w in order if w in ws) + tuple(w for w in order if w not in ws)


def _best_period(sig: np.ndarray, i: int) -> tuple[int, int]:
    """Period ``p`` and repeat count of the longest periodic run starting at ``i``."""
    n = len(sig)
    cands = np.nonzero(sig[i + 1 : i + 1 + (n - i) // 2] == sig[i])[0] + 1
    best = (1, 1)
    for p in cands:
        eq = sig[i : n - p] == sig[i + p : n]
        run = len(eq) if eq.all() else int(np.argmin(eq))
        reps = 1 + run // p
        if reps * p > best[0] * best[1]:
            best = (int(p), int(reps))
    return best


def _roll(steps: list[Step], rows: list[int]) -> tuple[Block, ...]:
    # a step without angles (a bare CNOT closing a ring) still matches its
    # neighbours: the block then computes its (unused) cotangent too
    ids: dict = {}
    sig = np.asarray([ids.setdefault(s._replace(grad=False), len(ids)) for s in steps])
    blocks, i = [], 0
    while i < len(steps):
        p, reps = _best_period(sig, i)
        if reps >= 2 and p * reps >= _MIN_ROLLED_STEPS:
            r = np.asarray(rows[i : i + p * reps], np.int32).reshape(reps, p)
            grads = [
                any(s.grad for s in steps[i + j : i + p * reps : p]) for j in range(p)
            ]
            block = [
                s._replace(grad=g) for s, g in zip(steps[i : i + p], grads, strict=True)
            ]
            blocks.append(Block(tuple(block), tuple(r.T), reps))
            i += p * reps
        else:
            blocks.append(Block((steps[i],), (rows[i],), None))
            i += 1
    return tuple(blocks)


@functools.lru_cache(maxsize=128)
def compile_program(calls: tuple, n: int, mixed: bool) -> Program:
    """Compile static gate calls ``((name, wires), ...)`` into a `Program`."""
    ops, rules, n_angles = fuse(calls, n, mixed)
    n_reg = 2 * n if mixed else n
    ident = tuple(range(n_reg))
    if not ops:
        return Program(n_reg, ident, (), (), rules, n_angles)
    orders = [_target(ident, ops[0][0].wires)]
    for spec, _, _ in ops[1:]:
        orders.append(_target(orders[-1], spec.wires))
    orders.append(ident)

    steps, members = [], {}
    for i, (spec, aidx, midx) in enumerate(ops):
        k, inn = len(spec.wires), orders[i]
        front = tuple(spec.wires.index(w) for w in inn[:k])
        kind = "diag" if spec.kernel == "diag" else "dense"
        out_pos = tuple(inn.index(w) for w in orders[i + 1])
        steps.append(Step(kind, k, out_pos, bool(spec.n_angles or spec.n_mats)))
        key = (spec._replace(wires=tuple(range(k))), front)
        members.setdefault(key, []).append((i, aidx, midx))

    groups, rows, offsets = [], [0] * len(ops), {}
    for (spec, front), mem in members.items():
        pool = ("diag" if spec.kernel == "diag" else "dense", len(spec.wires))
        for j, (i, _, _) in enumerate(mem):
            rows[i] = offsets.get(pool, 0) + j
        offsets[pool] = offsets.get(pool, 0) + len(mem)
        aidx = np.asarray([a for _, a, _ in mem], np.int32).reshape(len(mem), -1)
        midx = np.asarray([m for _, _, m in mem], np.int32).reshape(len(mem), -1)
        groups.append(Group(spec, front, aidx, midx))
    return Program(n_reg, orders[0], tuple(groups), _roll(steps, rows), rules, n_angles)


def _to_front(mat, front: tuple[int, ...], diag: bool):
    """Re-index an op matrix from its wire order to leading-position order."""
    k = len(front)
    if front == tuple(range(k)):
        return mat
    if diag:
        return mat.reshape((2,) * k).transpose(front).reshape(-1)
    axes = front + tuple(k + f for f in front)
    return mat.reshape((2,) * (2 * k)).transpose(axes).reshape(2**k, 2**k)


def step_matrices(program: Program, theta, mats, cdt):
    """Every step's matrix, as the scan inputs of each block (differentiable)."""
    pools: dict = {}
    for g in program.groups:
        diag = g.spec.kernel == "diag"
        ms = [jnp.stack([mats[i] for i in col]) for col in g.midx.T]

        def one(a, m, g=g, diag=diag):
            return _to_front(op_matrix(g.spec, a, m, cdt), g.front, diag)

        key = ("diag" if diag else "dense", len(g.front))
        pools.setdefault(key, []).append(jax.vmap(one)(theta[g.aidx], ms))
    pools = {k: v[0] if len(v) == 1 else jnp.concatenate(v) for k, v in pools.items()}
    return tuple(
        tuple(pools[(s.kind, s.k)][r] for s, r in zip(b.steps, b.rows, strict=True))
        for b in program.blocks
    )


def _unroll(block: Block) -> int:
    """Scan unrolling for a block: 2 when its body is a single permuting step.

    A kernel that permutes the state cannot write in place, and XLA then copies
    its output back into the loop-carried buffer: one extra pass per step. With
    two steps per iteration the second writes straight into the (dead) carry.
    """
    return 2 if len(block.steps) == 1 and block.reps >= 2 else 1


def initial_layout(program: Program, state):
    """Permute a wire-ordered state into the program's first layout."""
    if program.order0 == tuple(range(program.n_reg)):
        return state
    return state.reshape((2,) * program.n_reg).transpose(program.order0).reshape(-1)


def run(program: Program, xs, state):
    """Apply the program's steps (matrices ``xs`` from `step_matrices`)."""
    state = initial_layout(program, state)
    for block, x in zip(program.blocks, xs, strict=True):
        if block.reps is None:
            for step, u in zip(block.steps, x, strict=True):
                state = _kernels.apply(step, u, state)
        else:

            def body(st, x, steps=block.steps):
                for step, u in zip(steps, x, strict=True):
                    st = _kernels.apply(step, u, st)
                return st, None

            state, _ = jax.lax.scan(body, state, x, unroll=_unroll(block))
    return state


def forward(program: Program, theta, mats, state):
    """Run the program on a flat, wire-ordered state; returns a wire-ordered state."""
    return run(program, step_matrices(program, theta, mats, state.dtype), state)
