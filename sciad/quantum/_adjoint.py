r"""Gradient rules for expectation values: adjoint (reversible) and parameter shift.

**Adjoint method** (Jones & Gacon 2020; the reversibility trick of Yao.jl). For
$E = \langle\psi|H|\psi\rangle$ with $|\psi\rangle = U_L\cdots U_1|0\rangle$,
$\partial E/\partial\theta = 2\,\mathrm{Re}\,\langle\lambda_\ell|\,\partial_\theta
U_\ell\,|\psi_{\ell-1}\rangle$ with the co-state
$|\lambda_\ell\rangle = U_{\ell+1}^\dagger\cdots U_L^\dagger H|\psi\rangle$.
Because every gate is unitary, the backward pass does not need stored
intermediate states: it starts from the final $|\psi\rangle$ and $H|\psi\rangle$
and walks the program backwards, *un-applying* each gate to both
($|\psi_{\ell-1}\rangle = U_\ell^\dagger|\psi_\ell\rangle$). Memory is a few
statevectors whatever the depth, and the cost is about three gate passes per
gate. Plain reverse-mode AD instead stores every intermediate state (or, inside
`lax.scan`, every layer's carry plus recomputation), which is why this is a
`jax.custom_vjp`.

Per op, the backward pass forms the small reduced outer product
$M_{ab} = \sum \bar\lambda_a\psi_b$ on the op's wires (`_backward`: one GEMM on
the state's leading-qubit view, shared by two steps of a rolled ring); all ``2 M``
are then pulled back at once through the (vmapped) map *angles → gate
matrices* with a single `jax.vjp`. That one rule covers every gate, fused gate
runs and explicit `unitary` matrices.

**Parameter shift** (Mitarai et al. 2018; Schuld et al. 2019): for gates
$e^{-i\theta G}$ whose generator has eigenvalues $\pm 1/2$,
$\partial E/\partial\theta = [E(\theta+\pi/2) - E(\theta-\pi/2)]/2$; controlled
rotations (eigenvalues $0, \pm1/2$) use the four-term rule of Anselmetti et al.
2021. It costs 2-4 circuit evaluations per angle and is provided as the
hardware-compatible cross-check. Explicit `unitary` matrices are constants under
this rule.

References:
    Jones, T. & Gacon, J. (2020). Efficient calculation of gradients in classical
    simulations of variational quantum algorithms. arXiv:2009.02823.

    Luo, X.-Z. et al. (2020). Yao.jl: Extensible, efficient framework for quantum
    algorithm design. Quantum 4, 341. arXiv:1912.10877.

    Mitarai, K. et al. (2018). Quantum circuit learning. PRA 98, 032309.

    Anselmetti, G.-L. R. et al. (2021). Local, expressive, quantum-number-preserving
    VQE ansätze for fermionic systems. NJP 23, 113010. arXiv:2104.05695.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ._backward import backward
from ._layout import Program, forward, step_matrices
from ._observables import PauliSum, apply_sum, term_expectations


def adjoint_expectation(program: Program, obs: PauliSum, theta, mats, state0):
    """$\\langle\\psi|H|\\psi\\rangle$ with the adjoint-method VJP (pure states)."""
    n = program.n_reg

    @jax.custom_vjp
    def energy(theta, mats, coeffs):
        psi = forward(program, theta, mats, state0)
        return jnp.real(jnp.vdot(psi, apply_sum(_with(obs, coeffs), psi, n)))

    def fwd(theta, mats, coeffs):
        psi = forward(program, theta, mats, state0)
        hpsi = apply_sum(_with(obs, coeffs), psi, n)
        return jnp.real(jnp.vdot(psi, hpsi)), (theta, mats, coeffs, psi, hpsi)

    def bwd(res, g):
        theta, mats, coeffs, psi, lam = res
        ct_coeffs = g * term_expectations(obs, psi, n).astype(coeffs.dtype)
        xs, vjp = jax.vjp(
            lambda t, m: step_matrices(program, t, m, psi.dtype), theta, mats
        )
        ms = backward(program, xs, psi, lam)
        # dE/dU = 2 Re <lambda| dU |psi>: pull 2 g M back through the builds
        ct_theta, ct_mats = vjp(jax.tree.map(lambda m: (2 * g * m).astype(m.dtype), ms))
        return ct_theta, ct_mats, ct_coeffs

    energy.defvjp(fwd, bwd)
    return energy(theta, mats, obs.coeffs)


def _with(obs: PauliSum, coeffs) -> PauliSum:
    return PauliSum(obs.terms, coeffs)


# shifts and weights of the two- and four-term rules
_C_PLUS = (np.sqrt(2) + 1) / (4 * np.sqrt(2))
_C_MINUS = (np.sqrt(2) - 1) / (4 * np.sqrt(2))
_RULES = {
    1: ((np.pi / 2, 0.5), (-np.pi / 2, -0.5)),
    2: (
        (np.pi / 2, _C_PLUS),
        (-np.pi / 2, -_C_PLUS),
        (3 * np.pi / 2, -_C_MINUS),
        (-3 * np.pi / 2, _C_MINUS),
    ),
}


def shift_expectations(program: Program, obs: PauliSum, theta, mats, state0, measure):
    """Per-term expectations with a parameter-shift VJP in ``theta``.

    ``measure(state, term)`` returns the real expectation of one Pauli string, so
    the same rule serves statevector and density-matrix programs.
    """

    def terms_of(theta):
        st = forward(program, theta, mats, state0)
        return jnp.stack([measure(st, t) for t in obs.terms])

    rows, weights = [], []
    for j, code in enumerate(program.rules):
        for shift, w in _RULES.get(int(code), ()):
            e = np.zeros(len(program.rules))
            e[j] = shift
            rows.append(e)
            weights.append((j, w))

    @jax.custom_vjp
    def f(theta):
        return terms_of(theta)

    def fwd(theta):
        return terms_of(theta), theta

    def bwd(theta, g):
        if not rows:
            return (jnp.zeros_like(theta),)
        shifts = jnp.asarray(np.stack(rows), theta.dtype)
        vals = jax.vmap(lambda s: jnp.dot(g, terms_of(theta + s)))(shifts)
        idx = np.asarray([j for j, _ in weights])
        w = jnp.asarray([w for _, w in weights], theta.dtype)
        return (jnp.zeros_like(theta).at[idx].add(w * vals),)

    f.defvjp(fwd, bwd)
    return f(theta)
