r"""Variational objectives: the evidence lower bound and its relatives.

For a model $p(x, z)$ and a guide $q_\phi(z)$ (a model function whose ``sample``
sites carry the model's latent names and whose ``param`` sites are $\phi$),

.. math::
    \mathrm{ELBO}(\phi)
    = \mathbb{E}_{z \sim q_\phi}\big[\log p(x, z) - \log q_\phi(z)\big]
    \le \log p(x),

estimated by Monte Carlo with the reparameterisation trick (Kingma & Welling
2014): every latent guide site must be reparameterisable, so the gradient flows
through the draws. Each objective's ``loss`` is the quantity SVI *minimises*
(the negative bound). Semantics and names follow NumPyro's ``numpyro.infer.elbo``.
"""

import abc
from collections import OrderedDict
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import logsumexp

from .._enum import _is_enumerable, enum
from .._primitives import Messenger
from ..handlers import replay, seed, substitute, trace
from ._enum import (
    _unprobed,
    contract_log_joint,
    enumerated_sites,
    maybe_enumerate,
)
from .util import site_log_prob


def _latent(site) -> bool:
    return site["type"] == "sample" and not site["is_observed"]


def get_importance_trace(
    rng_key, params: dict, model: Callable, guide: Callable, args, kwargs
) -> tuple[OrderedDict, OrderedDict]:
    """Traces of ``guide`` (drawing the latents) and ``model`` replayed on them.

    Both run with ``params`` substituted for their ``param`` sites. Raises when
    the pair cannot be scored by a reparameterised ELBO: a latent model site the
    guide does not sample, a guide site that is not reparameterisable, or a
    model site marked for enumeration.
    """
    model_key, guide_key = jr.split(rng_key)
    guide_trace = trace(seed(substitute(guide, data=params), guide_key)).get_trace(
        *args, **kwargs
    )
    model_trace = trace(
        seed(substitute(replay(model, trace=guide_trace), data=params), model_key)
    ).get_trace(*args, **kwargs)
    _check_pair(model_trace, guide_trace)
    return model_trace, guide_trace


def _check_pair(model_trace, guide_trace, summed_out=False):
    """Raise unless the guide covers the model's latents (`summed_out`: but for
    the model's enumerated sites, which `TraceEnum_ELBO` sums out)."""
    enumerated = enumerated_sites(model_trace)
    if enumerated and not summed_out:
        raise NotImplementedError(
            f"SVI: model sites {list(enumerated)} are marked for enumeration, which "
            "this ELBO does not sum out; use TraceEnum_ELBO, or NUTS, whose "
            "potential sums enumerated sites out."
        )
    for name, site in model_trace.items():
        if not _latent(site) or site["infer"].get("is_auxiliary"):
            continue
        g = guide_trace.get(name)
        if name in enumerated:
            continue
        if g is None or not _latent(g):
            hint = (
                "; it is marked for enumeration: use TraceEnum_ELBO, which sums it out"
                if site["infer"].get("enumerate") == "parallel"
                else ""
            )
            raise ValueError(
                f"SVI: model sample site '{name}' is latent but the guide has no "
                f"sample site '{name}'; every latent model site needs one{hint}."
            )
    for name, site in guide_trace.items():
        if _latent(site) and not site["fn"].has_rsample:
            raise NotImplementedError(
                f"SVI: guide site '{name}' ({type(site['fn']).__name__}) is not "
                "reparameterisable; the ELBOs here use pathwise gradients only."
            )


def _log_weight(model_trace, guide_trace):
    """$\\log p(x, z) - \\log q(z)$ for one draw $z$."""
    model_lp = sum(
        (site_log_prob(s) for s in model_trace.values() if s["type"] == "sample"),
        0.0,
    )
    return model_lp - _guide_log_prob(guide_trace)


def _guide_log_prob(guide_trace):
    return sum((site_log_prob(s) for s in guide_trace.values() if _latent(s)), 0.0)


class ELBO(eqx.Module):
    """Base of the variational objectives: Monte Carlo over ``num_particles`` draws.

    Subclasses define ``particle(rng_key, params, model, guide, args, kwargs)``,
    one draw's contribution, and how draws are combined (``combine``).
    ``vectorize_particles`` runs the draws with ``vmap`` (fast, memory grows with
    ``num_particles``) or else one after another with ``lax.map``.
    """

    num_particles: int = eqx.field(default=1, static=True)
    vectorize_particles: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        if not isinstance(self.num_particles, int) or self.num_particles < 1:
            raise ValueError(
                f"{type(self).__name__}: `num_particles` must be a positive int; "
                f"got {self.num_particles!r}"
            )

    @abc.abstractmethod
    def particle(self, rng_key, params, model, guide, args, kwargs) -> jax.Array:
        """One draw's estimate (a scalar)."""

    def combine(self, values: jax.Array) -> jax.Array:
        """The loss from the per-draw estimates (default: minus their mean)."""
        return -jnp.mean(values)

    def loss(
        self,
        rng_key,
        param_map: dict,
        model: Callable,
        guide: Callable,
        *args,
        **kwargs,
    ) -> jax.Array:
        """The objective SVI minimises at the (constrained) ``param_map``."""
        keys = jr.split(rng_key, self.num_particles)

        def one(key):
            return self.particle(key, param_map, model, guide, args, kwargs)

        if self.num_particles == 1:
            values = one(keys[0])[None]
        elif self.vectorize_particles:
            values = jax.vmap(one)(keys)
        else:
            values = jax.lax.map(one, keys)
        return self.combine(values)


