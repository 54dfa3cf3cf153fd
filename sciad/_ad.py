r"""Mixed-mode and complex differentiation helpers.

Why mixed mode is cheaper. For $f:\mathbb{R}^n\to\mathbb{R}$ a Hessian-vector
product $H v$ is the directional derivative of the gradient:
$Hv = \partial_\epsilon \nabla f(x + \epsilon v)|_{\epsilon=0}$. Forward mode over
the reverse-mode gradient computes it in one JVP of one VJP, i.e. a small constant
times the cost of $f$ with $O(\text{cost of } \nabla f)$ memory, without ever
forming $H$ ($n$ times cheaper than ``jax.hessian(f)(x) @ v``). Reverse-over-reverse
gives the same numbers but keeps two tapes alive; forward-over-forward needs $n$
passes. For Jacobians, forward mode costs one pass per *input* dimension and
reverse mode one pass per *output* dimension, so ``jacobian(mode="auto")`` picks
the side that needs fewer passes.

Complex AD conventions (JAX). For holomorphic $f:\mathbb{C}\to\mathbb{C}$,
``jax.grad(f, holomorphic=True)`` returns $f'(z)$. For a real-valued loss
$L:\mathbb{C}\to\mathbb{R}$ (never holomorphic unless constant), ``jax.grad(L)``
returns $\overline{\partial L/\partial x + i\,\partial L/\partial y}$, the
*conjugate* of the steepest-ascent direction, with $z = x + iy$. In Wirtinger
terms $\partial_{\bar z} L = \tfrac12(\partial_x L + i\,\partial_y L)$, so the
steepest-ascent direction is $2\,\partial_{\bar z} L$ and ``jax.grad`` returns its
conjugate. :func:`wirtinger_grad` undoes the conjugation, so ``z - lr * g`` is
gradient descent, as in PyTorch.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.tree_util as jtu


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    r"""Hessian-vector product $\nabla^2 f(x)\, v$ by forward-over-reverse AD.

    Args:
        f: scalar-valued function of one pytree argument.
        x: point (pytree of real arrays).
        v: direction, same structure as ``x``.

    Returns:
        $H(x) v$ with the structure of ``x``. Costs about 3-4 evaluations of
        ``f`` and never materialises the Hessian.

    Raises:
        ValueError: if ``x`` and ``v`` have different structures or shapes.
    """
    xs, vs = jtu.tree_structure(x), jtu.tree_structure(v)
    if xs != vs:
        raise ValueError(f"hvp: `v` must have the structure of `x`; got {vs} vs {xs}.")
    for a, b in zip(jtu.tree_leaves(x), jtu.tree_leaves(v), strict=True):
        if jnp.shape(a) != jnp.shape(b):
            raise ValueError(
                f"hvp: `v` must have the shapes of `x`; got {jnp.shape(b)} for a "
                f"leaf of shape {jnp.shape(a)}."
            )
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def _size(tree: Any) -> int:
    return sum(math.prod(jnp.shape(leaf)) for leaf in jtu.tree_leaves(tree))


def jacobian(
    f: Callable[..., Any],
    mode: str = "auto",
    *,
    argnums: int | Sequence[int] = 0,
) -> Callable[..., Any]:
    """Jacobian of ``f``, choosing forward or reverse mode by problem shape.

    Forward mode (``jax.jacfwd``) costs one JVP per input element; reverse mode
    (``jax.jacrev``) one VJP per output element. ``mode="auto"`` inspects the
    shapes at call time (``jax.eval_shape``, no FLOPs) and uses ``jacfwd`` when
    there are fewer inputs than outputs, else ``jacrev``.

    Args:
        f: function to differentiate.
        mode: ``"auto"``, ``"fwd"`` or ``"rev"``.
        argnums: which positional arguments to differentiate, as for ``jax.jacfwd``.

    Returns:
        A function with the signature of ``f`` returning the Jacobian in the
        layout of ``jax.jacfwd``/``jax.jacrev`` (identical for both).
    """
    if mode not in ("auto", "fwd", "rev"):
        raise ValueError(
            f"jacobian: `mode` must be 'auto', 'fwd' or 'rev'; got {mode!r}."
        )

    def jac(*args, **kwargs):
        chosen = mode
        if chosen == "auto":
            nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
            n_in = sum(_size(args[i]) for i in nums)
            n_out = _size(jax.eval_shape(lambda *a: f(*a, **kwargs), *args))
            chosen = "fwd" if n_in < n_out else "rev"
        transform = jax.jacfwd if chosen == "fwd" else jax.jacrev
        return transform(lambda *a: f(*a, **kwargs), argnums=argnums)(*args)

    return jac


def wirtinger_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., Any]:
    r"""Gradient of a real-valued function of complex inputs, for gradient descent.

    Returns $\partial_x f + i\,\partial_y f = 2\,\partial_{\bar z} f$ for each
    complex input $z = x + iy$ (real inputs get their ordinary gradient), so that
    ``z - lr * g`` decreases ``f``. This is the conjugate of what ``jax.grad``
    returns for complex inputs; see the module docstring.

    Args:
        f: function returning a real scalar.
        argnums: which positional arguments to differentiate.

    Raises:
        TypeError: if ``f`` returns a complex or non-scalar value.
    """

    def grad_fn(*args, **kwargs):
        out = jax.eval_shape(lambda *a: f(*a, **kwargs), *args)
        if not (hasattr(out, "shape") and out.shape == ()):
            raise TypeError(f"wirtinger_grad: `f` must return a scalar; got {out}.")
        if jnp.issubdtype(out.dtype, jnp.complexfloating):
            raise TypeError(
                "wirtinger_grad: `f` must be real-valued; it returned dtype "
                f"{out.dtype}. For holomorphic f use jax.grad(f, holomorphic=True)."
            )
        g = jax.grad(lambda *a: f(*a, **kwargs), argnums=argnums)(*args)
        return jtu.tree_map(jnp.conj, g)

    return grad_fn
