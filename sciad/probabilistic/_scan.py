r"""`scan`: a `jax.lax.scan` whose body may hold `sample` sites (NumPyro's `scan`).

A state-space model written as a Python loop makes one site per step: a model
of 1,000 steps is a trace of 1,000 sites and a program that takes minutes to
compile. `scan(f, init, xs)` runs ``f(carry, x) -> (carry, y)`` as one
`lax.scan`; each site of `f` appears once in the trace, its values stacked
along a leading time axis and its distribution a
:class:`~sciad.probabilistic.distributions.StackedDistribution` (the product of
the step distributions). Inference sees an ordinary model: HMC/NUTS,
`Predictive`, `log_density`, SVI and the autoguides work unchanged.

How the handlers meet the loop (Pyro's effect handlers, NumPyro's
`contrib.control_flow.scan`):

- handlers that *set values or names* (`seed`, `substitute`, `condition`,
  `replay`, `scope`, `reparam`) act inside the body, at each step: `scan`
  sends a ``control_flow`` message, those handlers register themselves on it
  (`seed` gives a key, split once per step), and the body runs under
  per-step copies (:class:`_AtStep`) that take element ``t`` of any series they
  are given (``substitute(model, {"x": x_series})``);
- handlers that *score or record* (`trace`, `scale`, `mask`, `block`,
  `infer_config`) see the stacked sites once, after the loop.

A series shorter than the loop (posterior draws for ``T`` steps, a model run
for ``T + h``) is used for its steps and the rest are drawn from the model:
that is how `Predictive` forecasts.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from ._primitives import _PYRO_STACK, Messenger, _new_msg, apply_stack, plate
from .distributions._stacked import StackedDistribution

__all__ = ["scan", "scan_step_value"]


def scan(
    f: Callable,
    init,
    xs,
    length: int | None = None,
    reverse: bool = False,
    history: int = 1,
):
    """`jax.lax.scan(f, init, xs, length, reverse)` where `f` may call `sample`.

    Sites of `f` are recorded once each, stacked along a leading time axis of
    size `length`. `f`'s keys come from the enclosing `seed`, one per step.

    Example (a Gaussian random walk observed with noise)::

        def model(y):
            sigma = sample("sigma", dist.HalfNormal(1.0))

            def step(x_prev, y_t):
                x = sample("x", dist.Normal(x_prev, sigma))
                sample("y", dist.Normal(x, 0.5), obs=y_t)
                return x, x

            _, xs = scan(step, 0.0, y)

    Args:
        f: ``f(carry, x) -> (carry, y)``.
        init: initial carry.
        xs: the series scanned over (leading axis), any pytree, or None.
        length: number of steps when `xs` is None.
        reverse: run from the last step to the first (values stay indexed by
            step, as in `lax.scan`).
        history: accepted for NumPyro's signature; only enumeration of discrete
            sites uses it, and enumeration inside `scan` is not supported.

    Returns:
        ``(final carry, stacked ys)``, as `lax.scan`.

    Not supported (each raises): `scan` inside a `plate` (put the plate in
    `f`), `param` sites in `f`, and discrete latent sites that HMC would have
    to enumerate.
    """
    if not isinstance(history, int) or history < 0:
        raise ValueError(f"scan: history must be an int >= 0; got {history!r}")
    length = _length(xs, length)
    if not _PYRO_STACK:
        return jax.lax.scan(f, init, xs, length=length, reverse=reverse)
    for handler in _PYRO_STACK:
        if isinstance(handler, plate):
            raise ValueError(
                f"scan inside plate '{handler.name}': which dimension is time is "
                "ambiguous. Put the plate inside the scanned function, as NumPyro "
                "requires."
            )
    msg = _new_msg(
        "control_flow", None, kwargs={"rng_key": None, "per_step_handlers": []}
    )
    apply_stack(msg)
    carry, ys, sites = _run(
        f,
        init,
        xs,
        length,
        reverse,
        msg["kwargs"]["rng_key"],
        msg["kwargs"]["per_step_handlers"],
    )
    for site in sites:
        apply_stack(site)
    return carry, ys


def _length(xs, length):
    leaves = jax.tree.leaves(xs)
    if length is None:
        if not leaves:
            raise ValueError("scan: give `length` when `xs` is None or empty")
        length = jnp.shape(leaves[0])[0]
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"scan: length must be a static int >= 0; got {length!r}")
    for leaf in leaves:
        if jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != length:
            raise ValueError(
                f"scan: every leaf of `xs` needs a leading axis of size {length}; "
                f"got shape {jnp.shape(leaf)}"
            )
    return int(length)


def _run(f, init, xs, length, reverse, rng_key, per_step):
    """The loop; returns the final carry, the ys and the stacked site messages."""
    from .handlers import _sealed, seed, trace

    records = []  # static part of each site, filled while the body is traced

    def body(carry, step):
        index, key, x = step
        fn = f if key is None else seed(f, rng_seed=key)
        for handler in per_step:  # innermost first, as on the stack
            fn = _AtStep(fn, handler, index, length)
        with _sealed(), trace() as tr:
            carry, y = fn(carry, x)
        records.clear()
        stacked = []
        for site in tr.values():
            static, dynamic = _split(site)
            if static is not None:
                records.append(static)
                stacked.append(dynamic)
        return carry, (stacked, y)

    keys = None if rng_key is None else jr.split(rng_key, length)
    steps = (jnp.arange(length), keys, xs)
    carry, (stacked, ys) = jax.lax.scan(
        body, init, steps, length=length, reverse=reverse
    )
    sites = [
        recorded_site(s, d, "scan", lambda step: StackedDistribution(step, length))
        for s, d in zip(records, stacked, strict=True)
    ]
    return carry, ys, sites


def _split(site, where="scan"):
    """A body site as (static message fields, per-step arrays), or (None, None)."""
    kind, name = site["type"], site["name"]
    if kind == "param":
        raise ValueError(
            f"{where}: param '{name}' inside the function it runs: declare it "
            f"outside `{where}` and close over it."
        )
    if kind not in ("sample", "deterministic"):
        return None, None  # plates, whose frames stay in each site's stack
    if site["infer"].get("enumerate") is not None:
        raise NotImplementedError(
            f"{where}: site '{name}' is marked for enumeration; enumerating discrete "
            f"sites inside `{where}` is not supported. Sum it out by hand there "
            "(in `scan`, a forward algorithm in the carry)."
        )
    static = {
        k: v
        for k, v in site.items()
        if k not in ("value", "fn", "scale", "mask", "kwargs", "stop")
    }
    static["infer"] = dict(site["infer"])
    if kind == "deterministic":
        return static, {"value": jnp.asarray(site["value"])}
    fn = site["fn"]
    shape = fn.shape(site["kwargs"]["sample_shape"])
    batch = shape[: len(shape) - len(fn.event_shape)]
    if tuple(fn.batch_shape) != batch:
        fn = fn.expand(batch)  # sample_shape folded into the batch
    dyn_fn, static_fn = eqx.partition(fn, eqx.is_array)
    static["fn_static"] = static_fn
    dynamic = {"value": jnp.broadcast_to(site["value"], shape), "fn": dyn_fn}
    for key in ("scale", "mask"):  # per-step factors, aligned with the batch
        if site[key] is not None:
            dynamic[key] = jnp.broadcast_to(site[key], batch)
    return static, dynamic


def recorded_site(static, dynamic, kind: str, wrap):
    """The message of a site recorded inside `kind` (`scan`/`cond`), from `_split`'s
    parts; `wrap(distribution)` gives the site's `fn` (the stack of steps)."""
    static = dict(static)
    fn_static = static.pop("fn_static", None)
    msg = _new_msg(static.pop("type"), static.pop("name"), value=dynamic["value"])
    msg.update(static)
    msg.update(scale=dynamic.get("scale"), mask=dynamic.get("mask"))
    msg["_control_flow"] = kind
    if msg["type"] == "sample":
        msg["fn"] = wrap(eqx.combine(dynamic["fn"], fn_static))
        msg["kwargs"] = {"rng_key": None, "sample_shape": ()}
    return msg


