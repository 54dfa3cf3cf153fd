"""Adjoint, backprop and parameter-shift gradients agree; check_grads; vmap."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad
import sciad.quantum as q
from sciad.quantum import _backward, _layout, _local

N = 3


def hamiltonian():
    return q.hamiltonian.tfim(N, j=0.7, h=1.3) + 0.4 * q.Y(0) * q.X(2) - 0.2 * q.I()


H = hamiltonian()
RNG = np.random.default_rng(0)
U_FIXED = np.linalg.qr(RNG.normal(size=(4, 4)) + 1j * RNG.normal(size=(4, 4)))[0]


def circuit(p):
    # every parametrised gate kind, a repeated (rolled) block, an explicit unitary
    c = q.Circuit(N)
    for layer in range(3):
        for w in range(N):
            c.ry(w, p[layer, w]).rz(w, p[layer + 1, w])
        for w in range(N):
            c.cnot(w, (w + 1) % N)
    c.rx(0, p[0, 0]).phase(1, p[0, 1]).u3(2, p[1, 0], p[1, 1], p[1, 2])
    c.crx(0, 1, p[2, 0]).cry(2, 0, p[2, 1]).crz(1, 2, p[2, 2])
    c.rxx(0, 2, p[3, 0]).ryy(1, 0, p[3, 1]).rzz(2, 1, p[3, 2])
    c.unitary(U_FIXED, (2, 0)).h(1).s(0).t(2).sx(1).y(0).swap(0, 1).toffoli(1, 2, 0)
    return c


def energy(p, method, obs=H):
    return q.expectation(circuit(p), obs, diff_method=method)


METHODS = ("adjoint", "backprop", "parameter_shift")
GRADS = {m: jax.jit(jax.value_and_grad(lambda p, m=m: energy(p, m))) for m in METHODS}
P0 = jnp.asarray(RNG.uniform(-2, 2, (4, N)))


def test_methods_agree_complex128():
    vals = {m: GRADS[m](P0) for m in METHODS}
    exact = np.vdot(*(2 * [np.asarray(q.statevector(circuit(P0)))]))  # norm, sanity
    assert abs(exact - 1) < 1e-12
    psi = np.asarray(q.statevector(circuit(P0)))
    e_dense = np.real(np.vdot(psi, H.matrix(N) @ psi))
    for m in METHODS:
        assert abs(vals[m][0] - e_dense) < 1e-12, m
        # all three rules are exact in exact arithmetic: agree to 1e-10
        np.testing.assert_allclose(
            vals[m][1], vals["backprop"][1], atol=1e-10, err_msg=m
        )


@pytest.mark.parametrize(
    "n, layers, angles, reverse",
    [
        (2, 3, True, False),
        (3, 3, True, False),
        (4, 3, False, False),
        (5, 3, True, True),
        (4, 2, True, True),
    ],
    ids=["2q-even", "3q-odd", "bare-ring-then-1q", "reversed-even", "reversed-odd"],
)
def test_adjoint_rolled_ring_pairs(n, layers, angles, reverse):
    # a CNOT ring is one repeated step; the backward pass takes one Gram per two
    # steps (`_backward.pair_plan`): 2- and 3-qubit spans, even and odd repetition
    # counts, a rolled ring without angles (H absorbed) followed by rolled 1-qubit
    # steps, and a ring written in reverse order (it runs the other way through the
    # layout: the Gram is taken between the two steps). Exact in exact arithmetic,
    # so 1e-10 in complex128.
    def f(p, method):
        c = q.Circuit(n)
        for layer in range(layers):
            for w in range(n):
                if angles:
                    c.ry(w, p[layer, w]).rz(w, 0.5 * p[layer, w] + 0.1)
                elif layer == 0:
                    c.h(w)
            for w in reversed(range(n)) if reverse else range(n):
                c.cnot(w, (w + 1) % n)
        if not angles:
            for w in range(n):
                c.ry(w, p[0, w])
        obs = q.hamiltonian.tfim(n) + 0.3 * q.Y(0) * q.X(n - 1)
        return q.expectation(c, obs, diff_method=method)

    grad = jax.jit(jax.grad(f), static_argnums=1)
    p = jnp.asarray(np.random.default_rng(n).uniform(-2, 2, (layers, n)))
    np.testing.assert_allclose(grad(p, "adjoint"), grad(p, "backprop"), atol=1e-10)


@pytest.mark.parametrize(
    "reverse, n",
    [(False, 6), (True, 6), (False, 12)],
    ids=["pairs", "reversed", "triples"],
)
def test_adjoint_ring_loop_copies_no_state(reverse, n):
    # performance property of `_backward._back_pairs` (and of the nested loops of
    # `_back_periods`, n = 12): the un-applies depend on the Gram
    # (`_backward._after`), so XLA's copy insertion does not copy the two
    # loop-carried states every iteration (two extra passes per two gates). Checked
    # on the optimised HLO: no while body holding a Gram copies a full state.

    def f(p):
        c = q.Circuit(n)
        for layer in range(4):
            for w in range(n):
                c.ry(w, p[layer, w]).rz(w, 0.3 * p[layer, w])
            for w in reversed(range(n)) if reverse else range(n):
                c.cnot(w, (w + 1) % n)
        return q.expectation(c, q.hamiltonian.tfim(n))

    hlo = jax.jit(jax.grad(f)).lower(jnp.ones((4, n))).compile().as_text()
    comps = re.split(r"\n(?=%\S+ \()", hlo)
    bodies = set(re.findall(r"body=(%[\w.\-]+)", hlo))
    loops = [c for c in comps if c.split(" ", 1)[0] in bodies and " dot(" in c]
    assert loops
    state_copy = re.compile(rf"= c(64|128)\[{2**n}\]\S* copy\(")
    for body in loops:
        assert not state_copy.search(body), body


@pytest.mark.parametrize(
    "n, layers, flip", [(12, 2, False), (13, 2, False), (14, 2, True)]
)
def test_adjoint_ring_triples(n, layers, flip):
    # HEA rings whose ops are "CNOT after single-qubit gates" with angles (and
    # explicit matrices) only on the target, except each layer's first op: the
    # backward takes one Gram per three steps (`_local.triple_plan`), the exact
    # pair Gram for each layer's first two. Periods of 12, 13 and 14 steps (last
    # group of 1, 2 and 3 steps); CNOT(w + 1, w) (``flip``) is the same structure
    # (the angles sit on each op's second leading qubit, whichever is the
    # control). Exact in exact arithmetic: 1e-10 in complex128, for the angles
    # and the explicit matrices.
    mats = jnp.asarray(
        np.linalg.qr(
            RNG.normal(size=(layers, 2, 2)) + 1j * RNG.normal(size=(layers, 2, 2))
        )[0]
    )

    def circ(p, m):
        c = q.Circuit(n)
        for layer in range(layers):
            for w in range(n):
                c.ry(w, p[layer, w, 0]).rz(w, p[layer, w, 1])
            c.unitary(m[layer], 3).h(5)  # fused into the ops with targets 3 and 5
            for w in range(n):
                c.cnot((w + 1) % n, w) if flip else c.cnot(w, (w + 1) % n)
        return c

    def f(p, m, method):
        obs = q.hamiltonian.tfim(n) + 0.3 * q.Y(0) * q.X(n - 1)
        return q.expectation(circ(p, m), obs, diff_method=method)

    zeros = np.zeros((layers, n, 2))
    program = _layout.compile_program(circ(zeros, mats).calls, n, False)
    (block,) = [b for b in program.blocks if b.reps]
    plan = _local.triple_plan(program, block, _backward.pair_plan(block))
    assert plan == _local.TriplePlan(n, (n - 3) // 3)
    grad = jax.jit(jax.grad(f, argnums=(0, 1)), static_argnums=2)
    p = jnp.asarray(np.random.default_rng(n).uniform(-2, 2, (layers, n, 2)))
    for a, b in zip(grad(p, mats, "adjoint"), grad(p, mats, "backprop"), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_ring_triples_only_when_exact():
    # no triple plan when the ring ops' first (leading) qubits carry angles (a
    # rotation between two ring gates is absorbed by the next one on its first
    # qubit), for a ring running the other way through the layout, or for
    # small states
    def plan(n, between=False, reverse=False):
        c = q.Circuit(n)
        for _ in range(3):
            for w in range(n):
                c.ry(w, 0.1)
            for w in reversed(range(n)) if reverse else range(n):
                c.cnot(w, (w + 1) % n)
                if between:
                    c.rz((w + 1) % n, 0.2)
        program = _layout.compile_program(c.calls, n, False)
        block = max(program.blocks, key=lambda b: b.reps or 0)
        return _local.triple_plan(program, block, _backward.pair_plan(block))

    assert plan(12) == _local.TriplePlan(12, 3)
    assert plan(12, between=True) is None
    assert plan(12, reverse=True) is None
    assert plan(8) is None  # below `_local._MIN_QUBITS`


def test_check_grads_adjoint():
    # custom_vjp: reverse mode only; float64 central differences, default tolerances
    sciad.check_grads(lambda p: energy(p, "adjoint"), (P0,), order=1, modes=("rev",))


def test_check_grads_backprop_fwd_and_rev():
    sciad.check_grads(
        lambda p: energy(p, "backprop"), (P0,), order=1, modes=("fwd", "rev")
    )


def test_gradient_wrt_observable_coefficients_and_unitary():
    def f(coef, u):
        c = q.Circuit(2).ry(0, 0.3).unitary(u, (0, 1)).rx(1, 0.2)
        return q.expectation(c, coef[0] * q.Z(0) + coef[1] * q.X(1) * q.Y(0))

    coef = jnp.array([0.7, -1.1])
    u = jnp.asarray(U_FIXED)
    g_adj = jax.grad(f, argnums=(0, 1))(coef, u)

    def f_bp(coef, u):
        c = q.Circuit(2).ry(0, 0.3).unitary(u, (0, 1)).rx(1, 0.2)
        obs = coef[0] * q.Z(0) + coef[1] * q.X(1) * q.Y(0)
        return q.expectation(c, obs, diff_method="backprop")

    g_bp = jax.grad(f_bp, argnums=(0, 1))(coef, u)
    np.testing.assert_allclose(g_adj[0], g_bp[0], atol=1e-12)
    np.testing.assert_allclose(g_adj[1], g_bp[1], atol=1e-12)


def test_single_qubit_closed_form():
    # <Z> after RY(θ) is cos θ, d/dθ = -sin θ
    f = lambda t: q.expectation(q.Circuit(1).ry(0, t), q.Z(0))
    for t in (0.0, 0.4, 2.5):
        assert abs(f(t) - np.cos(t)) < 1e-14
        assert abs(jax.grad(f)(t) + np.sin(t)) < 1e-14


def test_vmap_over_params_and_inputs():
    batch = jnp.asarray(RNG.uniform(-2, 2, (5, 4, N)))
    vals = jax.vmap(lambda p: energy(p, "adjoint"))(batch)
    ref = jnp.stack([GRADS["adjoint"](b)[0] for b in batch])
    np.testing.assert_allclose(vals, ref, atol=1e-12)

    # data re-uploading: inputs x enter as angles, vmapped; gradient of a batch loss
    def model(w, x):
        c = q.Circuit(2)
        for layer in range(2):
            c.rx(0, x[0]).rx(1, x[1]).ry(0, w[layer, 0]).ry(1, w[layer, 1]).cnot(0, 1)
        return q.expectation(c, q.Z(1))

    w = jnp.asarray(RNG.normal(size=(2, 2)))
    xs = jnp.asarray(RNG.normal(size=(6, 2)))
    loss = lambda w: jnp.mean(jax.vmap(model, (None, 0))(w, xs) ** 2)
    sciad.check_grads(loss, (w,), order=1, modes=("rev",))


def test_float32_gradient_close_to_float64():
    method = "adjoint"
    g64 = GRADS[method](P0)[1]
    with jax.enable_x64(False):
        h32 = hamiltonian()  # float32 coefficients
        g32 = jax.grad(lambda p: energy(p, method, h32))(P0.astype(jnp.float32))
        assert g32.dtype == jnp.float32
    # float32 round-off over ~70 gates: 5e-3 relative (tests/helpers tol)
    np.testing.assert_allclose(g32, g64, atol=5e-4)


def test_matrix_cotangents_fused_and_rolled():
    # several explicit matrices fused into one op, and one per rolled repetition
    mats = jnp.asarray(
        np.linalg.qr(RNG.normal(size=(10, 2, 2)) + 1j * RNG.normal(size=(10, 2, 2)))[0]
    )

    def f(m, method):
        c = q.Circuit(2).unitary(m[0], 0).unitary(m[1], 0).ry(1, 0.3)
        for k in range(2, 10):
            c.unitary(m[k], k % 2).cnot(0, 1)
        return q.expectation(c, q.X(0) * q.Z(1), diff_method=method)

    g_adj = jax.grad(f)(mats, "adjoint")
    g_bp = jax.grad(f)(mats, "backprop")
    np.testing.assert_allclose(g_adj, g_bp, atol=1e-12)
