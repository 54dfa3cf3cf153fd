r"""Summing enumerated discrete sites out of a model's log-density.

After a run under :class:`~sciad.probabilistic.handlers.enum`, every sample site's
log-probability is an array over plate dims (right) and enumeration dims (left).
The marginal log-density is the tensor contraction

$$\log p = \sum_{\text{plates}} \log \sum_{\text{enumerated values}} \exp\Big(
\sum_{\text{sites}} \log p_{\text{site}}\Big),$$

done plate by plate from the innermost outwards (Obermeyer et al.'s
sum-product over plated factor graphs, as ``funsor.sum_product`` in NumPyro):
an enumerated variable is summed out (``logsumexp``) inside the plates it lives
in, after multiplying (adding) the factors that depend on it. Variables are
eliminated one at a time in program order, and identified by site, not by
dim: under ``markov`` a dim is reused by later steps, and on a chain this order
is the forward algorithm.

A site's ``scale`` (a subsampled plate's ``size / subsample_size``, a ``scale``
handler) enters in one of NumPyro's two ways. Its ``log_density`` (so the
potential HMC samples) scales each factor before the contraction,
$\log \sum_z p^s$: a tempered factor. Its ``TraceEnum_ELBO`` scales each
*contribution* (``scale_after=True``): the factors eliminated together are
contracted unscaled and their sum is scaled, $s \log \sum_z p$, which is what
makes a subsampled plate's term an unbiased estimate of the full one. Then the
factors combined with one enumerated site must share one scalar scale.

References:
    Obermeyer, Bingham, Jankowiak, et al., "Tensor Variable Elimination for
    Plated Factor Graphs", ICML 2019, arXiv:1902.03210.
"""

import weakref
from collections import defaultdict
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._enum import ENUM_DIM, _is_enumerable, enum
from .._primitives import Messenger

__all__ = ["contract_log_joint", "enumerated_sites", "maybe_enumerate"]


def enumerated_sites(model_trace) -> dict:
    """``{name: dim}`` of the sites enumerated in ``model_trace``."""
    return {
        name: site["infer"][ENUM_DIM]
        for name, site in model_trace.items()
        if site["type"] == "sample" and ENUM_DIM in site["infer"]
    }


def _probe(model, model_args, model_kwargs):
    """Max plate nesting, whether any site asks for parallel enumeration, and
    the latent sites marked ``infer={"periodic": True}`` (which `MCMC`'s R-hat
    warning skips).

    Runs the model abstractly (``jax.eval_shape``: no computation), with zeros for
    latent values so no site needs a key or a sampler.
    """
    from ..handlers import seed, substitute, trace

    found = {"nesting": 0, "enumerate": False, "periodic": set()}

    def run():
        abstract = seed(substitute(model, substitute_fn=_zeros_for_latents), 0)
        tr = trace(abstract).get_trace(*model_args, **model_kwargs)
        for site in tr.values():
            if site["type"] not in ("sample", "deterministic", "param"):
                continue
            for frame in site["cond_indep_stack"]:
                found["nesting"] = max(found["nesting"], -frame.dim)
            if site["type"] == "sample" and not site["is_observed"]:
                if site["infer"].get("enumerate") == "parallel":
                    found["enumerate"] = True
                if site["infer"].get("periodic"):
                    found["periodic"].add(site["name"])

    try:
        jax.eval_shape(run)
    except Exception as e:  # noqa: BLE001
        # A model that needs concrete values (Python control flow on data) cannot
        # be probed abstractly; it then runs without enumeration, and a site that
        # asks for it reports this failure (`_unprobed`).
        error = f"{type(e).__name__}: {e}"
        return {"nesting": 0, "enumerate": False, "periodic": set(), "error": error}
    return found


def _zeros_for_latents(site):
    """A ``substitute_fn``: zeros for every latent sample site (abstract runs)."""
    if site["type"] != "sample" or site["is_observed"]:
        return None
    fn = site["fn"]
    dtype = jnp.result_type(int) if fn.is_discrete else jnp.result_type(float)
    return jnp.zeros(fn.shape(site["kwargs"].get("sample_shape", ())), dtype)


class _unprobed(Messenger):
    """Raise, naming the site and the probe's error, at a site marked for enumeration.

    Without this the site would reach the potential as an unmarked discrete
    latent, and the user would be told to mark a site already marked.
    """

    def __init__(self, fn, error: str):
        self.error = error
        super().__init__(fn)

    def process_message(self, msg):
        if _is_enumerable(msg):
            raise ValueError(
                f"sample site '{msg['name']}' is marked infer={{'enumerate': "
                "'parallel'}, but the model could not be run with abstract values "
                "to find its plate nesting, which parallel enumeration needs. Make "
                "the model traceable (no Python control flow on array values) or "
                f"marginalise '{msg['name']}' by hand. The abstract run raised "
                f"{self.error}"
            )