def scan_step_value(site, value, step_ndim: int):
    """`value` at the current step(s) of the `scan` running `site`.

    For substitution functions that map a whole series before using it (the
    potential's unconstraining): `value` holds the series when its rank is
    `step_ndim` plus one per enclosing `scan`; it is then indexed at each loop's
    step. Outside `scan`, or given one step's value, `value` is returned.
    """
    indices = site.get("_scan_indices", ())
    if indices and jnp.ndim(value) == step_ndim + len(indices):
        for i in indices:
            value = value[i]
    return value


class _AtStep(Messenger):
    """An outer handler applied to the sites of one step of `scan`.

    Its series values are cut to the step's element; a series shorter than the
    loop supplies its first steps and the model draws the rest. With `index`
    None (a branch of `cond`) the handler acts as it is.
    """

    per_scan_step = True

    def __init__(self, fn, handler, index, length):
        self.handler = handler
        self.index = index
        self.length = length
        super().__init__(fn)

    def process_message(self, msg):
        if self.index is None or msg["type"] not in ("sample", "deterministic"):
            self.handler.process_message(msg)  # a `cond` branch: nothing to cut
            return
        before = msg["value"]
        if msg["type"] == "sample":
            step_ndim = len(msg["fn"].shape(msg["kwargs"]["sample_shape"]))
        else:
            step_ndim = jnp.ndim(before)
        inner = msg.get("_scan_indices", ())
        msg["_scan_indices"] = (self.index, *inner)
        try:
            self.handler.process_message(msg)
        finally:
            msg["_scan_indices"] = inner
        value = msg["value"]
        if value is None or value is before:
            return
        if jnp.ndim(value) == step_ndim + len(inner) + 1:
            msg["value"] = self._at_step(msg, value, before, bool(inner))

    def _at_step(self, msg, series, before, nested):
        n = jnp.shape(series)[0]
        name = msg["name"]
        if n == self.length:
            return series[self.index]
        if n > self.length:
            raise ValueError(
                f"scan: the series given for site '{name}' has {n} steps; the loop "
                f"has {self.length}."
            )
        if msg["type"] == "deterministic":
            fresh = before
        else:
            key = msg["kwargs"].get("rng_key")
            if key is None or nested:
                raise ValueError(
                    f"scan: the series given for site '{name}' has {n} of the "
                    f"loop's {self.length} steps; drawing the rest needs a seed "
                    "handler (and no nested scan)."
                )
            fresh = msg["fn"](rng_key=key, sample_shape=msg["kwargs"]["sample_shape"])
        at = jnp.minimum(self.index, n - 1)
        return jax.lax.cond(
            self.index < n, lambda: series[at].astype(fresh.dtype), lambda: fresh
        )
