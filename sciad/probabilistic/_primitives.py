"""Effect-handler core: the handler stack, `Messenger`, and the modelling primitives.

A model is a plain Python function that calls :func:`sample`, :func:`param`,
:func:`deterministic`, :func:`factor` and :func:`plate`. Each primitive builds a
*message* (a dict describing the site) and sends it through the stack of active
handlers (:mod:`sciad.probabilistic.handlers`): innermost handler first, then the
default behaviour (draw from ``fn`` if no handler supplied a value), then
``postprocess_message`` from outermost to innermost. This is NumPyro's design,
kept small; the message keys are the same:

``type, name, fn, args, kwargs, value, is_observed, scale, mask, cond_indep_stack,
infer``.

Handlers are Python objects mutated while the model runs, so apply them *inside*
the function you ``jit`` (``jax.jit(lambda k: trace(seed(model, k)).get_trace())``),
never to a model at module level that you then call under several traces.
"""

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .._custom_types import Array, ArrayLike, PRNGKeyArray
from .distributions import _base as _dist_base, constraints
from .distributions._base import Distribution
from .distributions._special import Unit

__all__ = [
    "CondIndepStackFrame",
    "Messenger",
    "apply_stack",
    "deterministic",
    "factor",
    "param",
    "plate",
    "prng_key",
    "sample",
    "subsample",
]

_PYRO_STACK: list = []


class CondIndepStackFrame(NamedTuple):
    """A plate enclosing a site: name, (negative) batch ``dim``, (subsample) size."""

    name: str
    dim: int
    size: int