# model -> {argument signature: probe result}; weak so models can be collected.
_PROBES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _signature(model_args, model_kwargs):
    """Hashable abstract signature: tree structure, array shapes/dtypes, scalars."""
    leaves, treedef = jax.tree_util.tree_flatten((model_args, model_kwargs))
    sig = [treedef]
    for x in leaves:
        if isinstance(x, bool | int | float | complex | str | None):
            sig.append((type(x), x))
        else:
            sig.append((jnp.shape(x), jnp.result_type(x)))
    return tuple(sig)


def probe(model, model_args, model_kwargs) -> dict:
    """`_probe`'s answer, cached per model and argument signature."""
    try:
        cache = _PROBES.setdefault(model, {})
        key = _signature(model_args, model_kwargs)
        hash(key)
    except TypeError:  # not weak-referenceable or unhashable arguments
        return _probe(model, model_args, model_kwargs)
    if key not in cache:
        cache[key] = _probe(model, model_args, model_kwargs)
    return cache[key]


def maybe_enumerate(model, model_args, model_kwargs):
    """``enum(model, -max_plate_nesting - 1)`` if a site asks for it, else model.

    The probe's answer is cached per model and argument signature, so a sampler
    calling ``potential_energy`` repeatedly (eagerly) probes once.
    """
    if isinstance(model, enum | _unprobed):
        return model
    found = probe(model, model_args, model_kwargs)
    if "error" in found:
        return _unprobed(model, found["error"])
    if not found["enumerate"]:
        return model
    return enum(model, first_available_dim=-found["nesting"] - 1)


class _Factor:
    """A log-factor array, its plate dims and the enumerated sites it depends on.

    `vars` maps each enumerated site to its dim in `array`: with `markov`, dims
    are recycled, so one dim can stand for different sites in different factors.
    `scale` (None: 1) multiplies the factor's contribution once it is summed.
    `names` are the sites it came from, for error messages.
    """

    def __init__(self, array, plates, variables: dict, scale=None, names=()):
        self.array = array
        self.plates = frozenset(plates)
        self.vars = dict(variables)
        self.scale = scale
        self.names = tuple(names)


def _same_scale(a, b) -> bool:
    a = 1.0 if a is None else a
    b = 1.0 if b is None else b
    if a is b:
        return True
    if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
        return False  # cannot compare traced scales; only the same one is safe
    return bool(np.shape(a) == np.shape(b) and np.allclose(a, b))


def _common_scale(name, factors):
    """The one scale of the factors eliminated with site `name`, or raise."""
    scale = factors[0].scale
    for f in factors[1:]:
        if not _same_scale(scale, f.scale):
            sites = sorted({n for g in factors for n in g.names})
            raise ValueError(
                f"enumeration: the sites combined with enumerated site '{name}' "
                f"({', '.join(sites)}) have different scales ({_show(scale)} and "
                f"{_show(f.scale)}); summing '{name}' out needs one common scale "
                "(e.g. a global discrete site with data in a subsampled plate "
                "cannot be enumerated)."
            )
    return scale


def _show(scale):
    if scale is None:
        return "1"
    if isinstance(scale, jax.core.Tracer):
        return "a traced value"
    return str(np.round(np.asarray(scale), 6))


# marks a factor whose per-element scale was folded into its log-density
_PER_ELEMENT = object()


def _pad(x, ndim):
    return jnp.reshape(x, (1,) * (ndim - jnp.ndim(x)) + jnp.shape(x))


def _site_factor(name, site, owners: dict, enum_dims: set, ndim, scale_after):
    """`site`'s log-factor; `owners` maps each enum dim to its current site."""
    lp = site["fn"].log_prob(site["value"])
    scale = site["scale"]
    if scale is not None and not scale_after:
        lp, scale = scale * lp, None
    elif scale is not None and jnp.ndim(scale) > 0:
        # a per-element scale cannot be carried past a contraction; folded in
        # here, it is only right for factors that depend on no enumerated site
        lp, scale = scale * lp, _PER_ELEMENT
    lp = _pad(lp, ndim)
    if jnp.ndim(lp) > ndim:
        raise ValueError(
            f"sample site '{name}': log-density of shape {jnp.shape(lp)} has more "
            f"dims than the plates and enumerated sites account for ({ndim})."
        )
    plates = {f.dim: f.size for f in site["cond_indep_stack"]}
    shape = jnp.shape(lp)
    variables = {owners[d]: d for d in owners if shape[d] != 1}
    # Batch dims that are neither plates nor enumerations: independent terms of
    # this one site, multiplied (summed) right away.
    loose = [
        d
        for d in range(-ndim, 0)
        if shape[d] != 1 and d not in plates and d not in enum_dims
    ]
    if any(d <= max(enum_dims) for d in loose):
        raise ValueError(
            f"sample site '{name}' has batch shape {shape} reaching the enumeration "
            "dims; declare its batch dims with plates."
        )
    if loose:
        lp = jnp.sum(lp, axis=tuple(loose), keepdims=True)
    if scale is _PER_ELEMENT:
        if variables:
            raise ValueError(
                f"sample site '{name}' has a per-element scale but depends on "
                f"enumerated site(s) {sorted(variables)}: summing them out needs "
                "one scalar scale for the site."
            )
        scale = None
    target = list(jnp.shape(lp))
    for d, size in plates.items():
        target[d] = size
    array = jnp.broadcast_to(lp, tuple(target))
    return _Factor(array, plates, variables, scale, (name,))


