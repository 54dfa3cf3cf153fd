r"""Automatic guides for SVI (NumPyro's ``numpyro.infer.autoguide``).

An autoguide builds a variational family $q_\phi(z)$ from the model itself::

    from sciad.probabilistic.infer import SVI, Trace_ELBO
    from sciad.probabilistic.infer.autoguide import AutoNormal

    guide = AutoNormal(model)
    svi = SVI(model, guide, optax.adam(1e-2), Trace_ELBO())
    result = svi.run(jr.key(0), 2000, data)
    draws = guide.sample_posterior(jr.key(1), result.params, data, sample_shape=(500,))

Per-site guides (one ``param`` per latent site, named ``{site}_{prefix}_loc`` as
in NumPyro; they follow the model's plates, and support subsampling plates):

* :class:`AutoNormal`: independent Normals in unconstrained space, pushed onto
  each site's support with ``biject_to`` (so the ELBO includes the Jacobian).
* :class:`AutoDelta`: a point mass in constrained space (MAP estimation).

Flat guides (all latents packed into one unconstrained vector of length $D$,
params ``{prefix}_loc`` etc.; no subsampling): :class:`AutoDiagonalNormal`,
:class:`AutoMultivariateNormal`, :class:`AutoLowRankMultivariateNormal` and
:class:`AutoLaplaceApproximation`.

:class:`AutoGuideList` combines guides for disjoint parts of the model (each
built on the model with the others' sites hidden by ``handlers.block``).

References:
    A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman, D. M. Blei, "Automatic
    Differentiation Variational Inference", JMLR 18 (2017), arXiv:1603.00788.
"""

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import jax.random as jr

from .._primitives import param
from ..distributions import Delta, Normal, TransformedDistribution, constraints
from ._autoguide_base import AutoGuide as AutoGuide, check_init_scale
from ._autoguide_continuous import (
    AutoContinuous as AutoContinuous,
    AutoDiagonalNormal as AutoDiagonalNormal,
    AutoLaplaceApproximation as AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal as AutoLowRankMultivariateNormal,
    AutoMultivariateNormal as AutoMultivariateNormal,
)
from ._autoguide_list import AutoGuideList as AutoGuideList
from ._init_strategies import init_to_median, init_to_uniform

__all__ = [
    "AutoContinuous",
    "AutoDelta",
    "AutoDiagonalNormal",
    "AutoGuide",
    "AutoGuideList",
    "AutoLaplaceApproximation",
    "AutoLowRankMultivariateNormal",
    "AutoMultivariateNormal",
    "AutoNormal",
]


def _is_real(support) -> bool:
    if isinstance(support, constraints._Independent):
        support = support.base_constraint
    return support is constraints.real