class Messenger:
    """Base handler: a context manager that sees every message sent inside it.

    Subclasses override ``process_message`` (before the value exists, innermost
    handler first) and/or ``postprocess_message`` (after, outermost last). A handler
    built with ``fn`` wraps that function; built without, it is a context manager,
    or a decorator when called on a function.
    """

    # Handlers that set values or names act inside `scan`'s body, once per step,
    # and inside `cond`'s branches (see `_scan`); the sites those record skip them.
    per_scan_step = False

    def __init__(self, fn: Callable | None = None):
        if fn is not None and not callable(fn):
            raise ValueError(
                f"{type(self).__name__}: expected a callable model; got {fn!r}"
            )
        self.fn = fn
        if fn is not None:
            functools.update_wrapper(self, fn, updated=[])

    def __enter__(self):
        _PYRO_STACK.append(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            assert _PYRO_STACK[-1] is self, "handler stack corrupted"
            _PYRO_STACK.pop()
        elif self in _PYRO_STACK:
            # An exception unwound the model: drop this handler and anything above it.
            del _PYRO_STACK[_PYRO_STACK.index(self) :]
        if not _PYRO_STACK and _dist_base._PENDING:
            _dist_base.flush_pending_checks(check=exc_type is None)

    def process_message(self, msg):
        pass

    def postprocess_message(self, msg):
        pass

    def __call__(self, *args, **kwargs):
        if self.fn is None:
            if len(args) != 1 or kwargs or not callable(args[0]):
                raise TypeError(
                    f"{type(self).__name__} has no model to run; wrap one first"
                )
            self.fn = args[0]
            functools.update_wrapper(self, self.fn, updated=[])
            return self
        with self:
            return self.fn(*args, **kwargs)


def _new_msg(type_, name, fn=None, args=(), kwargs=None, value=None, **extra):
    msg = {
        "type": type_,
        "name": name,
        "fn": fn,
        "args": args,
        "kwargs": {} if kwargs is None else kwargs,
        "value": value,
        "is_observed": False,
        "scale": None,
        "mask": None,
        "cond_indep_stack": [],
        "infer": {},
    }
    msg.update(extra)
    return msg


def apply_stack(msg):
    """Send ``msg`` through the active handlers, fill in its value, and return it."""
    pointer = 0
    for pointer, handler in enumerate(reversed(_PYRO_STACK)):  # noqa: B007
        if handler.per_scan_step and _deferred_to_control_flow(handler, msg):
            continue
        handler.process_message(msg)
        if msg.get("stop"):
            break
    _default_process_message(msg)
    for handler in _PYRO_STACK[-pointer - 1 :]:
        if not (handler.per_scan_step and msg.get("_control_flow")):
            handler.postprocess_message(msg)
    return msg


def _deferred_to_control_flow(handler, msg) -> bool:
    """Whether `handler` acts inside `scan`'s (or `cond`'s) body, not on `msg`."""
    if msg["type"] == "control_flow":
        msg["kwargs"]["per_step_handlers"].append(handler)
        return True
    return bool(msg.get("_control_flow"))


def _default_process_message(msg):
    if msg["type"] == "sample" and msg["fn"] is not None:
        if msg["value"] is None:
            if msg["kwargs"].get("rng_key") is None:
                raise RuntimeError(
                    f"sample site '{msg['name']}' has no "
                    "value and no PRNG key: run the "
                    "model under handlers.seed(model, rng_seed=...) (or pass rng_key=)."
                )
            msg["value"] = msg["fn"](*msg["args"], **msg["kwargs"])
        elif msg["is_observed"]:
            _check_observation(msg)
    elif msg["value"] is None and msg["fn"] is not None:
        msg["value"] = msg["fn"](*msg["args"], **msg["kwargs"])


def _check_observation(msg):
    """Check that an observed value broadcasts to (and, in a plate, fits) ``fn``."""
    fn, value, name = msg["fn"], msg["value"], msg["name"]
    obs_shape, fn_shape = tuple(jnp.shape(value)), tuple(fn.shape())
    try:
        full = tuple(jnp.broadcast_shapes(obs_shape, fn_shape))
    except ValueError:
        full = None
    if full is None or (msg["cond_indep_stack"] and full != fn_shape):
        plates = [f.name for f in msg["cond_indep_stack"]]
        where = f" inside plate(s) {plates}" if plates else ""
        raise ValueError(
            f"sample site '{name}'{where}: observed "
            f"value of shape {obs_shape} does not "
            f"match the distribution's shape {fn_shape} (batch_shape "
            f"{tuple(fn.batch_shape)} + event_shape {tuple(fn.event_shape)})."
        )
    if getattr(fn, "_validate_args", False):
        ok = jnp.all(fn.support(value))
        what = f"sample site '{name}': observed value"
        where = f"the support {fn.support!r} of {_base_name(fn)}"
        if isinstance(ok, jax.core.Tracer):
            msg["value"] = eqx.error_if(value, ~ok, f"{what} outside {where}")
        elif not bool(ok):
            raise ValueError(f"{what} {np.asarray(value)} is outside {where}.")


def _base_name(fn):
    while hasattr(fn, "base_dist"):
        fn = fn.base_dist
    return type(fn).__name__


def sample(
    name: str,
    fn: Distribution,
    obs: ArrayLike | None = None,
    rng_key: PRNGKeyArray | None = None,
    sample_shape: Sequence[int] = (),
    infer: dict | None = None,
    obs_mask: ArrayLike | None = None,
) -> Any:
    """Draw (or observe, with ``obs``) the random variable ``name`` from ``fn``.

    Args:
        name: site name, unique within one model run.
        fn: a distribution.
        obs: observed value; the site is then conditioned on it.
        rng_key: explicit key (otherwise the enclosing ``seed`` handler supplies one).
        sample_shape: extra leading batch shape of the draw.
        infer: free-form dict of inference hints, stored in the site.
        obs_mask: boolean array; where False the value is treated as missing and
            sampled (sites ``name_observed`` / ``name_unobserved``, as NumPyro).

    Returns:
        The value of the site.
    """
    if not isinstance(name, str):
        raise TypeError(f"sample: the site name must be a str; got {name!r}.")
    if not isinstance(fn, Distribution):
        raise TypeError(
            f"sample site '{name}': `fn` must be a distribution; got "
            f"{type(fn).__name__}."
        )
    if not _PYRO_STACK:
        if obs is not None:
            return obs
        if rng_key is None:
            raise RuntimeError(
                f"sample site '{name}' was called outside any handler without rng_key: "
                "run the model under handlers.seed(model, rng_seed=...)."
            )
        return fn(rng_key=rng_key, sample_shape=sample_shape)
    if _dist_base._PENDING:
        fn = _dist_base.validate_at_site(fn, name)
    if obs_mask is not None:
        return _masked_observe(name, fn, obs, obs_mask, rng_key, sample_shape, infer)
    msg = _new_msg(
        "sample",
        name,
        fn=fn,
        kwargs={"rng_key": rng_key, "sample_shape": tuple(sample_shape)},
        value=obs,
        is_observed=obs is not None,
        infer={} if infer is None else dict(infer),
        intermediates=[],
    )
    return apply_stack(msg)["value"]


def _masked_observe(name, fn, obs, obs_mask, rng_key, sample_shape, infer):
    from .handlers import mask

    obs_mask = jnp.asarray(obs_mask)
    kw = dict(rng_key=rng_key, sample_shape=sample_shape, infer=infer)
    with mask(mask=obs_mask):
        observed = sample(f"{name}_observed", fn, obs=obs, **kw)
    with mask(mask=~obs_mask):
        unobserved = sample(f"{name}_unobserved", fn, **kw)
    batch_mask = jnp.reshape(obs_mask, obs_mask.shape + (1,) * len(fn.event_shape))
    return deterministic(name, jnp.where(batch_mask, observed, unobserved))


def param(
    name: str,
    init_value: ArrayLike | Callable | None = None,
    constraint: constraints.Constraint = constraints.real,
    event_dim: int | None = None,
    **kwargs: Any,
) -> Any:
    """A named parameter: ``init_value`` (or ``init_value(key)``) unless substituted."""
    if not _PYRO_STACK:
        if callable(init_value):
            raise RuntimeError(
                f"param '{name}' with a callable init needs a seed handler"
            )
        return init_value
    if callable(init_value):

        def fn(init_fn, *args, **kw):
            return init_fn(prng_key())
    else:

        def fn(x, *args, **kw):
            return x

    kw = {"constraint": constraint, "event_dim": event_dim, **kwargs}
    msg = _new_msg("param", name, fn=fn, args=(init_value,), kwargs=kw)
    return apply_stack(msg)["value"]


def deterministic(name: str, value: Any) -> Any:
    """Record ``value`` (a function of other sites) in the trace under ``name``."""
    if not _PYRO_STACK:
        return value
    return apply_stack(_new_msg("deterministic", name, value=value))["value"]


def factor(name: str, log_factor: ArrayLike) -> Any:
    """Add ``log_factor`` to the model's log density (an auxiliary observed site)."""
    unit = Unit(log_factor)
    return sample(name, unit, obs=unit.sample(None), infer={"is_auxiliary": True})


def prng_key() -> PRNGKeyArray | None:
    """A fresh PRNG key from the enclosing ``seed`` handler.

    Outside any handler it warns and returns ``None`` (as NumPyro).
    """
    if not _PYRO_STACK:
        warnings.warn(
            "prng_key() called outside any handler: returning None; run the model "
            "under handlers.seed(...)",
            UserWarning,
            stacklevel=2,
        )
        return None
    msg = _new_msg(
        "prng_key", None, fn=lambda rng_key: rng_key, kwargs={"rng_key": None}
    )
    return apply_stack(msg)["value"]


def subsample(data: ArrayLike, event_dim: int) -> Array:
    """Index ``data`` along the dim of every enclosing subsampled plate."""
    # The rightmost ``event_dim`` dims of ``data`` are event dims and are skipped.
    if not _PYRO_STACK:
        return data
    msg = _new_msg("subsample", None, value=data, kwargs={"event_dim": int(event_dim)})
    return apply_stack(msg)["value"]


def _subsample_indices(size, subsample_size, rng_key=None, name=None):
    if rng_key is None:
        raise RuntimeError(
            f"plate '{name}' with subsample_size needs a PRNG key: run under "
            "handlers.seed. (HMC and NUTS evaluate the model's full-data "
            "density without a key: they do not support subsampling plates; "
            "drop `subsample_size` there.)"
        )
    return jr.permutation(rng_key, size)[:subsample_size]


class plate(Messenger):
    """Conditionally independent batch dimension ``dim`` of length ``size``.

    Inside, every sample site's distribution is expanded so its batch shape has
    ``size`` (or ``subsample_size``) at ``dim``; with ``subsample_size`` a random
    subset of indices is drawn (returned by ``with plate(...) as idx``) and
    log-densities are scaled by ``size / subsample_size``. Plates nest; ``dim``
    defaults to the rightmost free dimension.
    """

    def __init__(
        self,
        name: str,
        size: int | np.integer,
        subsample_size: int | np.integer | None = None,
        dim: int | None = None,
    ):
        if not isinstance(size, int | np.integer) or size < 0:
            raise ValueError(
                f"plate '{name}': size must be a static int >= 0; got {size!r}"
            )
        if subsample_size is not None and not (0 < subsample_size <= size):
            raise ValueError(
                f"plate '{name}': subsample_size must be "
                f"in (0, {size}]; got {subsample_size!r}"
            )
        if dim is not None and dim >= 0:
            raise ValueError(f"plate '{name}': dim must be negative; got {dim}")
        self.name = name
        self.size = int(size)
        self.dim, self._indices = self._subsample(name, self.size, subsample_size, dim)
        self.subsample_size = int(self._indices.shape[0])
        super().__init__()

    @staticmethod
    def _subsample(name, size, subsample_size, dim):
        full = subsample_size is None or subsample_size == size
        msg = _new_msg(
            "plate",
            name,
            fn=functools.partial(_subsample_indices, name=name),
            args=(size, subsample_size),
            kwargs={"rng_key": None},
            value=jnp.arange(size) if full else None,
            scale=1.0,
        )
        apply_stack(msg)
        occupied = {f.dim for f in msg["cond_indep_stack"]}
        if dim is None:
            dim = -1
            while dim in occupied:
                dim -= 1
        elif dim in occupied:
            raise ValueError(
                f"plate '{name}': dim {dim} is already used by an enclosing plate"
            )
        return dim, msg["value"]

    def __enter__(self):
        super().__enter__()
        return self._indices

    @staticmethod
    def _batch_shape(stack):
        shape = [1] * max(-f.dim for f in stack)
        for f in stack:
            shape[f.dim] = f.size
        return tuple(shape)

    def process_message(self, msg):
        if msg["type"] == "subsample":
            self._subsample_value(msg)
            return
        if msg["type"] not in ("param", "sample", "plate", "deterministic"):
            return
        stack = msg["cond_indep_stack"]
        stack.append(CondIndepStackFrame(self.name, self.dim, self.subsample_size))
        if msg["type"] != "sample":
            return
        expected = self._batch_shape(stack)
        dist_shape = tuple(msg["kwargs"].get("sample_shape", ())) + tuple(
            msg["fn"].batch_shape
        )
        msg["kwargs"]["sample_shape"] = ()
        overlap = max(len(expected) - len(dist_shape), 0)
        try:
            trailing = jnp.broadcast_shapes(expected[overlap:], dist_shape)
        except ValueError:
            raise ValueError(
                f"sample site '{msg['name']}': distribution "
                f"batch shape {dist_shape} is "
                f"incompatible with plate '{self.name}' "
                f"of size {self.subsample_size} at "
                f"dim {self.dim} (enclosing plates expect batch shape {expected})."
            ) from None
        msg["fn"] = msg["fn"].expand(expected[:overlap] + tuple(trailing))
        if self.subsample_size != self.size:
            scale = 1.0 if msg["scale"] is None else msg["scale"]
            msg["scale"] = scale * (self.size / self.subsample_size)

    def _subsample_value(self, msg):
        value = msg["value"]
        dim = self.dim - msg["kwargs"]["event_dim"]
        shape = jnp.shape(value)
        if len(shape) >= -dim and shape[dim] != 1:
            if shape[dim] != self.size:
                raise ValueError(
                    f"subsample: data has size {shape[dim]} at dim {dim}, but plate "
                    f"'{self.name}' has size {self.size}."
                )
            if self.subsample_size < self.size:
                value = jnp.take(value, self._indices, axis=dim)
        msg["value"] = value
