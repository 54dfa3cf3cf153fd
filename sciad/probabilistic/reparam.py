"""Reparametrisations for ``handlers.reparam`` (as ``numpyro.infer.reparam``).

Each strategy replaces a latent site by auxiliary sites with friendlier
geometry for HMC and returns the site's value as a deterministic function of
them (``handlers.reparam`` then records the site as ``deterministic``).
"""

import math
from collections.abc import Collection, Sequence
from typing import Any

import jax.numpy as jnp

from .._custom_types import ArrayLike
from ._primitives import factor, param, sample
from .distributions import ImproperUniform, TransformedDistribution, constraints
from .distributions._base import Distribution, ExpandedDistribution, Independent
from .distributions.transforms import ComposeTransform, Transform

__all__ = [
    "CircularReparam",
    "ExplicitReparam",
    "LocScaleReparam",
    "Reparam",
    "TransformReparam",
]


class Reparam:
    """Base class: ``reparam(name, fn, obs) -> (new_fn, value)``."""

    def __call__(self, name, fn, obs):
        raise NotImplementedError

    @staticmethod
    def _unwrap(fn):
        shape, event_dim = None, 0
        while isinstance(fn, ExpandedDistribution | Independent):
            if isinstance(fn, Independent):
                event_dim += fn.reinterpreted_batch_ndims
            elif shape is None:
                shape = fn.batch_shape
            fn = fn.base_dist
        return fn, shape, event_dim

    @staticmethod
    def _wrap(fn, shape, event_dim):
        if shape is not None:
            fn = fn.expand(shape)
        return fn.to_event(event_dim) if event_dim else fn

    @staticmethod
    def _latent_only(strategy: str, name: str, obs) -> None:
        if obs is not None:
            raise ValueError(
                f"{strategy} cannot be applied to observed site '{name}': it "
                "reparametrises latent sites only."
            )


class LocScaleReparam(Reparam):
    r"""Partial (non-)centring of a location-scale site.

    With ``centered`` $c\in[0,1]$: draws ``name_decentered`` from the family with
    ``loc`` $\cdot c$ and ``scale``$^c$, then returns
    $\text{loc} + \text{scale}^{1-c}(x - c\cdot\text{loc})$ as a deterministic site.
    ``centered=0`` is the fully non-centred parametrisation, ``1`` leaves the site
    alone, ``None`` learns $c$ as a param site ``name_centered`` (init 0.5).
    ``shape_params`` names extra parameters copied unchanged (e.g. ``("df",)`` for
    StudentT).

    References:
        Gorinova, Moore, Hoffman, "Automatic Reparameterisation of Probabilistic
        Programs", ICML 2020, arXiv:1906.03028.
    """

    def __init__(
        self,
        centered: float | ArrayLike | None = None,
        shape_params: Collection[str] = (),
    ):
        if centered is not None and not isinstance(centered, jnp.ndarray):
            if not 0 <= centered <= 1:
                raise ValueError(
                    f"LocScaleReparam: centered must be in [0, 1]; got {centered}"
                )
        self.centered = centered
        self.shape_params = tuple(shape_params)

    def __call__(
        self, name: str, fn: Distribution, obs: ArrayLike | None
    ) -> tuple[Distribution | None, Any]:
        self._latent_only("LocScaleReparam", name, obs)
        centered = self.centered
        if isinstance(centered, int | float) and centered == 1:
            return fn, obs
        event_shape = fn.event_shape
        base, shape, event_dim = self._unwrap(fn)
        if centered is None:
            centered = param(
                f"{name}_centered",
                jnp.full(event_shape, 0.5),
                constraint=constraints.unit_interval,
            )
        params = {k: getattr(base, k) for k in self.shape_params}
        params["loc"] = base.loc * centered
        params["scale"] = base.scale**centered
        decentered = self._wrap(type(base)(**params), shape, event_dim)
        x = sample(f"{name}_decentered", decentered)
        return None, base.loc + base.scale ** (1 - centered) * (x - centered * base.loc)


