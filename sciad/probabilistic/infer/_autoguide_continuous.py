r"""Flat autoguides: every latent packed into one unconstrained vector.

The unconstrained initial values of the latent sites are raveled (with
``jax.flatten_util.ravel_pytree``) into $u \in \mathbb{R}^D$. The guide draws
$u \sim q_\phi$ at an auxiliary site ``_{prefix}_latent``, unravels it, maps each
piece onto its site's support with $T_s$ = ``biject_to(support)``, and emits the
site as a point mass carrying $-\log|\det J_{T_s}(u_s)|$, so that
$\log q(z) = \log q_\phi(u) - \sum_s \log|\det J_{T_s}(u_s)|$ enters the ELBO
exactly (NumPyro's ``AutoContinuous``).
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.scipy.linalg import solve_triangular

from .._primitives import param, sample
from ..distributions import (
    Delta,
    LowRankMultivariateNormal,
    MultivariateNormal,
    Normal,
    TransformedDistribution,
    constraints,
)
from ..distributions.transforms import (
    AffineTransform,
    IndependentTransform,
    Transform,
    _sum_rightmost,
)
from ._autoguide_base import AutoGuide, check_init_scale
from ._init_strategies import init_to_uniform
from .util import potential_energy

__all__ = [
    "AutoContinuous",
    "AutoDiagonalNormal",
    "AutoLaplaceApproximation",
    "AutoLowRankMultivariateNormal",
    "AutoMultivariateNormal",
]


class LowerCholeskyAffine(Transform):
    """``y = loc + scale_tril @ x`` on vectors (an unbatched ``scale_tril``)."""

    loc: jax.Array
    scale_tril: jax.Array
    domain = constraints.real_vector
    codomain = constraints.real_vector

    def __call__(self, x):
        return self.loc + jnp.einsum("ij,...j->...i", self.scale_tril, x)

    def _inverse(self, y):
        diff = y - self.loc
        n = diff.shape[-1]
        flat = jnp.reshape(diff, (-1, n)).T
        x = solve_triangular(self.scale_tril, flat, lower=True)
        return jnp.reshape(x.T, diff.shape)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        log_det = jnp.sum(jnp.log(jnp.diagonal(self.scale_tril)))
        return jnp.broadcast_to(log_det, jnp.shape(x)[:-1])


class AutoContinuous(AutoGuide):
    """Base of the flat guides; subclasses define the distribution of the vector.

    Subclasses implement ``_get_posterior()`` (emitting the params, returning a
    distribution over $\\mathbb{R}^D$), ``get_transform(params)``,
    ``get_posterior(params)`` and ``_marginal_scale(params)``. Latent sites in a
    subsampling plate are not supported (NumPyro's rule as well).
    """

    def _setup_prototype(self, *args, **kwargs):
        super()._setup_prototype(*args, **kwargs)
        for site in self._sites.values():
            for frame in site.frames:
                full = self._plate_sizes[frame.name]
                if frame.size != full:
                    self._sites = None
                    raise NotImplementedError(
                        f"{type(self).__name__}: latent site '{site.name}' is in "
                        f"plate '{frame.name}', which subsamples {frame.size} of "
                        f"{full}; flat guides pack every latent into one vector and "
                        "cannot subsample it: use AutoNormal or AutoDelta."
                    )
        init = {k: s.init for k, s in self._sites.items()}
        self._init_latent, self._unravel = ravel_pytree(init)
        self.latent_dim = int(self._init_latent.size)
        if self.latent_dim == 0:
            self._sites = None
            raise RuntimeError(
                f"{type(self).__name__} found no latent sites in the model."
            )

    def _get_posterior(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs) -> dict:
        if self._sites is None:
            self._setup_prototype(*args, **kwargs)
        latent = sample(
            f"_{self.prefix}_latent",
            self._get_posterior(),
            infer={"is_auxiliary": True},
        )
        pieces = self._unravel(latent)
        result = {}
        for name, site in self._sites.items():
            u = pieces[name]
            value = site.transform(u)
            ladj = site.transform.log_abs_det_jacobian(u, value)
            extra = jnp.ndim(ladj) - jnp.ndim(value) + site.event_dim
            ladj = _sum_rightmost(ladj, extra)
            point = Delta(value, -ladj, site.event_dim)
            result[name] = sample(name, point)
        return result

    def _unpack_and_constrain(self, latent, params: dict, args=(), kwargs=None):
        batch = jnp.shape(latent)[:-1]
        flat = jnp.reshape(latent, (-1, self.latent_dim))
        pieces = jax.vmap(self._unravel)(flat)
        pieces = jax.tree.map(lambda x: x.reshape(batch + x.shape[1:]), pieces)
        return self._constrain(pieces, params, args, kwargs or {}, len(batch))

    def _loc(self, params: dict, method: str):
        self._require_setup(method)
        return params[f"{self.prefix}_loc"]

    def get_base_dist(self):
        """The standard Normal on $\\mathbb{R}^D$ that ``get_transform`` maps."""
        self._require_setup("get_base_dist")
        return Normal(jnp.zeros(self.latent_dim), 1.0).to_event(1)

    def get_transform(self, params: dict) -> Transform:
        """The map from the base distribution to the (unconstrained) posterior."""
        raise NotImplementedError

    def get_posterior(self, params: dict):
        """The approximate posterior of the unconstrained vector $u$."""
        return TransformedDistribution(self.get_base_dist(), self.get_transform(params))

    def _marginal_scale(self, params: dict):
        raise NotImplementedError

    def sample_posterior(
        self, rng_key, params: dict, *args, sample_shape: Sequence[int] = (), **kwargs
    ) -> dict:
        """``sample_shape`` draws of every latent (and deterministic) site."""
        self._require_setup("sample_posterior")
        latent = self.get_posterior(params).sample(rng_key, tuple(sample_shape))
        return self._unpack_and_constrain(latent, params, args, kwargs)

    def median(self, params: dict) -> dict:
        """The image of ``{prefix}_loc`` on the sites' supports."""
        return self._unpack_and_constrain(self._loc(params, "median"), params)

    def quantiles(self, params: dict, quantiles) -> dict:
        """Quantiles of each coordinate's Normal marginal, mapped to the supports."""
        loc = self._loc(params, "quantiles")
        q = jnp.reshape(jnp.asarray(quantiles), (-1, 1))
        latent = Normal(loc, self._marginal_scale(params)).icdf(q)
        return self._unpack_and_constrain(latent, params)


class _ScaledContinuous(AutoContinuous):
    """A flat guide whose spread starts at ``init_scale`` in every coordinate."""

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        init_scale: float = 0.1,
    ):
        check_init_scale(type(self).__name__, init_scale)
        self.init_scale = init_scale
        super().__init__(model, prefix=prefix, init_loc_fn=init_loc_fn)


