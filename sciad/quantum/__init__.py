"""Differentiable quantum circuits: statevectors, density matrices, adjoint gradients.

The core object is `Circuit`, a recorded list of gates whose angles may be traced
JAX values. `statevector`, `density_matrix`, `probabilities`, `sample` and
`expectation` simulate it; `expectation` has an adjoint-method gradient whose
memory does not grow with depth. See ``docs/quantum.md``.
"""

from ._algorithms import (
    VQEResult as VQEResult,
    qaoa_circuit as qaoa_circuit,
    qaoa_maxcut as qaoa_maxcut,
    sharded_map as sharded_map,
    vqe as vqe,
)
from ._circuit import Circuit as Circuit
from ._hamiltonians import hamiltonian as hamiltonian
from ._measure import (
    density_matrix as density_matrix,
    expectation as expectation,
    probabilities as probabilities,
    sample as sample,
    statevector as statevector,
)
from ._observables import I as I, PauliSum as PauliSum, X as X, Y as Y, Z as Z
