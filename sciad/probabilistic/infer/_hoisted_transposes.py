r"""Gradients whose data-matrix products read the matrix along its rows.

The gradient of a regression's linear predictor $\eta = X w$ with respect to
$w$ is $X^\top r$, and JAX's transpose rule writes it as `dot_general(r, X)`
contracting the rows of $X$. XLA:CPU runs that contraction down the columns of
a row-major matrix: on a tall $X$ (many more rows than columns) it is 2-4x
slower than the same product with $X^\top$ stored row-major (50,000 x 54,
float32, on an Intel Xeon: 0.68 against 0.33 ms). $X^\top$ cannot be formed
inside the sampler's loop (XLA would copy $X$ at every gradient, and does not
hoist the copy), but $X$ is data: it does not depend on the position.

`hoist_data_transposes(fn, x)` traces `jax.value_and_grad(fn)` once, finds
every matrix-vector (or matrix-matrix) product that contracts the rows of a
tall position-independent matrix, forms those transposes *once, where it is
called* (outside the sampling loop) and returns `fn` with a `jax.custom_vjp`
whose forward pass evaluates the traced gradient with the transposed
products. Nothing else in the program changes. The price is one extra copy of
each such matrix in memory, bounded by `MAX_HOISTED_BYTES`.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import ClosedJaxpr, Literal, subjaxprs
from jax.flatten_util import ravel_pytree

# Memory budget for the transposed copies (all matrices of one potential).
MAX_HOISTED_BYTES = 2**28
# Row-to-column ratio from which the transposed product wins on XLA:CPU
# (measured: 2000 x 1000 1.6x faster, 300 x 300 and 1000 x 250 even).
MIN_ASPECT = 2
# Small products gain too (100 x 5: 0.7 -> 0.3 µs), but not enough to matter.
MIN_ELEMENTS = 1024


def hoist_data_transposes(fn: Callable, x, *extra) -> Callable:
    """`fn` (a scalar potential of positions shaped like `x`), with faster gradients.

    `MCMC` applies this to every model by itself; users of the functional core
    (`nuts_kernel`, `hmc_kernel`, `window_adaptation`) call it once, outside
    their sampling loop, on a potential that closes over its data:

        >>> fast_U = hoist_data_transposes(U, z0)  # X.T is formed here, once
        >>> algo = nuts_kernel(fast_U, step_size, inverse_mass_matrix)

    `x` is any position pytree (the potential is traced at it). Returns `fn`
    itself when nothing qualifies or the backend is not a CPU. Must be called
    where the data are loop-invariant: the transposes are computed at the
    call, not at each gradient. Values and gradients equal plain autodiff's
    up to the summation order of the rewritten products.

    `extra`: further arguments of `fn` that change from call to call but are
    not differentiated (SVI's per-step PRNG key): `fn(x, *extra)` is traced at
    these, and the result takes them too, with zero cotangents.
    """
    if jax.default_backend() != "cpu":
        return fn
    if not (isinstance(x, jax.Array | np.ndarray) and np.ndim(x) == 1):
        flat, unravel = ravel_pytree(x)

        def flat_fn(v, *e):
            return fn(unravel(v), *e)

        hoisted = hoist_data_transposes(flat_fn, flat, *extra)
        if hoisted is flat_fn:
            return fn
        return lambda z, *e: hoisted(ravel_pytree(z)[0], *e)
    traced = jax.make_jaxpr(jax.value_and_grad(fn))(x, *extra)
    if not _has_dot(traced.jaxpr):
        return fn
    closed = jax.make_jaxpr(lambda y, *e: _inline(traced, y, *e))(x, *extra)
    jaxpr = closed.jaxpr
    chosen, rewrites = _plan(jaxpr)
    if not rewrites:
        return fn

    env = dict(zip(jaxpr.constvars, closed.consts, strict=True))
    hoisted = {m: jnp.transpose(v) for m, v in _evaluate(jaxpr, chosen, env).items()}

    def apply(i, eqn, invals):
        if i not in rewrites:
            return _bind(eqn, invals)
        side = rewrites[i]
        return [_with_transpose(eqn, side, hoisted[eqn.invars[side]], invals[1 - side])]

    def value_and_grad(y, *e):
        v, g = _eval(jaxpr, closed.consts, [y, *jax.tree.leaves(e)], apply)
        return v, g

    @jax.custom_vjp
    def potential(y, *e):
        return fn(y, *e)

    def bwd(g, ct):
        return (ct * g, *(None for _ in extra))

    potential.defvjp(value_and_grad, bwd)
    return potential


def _plan(jaxpr) -> tuple[set, dict]:
    """The matrices to transpose, and {eqn index: operand index} to rewrite."""
    known = set(jaxpr.constvars)  # position-independent values
    candidates = []  # (eqn index, operand index, matrix var) of each product
    tall = {}  # matrix var -> bytes, for tall known matrices contracted by rows
    for i, eqn in enumerate(jaxpr.eqns):
        ins = [v for v in eqn.invars if not isinstance(v, Literal)]
        if not eqn.effects and all(v in known for v in ins):
            known.update(eqn.outvars)
            continue
        for side in _matrix_operands(eqn, known):
            m = eqn.invars[side]
            candidates.append((i, side, m))
            (contract, _) = eqn.params["dimension_numbers"]
            rows, cols = m.aval.shape
            if (
                contract[side][0] == 0
                and rows >= MIN_ASPECT * cols
                and rows * cols >= MIN_ELEMENTS
            ):
                tall[m] = m.aval.size * m.aval.dtype.itemsize
    chosen, budget = set(), MAX_HOISTED_BYTES
    for m, nbytes in tall.items():
        if nbytes <= budget:
            chosen.add(m)
            budget -= nbytes
    # every product with a chosen matrix reads its transpose, the forward
    # `X @ w` included: the loop then streams one copy of the data, not two
    rewrites = {}
    for i, side, m in candidates:
        if m in chosen:
            rewrites.setdefault(i, side)
    return chosen, rewrites


def _matrix_operands(eqn, known) -> list[int]:
    """Operand indices of known matrices that `eqn` contracts along one axis."""
    if eqn.primitive is not lax.dot_general_p:
        return []
    (contract, batch) = eqn.params["dimension_numbers"]
    if any(batch[0]) or any(batch[1]):
        return []
    sides = []
    for side in (0, 1):
        m, other = eqn.invars[side], eqn.invars[1 - side]
        if (
            not isinstance(m, Literal)
            and not isinstance(other, Literal)
            and m in known
            and other not in known
            and m.aval.ndim == 2
            and len(contract[side]) == 1
            and other.aval.ndim <= 2
        ):
            sides.append(side)
    return sides


def _with_transpose(eqn, side, mt, other):
    """`eqn`'s product with its matrix operand `m` given as `mt = m.T`."""
    (contract, _) = eqn.params["dimension_numbers"]
    mc = (1 - contract[side][0],)
    oc = tuple(contract[1 - side])
    dims = ((mc, oc), ((), ())) if side == 0 else ((oc, mc), ((), ()))
    operands = (mt, other) if side == 0 else (other, mt)
    return lax.dot_general(
        *operands,
        dims,
        precision=eqn.params.get("precision"),
        preferred_element_type=eqn.params.get("preferred_element_type"),
    )


def _has_dot(jaxpr) -> bool:
    """Whether `jaxpr` or any jaxpr nested in its equations has a product."""
    return any(e.primitive is lax.dot_general_p for e in jaxpr.eqns) or any(
        _has_dot(j) for j in subjaxprs(jaxpr)
    )


def _read(env, v):
    return v.val if isinstance(v, Literal) else env[v]


def _bind(eqn, invals):
    """`eqn`'s primitive applied to `invals`, as `jax.core.eval_jaxpr` does."""
    params = eqn.primitive.get_bind_params(eqn.params)
    with eqn.ctx.manager:
        out = eqn.primitive.bind(*invals, **params)
    return out if eqn.primitive.multiple_results else [out]


def _eval(jaxpr, consts, args, apply):
    """Evaluate `jaxpr`; `apply(index, eqn, invals)` returns each eqn's outputs."""
    env = dict(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for i, eqn in enumerate(jaxpr.eqns):
        outs = apply(i, eqn, [_read(env, v) for v in eqn.invars])
        env.update(zip(eqn.outvars, outs, strict=True))
    return [_read(env, v) for v in jaxpr.outvars]


def _inline(closed: ClosedJaxpr, *args):
    """Evaluate `closed`, inlining nested `jit` calls (flattens the jaxpr)."""

    def apply(_, eqn, invals):
        inner = eqn.params.get("jaxpr")
        if eqn.primitive.name in ("jit", "pjit") and isinstance(inner, ClosedJaxpr):
            return _inline(inner, *invals)
        return _bind(eqn, invals)

    return _eval(closed.jaxpr, closed.consts, args, apply)


def _evaluate(jaxpr, targets, env):
    """Values of the position-independent vars `targets`, from the constants."""
    producer = {v: eqn for eqn in jaxpr.eqns for v in eqn.outvars}
    cache = dict(env)

    def value(v):
        if isinstance(v, Literal):
            return v.val
        if v not in cache:
            eqn = producer[v]
            outs = _bind(eqn, [value(u) for u in eqn.invars])
            cache.update(zip(eqn.outvars, outs, strict=True))
        return cache[v]

    return {t: value(t) for t in targets}