class TransformReparam(Reparam):
    r"""Draw a ``TransformedDistribution``'s base, then apply its transforms.

    A site ``x ~ TransformedDistribution(base, [t_1, ..., t_n])`` (possibly
    expanded or ``to_event``) becomes ``x_base ~ base`` and the deterministic
    $x = t_n(\cdots t_1(x_\text{base}))$: the non-centred form of a
    location-scale family written as ``TransformedDistribution(Normal(0, 1),
    AffineTransform(mu, tau))``, as in NumPyro's eight schools.
    """

    def __call__(self, name, fn, obs):
        self._latent_only("TransformReparam", name, obs)
        inner, shape, event_dim = self._unwrap(fn)
        if not isinstance(inner, TransformedDistribution):
            raise ValueError(
                f"TransformReparam at site '{name}': the distribution is "
                f"{type(inner).__name__}, not a TransformedDistribution; write the "
                "site as TransformedDistribution(base_dist, AffineTransform(...)) "
                "(or use LocScaleReparam)."
            )
        # the base's event rank: each transform may change the rank it acts on
        base_event_dim = event_dim
        for t in reversed(inner.transforms):
            base_event_dim += t.domain.event_dim - t.codomain.event_dim
        x = sample(f"{name}_base", self._wrap(inner.base_dist, shape, base_event_dim))
        for t in inner.transforms:
            x = t(x)
        return None, x


class ExplicitReparam(Reparam):
    r"""Sample a site in the coordinates ``y = transform(x)`` of a given bijection.

    ``x ~ fn`` becomes ``x_base ~ TransformedDistribution(fn, transform)`` and
    the deterministic $x = \text{transform}^{-1}(x_\text{base})$; a list of
    transforms is composed. Choose the transform that makes the posterior
    nearly Gaussian (e.g. a log for a heavy right tail).
    """

    def __init__(self, transform):  # checked below, with a clear message
        if isinstance(transform, Sequence) and all(
            isinstance(t, Transform) for t in transform
        ):
            transform = ComposeTransform(list(transform))
        if not isinstance(transform, Transform):
            raise TypeError(
                "ExplicitReparam: `transform` must be a Transform or a list of them; "
                f"got {transform!r}"
            )
        self.transform = transform

    def __call__(self, name, fn, obs):
        self._latent_only("ExplicitReparam", name, obs)
        x = sample(f"{name}_base", TransformedDistribution(fn, self.transform))
        return None, self.transform.inv(x)


class CircularReparam(Reparam):
    r"""Sample an angle on the real line and wrap it onto $[-\pi, \pi)$.

    For a site with ``circular`` support (``VonMises``, ``SineSkewed`` ...):
    ``x_unwrapped`` is an improper flat site on $\mathbb{R}$, the site's value
    $x = ((x_\text{unwrapped} + \pi) \bmod 2\pi) - \pi$, and a factor
    ``x_factor`` adds the site's log-density at $x$. HMC then moves across
    $\pm\pi$ without a wall. The unwrapped site's own posterior is periodic
    (and improper): its draws drift from period to period by design, so it is
    marked ``infer={"periodic": True}`` and ``MCMC``'s R-hat check skips it.
    Summarise the wrapped site ``x``.
    """

    def __call__(self, name, fn, obs):
        self._latent_only("CircularReparam", name, obs)
        support = fn.support
        if isinstance(support, constraints._Independent):
            support = support.base_constraint
        if support is not constraints.circular:
            raise ValueError(
                f"CircularReparam at site '{name}': the support of "
                f"{type(fn).__name__} is {support}, not `circular`."
            )
        flat = ImproperUniform(constraints.real, fn.batch_shape, fn.event_shape)
        # `periodic`: MCMC does not check this site's R-hat (see the docstring)
        unwrapped = sample(f"{name}_unwrapped", flat, infer={"periodic": True})
        value = jnp.remainder(unwrapped + math.pi, 2 * math.pi) - math.pi
        factor(f"{name}_factor", fn.log_prob(value))
        return None, value
