"""Standard spin-chain Hamiltonians as `PauliSum`s."""

import numpy as np

from ._observables import PauliSum, X, Y, Z


def _bonds(n: int, periodic: bool, what: str) -> list[tuple[int, int]]:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"{what}: `n` must be an int >= 2; got {n!r}.")
    bonds = [(i, i + 1) for i in range(n - 1)]
    if periodic and n > 2:
        bonds.append((n - 1, 0))
    return bonds


def tfim(n: int, j=1.0, h=1.0, periodic: bool = True) -> PauliSum:
    r"""Transverse-field Ising chain $H = -J\sum_i Z_iZ_{i+1} - h\sum_i X_i$.

    ``j`` and ``h`` may be traced scalars. ``periodic`` adds the bond
    $(n-1, 0)$ (for $n > 2$).
    """
    zz = sum(Z(a) * Z(b) for a, b in _bonds(n, periodic, "tfim"))
    return -j * zz - h * sum(X(i) for i in range(n))


def heisenberg(n: int, j=1.0, h=0.0, periodic: bool = True) -> PauliSum:
    r"""Heisenberg XXX chain.

    $H = J\sum_i (X_iX_{i+1} + Y_iY_{i+1} + Z_iZ_{i+1}) + h\sum_i Z_i$.
    """
    bonds = _bonds(n, periodic, "heisenberg")
    xyz = sum(P(a) * P(b) for a, b in bonds for P in (X, Y, Z))
    return j * xyz + h * sum(Z(i) for i in range(n))


def maxcut(edges) -> PauliSum:
    r"""MaxCut cost $C = \sum_{(a,b)\in E} \tfrac12(1 - Z_aZ_b)$ (the cut size)."""
    edges = [tuple(int(w) for w in e) for e in edges]
    if not edges or any(len(e) != 2 or e[0] == e[1] for e in edges):
        raise ValueError(
            f"maxcut: `edges` must be pairs of distinct wires; got {edges}."
        )
    return sum(0.5 - 0.5 * (Z(a) * Z(b)) for a, b in edges)


class _Hamiltonians:
    """Namespace ``sciad.quantum.hamiltonian``: ``tfim``, ``heisenberg``, ``maxcut``."""

    tfim = staticmethod(tfim)
    heisenberg = staticmethod(heisenberg)
    maxcut = staticmethod(maxcut)

    def __call__(self, coeffs, observables) -> PauliSum:
        """``sum(c * o for c, o in zip(coeffs, observables))``."""
        return sum(c * o for c, o in zip(coeffs, observables, strict=True))


hamiltonian = _Hamiltonians()
