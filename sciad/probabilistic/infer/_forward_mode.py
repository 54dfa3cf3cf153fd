r"""Forward-mode gradients behind a reverse-mode interface.

`NUTS(..., forward_mode_differentiation=True)`, as in NumPyro, differentiates
the potential in forward mode: one Jacobian-vector product per coordinate of
the position, batched with `vmap` into a single pass. That is the only way
through `lax.while_loop` with a data-dependent trip count (reverse mode cannot
store its iterations: a Newton solve, a root finder, an adaptive ODE solver
without a checkpointed adjoint), and it can be cheaper than reverse mode for a
few parameters and a long computation, since nothing is stored for a backward
pass.

The sampler calls `jax.value_and_grad` in several places (initialisation, the
step-size search, every leapfrog step). Rather than thread a flag through all of
them, `forward_mode_potential` gives the potential a `custom_vjp` whose forward
pass computes the value and the whole gradient with `jvp`s and whose backward
pass only scales that gradient: every reverse-mode call site then runs forward
mode.
"""

import contextlib
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def value_and_jacfwd(fn: Callable, position):
    r"""`(fn(position), ∇fn(position))` for a scalar `fn`, in forward mode.

    The $d$ tangents are the unit vectors of the flattened position, pushed
    through `jax.jvp` under one `vmap`: the primal is computed once, the
    tangents together (a `d`-column batch per operation).
    """
    flat, unravel = ravel_pytree(position)

    def push(tangent):
        return jax.jvp(lambda x: fn(unravel(x)), (flat,), (tangent,))

    basis = jnp.eye(flat.shape[0], dtype=flat.dtype)
    value, grad = jax.vmap(push, out_axes=(None, 0))(basis)
    return value, unravel(grad)


def forward_mode_potential(fn: Callable) -> Callable:
    """`fn`, with reverse-mode derivatives computed by forward-mode AD.

    `jax.grad(forward_mode_potential(fn))` equals `jax.grad(fn)` (up to
    rounding) but never transposes `fn`: it works through
    `lax.while_loop`, and costs one `vmap`-batched `jvp` over the position's
    coordinates. Only first derivatives are supported.
    """

    @jax.custom_vjp
    def potential(position):
        return fn(position)

    def forward(position):
        return value_and_jacfwd(fn, position)

    def backward(grad, cotangent):
        return (jax.tree.map(lambda g: cotangent * g, grad),)

    potential.defvjp(forward, backward)
    return potential


# JAX's own messages, matched to add the fix
REVERSE_MODE_LOOP_ERROR = "Reverse-mode differentiation does not work for lax.while"
FORWARD_MODE_HINT = (
    "The model's log density contains a `lax.while_loop` (or a `fori_loop` "
    "with traced bounds), which reverse-mode autodiff cannot differentiate. "
    "Pass `forward_mode_differentiation=True` (to `NUTS` or `HMC`, or to "
    "`sciad.calibrate`) to differentiate it in forward mode."
)
FORWARD_MODE_CUSTOM_VJP_ERROR = "apply forward-mode autodiff (jvp) to a custom_vjp"
CUSTOM_VJP_HINT = (
    "`forward_mode_differentiation=True` differentiates the model with `jvp`, "
    "but its log density calls a `jax.custom_vjp` function, which has a "
    "reverse-mode rule only. For a diffrax solve, pass "
    "`adjoint=diffrax.ForwardMode()` (the default `RecursiveCheckpointAdjoint` "
    "is reverse-only); otherwise use reverse mode."
)


@contextlib.contextmanager
def explain_differentiation_errors():
    """Re-raise JAX's "cannot differentiate in this mode" errors naming the fix."""
    try:
        yield
    except ValueError as err:
        if REVERSE_MODE_LOOP_ERROR not in str(err):
            raise
        raise ValueError(f"{FORWARD_MODE_HINT} JAX said: {err}") from None
    except TypeError as err:
        if FORWARD_MODE_CUSTOM_VJP_ERROR not in str(err):
            raise
        raise TypeError(f"{CUSTOM_VJP_HINT} JAX said: {err}") from None