class Trace_ELBO(ELBO):
    r"""The standard ELBO, $\mathbb{E}_q[\log p(x, z) - \log q(z)]$, by Monte Carlo.

    Unbiased for the bound and its gradient under reparameterised guides
    (Kingma & Welling 2014; Ranganath et al. 2014).
    """

    def particle(self, rng_key, params, model, guide, args, kwargs):
        model_trace, guide_trace = get_importance_trace(
            rng_key, params, model, guide, args, kwargs
        )
        return _log_weight(model_trace, guide_trace)


class TraceMeanField_ELBO(ELBO):
    r"""ELBO with analytic KL terms where they exist.

    .. math::
        \mathrm{ELBO} = \mathbb{E}_q[\log p(x \mid z)]
        - \sum_{\text{sites } s} \mathrm{KL}\big(q(z_s) \,\|\, p(z_s \mid z_{<s})\big),

    the KL of each latent site computed in closed form by
    :func:`~sciad.probabilistic.distributions.kl_divergence` (at the drawn values
    of the site's parents) and by Monte Carlo where no closed form is
    registered. The same expectation as :class:`Trace_ELBO` when the guide is
    mean-field (no guide site depends on another's draw); often, not always,
    lower variance (the Monte Carlo terms it removes can be negatively correlated
    with the likelihood's).
    """

    def particle(self, rng_key, params, model, guide, args, kwargs):
        from ..distributions import kl_divergence

        model_trace, guide_trace = get_importance_trace(
            rng_key, params, model, guide, args, kwargs
        )
        elbo = 0.0
        for name, site in model_trace.items():
            if site["type"] != "sample":
                continue
            if not _latent(site):
                elbo = elbo + site_log_prob(site)
                continue
            g = guide_trace[name]
            try:
                kl = kl_divergence(g["fn"], site["fn"])
            except NotImplementedError:
                elbo = elbo + site_log_prob(site) - site_log_prob(g)
                continue
            elbo = elbo - site_log_prob(site, kl)
        for name, g in guide_trace.items():
            if _latent(g) and name not in model_trace:  # auxiliary guide sites
                elbo = elbo - site_log_prob(g)
        return elbo


class RenyiELBO(ELBO):
    r"""Rényi's $\alpha$-divergence bound (Li & Turner 2016).

    .. math::
        \mathcal{L}_\alpha = \frac{1}{1 - \alpha}
        \log \frac{1}{K} \sum_{k=1}^{K} w_k^{1 - \alpha}, \qquad
        w_k = \frac{p(x, z_k)}{q(z_k)},\ z_k \sim q,

    which is the importance-weighted bound of Burda et al. (2016) at
    $\alpha = 0$ and tends to the ELBO as $\alpha \to 1$ (not allowed here: use
    :class:`Trace_ELBO`). Needs ``num_particles >= 2`` to differ from the ELBO.
    """

    alpha: float = eqx.field(default=0.0, static=True)
    num_particles: int = eqx.field(default=2, static=True)

    def __check_init__(self):
        if self.alpha == 1:
            raise ValueError(
                "RenyiELBO: `alpha` = 1 is the ordinary ELBO; use Trace_ELBO."
            )

    def particle(self, rng_key, params, model, guide, args, kwargs):
        model_trace, guide_trace = get_importance_trace(
            rng_key, params, model, guide, args, kwargs
        )
        return _log_weight(model_trace, guide_trace)

    def combine(self, values):
        a = 1.0 - self.alpha
        bound = (logsumexp(a * values) - jnp.log(values.shape[0])) / a
        return -bound


