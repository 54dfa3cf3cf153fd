"""Effect handlers: composable interpreters for models (NumPyro-compatible).

Each handler is one short :class:`Messenger` subclass overriding one hook. Every
handler can be used three ways::

    seeded = handlers.seed(model, rng_seed=0)          # wrap a function
    with handlers.seed(rng_seed=0): model()            # context manager
    @handlers.seed(rng_seed=0)                         # decorator
    def model(): ...

Nesting follows Pyro: the handler closest to the model (innermost) sees each site
first. ``trace(seed(condition(model, data), key))`` conditions, then seeds, then
records. Apply handlers inside the function you ``jit``.
"""

import itertools
import warnings
from collections import OrderedDict
from collections.abc import Callable, Collection

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .._custom_types import ArrayLike
from ._enum import (
    config_enumerate as config_enumerate,
    enum as enum,
    markov as markov,
)
from ._primitives import Messenger, apply_stack, prng_key

__all__ = [
    "block",
    "condition",
    "config_enumerate",
    "do",
    "enum",
    "markov",
    "infer_config",
    "mask",
    "replay",
    "reparam",
    "scale",
    "scope",
    "seed",
    "substitute",
    "trace",
]


class trace(Messenger):
    """Record every site in an ordered dict ``{name: site}``.

    Example::

        tr = trace(seed(model, 0)).get_trace(x)
        tr["mu"]["value"], tr["obs"]["fn"].log_prob(tr["obs"]["value"])
    """

    def __enter__(self):
        super().__enter__()
        self.trace = OrderedDict()
        return self.trace

    def postprocess_message(self, msg):
        name = msg.get("name")
        if name is None:
            return
        if msg["type"] in ("sample", "deterministic") and name in self.trace:
            raise ValueError(
                f"duplicate site name '{name}': every "
                "sample/deterministic site must have "
                "a unique name within one run of the model."
            )
        self.trace[name] = msg.copy()

    def get_trace(self, *args, **kwargs) -> OrderedDict:
        """Run the wrapped model on ``args``/``kwargs`` and return its trace."""
        self(*args, **kwargs)
        return self.trace


def _as_key(rng_seed):
    """``rng_seed`` as a PRNG key (NumPyro's rules: ints become ``jr.key(seed)``)."""
    if rng_seed is None:
        return None
    dtype = getattr(rng_seed, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if jnp.shape(rng_seed) == ():
            return rng_seed
    elif isinstance(rng_seed, int | np.integer) or (
        dtype is not None
        and jnp.issubdtype(dtype, jnp.integer)
        and jnp.shape(rng_seed) == ()
    ):
        return jr.key(rng_seed)
    elif dtype == jnp.uint32 and jnp.shape(rng_seed) == (2,):
        return rng_seed  # a raw (legacy) key from jr.PRNGKey
    raise TypeError(
        "seed: `rng_seed` must be an int, an integer scalar array or a single PRNG "
        f"key; got {type(rng_seed).__name__} of shape {jnp.shape(rng_seed)}"
    )


class seed(Messenger):
    """Supply a fresh PRNG key (split from ``rng_seed``) to every site that needs one.

    ``rng_seed`` is an int (becomes ``jax.random.key(rng_seed)``), an integer scalar
    array or a key; ``None`` seeds nothing. Every ``sample`` site without a value or
    key, every ``prng_key()`` and every subsampled ``plate`` gets
    ``rng_key, sub = split(rng_key)`` and uses ``sub``; a site that already has a key
    (from ``rng_key=`` or an inner ``seed``) or a value does not advance the key.
    As in NumPyro, calling a seeded *function* runs a copy starting from the
    handler's key, so ``seeded()`` twice gives the same draws and no key (or
    tracer) is stored in the wrapper; used as a *context manager* the handler is
    stateful and its key keeps advancing across ``with`` blocks. ``hide_types``
    lists site types not to seed.
    """

    def __init__(
        self,
        fn: Callable | None = None,
        rng_seed: int | ArrayLike | None = None,
        hide_types: Collection[str] | None = None,
    ):
        self.rng_key = _as_key(rng_seed)
        self.hide_types = [] if hide_types is None else list(hide_types)
        self._stateful = False
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] in self.hide_types:
            return
        if msg["type"] not in ("sample", "prng_key", "plate", "control_flow"):
            return
        if msg["kwargs"].get("rng_key") is not None or msg["value"] is not None:
            return
        if self.rng_key is not None:
            self.rng_key, sub = jr.split(self.rng_key)
            msg["kwargs"]["rng_key"] = sub

    def __call__(self, *args, **kwargs):
        if self.fn is not None and not self._stateful:
            clone = seed(self.fn, hide_types=self.hide_types)
            clone.rng_key = self.rng_key
            clone._stateful = True
            return clone(*args, **kwargs)
        return super().__call__(*args, **kwargs)


