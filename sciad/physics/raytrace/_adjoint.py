r"""A reverse pass for `render` that revisits only the rays that need it.

`jax.grad` of a `vmap`-ed shader is correct but, on XLA:CPU, slow: the reverse
pass of the fused per-ray program is split into a hundred-odd loops, each
streaming tens of full-image intermediates through memory, so a gradient cost
10-25 renders. Most of that work is wasted in inverse rendering, where one
usually differentiates with respect to a few objects: a ray whose camera hit,
shadow rays and mirror rays never touch a differentiated object contributes
exactly zero to the gradient.

`sparse_adjoint` therefore wraps the batched shader in a `jax.custom_vjp`:

* forward: the plain batched shader, which also reports per ray whether its
  radiance depends on a differentiated ("perturbed") object (coverage
  $\alpha > 0$ on the camera ray, or on a shadow or mirror ray of a surface
  with non-zero weight). Which objects are perturbed is known at trace time
  from the custom-VJP machinery (`symbolic_zeros=True`). If the camera, a
  light, the ambient/background radiance or the edge width is perturbed,
  every ray depends on it, and the rule falls back to plain reverse mode
  (residuals saved in the forward pass).
* backward: the indices of the dependent rays are compacted, and the
  ordinary reverse-mode VJP is evaluated on chunks of them (recomputing their
  forward pass); chunks past the count are skipped with `lax.cond`. The
  result is exactly the plain-AD gradient (the skipped rays' contributions
  are exact zeros), summed in a different order.

Why a custom rule: it changes the cost of the gradient, not its value (tested
against plain AD in `tests/physics/test_raytrace_grad.py`). As with any
`custom_vjp`, forward-mode AD (`jax.jvp`, `jax.jacfwd`) does not go through
it; `render(..., adjoint="autodiff")` is the plain-AD path for that.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero


def _tracked(perturbed) -> tuple[int, ...] | None:
    """Indices of perturbed objects, or `None` if every ray is affected."""
    scene, camera, per_depth = perturbed
    touched = lambda tree: any(jax.tree.leaves(tree))
    if touched((scene.lights, scene.ambient, scene.background, camera, per_depth)):
        return None
    return tuple(k for k, obj in enumerate(scene.objects) if touched(obj))


def sparse_adjoint(shade: Callable, params, rays, chunk: int):
    """`shade` over a batch of rays with the sparse reverse pass above.

    Args:
        shade: `shade(params, ray, track) -> (radiance, depends)` for one ray;
            `track` is a tuple of object indices.
        params: `(scene, camera, per_depth)`.
        rays: pytree of per-ray arrays with a leading axis of size `n`.
        chunk: rays per reverse-pass chunk (static).

    Returns:
        The radiance of every ray (the first output of `shade`, batched).
    """
    leaves, treedef = jax.tree.flatten(params)
    # Concrete leaves stay closed-over constants, so trace-time shortcuts (a
    # statically zero specular lobe, constant folding) survive the rule.
    is_dyn = [isinstance(leaf, jax.core.Tracer) for leaf in leaves]

    def build(dyn):
        it = iter(dyn)
        full = [next(it) if d else leaf for d, leaf in zip(is_dyn, leaves, strict=True)]
        return jax.tree.unflatten(treedef, full)

    def batched(dyn, rays, track):
        p = build(dyn)
        return jax.vmap(lambda r: shade(p, r, track))(rays)

    perturbed_dyn: list[bool] = []  # filled when `fwd` is traced, read by `bwd`

    @jax.custom_vjp
    def run(dyn, rays):
        return batched(dyn, rays, ())[0]

    def fwd(dyn, rays):
        perturbed_dyn[:] = [d.perturbed for d in dyn]
        dyn = [d.value for d in dyn]
        rays = jax.tree.map(lambda r: r.value, rays)
        it = iter(perturbed_dyn)
        flags = [next(it) if d else False for d in is_dyn]
        track = _tracked(jax.tree.unflatten(treedef, flags))
        which = [i for i, p in enumerate(perturbed_dyn) if p]
        if track is None:
            # Every ray is needed: plain reverse mode (residuals saved now) is
            # then cheaper than recomputing every ray in the backward pass.
            f = lambda pv: batched(_replace(dyn, which, pv), rays, ())[0]
            out, vjp = jax.vjp(f, [dyn[i] for i in which])
            return out, (vjp, None, None, None)
        out, dep = batched(dyn, rays, track)
        return out, (None, dyn, rays, dep)

    def bwd(res, ct):
        vjp, dyn, rays, dep = res
        which = [i for i, p in enumerate(perturbed_dyn) if p]
        ct = type(ct)(*(_materialize(c) for c in ct))
        if vjp is not None:
            (grads,) = vjp(ct)
        else:
            grads = _sparse_vjp(
                lambda pv, r: batched(_replace(dyn, which, pv), r, ())[0],
                [dyn[i] for i in which],
                rays,
                ct,
                dep,
                chunk,
            )
        out = [None] * len(perturbed_dyn)
        for i, g in zip(which, grads, strict=True):
            out[i] = g
        return out, jax.tree.map(lambda _: None, rays_struct)

    run.defvjp(fwd, bwd, symbolic_zeros=True)
    rays_struct = rays
    dyn = [leaf for d, leaf in zip(is_dyn, leaves, strict=True) if d]
    return run(dyn, rays)


def _materialize(c):
    """A symbolic-zero cotangent as an array of zeros."""
    if isinstance(c, SymbolicZero):
        return jnp.zeros(c.aval.shape, c.aval.dtype)
    return c


def _replace(dyn, which, values):
    dyn = list(dyn)
    for i, v in zip(which, values, strict=True):
        dyn[i] = v
    return dyn


def _sparse_vjp(f, primals, rays, ct, dep, chunk):
    """`vjp(f(., rays), primals)(ct)` summed over the rays with `dep` only."""
    n = dep.shape[0]
    # Chunks of ~1/16 of the rays (within [256, chunk]) make the skipped work
    # fine-grained without paying per-iteration overhead too often.
    k = min(n, max(256, min(chunk, n // 16)))
    n_chunks = -(-n // k)
    count = jnp.sum(dep, dtype=jnp.int32)
    idx = jnp.nonzero(dep, size=n_chunks * k, fill_value=0)[0]

    def one_chunk(c):
        ids = jax.lax.dynamic_slice(idx, (c * k,), (k,))
        live = c * k + jnp.arange(k) < count
        rays_c = jax.tree.map(lambda a: a[ids], rays)
        ct_c = tuple(jnp.where(live, a[ids], 0.0) for a in ct)
        _, vjp = jax.vjp(lambda p: f(p, rays_c), primals)
        return vjp(type(ct)(*ct_c))[0]

    def body(acc, c):
        g = jax.lax.cond(
            c * k < count,
            one_chunk,
            lambda c: jax.tree.map(jnp.zeros_like, primals),
            c,
        )
        return jax.tree.map(jnp.add, acc, g), None

    zeros = jax.tree.map(jnp.zeros_like, primals)
    acc, _ = jax.lax.scan(body, zeros, jnp.arange(n_chunks))
    return acc
