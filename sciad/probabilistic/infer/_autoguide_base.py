"""The autoguide core: the model's prototype trace and the `AutoGuide` base class.

An autoguide is a guide built from the model itself. On its first call (inside
`SVI.init`) it runs the model once, via :func:`initialize_model`, to record every
latent site's shape, support, bijection ``biject_to(support)``, initial value and
enclosing plates (the *prototype*); later calls emit ``param`` and ``sample``
sites from that record. This lazy, stateful set-up is NumPyro's design, and the
reason the guides are plain Python objects rather than ``eqx.Module`` s: the
prototype is a property of the model, discovered only when the model's
arguments are first seen.
"""

import abc
import copy
from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from .._primitives import _PYRO_STACK, plate, prng_key, sample
from ..distributions.transforms import Transform, biject_to
from ..handlers import _sealed, block, seed, substitute, trace
from ._compiler_options import compiler_options
from ._init_strategies import init_to_feasible, init_to_uniform
from .util import constrain_fn, initialize_model

__all__ = ["AutoGuide"]


class LatentSite(NamedTuple):
    """What an autoguide records about one latent site of the model.

    ``shape`` and ``init`` are at the *full* size of every enclosing plate, even
    when the plate subsamples. ``event_dim`` is the site's (constrained) event
    rank; ``unconstrained_event_dim`` that of ``init`` (e.g. 1 for a simplex or
    a Cholesky factor of a correlation matrix, whose free coordinates are a
    vector).
    """

    name: str
    shape: tuple
    support: Any
    transform: Transform
    event_dim: int
    unconstrained_event_dim: int
    frames: tuple
    init: jax.Array


def _periodic_repeat(x, size, axis):
    """`x` tiled along `axis` to length `size` (NumPyro's init for subsampled sites)."""
    return jnp.take(x, jnp.arange(size) % x.shape[axis], axis=axis)


def _array_attrs(obj, depth: int = 0) -> dict:
    """``{attribute path: array}`` for the arrays a constraint holds."""
    if isinstance(obj, jax.Array):
        return {(): obj}
    fields = getattr(obj, "__dict__", None)
    if depth > 4 or not fields or isinstance(obj, eqx.Module):
        # a module (a `scan` site's stacked steps) cannot be rebuilt attribute by
        # attribute: its tracers send the set-up down the eager path
        return {}
    out = {}
    for k, v in fields.items():
        out.update({(k, *p): a for p, a in _array_attrs(v, depth + 1).items()})
    return out


def _with_attrs(obj, arrays: dict):
    """A copy of ``obj`` with the arrays at the given attribute paths replaced."""
    if () in arrays:
        return arrays[()]
    if not arrays:
        return obj  # untouched, so singletons such as `constraints.real` stay so
    obj = copy.copy(obj)
    heads = {path[0] for path in arrays}
    for k in heads:
        sub = {p[1:]: a for p, a in arrays.items() if p[0] == k}
        setattr(obj, k, _with_attrs(getattr(obj, k), sub))
    return obj


def _holds_tracer(obj, depth: int = 0) -> bool:
    """Whether a constraint (or anything it holds, a few levels deep) is traced."""
    if isinstance(obj, jax.core.Tracer):
        return True
    if depth > 4:
        return False
    if isinstance(obj, list | tuple):
        return any(_holds_tracer(o, depth + 1) for o in obj)
    fields = getattr(obj, "__dict__", None) or {}
    return any(_holds_tracer(v, depth + 1) for v in fields.values())


def _static_trace(model_trace) -> OrderedDict:
    """The trace recorded under `jit` without its tracers: each value replaced by
    its shape and dtype, each site's distribution by None."""
    out = OrderedDict()
    for name, site in model_trace.items():
        site = dict(site)
        value = site.get("value")
        if isinstance(value, jax.Array):
            site["value"] = jax.ShapeDtypeStruct(jnp.shape(value), value.dtype)
        if "fn" in site:
            site["fn"] = None
        out[name] = site
    return out


def _feasible_if(hide_fn) -> Callable:
    """A ``substitute_fn``: a fixed point of the support of each hidden latent."""

    def value(site):
        if site["type"] != "sample" or site["is_observed"] or not hide_fn(site):
            return None
        fn = site["fn"]
        shape = fn.shape(site["kwargs"].get("sample_shape", ()))
        if fn.support.is_discrete:
            if not fn.has_enumerate_support:
                return None  # drawn, with a key from the prototype's seed
            first = fn.enumerate_support(expand=False)[0]
            return jnp.broadcast_to(first, shape)
        transform = biject_to(fn.support)
        zeros = jnp.zeros(transform.inverse_shape(shape), jnp.result_type(float))
        return transform(zeros)

    return value


def check_init_scale(owner: str, init_scale) -> None:
    if not init_scale > 0:
        raise ValueError(f"{owner}: `init_scale` must be > 0; got {init_scale}")


