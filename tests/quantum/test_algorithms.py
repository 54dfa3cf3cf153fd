"""VQE, QAOA, Hamiltonian helpers and device-sharded batches."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import sciad.quantum as q

from ._reference import PX, PY, PZ, embed


def test_hamiltonians_vs_kron():
    n = 4
    zz = sum(embed(np.kron(PZ, PZ), (i, (i + 1) % n), n) for i in range(n))
    x = sum(embed(PX, (i,), n) for i in range(n))
    np.testing.assert_allclose(
        q.hamiltonian.tfim(n, j=0.5, h=2.0).matrix(n), -0.5 * zz - 2 * x
    )
    heis = sum(
        embed(np.kron(p, p), (i, i + 1), n) for i in range(n - 1) for p in (PX, PY, PZ)
    )
    np.testing.assert_allclose(
        q.hamiltonian.heisenberg(n, j=1.5, periodic=False).matrix(n),
        1.5 * heis,
        atol=1e-14,
    )


def test_vqe_reaches_tfim_ground_energy():
    # Hamiltonian variational ansatz; p = n/2 layers can represent the ground
    # state of the periodic critical TFIM exactly, so VQE must reach E0 to 1e-4
    n = 6
    h = q.hamiltonian.tfim(n)
    e0 = np.linalg.eigvalsh(h.matrix(n))[0]

    def energy(p):
        c = q.Circuit(n)
        for w in range(n):
            c.h(w)
        for layer in range(3):
            for w in range(n):
                c.rzz(w, (w + 1) % n, p[layer, 0, w])
            for w in range(n):
                c.rx(w, p[layer, 1, w])
        return q.expectation(c, h)

    p0 = 0.1 + 0.01 * jax.random.normal(jax.random.key(0), (3, 2, n))
    res = q.vqe(energy, p0, optimizer=optax.adam(0.05), steps=250)
    assert res.history.shape == (250,)
    assert float(res.energy) - e0 < 1e-4
    assert float(res.energy) - e0 > -1e-10  # variational bound


def test_qaoa_maxcut():
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
    n = 4
    gam, bet = jnp.array([0.4, 0.8]), jnp.array([0.6, 0.3])
    # jitted: op-by-op dispatch of the small un-rolled programs is slower to run
    # eagerly than to compile once
    val = jax.jit(lambda a, b: q.qaoa_maxcut(edges, n, a, b))(gam, bet)
    # dense reference: expected cut from the statevector probabilities
    probs = jax.jit(lambda a, b: q.probabilities(q.qaoa_circuit(edges, n, a, b)))
    probs = np.asarray(probs(gam, bet))
    cuts = [
        sum(((z >> (n - 1 - a)) & 1) != ((z >> (n - 1 - b)) & 1) for a, b in edges)
        for z in range(2**n)
    ]
    assert abs(float(val) - float(probs @ np.asarray(cuts))) < 1e-12
    g = jax.jit(jax.grad(lambda a, b: q.qaoa_maxcut(edges, n, a, b), (0, 1)))(gam, bet)
    g_ps = jax.jit(
        jax.grad(
            lambda a, b: q.qaoa_maxcut(edges, n, a, b, diff_method="parameter_shift"),
            argnums=(0, 1),
        )
    )(gam, bet)
    for a, b in zip(g, g_ps, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)
    best = max(cuts)
    assert best == 4 and 0 < float(val) < best


def _energy(p):
    c = q.Circuit(3)
    for w, k in itertools.product(range(3), range(2)):
        c.ry(w, p[k, w])
        c.cnot(w, (w + 1) % 3)
    return q.expectation(c, q.hamiltonian.tfim(3))


def test_sharded_map_equals_single_device():
    assert len(jax.devices()) == 4
    batch = jax.random.normal(jax.random.key(1), (10, 2, 3))  # 10: not a multiple of 4
    f = jax.value_and_grad(_energy)
    single = jax.vmap(f)(batch)
    sharded = q.sharded_map(f, batch)
    np.testing.assert_allclose(sharded[0], single[0], atol=1e-13)
    np.testing.assert_allclose(sharded[1], single[1], atol=1e-13)
