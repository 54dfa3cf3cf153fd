r"""Finite-difference gradient checking with errors that say where it went wrong.

``check_grads`` compares the *full* Jacobian from JAX's forward and/or reverse
mode with a central finite-difference Jacobian in float64,

.. math:: J_{ij} \approx \frac{f_i(x + h_j e_j) - f_i(x - h_j e_j)}{2 h_j},
   \qquad h_j = \varepsilon\,\max(1, |x_j|),

whose truncation error is $O(h^2)$ and round-off error $O(10^{-16}/h)$, so
$\varepsilon = 10^{-6}$ gives about ten correct digits for smooth functions.
Complex inputs and outputs are split into real and imaginary parts. Higher
orders check the Jacobian function itself, in every combination of modes.
Meant for small test inputs: it costs $2n$ evaluations of ``f`` (vmapped).
"""

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np


def _indices(shape: tuple[int, ...]) -> list[str]:
    """Element labels in row-major order: ``[0, 2]``; empty for scalars."""
    n = int(np.prod(shape))
    return [
        "[" + ", ".join(str(int(i)) for i in np.unravel_index(k, shape)) + "]"
        if shape
        else ""
        for k in range(n)
    ]


def _is_inexact(leaf: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)


class _Flat:
    """Real float64 vector view of the inexact leaves of ``args``, with labels."""

    def __init__(self, args: tuple):
        flat, self.treedef = jtu.tree_flatten_with_path(args)
        self.leaves = [leaf for _, leaf in flat]
        self.diff = [i for i, leaf in enumerate(self.leaves) if _is_inexact(leaf)]
        self.labels: list[str] = []
        parts = []
        for i in self.diff:
            leaf = jnp.asarray(self.leaves[i])
            name = "args" + jtu.keystr(flat[i][0])
            index_of = _indices(leaf.shape)
            complex_ = jnp.iscomplexobj(leaf)
            for part in ("real", "imag") if complex_ else ("",):
                suffix = f" ({part} part)" if part else ""
                self.labels += [f"{name}{idx}{suffix}" for idx in index_of]
            if complex_:
                parts += [leaf.real.ravel(), leaf.imag.ravel()]
            else:
                parts.append(leaf.ravel())
        if not parts:
            raise ValueError(
                "check_grads: `args` has no floating-point leaves to check."
            )
        self.theta = jnp.concatenate([p.astype(jnp.float64) for p in parts])

    def unflatten(self, theta: jax.Array) -> tuple:
        leaves = list(self.leaves)
        offset = 0
        for i in self.diff:
            leaf = jnp.asarray(leaves[i])
            n = leaf.size
            if jnp.iscomplexobj(leaf):
                re, im = theta[offset : offset + n], theta[offset + n : offset + 2 * n]
                new = (re + 1j * im).reshape(leaf.shape)
                offset += 2 * n
            else:
                new = theta[offset : offset + n].reshape(leaf.shape)
                offset += n
            leaves[i] = new.astype(leaf.dtype)
        return jtu.tree_unflatten(self.treedef, leaves)


def _real_vector(out: Any) -> jax.Array:
    parts = []
    for leaf in jtu.tree_leaves(out):
        leaf = jnp.asarray(leaf)
        parts += (
            [leaf.real.ravel(), leaf.imag.ravel()]
            if jnp.iscomplexobj(leaf)
            else [leaf.ravel()]
        )
    return jnp.concatenate([p.astype(jnp.float64) for p in parts])


def _output_labels(shapes: Any) -> list[str]:
    labels = []
    for path, leaf in jtu.tree_flatten_with_path(shapes)[0]:
        name = "output" + jtu.keystr(path)
        idx = _indices(leaf.shape)
        if jnp.issubdtype(leaf.dtype, jnp.complexfloating):
            labels += [f"{name}{i} (real part)" for i in idx]
            labels += [f"{name}{i} (imag part)" for i in idx]
        else:
            labels += [f"{name}{i}" for i in idx]
    return labels


def _fd_jacobian(g, theta, eps):
    h = eps * jnp.maximum(1.0, jnp.abs(theta))
    basis = jnp.diag(h)
    plus = jax.vmap(g)(theta + basis)
    minus = jax.vmap(g)(theta - basis)
    return ((plus - minus) / (2 * h[:, None])).T