class AutoGuide(abc.ABC):
    """Base of the automatic guides: a guide built from the model's prototype trace.

    Args:
        model: the model function.
        prefix: prefix of the guide's ``param`` site names.
        init_loc_fn: initialisation strategy for the latent sites
            (``init_to_uniform``, ``init_to_median(num_samples=...)``, ...).
        create_plates: optional ``f(*args, **kwargs)`` returning a ``plate`` (or a
            list of plates) to use in the guide in place of the automatically
            created ones, e.g. to choose the subsample of a subsampling plate.

    The guide's sample sites carry the model's latent names; call it with the
    model's arguments. ``sample_posterior``, ``median`` and ``quantiles`` need
    the prototype, so run ``SVI.init`` (or the guide once) first.
    """

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        create_plates: Callable | None = None,
    ):
        if not callable(model):
            raise TypeError(
                f"{type(self).__name__}: `model` must be callable; got {model!r}"
            )
        self.model = model
        self.prefix = prefix
        self.init_loc_fn = init_loc_fn
        self.create_plates = create_plates
        self.prototype_trace = None
        self._sites = None
        self._plate_sizes = {}
        self._frames = {}
        self._model_params = ()
        self._setup_args = ((), {})

    # --- prototype ----------------------------------------------------------
    def _prototype_model(self):
        # Plates that subsample need a key even where nothing is sampled (the
        # potential in `initialize_model`, `constrain_fn`), and so do the sites a
        # `block` inside the model hides (they ask with `prng_key`): seed those,
        # with a fixed key, here inside the compiled set-up. Which subsample or
        # hidden draw the prototype sees does not matter; a key taken from a seed
        # outside would leave a tracer in it.
        hidden = ("sample", "control_flow")
        model = self.model
        if type(model) is block and model.fn is not None:
            # The sites this `block` hides are not the guide's: give them a
            # feasible value here instead of a random draw. Drawn, each costs
            # a split and a sampler per model evaluation of the compiled set-up
            # (a 60-step HMM's hidden states: 13 s of XLA compile).
            inner = substitute(model.fn, substitute_fn=_feasible_if(model.hide_fn))
            model = block(inner, hide_fn=model.hide_fn)
        return seed(model, rng_seed=jr.key(0), hide_types=hidden)

    def _check_continuous(self, model, args, kwargs):
        probe = substitute(seed(model, rng_seed=0), substitute_fn=init_to_feasible)
        for name, site in trace(probe).get_trace(*args, **kwargs).items():
            if site["type"] != "sample" or site["is_observed"]:
                continue
            if site["fn"].support.is_discrete:
                raise ValueError(
                    f"{type(self).__name__}: model sample site '{name}' is a "
                    f"discrete latent variable ({type(site['fn']).__name__}); "
                    "autoguides approximate continuous latents only: marginalise "
                    "it in the model, condition on it, or hide it from this guide "
                    f"with handlers.block(model, hide=['{name}'])."
                )

    def _setup_prototype(self, *args, **kwargs):
        key = prng_key() if _PYRO_STACK else None
        key = jr.key(0) if key is None else key
        model = self._prototype_model()
        captured = {}

        def prototype(key, args, kwargs):
            with _sealed():
                self._check_continuous(model, args, kwargs)
                info = initialize_model(
                    key,
                    model,
                    init_strategy=self.init_loc_fn,
                    model_args=args,
                    model_kwargs=kwargs,
                )
            captured["trace"] = info.model_trace
            z = info.param_info.z
            supports = {n: _array_attrs(info.model_trace[n]["fn"].support) for n in z}
            return z, supports

        # Run once under `jit`: executed op by op, the model and the init search
        # compile dozens of one-op XLA programs (3.7 of 4.3 s of a first SVI call
        # on eight schools, 11 s on stoch_vol). The recorded trace then holds
        # tracers: only its static parts are kept, and each latent site's
        # support is rebuilt with the concrete values of its array attributes
        # (an `interval`'s bounds), returned by the compiled call. A support
        # holding tracers anywhere else sends the set-up down the eager path.
        z, arrays = eqx.filter_jit(prototype, compiler_options=compiler_options())(
            key, args, kwargs
        )
        model_trace = captured["trace"]
        supports = {n: _with_attrs(model_trace[n]["fn"].support, arrays[n]) for n in z}
        traced = not any(_holds_tracer(c) for c in supports.values())
        if not traced:
            z, _ = prototype(key, args, kwargs)
            model_trace = captured["trace"]
            supports = {n: model_trace[n]["fn"].support for n in z}
        self._setup_args = (args, kwargs)
        self._plate_sizes = {
            name: int(site["args"][0])
            for name, site in model_trace.items()
            if site["type"] == "plate"
        }
        self._model_params = tuple(
            name for name, s in model_trace.items() if s["type"] == "param"
        )
        sites = OrderedDict()
        for name, site in model_trace.items():
            if name in z and site["type"] == "sample":
                sites[name] = self._latent_site(site, z[name], supports[name])
        self._sites = sites
        self.prototype_trace = _static_trace(model_trace) if traced else model_trace

    def _latent_site(self, site, init, support) -> LatentSite:
        # `site` may come from a trace under `jit`: only its static parts are read
        name = site["name"]
        event_dim = site["fn"].event_dim
        u_event_dim = event_dim + jnp.ndim(init) - jnp.ndim(site["value"])
        frames = tuple(site["cond_indep_stack"])
        for frame in frames:
            known = self._frames.setdefault(frame.name, frame)
            if known != frame:
                raise ValueError(
                    f"{type(self).__name__}: plate '{frame.name}' has dim/size "
                    f"{frame.dim}/{frame.size} at site '{name}' but "
                    f"{known.dim}/{known.size} elsewhere in the model."
                )
            full = self._plate_sizes[frame.name]
            if frame.size != full:
                init = _periodic_repeat(init, full, frame.dim - u_event_dim)
        transform = biject_to(support)
        shape = tuple(transform.forward_shape(jnp.shape(init)))
        return LatentSite(
            name, shape, support, transform, event_dim, u_event_dim, frames, init
        )

    def _require_setup(self, method: str):
        if self._sites is None:
            raise RuntimeError(
                f"{type(self).__name__}.{method}: the guide has not been set up: "
                "run SVI.init(rng_key, *args) (or call the guide once, under "
                "handlers.seed, with the model's arguments) first."
            )

    @property
    def _subsampled(self) -> bool:
        return any(f.size != self._plate_sizes[n] for n, f in self._frames.items())

    # --- plates --------------------------------------------------------------
    def _create_plates(self, *args, **kwargs) -> dict:
        plates = {}
        if self.create_plates is not None:
            given = self.create_plates(*args, **kwargs)
            given = [given] if isinstance(given, plate) else list(given)
            for p in given:
                if not isinstance(p, plate):
                    raise TypeError(
                        f"{type(self).__name__}: `create_plates` must return plates;"
                        f" got {p!r}"
                    )
                plates[p.name] = p
        for name, frame in self._frames.items():
            if name not in plates:
                full = self._plate_sizes[name]
                plates[name] = plate(
                    name, full, subsample_size=frame.size, dim=frame.dim
                )
        return plates

    @staticmethod
    def _enter_plates(stack: ExitStack, site: LatentSite, plates: dict) -> Callable:
        """Enter the site's plates; return a map from full-size to subsampled values."""
        take = []
        for frame in site.frames:
            p = plates[frame.name]
            indices = stack.enter_context(p)
            if p.subsample_size != p.size:
                take.append((indices, frame.dim))

        def subsample(x, event_dim):
            for indices, dim in take:
                x = jnp.take(x, indices, axis=dim - event_dim)
            return x

        return subsample

    # --- posterior post-processing -------------------------------------------
    def _model_with_params(self, params: dict):
        model_params = {k: params[k] for k in self._model_params if k in params}
        model = self._prototype_model()
        return substitute(model, data=model_params) if model_params else model

    def _constrain(self, latent: dict, params: dict, args, kwargs, batch_ndim: int):
        """Map unconstrained latents (leading `batch_ndim` dims) onto the supports.

        Runs the model (with ``params`` for its own ``param`` sites), so
        deterministic sites are returned too and supports that depend on other
        latents are honoured. With subsampling plates the model cannot be run on
        full-size latents; each site's prototype bijection is applied instead.
        """
        if self._subsampled:
            return {k: self._sites[k].transform(v) for k, v in latent.items()}
        if not args and not kwargs:
            args, kwargs = self._setup_args
        # seeded: a site observed in SVI may be left unobserved here (``obs=None``
        # in the posterior's arguments); its draw is discarded
        model = seed(self._model_with_params(params), rng_seed=jr.key(0))

        def one(z):
            return constrain_fn(model, args, kwargs, z, return_deterministic=True)

        if batch_ndim == 0:
            return one(latent)
        batch = jnp.shape(next(iter(latent.values())))[:batch_ndim]
        flat = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[batch_ndim:]), latent)
        out = jax.vmap(one)(flat)
        return jax.tree.map(lambda x: x.reshape(batch + x.shape[1:]), out)

    def _sample_per_site(self, args, kwargs, site_dist) -> dict:
        """Emit one ``sample`` site per latent, from ``site_dist(name, site,
        subsample)`` called inside the site's plates (the per-site guides)."""
        if self._sites is None:
            self._setup_prototype(*args, **kwargs)
        plates = self._create_plates(*args, **kwargs)
        result = {}
        for name, site in self._sites.items():
            with ExitStack() as stack:
                subsample = self._enter_plates(stack, site, plates)
                result[name] = sample(name, site_dist(name, site, subsample))
        return result

    # --- the interface ---------------------------------------------------------
    @abc.abstractmethod
    def __call__(self, *args, **kwargs) -> dict:
        """Run as a guide: sample every latent site; return ``{name: value}``."""

    @abc.abstractmethod
    def sample_posterior(
        self, rng_key, params: dict, *args, sample_shape=(), **kwargs
    ) -> dict:
        """Constrained draws of every latent (and deterministic) site."""

    @abc.abstractmethod
    def median(self, params: dict) -> dict:
        """The posterior median of each latent site (constrained)."""

    @abc.abstractmethod
    def quantiles(self, params: dict, quantiles) -> dict:
        """Posterior quantiles of each latent site, quantile axis first."""
