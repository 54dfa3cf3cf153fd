"""Gate fusion: a circuit's gate list as a short list of ops with small matrices.

Runs of single-qubit gates on one wire are multiplied into a single 2x2 (or
diagonal) matrix, and such a run is absorbed into the next two-qubit gate on the
wire (one 4x4 pass instead of up to three passes over the state). Each op keeps
the indices of the angles (and explicit `Circuit.unitary` matrices) it depends
on, so gradients flow back to every original gate angle. `_layout` then decides
the memory layout of each op and rolls repeated structure into scans.

Angles live in one flat real vector ``theta`` and explicit matrices in a list
``mats``; ops only hold integer indices.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._gates import FOUR_TERM, GATES, TWO_TERM, GateDef, dense_matrix
from ._noise import CHANNELS

_FUSABLE = ("dense", "diag", "flip")


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


def op_matrix(spec: OpSpec, angles, mats, cdt):
    """The op's full matrix (or diagonal, for ``kernel == "diag"``) in wire order."""
    k = len(spec.wires)
    if spec.kernel == "swap":
        return dense_matrix("swap", k, None, cdt)
    m = build(spec, angles, mats, cdt)
    if spec.kernel in ("flip", "ctrl"):
        return dense_matrix(spec.kernel, k, m, cdt)
    return m


def fuse(calls, n: int, mixed: bool):
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
