"""Statevector kernels: apply a small gate matrix to a flat ``(2**n,)`` state.

Why not ``einsum``: contracting a gate over arbitrary axes of a ``(2,)*n`` array
makes XLA emit transposes of the whole state (and high-rank index arithmetic),
several times slower than necessary. Instead the flat state is *reshaped* (free)
to ``(L, 2, M, 2, R)``-style views whose gate axes are explicit, the ``2**k``
sub-blocks are sliced out, combined with the matrix entries and stacked back:
one streaming pass over the state that XLA fuses into a single loop. Diagonal
gates are an elementwise multiply, and X/CNOT/Toffoli are a ``where``-select
of a reversed axis (no arithmetic at all).

Wire 0 is the most significant bit of the state index.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np


def _view(n: int, wires_sorted) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """View shape exposing each wire in ``wires_sorted`` as its own size-2 axis."""
    shape, axes, prev = [], [], -1
    for w in wires_sorted:
        shape.append(2 ** (w - prev - 1))
        axes.append(len(shape))
        shape.append(2)
        prev = w
    shape.append(2 ** (n - prev - 1))
    return tuple(shape), tuple(axes)


def _to_sorted(mat, wires, diag: bool):
    """Re-index a matrix given in the user's wire order to ascending wire order."""
    k = len(wires)
    perm = tuple(int(i) for i in np.argsort(wires))
    if perm == tuple(range(k)):
        return mat
    if diag:
        return mat.reshape((2,) * k).transpose(perm).reshape(-1)
    t = mat.reshape((2,) * (2 * k)).transpose(perm + tuple(k + p for p in perm))
    return t.reshape(2**k, 2**k)


def _from_sorted(mat, wires, diag: bool):
    k = len(wires)
    inv = tuple(int(i) for i in np.argsort(np.argsort(wires)))
    if inv == tuple(range(k)):
        return mat
    if diag:
        return mat.reshape((2,) * k).transpose(inv).reshape(-1)
    t = mat.reshape((2,) * (2 * k)).transpose(inv + tuple(k + p for p in inv))
    return t.reshape(2**k, 2**k)


def _blocks(s, axes):
    """The ``2**k`` sub-arrays of view ``s`` with the gate axes fixed, in order."""
    out = []
    for bits in itertools.product((0, 1), repeat=len(axes)):
        idx = [slice(None)] * s.ndim
        for a, b in zip(axes, bits, strict=True):
            idx[a] = b
        out.append(s[tuple(idx)])
    return out


def _restack(parts, axes):
    """Inverse of `_blocks`: stack ``2**k`` blocks back into the view."""
    # The last bit varies fastest, so it is stacked first; the gate axes before
    # it are still missing at that point, hence the shift by j.
    for j in range(len(axes) - 1, -1, -1):
        parts = [
            jnp.stack(parts[i : i + 2], axis=axes[j] - j)
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


def _dense_view(s, axes, mat):
    parts = _blocks(s, axes)
    dim = len(parts)
    outs = [sum(mat[i, j] * parts[j] for j in range(dim)) for i in range(dim)]
    return _restack(outs, axes)


def _mask(shape, axes):
    m = np.ones([1] * len(shape), dtype=bool)
    for a in axes:
        sh = [1] * len(shape)
        sh[a] = 2
        m = m & (np.arange(2) == 1).reshape(sh)
    return m


def apply(kernel: str, wires, n: int, mat, state, dagger: bool = False):
    """Apply a gate (or its adjoint with ``dagger=True``) to the flat state."""
    if kernel == "swap":
        shape, axes = _view(n, sorted(wires))
        return jnp.swapaxes(state.reshape(shape), *axes).reshape(-1)
    if kernel in ("flip", "ctrl"):
        shape, axes = _view(n, sorted(wires))
        s = state.reshape(shape)
        tgt = axes[sorted(wires).index(wires[-1])]
        ctrl_axes = [a for a in axes if a != tgt]
        if kernel == "ctrl":
            m = jnp.conj(mat.T) if dagger else mat

        def act(v, tgt):
            return jnp.flip(v, tgt) if kernel == "flip" else _dense_view(v, (tgt,), m)

        if len(ctrl_axes) == 1:
            # concatenate the untouched control-0 half with the acted-on
            # control-1 half: every element is read once, which keeps XLA's
            # fusions small (a `where` reads the state twice and, chained over
            # many gates, makes fusion and compile time blow up)
            (c,) = ctrl_axes
            lo = jax.lax.slice_in_dim(s, 0, 1, axis=c)
            hi = jax.lax.slice_in_dim(s, 1, 2, axis=c)
            return jnp.concatenate([lo, act(hi, tgt)], axis=c).reshape(-1)
        new = act(s, tgt)
        if ctrl_axes:
            new = jnp.where(_mask(shape, ctrl_axes), new, s)
        return new.reshape(-1)
    ws = sorted(wires)
    shape, axes = _view(n, ws)
    s = state.reshape(shape)
    if kernel == "diag":
        d = _to_sorted(mat, wires, diag=True)
        d = jnp.conj(d) if dagger else d
        bshape = [1] * len(shape)
        for a in axes:
            bshape[a] = 2
        return (s * d.reshape(bshape)).reshape(-1)
    m = _to_sorted(mat, wires, diag=False)
    m = jnp.conj(m.T) if dagger else m
    return _dense_view(s, axes, m).reshape(-1)


def cotangent(kernel: str, wires, n: int, lam, psi):
    r"""Reduced outer product $M_{ab} = \sum_{\rm rest} \bar\lambda_a \psi_b$.

    ``lam`` is the co-state just after the gate and ``psi`` the state just before,
    so that $\partial E/\partial\theta = 2\,\mathrm{Re}\sum_{ab} M_{ab}\,
    \partial U_{ab}/\partial\theta$. Returned in the same layout as the gate's
    small matrix (dense, diagonal or controlled-target block).
    """
    if kernel in ("flip", "swap"):
        raise ValueError(f"kernel {kernel!r} has no parameters")
    ws = sorted(wires)
    shape, axes = _view(n, ws)
    ls, ps = lam.reshape(shape), psi.reshape(shape)
    if kernel == "ctrl":
        tgt = axes[ws.index(wires[-1])]
        idx = [slice(None)] * len(shape)
        for a in axes:
            if a != tgt:
                idx[a] = 1
        ls, ps = ls[tuple(idx)], ps[tuple(idx)]
        # indexing the controls away shifts the target axis left
        axes = (tgt - sum(1 for a in axes if a < tgt),)
    # one GEMM (conj Λ) Ψᵀ over the stacked blocks: XLA's CPU reductions of
    # complex products are several times slower than a matmul
    lb = jnp.stack([b.reshape(-1) for b in _blocks(ls, axes)])
    pb = jnp.stack([b.reshape(-1) for b in _blocks(ps, axes)])
    m = jnp.conj(lb) @ pb.T
    if kernel == "diag":
        return _from_sorted(jnp.diagonal(m), wires, diag=True)
    if kernel == "ctrl":
        return m
    return _from_sorted(m, wires, diag=False)
