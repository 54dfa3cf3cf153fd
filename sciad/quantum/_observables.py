r"""Pauli-sum observables $H = \sum_k c_k P_k$ and their action on a statevector."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

_MATS = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


class PauliSum(eqx.Module):
    r"""A real linear combination of Pauli strings, $H = \sum_k c_k P_k$.

    Build with `X`, `Y`, `Z`, `I` and ``*`` (tensor product on distinct wires),
    ``+``, ``-`` and scalar multiplication. Coefficients may be traced (and are
    differentiable in `expectation`); the Pauli strings are static.

    Attributes:
        terms: one tuple of ``(wire, "X"|"Y"|"Z")`` pairs per term (``()`` is I).
        coeffs: the real coefficients, shape ``(n_terms,)``.
    """

    terms: tuple[tuple[tuple[int, str], ...], ...] = eqx.field(static=True)
    coeffs: Float[Array, " n_terms"]

    def __init__(self, terms, coeffs):
        self.terms = tuple(tuple(sorted(t)) for t in terms)
        self.coeffs = jnp.asarray(coeffs)
        if jnp.iscomplexobj(self.coeffs):
            raise TypeError("PauliSum: coefficients must be real (H Hermitian).")
        if self.coeffs.shape != (len(self.terms),):
            raise ValueError(
                f"PauliSum: `coeffs` must have shape ({len(self.terms)},); "
                f"got {self.coeffs.shape}."
            )

    @property
    def wires(self) -> tuple[int, ...]:
        """All wires the observable acts on, ascending."""
        return tuple(sorted({w for t in self.terms for w, _ in t}))

    def __add__(self, other):
        if isinstance(other, int | float) and other == 0:
            return self  # so sum([...]) works
        if not isinstance(other, PauliSum):
            if jnp.shape(other) != () or jnp.iscomplexobj(other):
                return NotImplemented
            other = other * I()  # a scalar is a multiple of the identity
        c = jnp.concatenate(_promote(self.coeffs, other.coeffs))
        return PauliSum(self.terms + other.terms, c)

    __radd__ = __add__

    def __neg__(self):
        return PauliSum(self.terms, -self.coeffs)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, PauliSum):
            terms, coeffs = [], []
            for ta, ca in zip(self.terms, self.coeffs, strict=True):
                for tb, cb in zip(other.terms, other.coeffs, strict=True):
                    shared = {w for w, _ in ta} & {w for w, _ in tb}
                    if shared:
                        raise ValueError(
                            "Observable product: factors must act on different "
                            f"wires; both act on wire(s) {sorted(shared)}."
                        )
                    terms.append(ta + tb)
                    coeffs.append(ca * cb)
            return PauliSum(terms, jnp.stack(coeffs))
        if jnp.iscomplexobj(other):
            raise TypeError("Observable: scalar factors must be real.")
        return PauliSum(self.terms, self.coeffs * other)

    __rmul__ = __mul__

    def matrix(self, n_qubits: int) -> np.ndarray:
        """Dense ``(2**n, 2**n)`` NumPy matrix (wire 0 most significant); for tests."""
        out = np.zeros((2**n_qubits, 2**n_qubits), dtype=complex)
        for term, c in zip(self.terms, np.asarray(self.coeffs), strict=True):
            ops = dict(term)
            full = np.ones((1, 1))
            for w in range(n_qubits):
                full = np.kron(full, _MATS[ops[w]] if w in ops else np.eye(2))
            out += c * full
        return out


def _promote(a, b):
    dt = jnp.result_type(a, b)
    return a.astype(dt), b.astype(dt)


def _pauli(label: str, wire: int) -> PauliSum:
    if isinstance(wire, bool) or not isinstance(wire, int | np.integer) or wire < 0:
        raise ValueError(f"{label}: `wire` must be a non-negative int; got {wire!r}.")
    return PauliSum((((int(wire), label),),), jnp.ones((1,)))


def X(wire: int) -> PauliSum:
    """Pauli X on ``wire``."""
    return _pauli("X", wire)


def Y(wire: int) -> PauliSum:
    """Pauli Y on ``wire``."""
    return _pauli("Y", wire)


def Z(wire: int) -> PauliSum:
    """Pauli Z on ``wire``."""
    return _pauli("Z", wire)


def I() -> PauliSum:  # noqa: E743
    """The identity observable."""
    return PauliSum(((),), jnp.ones((1,)))


_PHASES = {"Y": np.array([-1j, 1j]), "Z": np.array([1.0, -1.0])}


def apply_pauli(term, state, n: int):
    """Apply one Pauli string to a flat ``n``-qubit state (a signed permutation)."""
    for w, label in term:
        v = state.reshape(2**w, 2, 2 ** (n - w - 1))
        if label in ("X", "Y"):
            v = v[:, ::-1]
        if label in _PHASES:
            v = v * jnp.asarray(_PHASES[label], state.dtype).reshape(1, 2, 1)
        state = v.reshape(-1)
    return state


def apply_sum(obs: PauliSum, state, n: int):
    r"""$H\psi$ for a Pauli sum."""
    c = obs.coeffs.astype(state.dtype)
    return sum(c[k] * apply_pauli(t, state, n) for k, t in enumerate(obs.terms))


def term_expectations(obs: PauliSum, state, n: int):
    r"""Real $\langle\psi|P_k|\psi\rangle$ for every term, shape ``(n_terms,)``."""
    return jnp.stack(
        [jnp.real(jnp.vdot(state, apply_pauli(t, state, n))) for t in obs.terms]
    )


def check_wires(obs: PauliSum, n_qubits: int) -> None:
    bad = [w for w in obs.wires if w >= n_qubits]
    if bad:
        raise ValueError(
            f"observable acts on wire(s) {bad} but the circuit has only "
            f"{n_qubits} qubits (wires 0..{n_qubits - 1})."
        )