class AutoDiagonalNormal(_ScaledContinuous):
    r"""$u \sim \mathcal{N}(\text{loc}, \mathrm{diag}(\text{scale}^2))$.

    Params ``{prefix}_loc`` and ``{prefix}_scale`` (``softplus_positive``),
    both of shape ``(D,)``.
    """

    scale_constraint = constraints.softplus_positive

    def _get_posterior(self):
        loc = param(f"{self.prefix}_loc", self._init_latent)
        scale = param(
            f"{self.prefix}_scale",
            jnp.full(self.latent_dim, self.init_scale, self._init_latent.dtype),
            constraint=self.scale_constraint,
        )
        return Normal(loc, scale).to_event(1)

    def get_transform(self, params: dict) -> Transform:
        loc = self._loc(params, "get_transform")
        affine = AffineTransform(loc, params[f"{self.prefix}_scale"])
        return IndependentTransform(affine, 1)

    def get_posterior(self, params: dict):
        """The diagonal Normal (batch shape ``(D,)``, as NumPyro)."""
        loc = self._loc(params, "get_posterior")
        return Normal(loc, params[f"{self.prefix}_scale"])

    def _marginal_scale(self, params):
        return params[f"{self.prefix}_scale"]


class AutoMultivariateNormal(_ScaledContinuous):
    r"""$u \sim \mathcal{N}(\text{loc}, LL^\top)$ with a full Cholesky factor $L$.

    Params ``{prefix}_loc`` (``(D,)``) and ``{prefix}_scale_tril`` (``(D, D)``,
    constraint ``lower_cholesky``; NumPyro uses ``scaled_unit_lower_cholesky``,
    which sciad does not have: same family, different unconstrained coordinates).
    """

    scale_tril_constraint = constraints.lower_cholesky

    def _get_posterior(self):
        loc = param(f"{self.prefix}_loc", self._init_latent)
        eye = jnp.eye(self.latent_dim, dtype=self._init_latent.dtype)
        scale_tril = param(
            f"{self.prefix}_scale_tril",
            self.init_scale * eye,
            constraint=self.scale_tril_constraint,
        )
        return MultivariateNormal(loc, scale_tril=scale_tril)

    def get_transform(self, params: dict) -> Transform:
        loc = self._loc(params, "get_transform")
        return LowerCholeskyAffine(loc, params[f"{self.prefix}_scale_tril"])

    def get_posterior(self, params: dict):
        loc = self._loc(params, "get_posterior")
        return MultivariateNormal(loc, scale_tril=params[f"{self.prefix}_scale_tril"])

    def _marginal_scale(self, params):
        return jnp.linalg.norm(params[f"{self.prefix}_scale_tril"], axis=-1)


