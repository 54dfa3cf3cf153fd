"""Gates against textbook matrices; circuits against kron-built unitaries."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad.quantum as q
from sciad.quantum._gates import GATES

from ._reference import REFERENCE, embed

ALL_GATES = sorted(GATES)
RNG = np.random.default_rng(1)


def _haar(n, rng):
    m = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
    return np.linalg.qr(m)[0]


def _apply_to_random_state(build, n, rng):
    """Prepare a random state V|0> with `unitary`, apply ``build``; return (out, v)."""
    v = _haar(n, rng)
    out = np.asarray(q.statevector(build(q.Circuit(n).unitary(v, range(n)))))
    return out, v[:, 0]


@pytest.mark.parametrize("name", ALL_GATES)
def test_gate_matrix(name):
    # a random input state detects any wrong matrix entry (with probability 1)
    g = GATES[name]
    angles = tuple(RNG.uniform(-3, 3, g.n_params))
    n = g.n_wires
    got, v = _apply_to_random_state(
        lambda c: getattr(c, name)(*range(n), *angles), n, RNG
    )
    np.testing.assert_allclose(got, REFERENCE[name](*angles) @ v, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ALL_GATES if GATES[n].n_wires > 1])
def test_gate_wire_order(name):
    # reversed / non-adjacent wires inside a larger register
    g = GATES[name]
    angles = tuple(RNG.uniform(-3, 3, g.n_params))
    wires = (3, 0, 2)[: g.n_wires] if g.n_wires == 3 else (3, 1)
    got, v = _apply_to_random_state(lambda c: getattr(c, name)(*wires, *angles), 4, RNG)
    np.testing.assert_allclose(
        got, embed(REFERENCE[name](*angles), wires, 4) @ v, atol=1e-12
    )


def _random_program(n, depth, rng):
    prog = []
    names = [k for k in ALL_GATES if GATES[k].n_wires <= n]
    for _ in range(depth):
        name = names[rng.integers(len(names))]
        g = GATES[name]
        wires = tuple(int(w) for w in rng.choice(n, g.n_wires, replace=False))
        prog.append((name, wires, tuple(rng.uniform(-3, 3, g.n_params))))
    return prog


@pytest.mark.parametrize("n", [2, 6])
def test_circuit_vs_kron_unitary(n):
    rng = np.random.default_rng(n)
    prog = _random_program(n, 25, rng)
    mat = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    u_extra = np.linalg.qr(mat)[0]
    c = q.Circuit(n)
    want = np.eye(2**n, dtype=complex)
    for name, wires, angles in prog:
        getattr(c, name)(*wires, *angles)
        want = embed(REFERENCE[name](*angles), wires, n) @ want
    if n >= 2:
        c.unitary(u_extra, (n - 1, 0))
        want = embed(u_extra, (n - 1, 0), n) @ want
    psi = np.asarray(jax.jit(q.statevector)(c))
    np.testing.assert_allclose(psi, want[:, 0], atol=1e-12)
    assert abs(np.linalg.norm(psi) - 1) < 1e-12


def test_repeated_layers_rolled_match_unrolled():
    # a 12-layer ansatz is compiled to one lax.scan; compare with a dense product
    n, layers = 4, 12
    th = RNG.uniform(-2, 2, (layers, n, 2))
    c = q.Circuit(n)
    want = np.eye(2**n, dtype=complex)
    for layer in range(layers):
        for w in range(n):
            c.ry(w, th[layer, w, 0]).rz(w, th[layer, w, 1])
            want = (
                embed(
                    REFERENCE["rz"](th[layer, w, 1]) @ REFERENCE["ry"](th[layer, w, 0]),
                    (w,),
                    n,
                )
                @ want
            )
        for w in range(n):
            c.cnot(w, (w + 1) % n)
            want = embed(REFERENCE["cnot"](), (w, (w + 1) % n), n) @ want
    from sciad.quantum._layout import compile_program

    # every fused gate of the ring is the same kernel (matrix on the two leading
    # qubits, layout rotated by one): the whole circuit is one scan
    prog = compile_program(c.calls, n, False)
    assert [b.reps for b in prog.blocks] == [layers * n]
    np.testing.assert_allclose(np.asarray(q.statevector(c)), want[:, 0], atol=1e-12)


def test_unitarity_norm_preserved():
    # every gate kind with random angles on random states: |psi| = 1 to 1e-12,
    # one jitted+vmapped program over a batch of angle sets
    n = 5
    prog = _random_program(n, 60, np.random.default_rng(7))
    sizes = [GATES[name].n_params for name, _, _ in prog]

    def norm(theta):
        c, k = q.Circuit(n).h(0).h(3), 0
        for (name, wires, _), m in zip(prog, sizes, strict=True):
            getattr(c, name)(*wires, *theta[k : k + m])
            k += m
        return jnp.linalg.norm(q.statevector(c))

    thetas = jnp.asarray(RNG.uniform(-4, 4, (8, sum(sizes))))
    np.testing.assert_allclose(jax.jit(jax.vmap(norm))(thetas), 1.0, atol=1e-12)


def test_bell_and_ghz():
    bell = q.statevector(q.Circuit(2).h(0).cnot(0, 1))
    np.testing.assert_allclose(bell, np.array([1, 0, 0, 1]) / np.sqrt(2), atol=1e-14)
    c = q.Circuit(4).h(0)
    for w in range(3):
        c.cnot(w, w + 1)
    ghz = np.zeros(16)
    ghz[[0, 15]] = 1 / np.sqrt(2)
    np.testing.assert_allclose(q.statevector(c), ghz, atol=1e-14)
    np.testing.assert_allclose(
        q.probabilities(c, wires=[3, 0]), [0.5, 0, 0, 0.5], atol=1e-14
    )
    zz = q.expectation(c, q.Z(0) * q.Z(3))
    assert abs(zz - 1) < 1e-12


def test_wire0_is_most_significant():
    psi = q.statevector(q.Circuit(3).x(0))
    assert int(jnp.argmax(jnp.abs(psi))) == 4


def test_probabilities_and_sample(getkey):
    c = q.Circuit(2).ry(0, 1.0).cnot(0, 1)
    p = q.probabilities(c)
    np.testing.assert_allclose(
        p, [np.cos(0.5) ** 2, 0, 0, np.sin(0.5) ** 2], atol=1e-14
    )
    np.testing.assert_allclose(
        q.probabilities(c, wires=1), [np.cos(0.5) ** 2, np.sin(0.5) ** 2]
    )
    bits = q.sample(c, 20000, getkey())
    assert bits.shape == (20000, 2)
    assert bool(jnp.all(bits[:, 0] == bits[:, 1]))
    # binomial standard error ~ 0.0034: 5 sigma
    assert abs(float(bits[:, 0].mean()) - np.sin(0.5) ** 2) < 0.017
    # same key, same samples
    np.testing.assert_array_equal(
        q.sample(c, 10, jax.random.key(3)), q.sample(c, 10, jax.random.key(3))
    )


def test_float32_default_dtype():
    with jax.enable_x64(False):
        psi = q.statevector(q.Circuit(2).rx(0, 0.3).cnot(0, 1))
        assert psi.dtype == jnp.complex64
        e = q.expectation(q.Circuit(2).rx(0, 0.3), q.Z(0))
        assert e.dtype == jnp.float32
        assert abs(float(e) - np.cos(0.3)) < 1e-6
