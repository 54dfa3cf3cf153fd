r"""`kl_divergence(p, q)` and the `register_kl` registry (NumPyro's, after torch's).

$\mathrm{KL}(p \,\|\, q) = \mathbb{E}_p[\log p(x) - \log q(x)]$ in closed form,
chosen by the types of ``p`` and ``q``. A rule registered for ``(P, Q)`` serves
every pair of subclasses; among the rules that match, the one whose classes sit
earliest in the two MROs wins, ``p``'s first (a rule for ``(Gamma, Gamma)`` beats
``(Distribution, ExpandedDistribution)`` for a ``Gamma`` ``p``). The shape
wrappers of ``_base.py`` (`ExpandedDistribution`, `Independent`,
`MaskedDistribution`) are unwrapped, so any closed form also serves expanded,
``to_event``-ed and masked versions of its pair. The families' closed forms are
in ``_kl_families.py``.
"""

import functools
from collections.abc import Callable

import jax.numpy as jnp

from ..._custom_types import Array, Float
from ._base import (
    Distribution,
    ExpandedDistribution,
    Independent,
    MaskedDistribution,
)
from ._special import Delta
from .transforms import _sum_rightmost as sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_RULES: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    r"""Decorator registering ``fn(p, q)`` as $\mathrm{KL}(p \,\|\, q)$ for
    ``p`` an instance of ``type_p`` and ``q`` of ``type_q`` (subclasses included).

    The rule returns an array broadcastable to the broadcast batch shape of ``p``
    and ``q``; `kl_divergence` broadcasts it. Registering a pair again replaces
    its rule. A rule for a subclass pair takes precedence over one for its bases.
    Register before tracing: a jitted function that already compiled a pair
    keeps the rule it traced.

    Example:
        ```python
        @register_kl(MyNormal, dist.Normal)
        def _(p, q):
            ...
        ```

    Raises:
        TypeError: if either argument is not a subclass of `Distribution`.
    """
    for name, t in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(
                f"register_kl: `{name}` must be a subclass of Distribution; got {t!r}."
            )

    def decorator(fn: Callable) -> Callable:
        _KL_RULES[type_p, type_q] = fn
        _dispatch.cache_clear()
        return fn

    return decorator


@functools.cache
def _dispatch(type_p: type, type_q: type) -> Callable | None:
    """The most specific registered rule: least MRO distance, ``p``'s first."""
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    matches = [(tp, tq) for tp, tq in _KL_RULES if tp in mro_p and tq in mro_q]
    if not matches:
        return None
    best = min(matches, key=lambda m: (mro_p.index(m[0]), mro_q.index(m[1])))
    return _KL_RULES[best]


def kl_divergence(p: Distribution, q: Distribution) -> Float[Array, "..."]:
    r"""Kullback-Leibler divergence in closed form, batched:

    $$\mathrm{KL}(p \,\|\, q) = \int p(x) \log \frac{p(x)}{q(x)}\, dx,$$

    summed over the event dimensions. The result has the broadcast batch shape
    of ``p`` and ``q`` and is differentiable in the parameters of both.

    Closed forms (NumPyro's set and more): `Normal`, `LogNormal`, `Laplace`,
    `Exponential`, `Gamma` (and `Chi2`), `Beta`, `Dirichlet`,
    `MultivariateNormal` / `LowRankMultivariateNormal` (any of the four pairs),
    `Bernoulli`, `Categorical`, `Poisson`, each against its own family;
    `Exponential` against `Gamma` and back, `Weibull` against `Gamma`,
    `Kumaraswamy` against `Beta`; `Delta` against anything with a `log_prob`;
    through `ExpandedDistribution`, `Independent` and `MaskedDistribution`.
    Add more with `register_kl`.

    Raises:
        NotImplementedError: no rule is registered for the pair of types.
        ValueError: the batch shapes do not broadcast or the event shapes differ.
    """
    rule = _dispatch(type(p), type(q))
    if rule is None:
        raise NotImplementedError(
            f"kl_divergence: no closed form registered for "
            f"{type(p).__name__} || {type(q).__name__}; add one with "
            f"`register_kl({type(p).__name__}, {type(q).__name__})`."
        )
    try:
        shape = jnp.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    except ValueError:
        raise ValueError(
            f"kl_divergence: batch shapes {tuple(p.batch_shape)} of "
            f"{type(p).__name__} and {tuple(q.batch_shape)} of {type(q).__name__} "
            "do not broadcast."
        ) from None
    if tuple(p.event_shape) != tuple(q.event_shape):
        raise ValueError(
            f"kl_divergence: event shapes differ: {tuple(p.event_shape)} for "
            f"{type(p).__name__}, {tuple(q.event_shape)} for {type(q).__name__}."
        )
    return jnp.broadcast_to(rule(p, q), shape)


# --- shape wrappers ---------------------------------------------------------
# Unwrapping `expand` first: the base pair's divergence broadcasts to the
# expanded batch shape, since expanded entries are independent copies.
@register_kl(ExpandedDistribution, Distribution)
def _kl_expanded_p(p, q):
    return kl_divergence(p.base_dist, q)


@register_kl(Distribution, ExpandedDistribution)
def _kl_expanded_q(p, q):
    return kl_divergence(p, q.base_dist)


@register_kl(ExpandedDistribution, ExpandedDistribution)
def _kl_expanded(p, q):
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Independent, Independent)
def _kl_independent(p, q):
    r"""$\sum_\text{event dims} \mathrm{KL}(p_\text{base} \,\|\, q_\text{base})$:
    the KL of a product is the sum of the KLs of its factors.

    When the two reinterpret different numbers of dims (``Normal.to_event(2)``
    against ``Normal.to_event(1).to_event(1)``), the shared outer dims are
    summed and the rest compared as distributions (as NumPyro does)."""
    shared = min(p.reinterpreted_batch_ndims, q.reinterpreted_batch_ndims)
    p_rest = p.reinterpreted_batch_ndims - shared
    q_rest = q.reinterpreted_batch_ndims - shared
    p = Independent(p.base_dist, p_rest) if p_rest else p.base_dist
    q = Independent(q.base_dist, q_rest) if q_rest else q.base_dist
    return sum_rightmost(kl_divergence(p, q), shared)


# Masks: zero wherever either side is masked out, as `log_prob` is there.
@register_kl(MaskedDistribution, MaskedDistribution)
def _kl_masked(p, q):
    kl = kl_divergence(p.base_dist, q.base_dist)
    return jnp.where(p._mask & q._mask, kl, 0.0)


@register_kl(MaskedDistribution, Distribution)
def _kl_masked_p(p, q):
    return jnp.where(p._mask, kl_divergence(p.base_dist, q), 0.0)


@register_kl(Distribution, MaskedDistribution)
def _kl_masked_q(p, q):
    return jnp.where(q._mask, kl_divergence(p, q.base_dist), 0.0)


@register_kl(Delta, Distribution)
def _kl_delta(p, q):
    r"""$-\log q(v) + \text{log\_density}$ (NumPyro's convention: the point
    mass's own "entropy" is taken as zero, its ``log_density`` as its log-mass)."""
    return -q.log_prob(p.v) + p.log_density


@register_kl(Delta, MaskedDistribution)
def _kl_delta_masked(p, q):
    return jnp.where(q._mask, _kl_delta(p, q.base_dist), 0.0)