class substitute(Messenger):
    """Set values from ``data[name]`` or ``substitute_fn(site)`` (``None``: keep)."""

    per_scan_step = True

    def __init__(
        self,
        fn: Callable | None = None,
        data: dict | None = None,
        substitute_fn: Callable | None = None,
    ):
        if (data is None) == (substitute_fn is None):
            raise ValueError(
                "substitute: give exactly one of `data` or `substitute_fn`"
            )
        self.data = data
        self.substitute_fn = substitute_fn
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] not in ("sample", "param", "plate", "deterministic"):
            return
        if self.data is not None:
            value = self.data.get(msg["name"])
        else:
            value = self.substitute_fn(msg)
        if value is not None:
            msg["value"] = value


class condition(Messenger):
    """Observe sample sites at ``data[name]`` (or ``condition_fn(site)``)."""

    per_scan_step = True

    def __init__(
        self,
        fn: Callable | None = None,
        data: dict | None = None,
        condition_fn: Callable | None = None,
    ):
        if (data is None) == (condition_fn is None):
            raise ValueError("condition: give exactly one of `data` or `condition_fn`")
        self.data = data
        self.condition_fn = condition_fn
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] != "sample":
            return
        if self.data is not None:
            value = self.data.get(msg["name"])
        else:
            value = self.condition_fn(msg)
        if value is not None:
            msg["value"] = value
            msg["is_observed"] = True


class replay(Messenger):
    """Reuse latent sample values (and plate indices) recorded in ``trace``."""

    per_scan_step = True

    def __init__(self, fn: Callable | None = None, trace: dict | None = None):
        if trace is None:
            raise ValueError("replay: `trace` is required")
        self.trace = trace
        super().__init__(fn)

    def process_message(self, msg):
        name = msg.get("name")
        if msg["type"] not in ("sample", "plate") or name not in self.trace:
            return
        recorded = self.trace[name]
        if msg["type"] == "plate":
            if recorded["type"] != "plate":
                raise RuntimeError(
                    f"replay: site '{name}' must be a plate in the trace"
                )
            msg["value"] = recorded["value"]
            return
        if msg["is_observed"]:
            return
        if recorded["type"] != "sample" or recorded["is_observed"]:
            raise RuntimeError(
                f"replay: site '{name}' must be a latent sample site in the trace"
            )
        msg["value"] = recorded["value"]
        msg["infer"] = dict(recorded["infer"])


class block(Messenger):
    """Hide sites from handlers outside this one.

    Hidden sites are chosen by ``hide_fn(site)``, by name (``hide`` / all but
    ``expose``) or by type (all but ``expose_types``); with no argument, all sites.

    As in NumPyro (0.22), a hidden site that still needs a key (a ``sample``
    without value, a subsampling ``plate``, a ``scan``) asks the handlers
    outside for one with :func:`prng_key`, whose messages are never hidden: so
    ``seed(block(model, hide=["z"]), 0)`` draws ``z`` and only hides it, which
    is what ``AutoNormal(block(model, hide=["z"]))`` relies on.
    """

    def __init__(
        self,
        fn: Callable | None = None,
        hide_fn: Callable | None = None,
        hide: Collection[str] | None = None,
        expose_types: Collection[str] | None = None,
        expose: Collection[str] | None = None,
    ):
        if hide_fn is not None:
            self.hide_fn = hide_fn
        elif hide is not None:
            self.hide_fn = lambda msg: msg.get("name") in hide
        elif expose is not None:
            self.hide_fn = lambda msg: msg.get("name") not in expose
        elif expose_types is not None:
            self.hide_fn = lambda msg: msg.get("type") not in expose_types
        else:
            self.hide_fn = lambda msg: True
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] == "prng_key" or not self.hide_fn(msg):
            return
        msg["stop"] = True
        if (
            msg["type"] in ("sample", "plate", "control_flow")
            and msg["value"] is None
            and msg["kwargs"].get("rng_key") is None
        ):
            msg["kwargs"]["rng_key"] = prng_key()


class _sealed(Messenger):
    """Hide every message, ``prng_key`` requests included (the library's own runs).

    A model run inside a traced loop (``scan``'s body, an autoguide's compiled
    set-up) must not take keys from a stateful ``seed`` outside it: the key it
    left behind there would be a tracer of the loop.
    """

    def process_message(self, msg):
        msg["stop"] = True


