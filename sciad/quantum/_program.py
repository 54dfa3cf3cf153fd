"""Compile a circuit's gate list into a small static *program* of ops.

A `Circuit` records gate calls; simulating them one Python-level op at a time
would give XLA a graph whose size (and compile time) grows with depth. So the
gate list is compiled, once per circuit *structure* (cached), into:

1. **fused ops** -- runs of single-qubit gates on one wire are multiplied into a
   single 2x2 (or diagonal) matrix, so an ``RY; RZ`` pair costs one pass over the
   state instead of two. Each op keeps the indices of the angles it depends on,
   so gradients flow back to every original gate angle.
2. **rolled loops** -- a block of ops that repeats with the same structure (a
   layer of an ansatz) becomes one `lax.scan` item whose per-repetition angles
   are gathered into a ``(reps, n_angles)`` array. Compile time is then flat in
   depth, however the user wrote the loop.

Angles live in one flat real vector ``theta`` and explicit matrices
(`Circuit.unitary`) in a list ``mats``; the program only holds integer indices.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels
from ._gates import FOUR_TERM, GATES, TWO_TERM, GateDef, dense_matrix
from ._noise import CHANNELS

_FUSABLE = ("dense", "diag", "flip")
_MIN_ROLLED_OPS = 8


def gate_def(name: str, n_wires: int) -> GateDef:
    """The registry record of a gate or channel (``unitary`` is built here)."""
    if name == "unitary":
        return GateDef(n_wires, 0, "dense", None)
    return GATES[name] if name in GATES else CHANNELS[name]


class OpSpec(NamedTuple):
    """One kernel application on ``wires``.

    ``parts`` are ``(gate name, conj, positions)`` applied in order, where
    ``positions`` index into ``wires`` (a fused op multiplies its parts).
    """

    kernel: str
    wires: tuple[int, ...]
    parts: tuple[tuple[str, bool, tuple[int, ...]], ...]
    n_angles: int
    n_mats: int


class Item(NamedTuple):
    """A single op (``reps is None``) or a rolled block of ops."""

    ops: tuple[OpSpec, ...]
    aidx: np.ndarray  # (A,) or (reps, A) indices into theta
    midx: np.ndarray  # (M,) or (reps, M) indices into mats
    reps: int | None


class Program(NamedTuple):
    n_reg: int
    items: tuple[Item, ...]
    rules: np.ndarray  # per-angle parameter-shift rule: 0 none, 1 two-term, 2 four-term
    n_angles: int


def _embed(m, pos, k: int, diag: bool, cdt):
    """A 1-qubit matrix/diagonal at local position ``pos`` of a k-qubit op (k <= 2)."""
    if k == 1:
        return m
    eye = jnp.ones(2, cdt) if diag else jnp.eye(2, dtype=cdt)
    kron = (lambda a, b: jnp.outer(a, b).reshape(-1)) if diag else jnp.kron
    return kron(m, eye) if pos == (0,) else kron(eye, m)


def build(spec: OpSpec, angles, mats, cdt):
    """The kernel matrix of an op from its angles and explicit matrices."""
    k = len(spec.wires)
    diag = spec.kernel == "diag"
    acc, a0, m0 = None, 0, 0
    for name, conj, pos in spec.parts:
        g = gate_def(name, len(pos))
        if name == "unitary":
            m, m0 = mats[m0].astype(cdt), m0 + 1
        else:
            m = g.matrix(angles[a0 : a0 + g.n_params], cdt)
            a0 += g.n_params
        m = jnp.conj(m) if conj else m
        if len(spec.parts) == 1:
            return m
        if not diag:
            m = dense_matrix(g.kernel, len(pos), m, cdt)
        if len(pos) < k:
            m = _embed(m, pos, k, diag, cdt)
        acc = m if acc is None else (m * acc if diag else m @ acc)
    return acc


def _fuse(calls, n: int, mixed: bool):
    """Turn gate calls into ops on the register, fusing 1-qubit runs into neighbours.

    Single-qubit gates wait in a per-wire queue; a run of them becomes one 2x2 op,
    or is absorbed into the next two-qubit gate on that wire (one 4x4 pass instead
    of up to three passes over the state).
    """
    ops, pending = [], {}
    a0, m0 = 0, 0
    rules = []

    def kernel_of(parts):
        kinds = {gate_def(nm, len(pos)).kernel for nm, _, pos in parts}
        if len(parts) == 1:
            return kinds.pop()
        return "diag" if kinds == {"diag"} else "dense"

    def push(wires, run):
        parts = tuple((nm, cj, pos) for nm, cj, pos, _, _ in run)
        aidx = [i for *_, ai, _ in run for i in ai]
        midx = [i for *_, mi in run for i in mi]
        spec = OpSpec(kernel_of(parts), wires, parts, len(aidx), len(midx))
        ops.append((spec, aidx, midx))

    def flush(w):
        run = pending.pop(w, [])
        if run:
            push((w,), run)

    def emit(name, wires, conj, aidx, midx):
        g = gate_def(name, len(wires))
        if len(wires) == 1 and g.kernel in _FUSABLE:
            pending.setdefault(wires[0], []).append((name, conj, (0,), aidx, midx))
            return
        absorb = len(wires) == 2 and g.kernel != "swap"
        run = []
        for p, w in enumerate(wires):
            if absorb:
                run += [
                    (nm, cj, (p,), ai, mi) for nm, cj, _, ai, mi in pending.pop(w, [])
                ]
            else:
                flush(w)
        push(wires, run + [(name, conj, tuple(range(len(wires))), aidx, midx)])

    for name, wires in calls:
        g = gate_def(name, len(wires))
        aidx = list(range(a0, a0 + g.n_params))
        midx = [m0] if name == "unitary" else []
        a0, m0 = a0 + g.n_params, m0 + len(midx)
        code = {TWO_TERM: 1, FOUR_TERM: 2}.get(g.shift, 0)
        rules.extend([code if name not in CHANNELS else 0] * g.n_params)
        if name in CHANNELS:
            # a channel is a 4x4 superoperator on (row wire, column wire)
            emit(name, (wires[0], wires[0] + n), False, aidx, midx)
        elif mixed:
            emit(name, wires, False, aidx, midx)
            emit(name, tuple(w + n for w in wires), True, aidx, midx)
        else:
            emit(name, wires, False, aidx, midx)
    for w in sorted(pending):
        flush(w)
    return ops, np.asarray(rules, dtype=np.int32), a0


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


def _roll(ops) -> tuple[Item, ...]:
    ids: dict = {}
    sig = np.asarray([ids.setdefault(spec, len(ids)) for spec, _, _ in ops])
    items, i = [], 0
    while i < len(ops):
        p, reps = _best_period(sig, i)
        if reps >= 2 and p * reps >= _MIN_ROLLED_OPS:
            block = ops[i : i + p]
            aidx = np.asarray(
                [
                    [a for k in range(p) for a in ops[i + r * p + k][1]]
                    for r in range(reps)
                ],
                dtype=np.int32,
            ).reshape(reps, -1)
            midx = np.asarray(
                [
                    [m for k in range(p) for m in ops[i + r * p + k][2]]
                    for r in range(reps)
                ],
                dtype=np.int32,
            ).reshape(reps, -1)
            items.append(Item(tuple(s for s, _, _ in block), aidx, midx, reps))
            i += p * reps
        else:
            spec, a, m = ops[i]
            items.append(
                Item((spec,), np.asarray(a, np.int32), np.asarray(m, np.int32), None)
            )
            i += 1
    return tuple(items)


@functools.lru_cache(maxsize=128)
def compile_program(calls: tuple, n: int, mixed: bool) -> Program:
    """Compile static gate calls ``((name, wires), ...)`` into a `Program`."""
    ops, rules, n_angles = _fuse(calls, n, mixed)
    return Program(2 * n if mixed else n, _roll(ops), rules, n_angles)


def _split(spec_list, a, ms):
    """Per-op slices of one repetition's angle vector and matrix list."""
    out, a0, m0 = [], 0, 0
    for spec in spec_list:
        out.append((spec, a[a0 : a0 + spec.n_angles], ms[m0 : m0 + spec.n_mats]))
        a0, m0 = a0 + spec.n_angles, m0 + spec.n_mats
    return out


def _gather(item: Item, theta, mats):
    a = theta[item.aidx]
    if item.reps is None:
        ms = [mats[i] for i in item.midx]
    else:
        ms = [jnp.stack([mats[i] for i in col]) for col in item.midx.T]
    return a, ms


def _apply_ops(program: Program, ops, a, ms, state):
    for spec, sa, sm in _split(ops, a, ms):
        mat = (
            None
            if spec.kernel in ("flip", "swap")
            else build(spec, sa, sm, state.dtype)
        )
        state = _kernels.apply(spec.kernel, spec.wires, program.n_reg, mat, state)
    return state


def forward(program: Program, theta, mats, state):
    """Run the program on a flat state."""
    for item in program.items:
        a, ms = _gather(item, theta, mats)
        if item.reps is None:
            state = _apply_ops(program, item.ops, a, ms, state)
        else:

            def body(st, xs, ops=item.ops):
                return _apply_ops(program, ops, xs[0], list(xs[1]), st), None

            state, _ = jax.lax.scan(body, state, (a, tuple(ms)))
    return state
