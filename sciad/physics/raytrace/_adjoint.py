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
* backward: the dependent rays are compacted at the granularity of blocks
  of `_BLOCK` consecutive rays (a block is kept if any of its rays depends;
  compacting 8x fewer flags is several times cheaper than `jnp.nonzero` over
  every ray, whose two cumulative sums cost half a render on XLA:CPU, and
  the extra rays, ~5%, contribute exact zeros). Chunks of the kept rays are
  then revisited (recomputing their forward pass) and chunks past the count
  are skipped with `lax.cond`. Per chunk, the contraction of the cotangent
  with the Jacobian is evaluated in reverse mode, or, when at most
  `_FORWARD_MAX` scalars are differentiated (a position, a position + radius), as
  one forward-mode JVP per scalar: the tangent program fuses into the same
  few element-wise loops as the render, whereas XLA:CPU splits the reverse
  program into ~90 loops, so for 3 scalars forward mode was 15-25% cheaper
  per gradient (measured; see `benchmarks/raytrace/RESULTS.md`). The result
  is exactly the plain-AD gradient (the skipped rays' contributions are
  exact zeros), summed in a different order.

Why a custom rule: it changes the cost of the gradient, not its value (tested
against plain AD in `tests/physics/test_raytrace_grad.py`). As with any
`custom_vjp`, forward-mode AD (`jax.jvp`, `jax.jacfwd`) does not go through
it (`render` turns JAX's error into one naming the fix);
`render(..., adjoint="autodiff")` is the plain-AD path for that.
"""

import math
from collections.abc import Callable

import jax
import jax.flatten_util
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

_BLOCK = 8  # rays per compaction block (2 pixels at 4 spp)
_FORWARD_MAX = 4  # differentiated scalars up to which the chunks use forward mode


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
    try:
        return run(dyn, rays)
    except TypeError as e:
        if "forward-mode" not in str(e):
            raise
        raise TypeError(
            "render(..., adjoint='sparse') (the default) supports reverse-mode AD "
            "only (jax.grad, jax.vjp, jax.jacrev); for forward mode (jax.jvp, "
            "jax.jacfwd, jax.hessian, check_grads(modes=('fwd',))) call "
            "render(..., adjoint='autodiff')."
        ) from e


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
    b = _BLOCK
    n_blocks = -(-n // b)
    # Chunks of ~1/16 of the rays (within [256, chunk]) make the skipped work
    # fine-grained without paying per-iteration overhead too often.
    kb = -(-min(n, max(256, min(chunk, n // 16))) // b)  # blocks per chunk
    n_chunks = -(-n_blocks // kb)
    keep = jnp.pad(dep, (0, n_blocks * b - n)).reshape(n_blocks, b).any(axis=1)
    count = jnp.sum(keep, dtype=jnp.int32)
    blocks = jnp.nonzero(keep, size=n_chunks * kb, fill_value=0)[0]
    m = sum(math.prod(p.shape) for p in jax.tree.leaves(primals))

    def one_chunk(c):
        first = jax.lax.dynamic_slice(blocks, (c * kb,), (kb,)) * b
        ids = (first[:, None] + jnp.arange(b)).reshape(-1)
        live = jnp.repeat(c * kb + jnp.arange(kb) < count, b) & (ids < n)
        ids = jnp.minimum(ids, n - 1)
        rays_c = jax.tree.map(lambda a: a[ids], rays)
        ct_c = type(ct)(*(jnp.where(live, a[ids], 0.0) for a in ct))
        if m <= _FORWARD_MAX:
            return _forward_contract(lambda p: f(p, rays_c), primals, ct_c)
        _, vjp = jax.vjp(lambda p: f(p, rays_c), primals)
        return vjp(ct_c)[0]

    def body(acc, c):
        g = jax.lax.cond(
            c * kb < count,
            one_chunk,
            lambda c: jax.tree.map(jnp.zeros_like, primals),
            c,
        )
        return jax.tree.map(jnp.add, acc, g), None

    zeros = jax.tree.map(jnp.zeros_like, primals)
    acc, _ = jax.lax.scan(body, zeros, jnp.arange(n_chunks))
    return acc


def _forward_contract(f, primals, ct):
    """`vjp(f, primals)(ct)` as one JVP per scalar of `primals` (few scalars)."""
    flat, unravel = jax.flatten_util.ravel_pytree(primals)

    def along(e):
        _, tangent = jax.jvp(lambda x: f(unravel(x)), (flat,), (e,))
        return sum(jnp.sum(c * t) for c, t in zip(ct, tangent, strict=True))

    return unravel(jax.vmap(along)(jnp.eye(flat.shape[0], dtype=flat.dtype)))
