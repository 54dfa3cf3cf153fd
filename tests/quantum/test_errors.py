"""Bad input raises clear errors naming the gate, wire and allowed range."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad.quantum as q


def test_wire_errors():
    c = q.Circuit(3)
    with pytest.raises(ValueError, match=r"cnot: wire 3 is out of range .* 0\.\.2"):
        c.cnot(0, 3)
    with pytest.raises(ValueError, match=r"rzz: wires must be distinct; got \(1, 1\)"):
        c.rzz(1, 1, 0.3)
    with pytest.raises(ValueError, match="wire -1"):
        c.h(-1)
    with pytest.raises(TypeError, match="wires must be Python ints"):
        c.x(1.0)
    with pytest.raises(TypeError, match="rx takes 1 wire"):
        c.rx(0)
    with pytest.raises(ValueError, match="angles must be scalars"):
        c.ry(0, jnp.ones(2))


def test_non_unitary_matrix():
    with pytest.raises(ValueError, match=r"unitary on wires \(0, 1\).*not unitary"):
        q.Circuit(2).unitary(np.ones((4, 4)), (0, 1))
    with pytest.raises(ValueError, match=r"must have shape \(4, 4\)"):
        q.Circuit(2).unitary(np.eye(2), (0, 1))

    @jax.jit
    def traced(m):
        return q.statevector(q.Circuit(1).unitary(m, 0))

    with pytest.raises(Exception, match="not unitary"):
        traced(2 * jnp.eye(2)).block_until_ready()


def test_observable_errors():
    with pytest.raises(
        ValueError, match=r"observable acts on wire\(s\) \[4\].*only 2 qubits"
    ):
        q.expectation(q.Circuit(2).h(0), q.Z(4))
    with pytest.raises(ValueError, match="different wires"):
        q.X(0) * q.Z(0)
    with pytest.raises(ValueError, match="diff_method"):
        q.expectation(q.Circuit(1), q.Z(0), diff_method="magic")
    with pytest.raises(ValueError, match="adjoint.*pure"):
        q.expectation(q.Circuit(1, mixed=True), q.Z(0), diff_method="adjoint")


def test_memory_refused_before_allocating():
    with pytest.raises(ValueError, match=r"needs about .* GiB .* this machine has"):
        q.Circuit(45)
    with pytest.raises(ValueError, match="density matrix"):
        q.Circuit(24, mixed=True)
    with pytest.raises(ValueError, match="n_qubits"):
        q.Circuit(0)


def test_channel_errors():
    with pytest.raises(ValueError, match="mixed=True"):
        q.Circuit(2).depolarizing(0.1, 0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]; got 1.5"):
        q.Circuit(2, mixed=True).bit_flip(1.5, 0)
    with pytest.raises(ValueError, match="statevector"):
        q.statevector(q.Circuit(1, mixed=True))
