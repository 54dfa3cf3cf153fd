"""Density matrices: zero noise is |psi><psi|; channels vs Kraus; rate gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad
import sciad.quantum as q
from sciad.quantum._noise import KRAUS

from ._reference import embed


def _build(c, p):
    c.h(0).ry(1, p).cnot(0, 1).rzz(1, 2, 0.7).crx(2, 0, 0.3).u3(2, 0.1, 0.2, 0.3)
    return c


def test_zero_noise_equals_pure():
    rho = q.density_matrix(_build(q.Circuit(3, mixed=True), 0.4))
    psi = q.statevector(_build(q.Circuit(3), 0.4))
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-12)
    obs = q.Z(0) * q.X(2) + 0.3 * q.Y(1)
    e_mixed = q.expectation(_build(q.Circuit(3, mixed=True), 0.4), obs)
    assert abs(e_mixed - q.expectation(_build(q.Circuit(3), 0.4), obs)) < 1e-12


@pytest.mark.parametrize("name", sorted(KRAUS))
def test_channel_vs_kraus(name):
    rate, wire, n = 0.23, 1, 2
    c = _build(q.Circuit(n + 1, mixed=True), 0.4)
    rho0 = np.asarray(q.density_matrix(c))
    getattr(c, name)(rate, wire)
    ks = [embed(k, (wire,), n + 1) for k in KRAUS[name](rate)]
    assert np.allclose(sum(k.conj().T @ k for k in ks), np.eye(2 ** (n + 1)))
    want = sum(k @ rho0 @ k.conj().T for k in ks)
    got = np.asarray(q.density_matrix(c))
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert abs(np.trace(got) - 1) < 1e-12


def _noisy_energy(rates):
    c = q.Circuit(2, mixed=True).h(0).cnot(0, 1)
    c.depolarizing(rates[0], 0).amplitude_damping(rates[1], 1)
    c.phase_damping(rates[2], 0).bit_flip(rates[3], 1).rx(0, 0.4)
    return q.expectation(c, q.Z(0) * q.Z(1) + 0.5 * q.X(0) * q.X(1))


def test_noise_rate_gradients():
    rates = jnp.array([0.1, 0.2, 0.05, 0.15])
    # jitted: eager op-by-op dispatch of the un-rolled program is the slow part
    f = jax.jit(_noisy_energy)
    sciad.check_grads(f, (rates,), order=1, modes=("fwd", "rev"))
    # depolarizing is differentiable at p = 0 (linear superoperator)
    g0 = jax.jit(jax.grad(_noisy_energy))(jnp.zeros(4))
    assert bool(jnp.all(jnp.isfinite(g0[jnp.array([0, 3])])))


def test_depolarizing_closed_form():
    # <Z> of |0> after depolarizing(p) is 1 - 4p/3
    f = lambda p: q.expectation(q.Circuit(1, mixed=True).depolarizing(p, 0), q.Z(0))
    assert abs(f(0.3) - (1 - 0.4)) < 1e-14
    assert abs(jax.grad(f)(0.3) + 4 / 3) < 1e-12


def test_mixed_probabilities_and_shift_rule():
    c = q.Circuit(2, mixed=True).ry(0, 0.8).cnot(0, 1).bit_flip(0.1, 1)
    p = q.probabilities(c)
    c0 = np.cos(0.4) ** 2
    np.testing.assert_allclose(
        p, [0.9 * c0, 0.1 * c0, 0.1 * (1 - c0), 0.9 * (1 - c0)], atol=1e-12
    )

    def e(t, method):
        c = q.Circuit(2, mixed=True).ry(0, t).cnot(0, 1).bit_flip(0.1, 1)
        return q.expectation(c, q.Z(1), diff_method=method)

    g_ps = jax.grad(e)(0.8, "parameter_shift")
    assert abs(g_ps - jax.grad(e)(0.8, "backprop")) < 1e-12