class TraceEnum_ELBO(ELBO):
    r"""ELBO with the model's enumerated discrete sites summed out exactly.

    For a model with continuous latents $z$ (drawn by the guide) and discrete
    latents $k$ marked ``infer={"enumerate": "parallel"}`` (for instance by
    :func:`~sciad.probabilistic.infer.config_enumerate`) that the guide does not
    sample,

    .. math::
        \mathrm{ELBO} = \mathbb{E}_{z \sim q}\Big[\log \sum_k p(x, z, k)
        - \log q(z)\Big],

    the sum over $k$ done by plate-wise variable elimination (the same
    contraction as the potential NUTS samples; ``markov`` chains are summed by
    the forward algorithm). Each draw's estimate is then as for
    :class:`Trace_ELBO`, with no score-function terms: the gradient is pathwise.
    Site scales (subsampled plates, ``handlers.scale``) multiply each contracted
    term, as in NumPyro, so the factors summed together must share one scalar
    scale; a discrete site shared by a subsampled plate's data cannot be
    enumerated.

    Args:
        num_particles: draws of $z$ per estimate.
        max_plate_nesting: the number of plate dims in model and guide;
            enumeration uses the dims to their left. ``None`` (or ``inf``, as
            in NumPyro) finds it by running the model abstractly and from the
            guide's trace.
        vectorize_particles: as for :class:`ELBO`.

    Guide-side enumeration and non-reparameterisable guide sites (NumPyro's
    score-function terms) are not supported: both raise. The discrete sites'
    posterior given the fitted continuous latents is
    :func:`~sciad.probabilistic.infer.infer_discrete`'s.

    References:
        Obermeyer, Bingham, Jankowiak, et al., "Tensor Variable Elimination for
        Plated Factor Graphs", ICML 2019.
    """

    max_plate_nesting: int | float | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        n = self.max_plate_nesting
        if n is None or n == float("inf"):
            return
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(
                "TraceEnum_ELBO: `max_plate_nesting` must be an int >= 0 (or None "
                f"to infer it); got {n!r}"
            )

    def particle(self, rng_key, params, model, guide, args, kwargs):
        model_key, guide_key = jr.split(rng_key)
        guide_trace = trace(seed(substitute(guide, data=params), guide_key)).get_trace(
            *args, **kwargs
        )
        for name, site in guide_trace.items():
            if site["type"] == "sample" and site["infer"].get("enumerate"):
                raise NotImplementedError(
                    f"TraceEnum_ELBO: guide site '{name}' is marked for "
                    "enumeration; only model-side enumeration is supported: drop "
                    "the site from the guide and enumerate it in the model."
                )
        nesting, enumerated = self._enumerated(model, guide_trace, args, kwargs)
        model_trace = trace(
            seed(
                substitute(replay(enumerated, trace=guide_trace), data=params),
                model_key,
            )
        ).get_trace(*args, **kwargs)
        if nesting is not None:
            _check_nesting(nesting, guide_trace, "guide")
            _check_nesting(nesting, model_trace, "model")
        _check_pair(model_trace, guide_trace, summed_out=True)
        if not enumerated_sites(model_trace):
            return _log_weight(model_trace, guide_trace)
        model_lp = contract_log_joint(model_trace, scale_after=True)
        return model_lp - _guide_log_prob(guide_trace)

    def _enumerated(self, model, guide_trace, args, kwargs):
        """(plate nesting, the model under `enum` with the dims left of it).

        The nesting is None when nothing is enumerated (no dims to keep free).
        """
        n = self.max_plate_nesting
        if n is None or n == float("inf"):
            probed = maybe_enumerate(model, args, kwargs)  # cached per model
            guarded = _enum_guard(model, guide_trace, None)
            if isinstance(probed, _unprobed):  # raises at a marked site
                return None, _unprobed(guarded, probed.error)
            if not isinstance(probed, enum):
                return None, guarded
            n = max(-probed.first_available_dim - 1, _nesting(guide_trace))
        inner = _enum_guard(model, guide_trace, n)
        return n, enum(inner, first_available_dim=-n - 1)


class _enum_guard(Messenger):
    """Clear errors at a model site marked for enumeration, before `enum` runs.

    Innermost, so it sees the site before `replay` gives it the guide's value
    (and the guide's `infer`, which would hide the mark), and before a plate
    deeper than `nesting` collides with the site's enumeration dim.
    """

    def __init__(self, fn, guide_trace, nesting):
        self.guide_trace, self.nesting = guide_trace, nesting
        super().__init__(fn)

    def process_message(self, msg):
        if not _is_enumerable(msg):
            return
        name = msg["name"]
        g = self.guide_trace.get(name)
        if g is not None and _latent(g):
            raise ValueError(
                f"TraceEnum_ELBO: site '{name}' is sampled by the guide and marked "
                "for enumeration in the model; an enumerated site is summed out of "
                "the model, so hide it from the guide "
                f"(handlers.block(model, hide=['{name}']) for an autoguide)."
            )
        if self.nesting is not None:
            _check_nesting(self.nesting, {name: msg}, "model")


def _nesting(tr) -> int:
    dims = [-f.dim for s in tr.values() for f in s.get("cond_indep_stack", ())]
    return max(dims, default=0)


def _check_nesting(nesting, sites, which):
    for name, site in sites.items():
        for f in site.get("cond_indep_stack", ()):
            if -f.dim > nesting:
                raise ValueError(
                    f"TraceEnum_ELBO: plate '{f.name}' (dim {f.dim}, around "
                    f"{which} site '{name}') is nested deeper than "
                    f"max_plate_nesting={nesting}; raise max_plate_nesting "
                    "(or leave it None to infer it)."
                )
