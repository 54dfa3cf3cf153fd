"""The `Circuit` builder: a recorded list of gate calls with (traceable) angles."""

import inspect
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._gates import GATES
from ._noise import CHANNELS

# Copies of the state alive at once in the worst path (backprop through a scan
# keeps per-layer carries, the adjoint keeps ~4): used only for the refusal test.
_STATE_COPIES = 6


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


def _check_wire(gate: str, wire, n: int) -> int:
    if isinstance(wire, bool) or not isinstance(wire, int | np.integer):
        raise TypeError(f"{gate}: wires must be Python ints; got {wire!r}.")
    if not 0 <= wire < n:
        raise ValueError(
            f"{gate}: wire {wire} is out of range for a circuit of {n} qubits "
            f"(allowed 0..{n - 1})."
        )
    return int(wire)


def _check_angle(gate: str, value):
    if jnp.shape(value) != ():
        raise ValueError(
            f"{gate}: angles must be scalars; got shape {jnp.shape(value)}."
        )
    if jnp.iscomplexobj(value):
        raise TypeError(f"{gate}: angles must be real; got {value!r}.")
    return value


@jax.tree_util.register_pytree_node_class
class Circuit:
    r"""A quantum circuit on ``n_qubits`` qubits, built by chaining gate calls.

    Each gate method takes its wires, then its angles, and returns the circuit, so
    ``Circuit(2).h(0).cnot(0, 1)`` builds a Bell state. Angles may be Python
    floats or traced JAX scalars (``c.ry(0, params[3])`` inside a function being
    differentiated or vmapped). Wire 0 is the most significant qubit of the state
    index. Conventions (PennyLane/Qiskit): $R_P(\theta) = e^{-i\theta P/2}$,
    $R_{ZZ}(\theta) = e^{-i\theta Z_aZ_b/2}$ (likewise ``rxx``, ``ryy``),
    ``phase(θ) = diag(1, e^{iθ})``, ``u3(θ, φ, λ)`` as in PennyLane's ``U3``.

    With ``mixed=True`` the circuit is simulated as a density matrix and also
    accepts the noise channels ``depolarizing(p, wire)``,
    ``amplitude_damping(g, wire)``, ``phase_damping(g, wire)``,
    ``bit_flip(p, wire)``, ``phase_flip(p, wire)``, differentiable in the rates.

    The circuit is a pytree (angles and matrices are its leaves), so it can be
    passed through `jax.jit` and `jax.vmap`.

    Raises:
        ValueError: ``n_qubits`` < 1, or the state would not fit in memory (the
            estimate is made before anything is allocated).
    """

    def __init__(self, n_qubits: int, mixed: bool = False):
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int | np.integer):
            raise TypeError(f"`n_qubits` must be an int; got {n_qubits!r}.")
        if n_qubits < 1:
            raise ValueError(f"`n_qubits` must be >= 1; got {n_qubits}.")
        n_amp = 4**n_qubits if mixed else 2**n_qubits
        itemsize = 16 if jax.config.jax_enable_x64 else 8
        need, have = n_amp * itemsize * _STATE_COPIES, _total_memory()
        if need > have:
            kind = "density matrix" if mixed else "statevector"
            raise ValueError(
                f"Circuit(n_qubits={n_qubits}, mixed={mixed}): a {kind} simulation "
                f"needs about {need / 2**30:.3g} GiB ({_STATE_COPIES} copies of "
                f"{n_amp} amplitudes x {itemsize} bytes) but this machine has "
                f"{have / 2**30:.3g} GiB."
            )
        self.n_qubits = int(n_qubits)
        self.mixed = bool(mixed)
        self._calls: list[tuple[str, tuple[int, ...]]] = []
        self._angles: list = []
        self._mats: list = []

    # -- pytree -------------------------------------------------------------
    def tree_flatten(self):
        aux = (self.n_qubits, self.mixed, tuple(self._calls))
        return (list(self._angles), list(self._mats)), aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.n_qubits, obj.mixed, calls = aux
        obj._calls = list(calls)
        obj._angles, obj._mats = list(children[0]), list(children[1])
        return obj

    @property
    def calls(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The static gate list ``((name, wires), ...)``."""
        return tuple(self._calls)

    def __repr__(self) -> str:
        return (
            f"Circuit(n_qubits={self.n_qubits}, mixed={self.mixed}, "
            f"gates={len(self._calls)})"
        )

    # -- recording ----------------------------------------------------------
    def _add(self, name: str, wires, angles) -> "Circuit":
        wires = tuple(_check_wire(name, w, self.n_qubits) for w in wires)
        if len(set(wires)) != len(wires):
            raise ValueError(f"{name}: wires must be distinct; got {wires}.")
        self._angles.extend(_check_angle(name, a) for a in angles)
        self._calls.append((name, wires))
        return self

    def unitary(self, matrix, wires) -> "Circuit":
        """Apply an explicit ``(2**k, 2**k)`` unitary matrix to ``wires``.

        A concrete matrix is checked for unitarity now (ValueError); a traced one
        at run time with `eqx.error_if`.
        """
        wires = (wires,) if isinstance(wires, int | np.integer) else tuple(wires)
        k = len(wires)
        m = jnp.asarray(matrix)
        if m.shape != (2**k, 2**k):
            raise ValueError(
                f"unitary: `matrix` must have shape {(2**k, 2**k)} for {k} wire(s) "
                f"{wires}; got {m.shape}."
            )
        cdt = jax.dtypes.canonicalize_dtype(np.result_type(m.dtype, np.complex64))
        m = m.astype(cdt)
        tol = 1e-5 if m.dtype == jnp.complex64 else 1e-8
        if isinstance(m, jax.core.Tracer):
            err = jnp.max(jnp.abs(m.conj().T @ m - jnp.eye(2**k, dtype=m.dtype)))
            m = eqx.error_if(m, err > tol, f"unitary on wires {wires}: not unitary.")
        else:
            err = float(
                np.max(np.abs(np.asarray(m).conj().T @ np.asarray(m) - np.eye(2**k)))
            )
            if err > tol:
                raise ValueError(
                    f"unitary on wires {wires}: `matrix` is not unitary "
                    f"(max |U^dagger U - I| = {err:.3g} > {tol:g})."
                )
        self._add("unitary", wires, ())
        self._mats.append(m)
        return self

    def _channel(self, name: str, rate, wire) -> "Circuit":
        if not self.mixed:
            raise ValueError(
                f"{name}: noise channels need a density-matrix circuit; "
                f"use Circuit({self.n_qubits}, mixed=True)."
            )
        if isinstance(rate, int | float) and not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name}: the rate must be in [0, 1]; got {rate}.")
        return self._add(name, (wire,), (rate,))


_WIRE_NAMES = {1: ("wire",), 2: ("wire0", "wire1"), 3: ("wire0", "wire1", "wire2")}
_SPECIAL = {
    "cnot": ("control", "target"),
    "cz": ("control", "target"),
    "crx": ("control", "target"),
    "cry": ("control", "target"),
    "crz": ("control", "target"),
    "toffoli": ("control0", "control1", "target"),
    "u3": ("theta", "phi", "lam"),
}


def _gate_method(name: str):
    g = GATES[name]
    wnames = _SPECIAL.get(name, _WIRE_NAMES[g.n_wires])
    if len(wnames) != g.n_wires:
        wnames = _WIRE_NAMES[g.n_wires]
    pnames = _SPECIAL["u3"] if name == "u3" else ("theta",) * g.n_params
    nw = g.n_wires

    def method(self, *args):
        if len(args) != nw + g.n_params:
            raise TypeError(
                f"{name} takes {nw} wire(s) and {g.n_params} angle(s); "
                f"got {len(args)} arguments."
            )
        return self._add(name, args[:nw], args[nw:])

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    params += [
        inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY)
        for p in (*wnames, *pnames)
    ]
    method.__signature__ = inspect.Signature(params)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Apply ``{name}`` to wires ({', '.join(wnames)})" + (
        f" with angle(s) {', '.join(pnames)}." if g.n_params else "."
    )
    return method


def _channel_method(name: str):
    def method(self, rate, wire):
        return self._channel(name, rate, wire)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Apply the ``{name}`` channel with rate ``rate`` to ``wire``."
    return method


for _name in GATES:
    setattr(Circuit, _name, _gate_method(_name))
for _name in CHANNELS:
    setattr(Circuit, _name, _channel_method(_name))


def _stack_scalars(xs):
    """``jnp.stack`` of scalars, in a form XLA compiles quickly when they are traced.

    Angles usually arrive as hundreds of ``params[l, i, j]`` slices. XLA:CPU does not
    fuse slices into a concatenate, so ``jnp.stack`` costs one compiled kernel per
    angle (~10 s of compile time for 400 angles here). A balanced sum of one-hot
    vectors is elementwise and fuses into a single kernel (adding exact zeros
    leaves every value unchanged). Its plain AD transpose would be one reduction
    kernel per angle again, hence a `jax.custom_jvp` whose tangent map is a plain
    stack: its transpose is slices, which fuse into the caller's slice transposes.
    """
    if len(xs) <= 64 or not any(isinstance(x, jax.core.Tracer) for x in xs):
        return jnp.stack(xs)
    return _onehot_stack(*xs)


@jax.custom_jvp
def _onehot_stack(*xs):
    iota = jnp.arange(len(xs))
    parts = [jnp.where(iota == i, x, jnp.zeros_like(x)) for i, x in enumerate(xs)]
    while len(parts) > 1:
        pairs = zip(parts[::2], parts[1::2], strict=False)
        parts = [a + b for a, b in pairs] + ([parts[-1]] if len(parts) % 2 else [])
    # computed once: XLA would otherwise duplicate the sum into every consumer
    return jax.lax.optimization_barrier(parts[0])


@_onehot_stack.defjvp
def _onehot_jvp(xs, ts):
    # the tangent map is a plain stack: its transpose (reverse mode) is slices
    return _onehot_stack(*xs), jnp.stack(ts)


def circuit_arrays(circuit: Circuit):
    """``(theta, mats)``: all angles as one real vector and the explicit matrices."""
    mats = circuit._mats
    reals = [jnp.finfo(jnp.asarray(m).dtype).dtype for m in mats]
    rdt = (
        jnp.result_type(*circuit._angles, *reals) if circuit._angles or reals else None
    )
    if rdt is None or not jnp.issubdtype(rdt, jnp.floating):
        rdt = jnp.result_type(float)
    cdt = jnp.promote_types(rdt, jnp.complex64)
    if circuit._angles:
        theta = _stack_scalars([jnp.asarray(a, rdt) for a in circuit._angles])
    else:
        theta = jnp.zeros((0,), rdt)
    return theta, [jnp.asarray(m, cdt) for m in mats], cdt


del _name