class AutoLowRankMultivariateNormal(_ScaledContinuous):
    r"""$u \sim \mathcal{N}(\text{loc}, WW^\top + \mathrm{diag}(d))$, $W$ of rank $k$.

    Params ``{prefix}_loc`` (``(D,)``), ``{prefix}_cov_factor`` (``(D, k)``,
    initialised at 0) and ``{prefix}_scale`` (``(D,)``, ``softplus_positive``);
    as in NumPyro, $W$ = ``cov_factor * scale[:, None]`` and $d$ = ``scale**2``.
    ``rank`` defaults to ``round(sqrt(D))``.
    """

    scale_constraint = constraints.softplus_positive

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        init_scale: float = 0.1,
        rank: int | None = None,
    ):
        if rank is not None and not (isinstance(rank, int) and rank > 0):
            raise ValueError(
                "AutoLowRankMultivariateNormal: `rank` must be a positive int or "
                f"None; got {rank!r}"
            )
        self.rank = rank
        super().__init__(
            model, prefix=prefix, init_loc_fn=init_loc_fn, init_scale=init_scale
        )

    def _get_posterior(self):
        rank = round(self.latent_dim**0.5) if self.rank is None else self.rank
        dtype = self._init_latent.dtype
        loc = param(f"{self.prefix}_loc", self._init_latent)
        cov_factor = param(
            f"{self.prefix}_cov_factor", jnp.zeros((self.latent_dim, rank), dtype)
        )
        scale = param(
            f"{self.prefix}_scale",
            jnp.full(self.latent_dim, self.init_scale, dtype),
            constraint=self.scale_constraint,
        )
        return LowRankMultivariateNormal(loc, cov_factor * scale[:, None], scale**2)

    def get_posterior(self, params: dict):
        loc = self._loc(params, "get_posterior")
        scale = params[f"{self.prefix}_scale"]
        cov_factor = params[f"{self.prefix}_cov_factor"] * scale[:, None]
        return LowRankMultivariateNormal(loc, cov_factor, scale**2)

    def get_transform(self, params: dict) -> Transform:
        posterior = self.get_posterior(params)
        tril = jnp.linalg.cholesky(posterior.covariance_matrix)
        return LowerCholeskyAffine(posterior.loc, tril)

    def _marginal_scale(self, params):
        scale = params[f"{self.prefix}_scale"]
        cov_factor = params[f"{self.prefix}_cov_factor"]
        return scale * jnp.sqrt(jnp.sum(cov_factor**2, -1) + 1.0)


class AutoLaplaceApproximation(AutoContinuous):
    r"""MAP in unconstrained space, then a Gaussian from the curvature there.

    SVI with this guide minimises the potential $U(u) = -\log p(x, T(u)) -
    \log|\det J_T(u)|$ over ``{prefix}_loc`` (a point mass). ``get_posterior``
    returns $\mathcal{N}(\hat u, H^{-1})$ with $H = \nabla^2 U(\hat u)$,
    computed at the model arguments the guide was set up with; a ``ValueError``
    (an ``eqx.error_if`` under ``jit``) is raised when $H$ is not positive
    definite.

    Args:
        hessian_fn: ``f(fn, x) -> Hessian``; default ``jax.hessian(fn)(x)``.
    """

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        create_plates: Callable | None = None,
        hessian_fn: Callable | None = None,
    ):
        self.hessian_fn = hessian_fn
        super().__init__(
            model, prefix=prefix, init_loc_fn=init_loc_fn, create_plates=create_plates
        )

    def _get_posterior(self):
        loc = param(f"{self.prefix}_loc", self._init_latent)
        return Delta(loc, 0.0, 1)

    def precision(self, params: dict) -> jax.Array:
        r"""$\nabla^2 U$ at ``{prefix}_loc``: the Laplace posterior's precision."""
        loc = self._loc(params, "precision")
        args, kwargs = self._setup_args
        model = self._model_with_params(params)

        def potential(u):
            return potential_energy(model, args, kwargs, self._unravel(u))

        hess = (
            jax.hessian(potential)(loc)
            if self.hessian_fn is None
            else self.hessian_fn(potential, loc)
        )
        return _check_positive_definite(0.5 * (hess + hess.T), self.prefix)

    def get_posterior(self, params: dict):
        """``MultivariateNormal(loc, precision_matrix=H)``."""
        loc = self._loc(params, "get_posterior")
        return MultivariateNormal(loc, precision_matrix=self.precision(params))

    def get_transform(self, params: dict) -> Transform:
        posterior = self.get_posterior(params)
        return LowerCholeskyAffine(posterior.loc, posterior.scale_tril)

    def _marginal_scale(self, params):
        return jnp.linalg.norm(self.get_posterior(params).scale_tril, axis=-1)


def _check_positive_definite(precision, prefix):
    ok = jnp.all(jnp.isfinite(jnp.linalg.cholesky(precision)))
    msg = (
        "AutoLaplaceApproximation: the Hessian of the potential at "
        f"'{prefix}_loc' is not positive definite, so it is not a precision "
        "matrix: the optimiser has not reached a local maximum of the "
        "(unconstrained) posterior density, or the density is flat or improper "
        "in some direction. Run SVI longer, or use AutoMultivariateNormal."
    )
    if isinstance(ok, jax.core.Tracer):
        return eqx.error_if(precision, ~ok, msg)
    if not bool(ok):
        eig = np.linalg.eigvalsh(np.asarray(precision))
        raise ValueError(f"{msg} Its eigenvalues: {eig}.")
    return precision
