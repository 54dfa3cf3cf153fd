"""Simulation entry points: states, probabilities, samples and expectation values."""

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Complex, Float, Int, PRNGKeyArray

from ._adjoint import adjoint_expectation, shift_expectations
from ._circuit import Circuit, _check_wire, circuit_arrays
from ._layout import compile_program, forward
from ._observables import PauliSum, apply_pauli, apply_sum, check_wires

_DIFF_METHODS = ("best", "adjoint", "backprop", "parameter_shift")


def _run(circuit: Circuit):
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected a Circuit; got {type(circuit).__name__}.")
    program = compile_program(circuit.calls, circuit.n_qubits, circuit.mixed)
    theta, mats, cdt = circuit_arrays(circuit)
    state0 = jnp.zeros(2**program.n_reg, cdt).at[0].set(1)
    return program, theta, mats, state0


def statevector(circuit: Circuit) -> Complex[Array, " dim"]:
    """The final state $U|0\\rangle$ of a pure circuit, shape ``(2**n,)``.

    Index bit ``n-1-w`` of the result is wire ``w`` (wire 0 most significant).
    Differentiable (by reverse- and forward-mode AD) in every angle.
    """
    if circuit.mixed:
        raise ValueError("statevector: the circuit is mixed; use density_matrix.")
    program, theta, mats, state0 = _run(circuit)
    return forward(program, theta, mats, state0)


def density_matrix(circuit: Circuit) -> Complex[Array, "dim dim"]:
    r"""The final density matrix $\rho$, shape ``(2**n, 2**n)``.

    For a pure circuit this is $|\psi\rangle\langle\psi|$; for ``mixed=True`` the
    gates act as $U\rho U^\dagger$ and channels as $\sum_k K_k\rho K_k^\dagger$.
    """
    dim = 2**circuit.n_qubits
    if not circuit.mixed:
        psi = statevector(circuit)
        return jnp.outer(psi, jnp.conj(psi))
    program, theta, mats, state0 = _run(circuit)
    return forward(program, theta, mats, state0).reshape(dim, dim)


def _wires(circuit: Circuit, wires, what: str) -> tuple[int, ...]:
    if wires is None:
        return tuple(range(circuit.n_qubits))
    wires = (wires,) if isinstance(wires, int) else tuple(wires)
    wires = tuple(_check_wire(what, w, circuit.n_qubits) for w in wires)
    if len(set(wires)) != len(wires):
        raise ValueError(f"{what}: `wires` must be distinct; got {wires}.")
    return wires


def probabilities(circuit: Circuit, wires=None) -> Float[Array, " dim"]:
    """Basis-state probabilities of ``wires`` (default all), shape ``(2**k,)``.

    The first listed wire is the most significant bit of the outcome index.
    """
    wires = _wires(circuit, wires, "probabilities")
    n = circuit.n_qubits
    if circuit.mixed:
        p = jnp.real(jnp.diagonal(density_matrix(circuit)))
    else:
        p = jnp.abs(statevector(circuit)) ** 2
    p = p.reshape((2,) * n)
    rest = tuple(w for w in range(n) if w not in wires)
    p = jnp.sum(p, axis=rest) if rest else p
    order = sorted(wires)
    return jnp.transpose(p, [order.index(w) for w in wires]).reshape(-1)


def sample(
    circuit: Circuit, shots: int, key: PRNGKeyArray, wires=None
) -> Int[Array, "shots k"]:
    """Draw ``shots`` computational-basis measurements of ``wires``.

    Returns an int array of bits, shape ``(shots, len(wires))``, first listed wire
    first. Not differentiable (use `probabilities` or `expectation`).
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ValueError(f"sample: `shots` must be a positive int; got {shots!r}.")
    wires = _wires(circuit, wires, "sample")
    logits = jnp.log(
        jnp.maximum(jax.lax.stop_gradient(probabilities(circuit, wires)), 0)
    )
    idx = jr.categorical(key, logits, shape=(shots,))
    k = len(wires)
    return (idx[:, None] >> jnp.arange(k - 1, -1, -1)) & 1


def _measure_pure(n):
    return lambda st, term: jnp.real(jnp.vdot(st, apply_pauli(term, st, n)))


def _measure_mixed(n):
    dim = 2**n

    def measure(st, term):
        # tr(P rho): apply P to the row wires of rho, then take the trace
        return jnp.real(jnp.trace(apply_pauli(term, st, 2 * n).reshape(dim, dim)))

    return measure


def expectation(
    circuit: Circuit, observable: PauliSum, *, diff_method: str = "best"
) -> Float[Array, ""]:
    r"""Expectation value $\langle\psi|H|\psi\rangle$ (or $\mathrm{tr}\,\rho H$).

    Differentiable in every gate angle, noise rate, explicit matrix and in the
    observable's coefficients. ``diff_method`` picks the reverse-mode rule:

    * ``"adjoint"``: a `jax.custom_vjp` that un-applies the gates backwards
      (Jones & Gacon 2020); memory of a few statevectors, independent of depth.
      Pure circuits only; reverse mode only (no `jax.jvp`).
    * ``"backprop"``: plain JAX AD through the simulation (forward and reverse
      mode; the only option for density matrices with noise-rate gradients).
    * ``"parameter_shift"``: 2-4 shifted evaluations per angle; explicit
      `unitary` matrices and noise rates are treated as constants.
    * ``"best"`` (default): ``"adjoint"`` for pure circuits, ``"backprop"`` for
      mixed ones.

    Raises:
        ValueError: unknown ``diff_method``; ``"adjoint"`` on a mixed circuit; the
            observable acts on a wire the circuit lacks.
    """
    if diff_method not in _DIFF_METHODS:
        raise ValueError(
            f"expectation: `diff_method` must be one of {_DIFF_METHODS}; "
            f"got {diff_method!r}."
        )
    if not isinstance(observable, PauliSum):
        raise TypeError(
            f"expectation: `observable` must be a PauliSum (built from X, Y, Z, I); "
            f"got {type(observable).__name__}."
        )
    check_wires(observable, circuit.n_qubits)
    if diff_method == "best":
        diff_method = "backprop" if circuit.mixed else "adjoint"
    if diff_method == "adjoint" and circuit.mixed:
        raise ValueError(
            "expectation: diff_method='adjoint' needs a pure (unitary) circuit; "
            "use 'backprop' for mixed=True circuits."
        )
    program, theta, mats, state0 = _run(circuit)
    n = circuit.n_qubits
    if diff_method == "adjoint":
        return adjoint_expectation(program, observable, theta, mats, state0)
    measure = _measure_mixed(n) if circuit.mixed else _measure_pure(n)
    if diff_method == "parameter_shift":
        terms = shift_expectations(program, observable, theta, mats, state0, measure)
        return jnp.dot(observable.coeffs.astype(terms.dtype), terms)
    state = forward(program, theta, mats, state0)
    if circuit.mixed:
        return jnp.dot(
            observable.coeffs,
            jnp.stack([measure(state, t) for t in observable.terms]),
        )
    return jnp.real(jnp.vdot(state, apply_sum(observable, state, n)))