def _compare(jac_ad, jac_fd, in_labels, out_labels, what, atol, rtol, eps):
    ad, fd = np.asarray(jac_ad), np.asarray(jac_fd)
    if not np.all(np.isfinite(ad)):
        i, j = np.argwhere(~np.isfinite(ad))[0]
        raise AssertionError(
            f"check_grads ({what}): AD derivative of {out_labels[i]} w.r.t. "
            f"{in_labels[j]} is {ad[i, j]} (not finite)."
        )
    err = np.abs(ad - fd)
    bound = atol + rtol * np.abs(fd)
    bad = err > bound
    if bad.any():
        i, j = np.unravel_index(
            np.argmax(np.where(bad, err - bound, -np.inf)), ad.shape
        )
        raise AssertionError(
            f"check_grads ({what}): derivative of {out_labels[i]} w.r.t. "
            f"{in_labels[j]} is {ad[i, j]:.10g} by AD but {fd[i, j]:.10g} by central "
            f"finite differences (eps={eps:g}); |difference| = {err[i, j]:.3g} > "
            f"atol + rtol*|fd| = {bound[i, j]:.3g}. {int(bad.sum())} of {bad.size} "
            "entries disagree; this is the worst."
        )


def _check(g, theta, in_labels, out_labels, order, modes, atol, rtol, eps, what):
    # jit: op-by-op dispatch of vmapped Jacobians is ~100x slower than one compile.
    jac_fd = jax.jit(lambda t: _fd_jacobian(g, t, eps))(theta)
    for mode in modes:
        transform = jax.jacfwd if mode == "fwd" else jax.jacrev
        jac_ad = jax.jit(transform(g))(theta)
        _compare(
            jac_ad, jac_fd, in_labels, out_labels, f"{mode}{what}", atol, rtol, eps
        )
    if order > 1:
        for mode in modes:
            transform = jax.jacfwd if mode == "fwd" else jax.jacrev
            g2 = lambda t, tr=transform: tr(g)(t).ravel()  # noqa: E731
            labels2 = [
                f"d[{o}]/d[{i}]" for o, i in itertools.product(out_labels, in_labels)
            ]
            _check(
                g2,
                theta,
                in_labels,
                labels2,
                order - 1,
                modes,
                atol,
                rtol,
                eps,
                f" over {mode}{what}",
            )


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 1,
    modes: Sequence[str] = ("fwd", "rev"),
    atol: float | None = None,
    rtol: float | None = None,
    eps: float | None = None,
) -> None:
    """Check JAX derivatives of ``f`` against central finite differences in float64.

    A drop-in for ``jax.test_util.check_grads`` (same arguments) that compares full
    Jacobians and, on failure, names the output, the argument (``args[1]['a']``),
    the element index and real/imaginary part of the worst mismatch.

    Args:
        f: function of ``*args`` returning a pytree of arrays.
        args: positional arguments; every floating or complex leaf is checked,
            integer leaves are held fixed.
        order: derivative order to check (2 also checks Hessians in every mode
            combination).
        modes: subset of ``("fwd", "rev")``.
        atol, rtol: tolerances; default ``1e-5`` each (float64 central differences
            with ``eps=1e-6`` are accurate to ~1e-9 for smooth, O(1) functions).
        eps: relative finite-difference step; default ``1e-6``.

    Raises:
        RuntimeError: if float64 is not enabled (``jax_enable_x64``).
        ValueError: bad ``order`` or ``modes``.
        AssertionError: a derivative disagrees, with the location in the message.
    """
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "check_grads needs float64: call "
            "jax.config.update('jax_enable_x64', True) first."
        )
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: `order` must be an int >= 1; got {order!r}.")
    modes = tuple(modes)
    if not modes or any(m not in ("fwd", "rev") for m in modes):
        raise ValueError(
            f"check_grads: `modes` must be from ('fwd', 'rev'); got {modes}."
        )
    atol = 1e-5 if atol is None else atol
    rtol = 1e-5 if rtol is None else rtol
    eps = 1e-6 if eps is None else eps
    flat = _Flat(tuple(args))
    out_labels = _output_labels(jax.eval_shape(f, *args))
    if not out_labels:
        raise ValueError("check_grads: `f` returned no arrays.")

    def g(theta):
        return _real_vector(f(*flat.unflatten(theta)))

    _check(g, flat.theta, flat.labels, out_labels, order, modes, atol, rtol, eps, "")