class Elimination(NamedTuple):
    """One eliminated site: the sum of the factors using it, before the reduction."""

    array: jax.Array  # log-factor over enum and plate dims
    name: str  # the enumerated site reduced here
    dims: dict  # every enumerated site in `array` -> its dim


def contract_log_joint(model_trace, scale_after: bool = False) -> jax.Array:
    """Log-density of an enumerated trace with the enumerated sites summed out.

    ``scale_after``: apply site scales to the contracted terms, not the factors
    (see the module docstring).
    """
    return eliminate(model_trace, _logsumexp, scale_after)[0]


def _logsumexp(array, axes):
    return jax.scipy.special.logsumexp(array, axis=axes, keepdims=True)


def eliminate(
    model_trace, reduce, scale_after: bool = False
) -> tuple[jax.Array, list[Elimination]]:
    """Variable elimination with `reduce(array, axes)` over enumerated values.

    `reduce` is a keepdims `logsumexp` for the marginal (sum-product) or a max
    for the best assignment (max-product). Plates are processed from the
    innermost outwards; inside one, its local sites are eliminated one at a
    time in program order, each from the sum of the factors that use it (on a
    `markov` chain this is the forward algorithm). Returns the total and, in
    order, every elimination's array before its reduction: sampling the sites
    in reverse order, each conditioned on the values drawn for the sites
    eliminated after it, is forward-filter backward-sample (`infer_discrete`).
    `scale_after` chooses how site scales enter (module docstring).
    """
    enum_dims = enumerated_sites(model_trace)
    all_dims = set(enum_dims.values())
    ndim = -min(all_dims)
    owners: dict = {}  # enum dim -> the site holding it at this point
    factors = []
    for name, site in model_trace.items():
        if site["type"] != "sample":
            continue
        if name in enum_dims:
            owners[enum_dims[name]] = name
        factors.append(_site_factor(name, site, owners, all_dims, ndim, scale_after))
    # Each enumerated site lives in the plates shared by every factor using it.
    var_plates = {}
    for f in factors:
        for v in f.vars:
            var_plates[v] = var_plates.get(v, f.plates) & f.plates
    order = [n for n in enum_dims if n in var_plates]  # program order
    by_plates = defaultdict(list)
    for f in factors:
        by_plates[f.plates].append(f)
    total = 0.0  # weakly typed: a float32 model keeps a float32 log-density
    records = []
    while by_plates:
        leaf = max(by_plates, key=len)
        pending = by_plates.pop(leaf)
        for v in (v for v in order if var_plates[v] == leaf):
            using = [f for f in pending if v in f.vars]
            if not using:
                continue
            pending = [f for f in pending if v not in f.vars]
            scale = _common_scale(v, using)
            array = sum((f.array for f in using[1:]), using[0].array)
            dims = {u: d for f in using for u, d in f.vars.items()}
            records.append(Elimination(array, v, dims))
            rest = {u: d for u, d in dims.items() if u != v}
            names = tuple(n for f in using for n in f.names)
            reduced = reduce(array, (dims[v],))
            pending.append(_Factor(reduced, leaf, rest, scale, names))
        for f in pending:
            if not f.vars:
                term = jnp.sum(f.array)
                total = total + (term if f.scale is None else f.scale * term)
                continue
            outer = frozenset().union(*(var_plates[v] for v in f.vars))
            if outer == leaf:
                raise ValueError(
                    "enumeration: the model is not tractable by plate-wise "
                    "variable elimination (a plate-local variable is shared by "
                    "factors outside its plate)."
                )
            axes = tuple(sorted(leaf - outer))
            array = jnp.sum(f.array, axis=axes, keepdims=True) if axes else f.array
            by_plates[outer].append(_Factor(array, outer, f.vars, f.scale, f.names))
    return jnp.asarray(total), records
