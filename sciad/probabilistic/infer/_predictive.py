"""Prior/posterior predictive sampling and pointwise log-likelihoods (vmapped)."""

import sys
import warnings
from collections.abc import Callable, Collection
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np

from ..._custom_types import PRNGKeyArray
from ..handlers import seed, substitute, trace
from ._infer_discrete import infer_discrete

__all__ = ["Predictive", "log_likelihood"]


def _batch_map(fn, xs, batch_shape, parallel):
    """Apply ``fn`` over the leading ``batch_shape`` of every leaf of ``xs``."""
    n = int(np.prod(batch_shape))
    flat = jtu.tree_map(
        lambda x: jnp.reshape(x, (n,) + jnp.shape(x)[len(batch_shape) :]), xs
    )
    out = jax.vmap(fn)(flat) if parallel else jax.lax.map(fn, flat)
    return jtu.tree_map(
        lambda y: jnp.reshape(y, tuple(batch_shape) + jnp.shape(y)[1:]), out
    )


def _batch_shape(samples, batch_ndims):
    shape, first = None, None
    for name, value in samples.items():
        s = tuple(jnp.shape(value)[:batch_ndims])
        if shape is not None and s != shape:
            raise ValueError(
                f"posterior samples must share their leading {batch_ndims} dims: site "
                f"'{name}' has {s} but site '{first}' has {shape}"
            )
        shape, first = s, name
    return shape


