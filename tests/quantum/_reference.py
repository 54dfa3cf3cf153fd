"""Independent NumPy/SciPy references: textbook gates, kron-built unitaries."""

import numpy as np
from scipy.linalg import expm

PX = np.array([[0, 1], [1, 0]], dtype=complex)
PY = np.array([[0, -1j], [1j, 0]], dtype=complex)
PZ = np.diag([1, -1]).astype(complex)
I2 = np.eye(2)


def ctrl(u):
    """Controlled-u with the control as the first (most significant) wire."""
    k = int(np.log2(u.shape[0]))
    out = np.eye(2 * 2**k, dtype=complex)
    out[2**k :, 2**k :] = u
    return out


def rot(p, th):
    return expm(-0.5j * th * p)


REFERENCE = {
    "h": lambda: np.array([[1, 1], [1, -1]]) / np.sqrt(2),
    "x": lambda: PX,
    "y": lambda: PY,
    "z": lambda: PZ,
    "s": lambda: np.diag([1, 1j]),
    "t": lambda: np.diag([1, np.exp(0.25j * np.pi)]),
    "sx": lambda: expm(-0.25j * np.pi * PX) * np.exp(0.25j * np.pi),
    "rx": lambda a: rot(PX, a),
    "ry": lambda a: rot(PY, a),
    "rz": lambda a: rot(PZ, a),
    "phase": lambda a: np.diag([1, np.exp(1j * a)]),
    "u3": lambda a, b, c: rot(PZ, b) @ rot(PY, a) @ rot(PZ, c) * np.exp(0.5j * (b + c)),
    "cnot": lambda: ctrl(PX),
    "cz": lambda: ctrl(PZ),
    "swap": lambda: np.eye(4)[[0, 2, 1, 3]],
    "crx": lambda a: ctrl(rot(PX, a)),
    "cry": lambda a: ctrl(rot(PY, a)),
    "crz": lambda a: ctrl(rot(PZ, a)),
    "rxx": lambda a: rot(np.kron(PX, PX), a),
    "ryy": lambda a: rot(np.kron(PY, PY), a),
    "rzz": lambda a: rot(np.kron(PZ, PZ), a),
    "toffoli": lambda: ctrl(ctrl(PX)),
}


def embed(u, wires, n):
    """Dense 2**n matrix of ``u`` acting on ``wires`` (first wire most significant)."""
    k = len(wires)
    rest = [w for w in range(n) if w not in wires]
    # u ⊗ I on (wires, rest), then permute the tensor axes back to 0..n-1
    full = np.kron(u, np.eye(2 ** len(rest))).reshape((2,) * (2 * n))
    order = list(wires) + rest
    perm = [order.index(w) for w in range(n)]
    full = full.transpose(perm + [n + p for p in perm])
    return full.reshape(2**n, 2**n) if k else full