class scale(Messenger):
    """Multiply the log-density of every enclosed sample site by ``scale`` (> 0)."""

    def __init__(self, fn: Callable | None = None, scale: float | ArrayLike = 1.0):
        if not isinstance(scale, jax.core.Tracer) and np.any(np.asarray(scale) <= 0):
            raise ValueError(f"scale: `scale` must be positive; got {scale!r}")
        self.scale = scale
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] not in ("param", "sample", "plate"):
            return
        msg["scale"] = self.scale if msg["scale"] is None else self.scale * msg["scale"]


class mask(Messenger):
    """Zero the log-density of enclosed sample sites where ``mask`` is False."""

    def __init__(self, fn: Callable | None = None, mask: bool | ArrayLike = True):
        if jnp.result_type(mask) != jnp.bool_:
            raise ValueError(
                "mask: `mask` must be a boolean array; "
                f"got dtype {jnp.result_type(mask)}"
            )
        self.mask = mask
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] != "sample":
            return
        msg["fn"] = msg["fn"].mask(self.mask)
        msg["mask"] = self.mask if msg["mask"] is None else msg["mask"] & self.mask


_intervener_ids = itertools.count()


class do(Messenger):
    """Intervene: set sites in ``data`` to given values, cutting their dependence.

    The original draw is still recorded under ``name``; the intervened value is what
    the rest of the model sees (Pyro's semantics, with the hidden ``name__CF`` site).
    """

    def __init__(self, fn: Callable | None = None, data: dict | None = None):
        if data is None:
            raise ValueError("do: `data` is required")
        self.data = data
        self._id = next(_intervener_ids)
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] != "sample" or self.data.get(msg["name"]) is None:
            return
        if msg.get("_control_flow"):
            raise NotImplementedError(
                f"do: site '{msg['name']}' is inside `{msg['_control_flow']}`; apply "
                "`do` to the function it runs instead."
            )
        if msg.get("_intervener_id") == self._id:
            return
        if msg.get("_intervener_id") is not None:
            warnings.warn(
                f"do: site '{msg['name']}' is intervened on twice",
                RuntimeWarning,
                stacklevel=2,
            )
        msg["_intervener_id"] = self._id
        # Re-send a fresh copy of the site through the whole stack (this handler skips
        # it by id), so the original draw is recorded; handlers that already saw `msg`
        # re-apply their effects to the copy.
        original = dict(
            msg, kwargs=dict(msg["kwargs"]), cond_indep_stack=[], scale=None
        )
        original["infer"] = dict(msg["infer"])
        apply_stack(original)
        name = msg["name"]
        msg["name"] = name + "__CF"
        msg["value"] = self.data[name]
        msg["is_observed"] = True
        msg["stop"] = True


class reparam(Messenger):
    """Reparametrise sample sites: ``config`` maps site names (or a site) to a Reparam.

    See :mod:`sciad.probabilistic.reparam` (e.g. ``LocScaleReparam(centered=0)``).
    """

    per_scan_step = True

    def __init__(
        self, fn: Callable | None = None, config: dict | Callable | None = None
    ):
        if config is None:
            raise ValueError("reparam: `config` (dict or callable) is required")
        self.config = config
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] != "sample":
            return
        if isinstance(self.config, dict):
            strategy = self.config.get(msg["name"])
        else:
            strategy = self.config(msg)
        if strategy is None:
            return
        new_fn, value = strategy(msg["name"], msg["fn"], msg["value"])
        if value is not None and new_fn is None:
            # The site becomes a deterministic function of the new auxiliary sites.
            msg.update(type="deterministic", value=value, fn=None, is_observed=False)
            return
        if value is not None and msg["value"] is None:
            msg["is_observed"] = True
        msg["value"] = value
        msg["fn"] = new_fn


class infer_config(Messenger):
    """Update each sample site's ``infer`` dict with ``config_fn(site)``."""

    def __init__(self, fn: Callable | None = None, config_fn: Callable | None = None):
        self.config_fn = config_fn
        super().__init__(fn)

    def process_message(self, msg):
        if msg["type"] == "sample":
            msg["infer"].update(self.config_fn(msg))


class scope(Messenger):
    """Prefix site names with ``prefix + divider`` (to reuse a sub-model twice)."""

    per_scan_step = True

    def __init__(
        self, fn: Callable | None = None, prefix: str = "", divider: str = "/"
    ):
        self.prefix = prefix
        self.divider = divider
        super().__init__(fn)

    def process_message(self, msg):
        if msg.get("name") is not None and msg["type"] != "prng_key":
            msg["name"] = f"{self.prefix}{self.divider}{msg['name']}"
        for i, frame in enumerate(msg.get("cond_indep_stack", [])):
            if not frame.name.startswith(self.prefix + self.divider):
                msg["cond_indep_stack"][i] = frame._replace(
                    name=f"{self.prefix}{self.divider}{frame.name}"
                )
