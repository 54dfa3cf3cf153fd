"""Reparametrisations for ``handlers.reparam`` (as ``numpyro.infer.reparam``)."""

from collections.abc import Collection
from typing import Any

import jax.numpy as jnp

from .._custom_types import ArrayLike
from ._primitives import param, sample
from .distributions import constraints
from .distributions._base import Distribution, ExpandedDistribution, Independent

__all__ = ["LocScaleReparam", "Reparam"]


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
        if obs is not None:
            raise ValueError(
                f"LocScaleReparam cannot be applied to observed site '{name}'"
            )
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
