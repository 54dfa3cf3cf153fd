"""Initialisation strategies: functions of a site returning its initial value.

Each is usable bare (``init_strategy=init_to_uniform``) or configured
(``init_to_uniform(radius=1)``), as in ``numpyro.infer.initialization``. They are
``substitute_fn`` s: applied as ``substitute(seed(model, key), substitute_fn=s)``;
returning ``None`` leaves the site to be sampled as usual.
"""

import functools

import jax.numpy as jnp
import jax.random as jr

from ..distributions.transforms import biject_to

__all__ = [
    "init_to_feasible",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]


def _is_latent(site):
    return (
        site["type"] == "sample"
        and not site["is_observed"]
        and not site["fn"].support.is_discrete
    )


def init_to_uniform(site=None, radius=2):
    """Uniform in ``(-radius, radius)`` unconstrained, mapped to the support."""
    if site is None:
        return functools.partial(init_to_uniform, radius=radius)
    if not _is_latent(site):
        return None
    if site["value"] is not None:
        return site["value"]
    fn = site["fn"]
    transform = biject_to(fn.support)
    shape = transform.inverse_shape(
        tuple(site["kwargs"].get("sample_shape", ())) + fn.shape()
    )
    key = site["kwargs"]["rng_key"]
    dtype = jnp.result_type(float)
    u = jr.uniform(key, shape, dtype, minval=-radius, maxval=radius)
    return transform(u)


def init_to_feasible(site=None):
    """The image of 0 in unconstrained space (``init_to_uniform(radius=0)``)."""
    if site is None:
        return init_to_feasible
    return init_to_uniform(site, radius=0)


def init_to_median(site=None, num_samples=15):
    """Median of ``num_samples`` prior draws (falls back to uniform if unsampleable)."""
    if site is None:
        return functools.partial(init_to_median, num_samples=num_samples)
    if not _is_latent(site):
        return None
    if site["value"] is not None:
        return site["value"]
    sample_shape = tuple(site["kwargs"].get("sample_shape", ()))
    try:
        draws = site["fn"](
            rng_key=site["kwargs"]["rng_key"],
            sample_shape=(num_samples,) + sample_shape,
        )
    except NotImplementedError:
        return init_to_uniform(site)
    return jnp.median(draws, axis=0)


def init_to_mean(site=None):
    """The prior mean, as NumPyro's; the median where the mean is not finite.

    Families without a mean (`NotImplementedError`), and elements whose mean
    is infinite or undefined (Cauchy: NaN, HalfCauchy: inf), start at
    :func:`init_to_median` instead, where NumPyro would start at a NaN.
    """
    if site is None:
        return init_to_mean
    if not _is_latent(site):
        return None
    if site["value"] is not None:
        return site["value"]
    median = init_to_median(site)
    try:
        mean = 1.0 * site["fn"].mean  # a float, so the site is differentiable
    except (NotImplementedError, ValueError):
        return median
    mean = jnp.broadcast_to(mean, jnp.shape(median))
    return jnp.where(jnp.isfinite(mean), mean, median)


def init_to_sample(site=None):
    """One prior draw."""
    if site is None:
        return init_to_sample
    return init_to_median(site, num_samples=1)


def init_to_value(site=None, values=None):
    """``values[name]``; other latent sites fall back to :func:`init_to_uniform`."""
    values = {} if values is None else values
    if site is None:
        return functools.partial(init_to_value, values=values)
    if not _is_latent(site):
        return None
    if site["name"] in values:
        return values[site["name"]]
    return init_to_uniform(site)