class AutoNormal(AutoGuide):
    r"""Mean-field Normal guide in unconstrained space, one pair of params per site.

    For each latent site $z_s$ with bijection $T_s$ onto its support,
    $z_s = T_s(u_s)$, $u_s \sim \mathcal{N}(\text{loc}_s, \text{scale}_s)$
    elementwise; params ``{site}_{prefix}_loc`` and ``{site}_{prefix}_scale``
    (``softplus_positive``) have the site's full (unsubsampled) shape.

    Args:
        model: the model function.
        prefix: prefix of the param names.
        init_loc_fn: initialisation strategy for the locs.
        init_scale: initial scale of every unconstrained coordinate (> 0).
        create_plates: see :class:`AutoGuide`.
    """

    scale_constraint = constraints.softplus_positive

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        init_scale: float = 0.1,
        create_plates: Callable | None = None,
    ):
        check_init_scale("AutoNormal", init_scale)
        self.init_scale = init_scale
        super().__init__(
            model, prefix=prefix, init_loc_fn=init_loc_fn, create_plates=create_plates
        )

    def _names(self, name):
        return f"{name}_{self.prefix}_loc", f"{name}_{self.prefix}_scale"

    def __call__(self, *args, **kwargs) -> dict:
        return self._sample_per_site(args, kwargs, self._site_dist)

    def _site_dist(self, name, site, subsample):
        loc_name, scale_name = self._names(name)
        e = site.unconstrained_event_dim
        loc = param(loc_name, site.init, event_dim=e)
        scale = param(
            scale_name,
            jnp.full(jnp.shape(site.init), self.init_scale, site.init.dtype),
            constraint=self.scale_constraint,
            event_dim=e,
        )
        fn = Normal(subsample(loc, e), subsample(scale, e)).to_event(e)
        if not _is_real(site.support):
            fn = TransformedDistribution(fn, site.transform)
        return fn

    def _locs_scales(self, params):
        self._require_setup("sample_posterior/median/quantiles")
        names = {k: self._names(k) for k in self._sites}
        return (
            {k: params[loc] for k, (loc, _) in names.items()},
            {k: params[scale] for k, (_, scale) in names.items()},
        )

    def sample_posterior(
        self, rng_key, params: dict, *args, sample_shape: Sequence[int] = (), **kwargs
    ) -> dict:
        """``sample_shape`` draws of every latent (and deterministic) site."""
        locs, scales = self._locs_scales(params)
        keys = jr.split(rng_key, len(locs))
        shape = tuple(sample_shape)
        latent = {}
        for key, (k, loc) in zip(keys, locs.items(), strict=True):
            eps = jr.normal(key, shape + loc.shape, loc.dtype)
            latent[k] = loc + scales[k] * eps
        return self._constrain(latent, params, args, kwargs, len(shape))

    def median(self, params: dict) -> dict:
        """The image of each loc on its site's support."""
        locs, _ = self._locs_scales(params)
        return self._constrain(locs, params, (), {}, 0)

    def quantiles(self, params: dict, quantiles) -> dict:
        """Per-coordinate quantiles (exact for elementwise bijections)."""
        locs, scales = self._locs_scales(params)
        q = jnp.asarray(quantiles)
        latent = {
            k: Normal(locs[k], scales[k]).icdf(q.reshape((-1,) + (1,) * locs[k].ndim))
            for k in locs
        }
        return self._constrain(latent, params, (), {}, 1)


class AutoDelta(AutoGuide):
    """Point-mass (MAP) guide: one param per site, in constrained space.

    Param ``{site}_{prefix}_loc`` carries the site's support as its constraint,
    and the guide adds no Jacobian: SVI with this guide maximises the joint
    density $p(x, z)$ in the model's own (constrained) parametrisation.

    Args:
        model: the model function.
        prefix: prefix of the param names.
        init_loc_fn: initialisation strategy (default ``init_to_median``, as NumPyro).
        create_plates: see :class:`AutoGuide`.
    """

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_median,
        create_plates: Callable | None = None,
    ):
        super().__init__(
            model, prefix=prefix, init_loc_fn=init_loc_fn, create_plates=create_plates
        )

    def __call__(self, *args, **kwargs) -> dict:
        return self._sample_per_site(args, kwargs, self._site_dist)

    def _site_dist(self, name, site, subsample):
        e = site.event_dim
        loc = param(
            f"{name}_{self.prefix}_loc",
            site.transform(site.init),
            constraint=site.support,
            event_dim=e,
        )
        return Delta(subsample(loc, e), 0.0, e)

    def median(self, params: dict) -> dict:
        """The point estimates ``{site: loc}``."""
        self._require_setup("median")
        return {k: params[f"{k}_{self.prefix}_loc"] for k in self._sites}

    def sample_posterior(
        self, rng_key, params: dict, *args, sample_shape: Sequence[int] = (), **kwargs
    ) -> dict:
        """The point estimates, broadcast to ``sample_shape``; deterministic sites."""
        self._require_setup("sample_posterior")
        shape = tuple(sample_shape)
        locs = {
            k: jnp.broadcast_to(v, shape + jnp.shape(v))
            for k, v in self.median(params).items()
        }
        latent = {k: self._sites[k].transform.inv(v) for k, v in locs.items()}
        return {**self._constrain(latent, params, args, kwargs, len(shape)), **locs}

    def quantiles(self, params: dict, quantiles) -> dict:
        """Every quantile of a point mass is the point: locs, quantile axis first."""
        q = jnp.asarray(quantiles).reshape(-1)
        return {
            k: jnp.broadcast_to(v, q.shape + jnp.shape(v))
            for k, v in self.median(params).items()
        }
