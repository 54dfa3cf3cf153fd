"""Gate registry: each named gate is a small record of how to build its matrix.

A gate's *kernel* says what its small matrix means (the state kernels in
`_kernels.py` then apply it as a dense matrix or a diagonal, see
`_program.op_matrix`):

* ``"dense"``: a ``(2**k, 2**k)`` matrix on its wires;
* ``"diag"``: the ``(2**k,)`` diagonal of a diagonal matrix (elementwise phases);
* ``"ctrl"``: a ``(2, 2)`` matrix on the last wire, applied where every other
  wire (the controls) is 1;
* ``"flip"``: a bit flip of the last wire where all other wires are 1 (X, CNOT,
  Toffoli) -- a pure permutation, no arithmetic;
* ``"swap"``: exchange of two wires.

Matrices follow the PennyLane/Qiskit conventions: ``R_P(θ) = exp(-iθP/2)``,
``phase(θ) = diag(1, e^{iθ})``, two-qubit matrices indexed by the wires in the
order they are given (first wire most significant).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

# Two-term rule: dE/dθ = [E(θ+π/2) - E(θ-π/2)] / 2 for generators with
# eigenvalues ±1/2. Four-term rule for controlled rotations (eigenvalues 0, ±1/2);
# Anselmetti et al. 2021, arXiv:2107.12390.
TWO_TERM = "two"
FOUR_TERM = "four"


class GateDef(NamedTuple):
    """Static description of a named gate."""

    n_wires: int
    n_params: int
    kernel: str
    matrix: Callable | None  # params (n_params,), complex dtype -> matrix/diagonal
    shift: str | None = None


def _c(p, cdt):
    return jnp.cos(p / 2).astype(cdt), jnp.sin(p / 2).astype(cdt)


def _expi(p, cdt):
    return jnp.exp(1j * p.astype(cdt))


def _const(m):
    arr = np.asarray(m)
    return lambda p, cdt: jnp.asarray(arr, dtype=cdt)


def _rx(p, cdt):
    c, s = _c(p[0], cdt)
    return jnp.stack([jnp.stack([c, -1j * s]), jnp.stack([-1j * s, c])])


def _ry(p, cdt):
    c, s = _c(p[0], cdt)
    return jnp.stack([jnp.stack([c, -s]), jnp.stack([s, c])])


def _rz(p, cdt):
    e = _expi(p[0] / 2, cdt)
    return jnp.stack([jnp.conj(e), e])


def _phase(p, cdt):
    return jnp.stack([jnp.ones((), cdt), _expi(p[0], cdt)])


def _u3(p, cdt):
    c, s = _c(p[0], cdt)
    ephi, elam = _expi(p[1], cdt), _expi(p[2], cdt)
    return jnp.stack(
        [jnp.stack([c, -elam * s]), jnp.stack([ephi * s, ephi * elam * c])]
    )


def _pauli_pair(pp):
    return np.kron(pp, pp)


_PX = np.array([[0, 1], [1, 0]], dtype=complex)
_PY = np.array([[0, -1j], [1j, 0]], dtype=complex)
_PZ = np.diag([1.0, -1.0]).astype(complex)


def _r2(pp):
    gen = _pauli_pair(pp)

    def build(p, cdt):
        c, s = _c(p[0], cdt)
        return c * jnp.eye(4, dtype=cdt) - 1j * s * jnp.asarray(gen, dtype=cdt)

    return build


def _rzz(p, cdt):
    e = _expi(p[0] / 2, cdt)
    return jnp.stack([jnp.conj(e), e, e, jnp.conj(e)])


def _crz(p, cdt):
    e = _expi(p[0] / 2, cdt)
    one = jnp.ones((), cdt)
    return jnp.stack([one, one, jnp.conj(e), e])


_SQ2 = 1 / np.sqrt(2)

GATES: dict[str, GateDef] = {
    "h": GateDef(1, 0, "dense", _const([[_SQ2, _SQ2], [_SQ2, -_SQ2]])),
    "x": GateDef(1, 0, "flip", _const(_PX)),
    "y": GateDef(1, 0, "dense", _const(_PY)),
    "z": GateDef(1, 0, "diag", _const([1, -1])),
    "s": GateDef(1, 0, "diag", _const([1, 1j])),
    "t": GateDef(1, 0, "diag", _const([1, np.exp(1j * np.pi / 4)])),
    "sx": GateDef(
        1, 0, "dense", _const([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]])
    ),
    "rx": GateDef(1, 1, "dense", _rx, TWO_TERM),
    "ry": GateDef(1, 1, "dense", _ry, TWO_TERM),
    "rz": GateDef(1, 1, "diag", _rz, TWO_TERM),
    "phase": GateDef(1, 1, "diag", _phase, TWO_TERM),
    "u3": GateDef(1, 3, "dense", _u3, TWO_TERM),
    "cnot": GateDef(2, 0, "flip", _const(_PX)),
    "cz": GateDef(2, 0, "diag", _const([1, 1, 1, -1])),
    "swap": GateDef(2, 0, "swap", None),
    "crx": GateDef(2, 1, "ctrl", _rx, FOUR_TERM),
    "cry": GateDef(2, 1, "ctrl", _ry, FOUR_TERM),
    "crz": GateDef(2, 1, "diag", _crz, FOUR_TERM),
    "rxx": GateDef(2, 1, "dense", _r2(_PX), TWO_TERM),
    "ryy": GateDef(2, 1, "dense", _r2(_PY), TWO_TERM),
    "rzz": GateDef(2, 1, "diag", _rzz, TWO_TERM),
    "toffoli": GateDef(3, 0, "flip", _const(_PX)),
}


def dense_matrix(kernel: str, n_wires: int, mat, cdt):
    """The full ``(2**k, 2**k)`` matrix of a kernel's small matrix (fusion, tests)."""
    dim = 2**n_wires
    if kernel == "dense":
        return mat
    if kernel == "diag":
        return jnp.diag(mat)
    if kernel == "swap":
        return jnp.asarray(np.eye(4)[[0, 2, 1, 3]], dtype=cdt)
    # ctrl / flip: identity except the all-controls-on block
    full = jnp.eye(dim, dtype=cdt)
    return full.at[dim - 2 :, dim - 2 :].set(mat)