def _names(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _site_names(tr) -> str:
    return _names(k for k, site in tr.items() if site["type"] != "plate")


def _warn_unused(samples, tr, who):
    """A posterior site the model does not have is ignored: often a typo."""
    unused = sorted(k for k in samples if k not in tr)
    if unused:
        warnings.warn(
            f"{who}: `posterior_samples` has site(s) {_names(unused)} that the "
            f"model does not have; they are ignored (the model's sites: "
            f"{_site_names(tr)}).",
            UserWarning,
            stacklevel=_user_stacklevel(sys._getframe()),
        )


def _user_stacklevel(frame) -> int:
    """`stacklevel`, for a warning raised in `frame`, of the first caller outside
    sciad and JAX.

    The warning is raised while tracing under `vmap`, many frames below the
    user's `Predictive(...)(key)` or `log_likelihood(...)` call. Frames of
    runtime type checkers wrapping sciad's functions (jaxtyping, beartype)
    are skipped too.
    """
    level = 1
    while frame is not None and _internal(frame):
        frame, level = frame.f_back, level + 1
    return level


_INTERNAL_MODULES = ("sciad", "jax", "jaxtyping", "beartype")


def _internal(frame) -> bool:
    module = frame.f_globals.get("__name__", "")
    return (
        module.split(".")[0] in _INTERNAL_MODULES
        or frame.f_code.co_filename.startswith("<")  # generated wrappers
    )


class Predictive:
    """Draw from the prior (``num_samples``) or posterior predictive distribution.

    ``Predictive(model, posterior_samples)(rng_key, *args, **kwargs)`` returns a dict
    of arrays with the samples' leading ``batch_ndims`` dims: latent sites are
    substituted from ``posterior_samples``, other sample sites and deterministic
    sites are drawn/recomputed. ``return_sites`` selects sites (``""``: all).
    ``parallel=True`` vmaps over draws, ``False`` uses ``lax.map`` (less memory).
    ``infer_discrete=True`` (as NumPyro's) draws the sites marked for parallel
    enumeration from their posterior given each draw (see ``infer_discrete``)
    instead of from their prior. After SVI, ``Predictive(model, guide=guide,
    params=result.params, num_samples=n)`` draws the latents from the fitted
    guide (``params`` also sets the model's own ``param`` sites).
    """

    def __init__(
        self,
        model: Callable,
        posterior_samples: dict | None = None,
        *,
        guide: Callable | None = None,
        params: dict | None = None,
        num_samples: int | None = None,
        return_sites: Collection[str] | str | None = None,
        parallel: bool = True,
        batch_ndims: int = 1,
        exclude_deterministic: bool = True,
        infer_discrete: bool = False,
    ):
        if posterior_samples is None and num_samples is None:
            raise ValueError("Predictive: give `posterior_samples` or `num_samples`.")
        if guide is not None and posterior_samples is not None:
            raise ValueError(
                "Predictive: give `guide` or `posterior_samples`, not both (the "
                "guide's draws are the posterior samples)."
            )
        posterior_samples = {} if posterior_samples is None else dict(posterior_samples)
        batch_shape = _batch_shape(posterior_samples, batch_ndims)
        if batch_shape is None:
            batch_shape = (num_samples,)
        elif num_samples is not None and int(np.prod(batch_shape)) != num_samples:
            raise ValueError(
                f"Predictive: num_samples={num_samples} "
                "disagrees with posterior samples "
                f"of batch shape {batch_shape}"
            )
        self.model = model
        self.guide = guide
        self.posterior_samples = posterior_samples
        self.params = {} if params is None else params
        self.batch_shape = batch_shape
        self.num_samples = int(np.prod(batch_shape))
        self.return_sites = return_sites
        self.parallel = parallel
        self.batch_ndims = batch_ndims
        self.exclude_deterministic = exclude_deterministic
        self.infer_discrete = infer_discrete

    def _one(self, rng_key, samples, args, kwargs):
        fixed = dict(samples)

        def substitute_fn(site):
            if site["type"] == "param" and site["name"] in self.params:
                return self.params[site["name"]]
            if self.exclude_deterministic and site["type"] == "deterministic":
                return None
            return fixed.get(site["name"])

        model = substitute(self.model, substitute_fn=substitute_fn)
        if self.infer_discrete:
            rng_key, key_discrete = jr.split(rng_key)
            model = infer_discrete(model, rng_key=key_discrete)
        tr = trace(seed(model, rng_key)).get_trace(*args, **kwargs)
        _warn_unused(samples, tr, "Predictive")
        if self.return_sites is not None:
            if self.return_sites == "":
                sites = {k for k, s in tr.items() if s["type"] != "plate"}
            else:
                sites = set(self.return_sites)
                unknown = sorted(sites - set(tr))
                if unknown:
                    raise ValueError(
                        f"Predictive: `return_sites` names unknown site(s) "
                        f"{_names(unknown)}; the model's sites are {_site_names(tr)}."
                    )
        else:
            sites = {
                k
                for k, s in tr.items()
                if (s["type"] == "sample" and k not in samples)
                or s["type"] == "deterministic"
            }
        return {k: s["value"] for k, s in tr.items() if k in sites}

    def _guide_draws(self, rng_key, args, kwargs) -> dict:
        """Latent draws of the guide (its ``param`` sites set from ``params``)."""
        guide = substitute(self.guide, data=self.params)

        def one(key):
            tr = trace(seed(guide, key)).get_trace(*args, **kwargs)
            return {
                k: s["value"]
                for k, s in tr.items()
                if s["type"] == "sample"
                and not s["is_observed"]
                and not s["infer"].get("is_auxiliary")
            }

        keys = self._keys(rng_key)
        return _batch_map(one, keys, self.batch_shape, self.parallel)

    def _keys(self, rng_key):
        keys = jr.split(rng_key, self.num_samples)
        return jnp.reshape(keys, self.batch_shape + keys.shape[1:])

    def __call__(self, rng_key: PRNGKeyArray, *args: Any, **kwargs: Any) -> dict:
        samples = self.posterior_samples
        if self.guide is not None:
            rng_key, guide_key = jr.split(rng_key)
            samples = self._guide_draws(guide_key, args, kwargs)
        return _batch_map(
            lambda xs: self._one(xs[0], xs[1], args, kwargs),
            (self._keys(rng_key), samples),
            self.batch_shape,
            self.parallel,
        )


def log_likelihood(
    model: Callable,
    posterior_samples: dict,
    *args: Any,
    parallel: bool = False,
    batch_ndims: int = 1,
    **kwargs: Any,
) -> dict:
    """Pointwise log-likelihood of every observed site, per posterior draw.

    Returns ``{site: array of shape batch + site batch shape}`` (masks applied, site
    ``scale`` not applied), e.g. for WAIC/LOO.
    """
    batch_shape = _batch_shape(posterior_samples, batch_ndims)
    if batch_shape is None:
        raise ValueError("log_likelihood: `posterior_samples` is empty")

    def one(samples):
        def fill(site):
            name = site["name"]
            if name in samples:
                return samples[name]
            if site["type"] == "sample" and not site["is_observed"]:
                raise ValueError(
                    f"log_likelihood: `posterior_samples` has no value for latent "
                    f"site '{name}'."
                )
            return None

        tr = trace(substitute(model, substitute_fn=fill)).get_trace(*args, **kwargs)
        _warn_unused(samples, tr, "log_likelihood")
        return {
            k: s["fn"].log_prob(s["value"])
            for k, s in tr.items()
            if s["type"] == "sample"
            and s["is_observed"]
            and not s["infer"].get("is_auxiliary")
        }

    return _batch_map(one, posterior_samples, batch_shape, parallel)
