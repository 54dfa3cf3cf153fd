r"""Single-qubit noise channels as superoperators on a density matrix.

A density matrix $\rho$ on $n$ qubits is simulated as a $2n$-qubit "state"
(row wires $0..n-1$, column wires $n..2n-1$). A channel with Kraus operators
$K_k$ maps $\rho \mapsto \sum_k K_k \rho K_k^\dagger$, which on the pair (row
wire $w$, column wire $w+n$) is the $4\times4$ matrix
$S = \sum_k K_k \otimes \bar K_k$.

The superoperators are written directly with weights *linear* in the rate where
possible (depolarizing, bit/phase flip), rather than through $\sqrt{p}$ Kraus
factors: that keeps them differentiable at $p = 0$, where noise calibration
often starts.
"""

import jax.numpy as jnp
import numpy as np

from ._gates import GateDef

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1.0, -1.0]).astype(complex)


def _kk(k):
    return np.kron(k, k.conj())


def _mix(*paulis):
    """Superoperator builder ``(1-p) I + p/len * sum(P ⊗ P̄)``."""
    ident = _kk(_I)
    avg = sum(_kk(p) for p in paulis) / len(paulis)

    def build(params, cdt):
        p = params[0].astype(cdt)
        return (1 - p) * jnp.asarray(ident, cdt) + p * jnp.asarray(avg, cdt)

    return build


def _amplitude_damping(params, cdt):
    g = params[0]
    r = jnp.sqrt(1 - g).astype(cdt)
    g = g.astype(cdt)
    one, zero = jnp.ones((), cdt), jnp.zeros((), cdt)
    # rows/cols indexed (row bit, column bit): 00, 01, 10, 11
    return jnp.stack(
        [
            jnp.stack([one, zero, zero, g]),
            jnp.stack([zero, r, zero, zero]),
            jnp.stack([zero, zero, r, zero]),
            jnp.stack([zero, zero, zero, 1 - g]),
        ]
    )


def _phase_damping(params, cdt):
    r = jnp.sqrt(1 - params[0]).astype(cdt)
    one = jnp.ones((), cdt)
    return jnp.diag(jnp.stack([one, r, r, one]))


CHANNELS: dict[str, GateDef] = {
    "depolarizing": GateDef(1, 1, "dense", _mix(_X, _Y, _Z)),
    "bit_flip": GateDef(1, 1, "dense", _mix(_X)),
    "phase_flip": GateDef(1, 1, "dense", _mix(_Z)),
    "amplitude_damping": GateDef(1, 1, "dense", _amplitude_damping),
    "phase_damping": GateDef(1, 1, "dense", _phase_damping),
}

KRAUS = {
    "depolarizing": lambda p: (
        [np.sqrt(1 - p) * _I] + [np.sqrt(p / 3) * m for m in (_X, _Y, _Z)]
    ),
    "bit_flip": lambda p: [np.sqrt(1 - p) * _I, np.sqrt(p) * _X],
    "phase_flip": lambda p: [np.sqrt(1 - p) * _I, np.sqrt(p) * _Z],
    "amplitude_damping": lambda g: [
        np.array([[1, 0], [0, np.sqrt(1 - g)]]),
        np.array([[0, np.sqrt(g)], [0, 0]]),
    ],
    "phase_damping": lambda g: [
        np.array([[1, 0], [0, np.sqrt(1 - g)]]),
        np.array([[0, 0], [0, np.sqrt(g)]]),
    ],
}
"""Reference Kraus operators (NumPy), used by the tests and the docs."""
