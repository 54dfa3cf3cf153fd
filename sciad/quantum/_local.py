r"""Rings of "local gates, then a constant entangler": one Gram per three steps.

Most ops of a hardware-efficient ansatz are $U = C\,(A\otimes B)$: a constant
two-qubit gate $C$ (a CNOT) after single-qubit gates absorbed by fusion, with
every angle (and explicit matrix) in $B$ on the *target* and $A$ constant. The
angle cotangents then see the op's 4x4 Gram $g$ (`_backward`) only through
$\mathrm{tr}(g^T U^\dagger dU) = \mathrm{tr}(g^T (I\otimes B^\dagger dB))$, i.e.
through its partial trace $g_B$ onto the target: $g' = \tfrac{I}{2}\otimes g_B$
gives the same gradients exactly. And $g_B$ is the reduced Gram of *one* qubit,
which no gate on the other qubits changes ($\mu$ and $\psi$ see $\bar V$ and $V$).

In a rolled ring ("4x4 on the two leading qubits, rotate by one") the targets of
three consecutive steps are carry qubits 1, 2, 3 of the first one's input, so
one 8x8 Gram over those qubits serves three steps instead of the two of a pair
Gram (`_backward.PairPlan`): on XLA:CPU a Gram costs about as much whatever its
size up to 8x8 (it is bound by reading the two states), so this removes a third
of the reductions. A ring's first op in a layer usually absorbs angles on both
qubits; each period (layer) therefore starts with an exact pair
(`_backward._split_pair_gram`), then triples, then a last group of 1-3 steps.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._layout import Block, Program
from ._program import gate_def

# per-step need: no cotangent / only the target's reduced Gram / the full 4x4
_NONE, _TARGET, _FULL = 0, 1, 2
# below, the nested loops' overhead is about the Grams saved (n = 8: +2%, 7 us;
# n = 12: -10%; n = 16: -8%; n = 20: -5% of the gradient, one core)
_MIN_QUBITS = 12


class TriplePlan(NamedTuple):
    """Period of the steps' needs, and how many full triples follow its pair."""

    period: int
    triples: int


def _need(spec, front: tuple[int, ...]) -> int:
    """What an op's angle cotangents need of its Gram (``front``: leading order)."""
    if not spec.n_angles and not spec.n_mats:
        return _NONE
    *local, last = spec.parts
    name, _, pos = last
    if (
        len(pos) != 2
        or name == "unitary"
        or gate_def(name, 2).n_params
        or any(len(p) != 1 for _, _, p in local)
    ):
        return _FULL
    control = front[0]  # the op wire at leading position 0
    for nm, _, (w,) in local:
        if w == control and (nm == "unitary" or gate_def(nm, 1).n_params):
            return _FULL
    return _TARGET


def _needs(program: Program, block: Block) -> tuple[int, ...]:
    """Per repetition of a one-step ``("dense", 2)`` block: `_need` of its op."""
    owner, offset = {}, 0
    for g in program.groups:
        key = ("diag" if g.spec.kernel == "diag" else "dense", len(g.front))
        if key == ("dense", 2):
            need = _need(g.spec, g.front)
            for j in range(len(g.aidx)):
                owner[offset + j] = need
            offset += len(g.aidx)
    return tuple(owner[int(r)] for r in np.asarray(block.rows[0]))


def triple_plan(program: Program, block: Block, plan) -> TriplePlan | None:
    """A `TriplePlan` for a rolled "pair ahead" ring block whose periods allow it.

    The longest period (a divisor of the repetitions) over which the steps' needs
    repeat and every step after the first two needs only its target's Gram; at
    least 8 steps (6 would take as many Grams as pairs), and states of at least
    `_MIN_QUBITS` qubits.
    """
    if plan is None or not plan.ahead or plan.gram.k != 3 or not plan.gram.grad:
        return None
    (step,) = block.steps
    if step.kind != "dense" or step.k != 2 or len(step.out_pos) < _MIN_QUBITS:
        return None
    needs = np.asarray(_needs(program, block))
    for period in range(block.reps, 7, -1):
        if block.reps % period:
            continue
        rows = needs.reshape(-1, period)
        if (rows == rows[0]).all() and (rows[0, 2:] <= _TARGET).all():
            return TriplePlan(period, (period - 3) // 3)
    return None


def target_gram(g, j: int, dtype):
    """``I/2 (x) g_B`` for 3-qubit Grams ``g`` (..., 8, 8), ``g_B`` on qubit ``j``.

    The 4x4 is in the step's leading order (control, target).
    """
    other = iter("uv")
    idx = ["a" if i == j else next(other) for i in range(3)]
    row = "".join(idx)
    col = row.replace("a", "b")
    r = jnp.einsum(f"...{row}{col}->...ab", g.reshape(*g.shape[:-2], *(2,) * 6))
    half = jnp.eye(2, dtype=dtype) / 2
    return jnp.einsum("cd,...ab->...cadb", half, r).reshape(*g.shape[:-2], 4, 4)
