"""PennyLane as an optional oracle (skipped when it is not installed)."""

import numpy as np
import pytest

import sciad.quantum as q

qml = pytest.importorskip("pennylane")


def test_statevector_and_expectation_match_pennylane():
    n = 3
    th = np.random.default_rng(0).uniform(-2, 2, 10)
    dev = qml.device("default.qubit", wires=n)

    def ops(lib, c=None):
        if lib == "pl":
            qml.Hadamard(0), qml.RX(th[0], 1), qml.RY(th[1], 2), qml.RZ(th[2], 0)
            qml.CNOT([0, 2]), qml.CRY(th[3], [2, 1]), qml.IsingXX(th[4], [0, 1])
            qml.IsingYY(th[5], [1, 2]), qml.IsingZZ(th[6], [2, 0])
            qml.U3(th[7], th[8], th[9], 1), qml.PhaseShift(th[0], 2), qml.SX(0)
            qml.Toffoli([2, 0, 1]), qml.CRZ(th[1], [1, 0]), qml.CRX(th[2], [0, 2])
            return None
        c.h(0).rx(1, th[0]).ry(2, th[1]).rz(0, th[2]).cnot(0, 2).cry(2, 1, th[3])
        c.rxx(0, 1, th[4]).ryy(1, 2, th[5]).rzz(2, 0, th[6]).u3(1, th[7], th[8], th[9])
        c.phase(2, th[0]).sx(0).toffoli(2, 0, 1).crz(1, 0, th[1]).crx(0, 2, th[2])
        return c

    @qml.qnode(dev)
    def state():
        ops("pl")
        return qml.state()

    @qml.qnode(dev)
    def expval():
        ops("pl")
        return qml.expval(qml.PauliZ(0) @ qml.PauliX(2) + 0.5 * qml.PauliY(1))

    c = ops("sciad", q.Circuit(n))
    np.testing.assert_allclose(np.asarray(q.statevector(c)), state(), atol=1e-12)
    e = q.expectation(c, q.Z(0) * q.X(2) + 0.5 * q.Y(1))
    assert abs(float(e) - float(expval())) < 1e-12
