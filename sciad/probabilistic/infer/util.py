r"""Model utilities: log-densities, (un)constraining, and model initialisation.

Names and signatures follow ``numpyro.infer.util``. The potential energy of a
model at unconstrained parameters $u$ is

$$U(u) = -\log p(T(u), \text{data}) - \log|\det J_T(u)|,$$

with $T$ the per-site bijection ``biject_to(site.support)``; HMC/NUTS sample
$\exp(-U)$ in unconstrained space and ``postprocess_fn`` maps draws back.
"""

from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
from jaxtyping import Key, UInt32

from ..._custom_types import Array, Bool, Float, PRNGKeyArray
from .._enum import ENUM_DIM
from .._scan import scan_step_value
from ..distributions.transforms import _sum_rightmost, biject_to
from ..handlers import seed, substitute, trace
from ._enum import contract_log_joint, enumerated_sites, maybe_enumerate
from ._forward_mode import explain_differentiation_errors, value_and_jacfwd
from ._init_strategies import (
    init_to_feasible as init_to_feasible,
    init_to_median as init_to_median,
    init_to_sample as init_to_sample,
    init_to_uniform as init_to_uniform,
    init_to_value as init_to_value,
)
from ._keys import derived_key

__all__ = [
    "ModelInfo",
    "ParamInfo",
    "constrain_fn",
    "find_valid_initial_params",
    "initialize_model",
    "log_density",
    "potential_energy",
    "transform_fn",
    "unconstrain_fn",
]

MAX_INIT_TRIES = 100


class ParamInfo(NamedTuple):
    """Initial unconstrained parameters with their potential energy and its gradient."""

    z: Any
    potential_energy: Any
    z_grad: Any


class ModelInfo(NamedTuple):
    """What a sampler needs: init point, potential, postprocess and init trace."""

    param_info: ParamInfo
    potential_fn: Any
    postprocess_fn: Any
    model_trace: Any


def site_log_prob(site, lp=None) -> jax.Array:
    """A sample site's log-density (or the given pointwise ``lp``), scaled by the
    site's ``scale`` (a scalar or an array over its batch) and summed."""
    if lp is None:
        lp = site["fn"].log_prob(site["value"])
    if site["scale"] is not None:
        lp = site["scale"] * lp
    return jnp.sum(lp)


def _site_log_probs(model_trace) -> "OrderedDict[str, jax.Array]":
    """Scaled, summed log-density of every sample site in a trace."""
    return OrderedDict(
        (name, site_log_prob(site))
        for name, site in model_trace.items()
        if site["type"] == "sample"
    )


def _joint_terms(model_trace) -> "OrderedDict[str, jax.Array]":
    """Per-site log-densities, or one term with the enumerated sites summed out."""
    enumerated = enumerated_sites(model_trace)
    if not enumerated:
        return _site_log_probs(model_trace)
    label = "<model with enumerated " + ", ".join(enumerated) + " summed out>"
    return OrderedDict({label: contract_log_joint(model_trace)})


def _total(terms):
    # Start from a weakly-typed 0 so a float32 model keeps a float32 potential.
    return jnp.asarray(sum(terms.values(), 0.0))


def log_density(
    model: Callable, model_args: tuple, model_kwargs: dict, params: dict
) -> tuple[Float[Array, ""], OrderedDict]:
    r"""Joint log-density $\log p(\text{params}, \text{data})$ and the model trace.

    Args:
        model: the model function.
        model_args: tuple of positional arguments.
        model_kwargs: dict of keyword arguments.
        params: dict of (constrained) values for latent sites; differentiable.

    Returns:
        ``(log_joint, model_trace)``; sites' ``scale`` and masks are applied, and
        sites marked ``infer={"enumerate": "parallel"}`` are summed out.
    """
    model = maybe_enumerate(model, model_args, model_kwargs)
    model_trace = trace(substitute(model, data=params)).get_trace(
        *model_args, **model_kwargs
    )
    return _total(_joint_terms(model_trace)), model_trace


def _constrained_trace(model, model_args, model_kwargs, params, log_dets=None):
    """Trace ``model`` with unconstrained ``params`` mapped onto each site's support.

    When ``log_dets`` is a dict, the (scaled) log-abs-det-Jacobian of each sample
    site's bijection is stored in it.
    """
    model = maybe_enumerate(model, model_args, model_kwargs)

    def substitute_fn(site):
        name = site["name"]
        if name not in params:
            return None
        u = params[name]
        if site["type"] == "param":
            return biject_to(site["kwargs"].get("constraint"))(u)
        if site["type"] != "sample":
            return u
        transform = biject_to(site["fn"].support)
        # inside `scan` the series is cut to the step before it is mapped
        shape = site["fn"].shape(site["kwargs"]["sample_shape"])
        u = scan_step_value(site, u, len(transform.inverse_shape(shape)))
        return transform(u)

    tr = trace(substitute(model, substitute_fn=substitute_fn)).get_trace(
        *model_args, **model_kwargs
    )
    if log_dets is not None:
        for name, site in tr.items():
            if site["type"] == "sample" and name in params:
                log_dets[name] = _log_det(site, params[name])
    return tr


def _log_det(site, u):
    """The scaled, summed log-abs-det-Jacobian of a sample site's bijection at `u`."""
    ladj = biject_to(site["fn"].support).log_abs_det_jacobian(u, site["value"])
    extra = jnp.ndim(ladj) - jnp.ndim(site["value"]) + len(site["fn"].event_shape)
    return site_log_prob(site, _sum_rightmost(ladj, extra))


def _potential_terms(model, model_args, model_kwargs, params):
    log_dets = {}
    tr = _constrained_trace(model, model_args, model_kwargs, params, log_dets)
    terms = _joint_terms(tr)
    for name, ladj in log_dets.items():
        terms[name] = terms.get(name, 0.0) + ladj
    return terms


def potential_energy(
    model: Callable, model_args: tuple, model_kwargs: dict, params: dict
) -> Float[Array, ""]:
    r"""Potential $U(u) = -\log p(T(u)) - \log|\det J_T(u)|$ at unconstrained $u$.

    Differentiable in ``params``; this is what HMC/NUTS integrate.
    """
    return -_total(_potential_terms(model, model_args, model_kwargs, params))


def constrain_fn(
    model: Callable,
    model_args: tuple,
    model_kwargs: dict,
    params: dict,
    return_deterministic: bool = False,
) -> dict:
    """Map unconstrained ``params`` onto their supports (plus deterministic sites)."""
    tr = _constrained_trace(model, model_args, model_kwargs, params)
    return {
        k: site["value"]
        for k, site in tr.items()
        if k in params or (return_deterministic and site["type"] == "deterministic")
    }


def unconstrain_fn(
    model: Callable, model_args: tuple, model_kwargs: dict, params: dict
) -> dict:
    """Inverse of :func:`constrain_fn`: constrained ``params`` to unconstrained."""
    model = maybe_enumerate(model, model_args, model_kwargs)
    tr = trace(substitute(model, data=params)).get_trace(*model_args, **model_kwargs)
    transforms = {
        k: biject_to(
            s["fn"].support if s["type"] == "sample" else s["kwargs"]["constraint"]
        )
        for k, s in tr.items()
        if k in params and s["type"] in ("sample", "param")
    }
    return transform_fn(transforms, params, invert=True)


def transform_fn(transforms: dict, params: dict, invert: bool = False) -> dict:
    """Apply ``transforms[name]`` (or its inverse) to ``params[name]``."""
    return {
        k: (
            (transforms[k].inv if invert else transforms[k])(v)
            if k in transforms
            else v
        )
        for k, v in params.items()
    }


def _latent_sites(model_trace):
    latent = OrderedDict()
    for name, site in model_trace.items():
        if site["type"] != "sample" or site["is_observed"]:
            continue
        if ENUM_DIM in site["infer"]:
            continue  # summed out of the potential
        if site["fn"].support.is_discrete:
            if site.get("_control_flow"):
                hint = (
                    f"it is inside `{site['_control_flow']}`, where enumeration is "
                    "not supported: sum it out by hand there (in `scan`, a forward "
                    "algorithm in the carry)"
                )
            elif not site["fn"].has_enumerate_support:
                hint = (
                    "its distribution has no enumerate_support: marginalise it by hand"
                )
            else:
                hint = (
                    "mark it infer={'enumerate': 'parallel'} (or wrap the model in "
                    "infer.config_enumerate) to sum it out"
                )
            raise ValueError(
                f"sample site '{name}' is a discrete latent "
                f"variable ({type(site['fn']).__name__}); "
                "gradient-based inference needs continuous latents: "
                f"{hint}, or condition on it."
            )
        latent[name] = site
    return latent


def _value_and_grad(fn, forward_mode):
    if not forward_mode:
        return jax.value_and_grad(fn)
    return partial(value_and_jacfwd, fn)


def find_valid_initial_params(
    rng_key: PRNGKeyArray,
    model: Callable,
    *,
    init_strategy: Callable = init_to_uniform,
    model_args: tuple = (),
    model_kwargs: dict | None = None,
    forward_mode_differentiation: bool = False,
    validate_grad: bool = True,
) -> tuple[ParamInfo, Bool[Array, ""]]:
    """Draw initial unconstrained parameters until potential (and gradient) are finite.

    The retry loop is a ``lax.while_loop`` (at most 100 tries), so this runs under
    ``jit`` in one compiled call. If no valid point is found the error names the first
    site whose log-density, or the potential's gradient with respect to it, is not
    finite (eagerly a ``RuntimeError``; under ``jit`` via ``eqx.branched_error_if``).

    Returns:
        ``(ParamInfo(z, potential_energy, z_grad), is_valid)``.
    """
    model_kwargs = {} if model_kwargs is None else model_kwargs
    model = maybe_enumerate(model, model_args, model_kwargs)

    def draw(key):
        init_model = substitute(seed(model, key), substitute_fn=init_strategy)
        tr = trace(init_model).get_trace(*model_args, **model_kwargs)
        return {
            name: biject_to(site["fn"].support).inv(site["value"])
            for name, site in _latent_sites(tr).items()
        }

    return _retry_until_valid(
        rng_key,
        draw,
        model,
        model_args,
        model_kwargs,
        forward_mode_differentiation,
        validate_grad,
    )


def _retry_until_valid(
    rng_key,
    draw,
    model,
    model_args,
    model_kwargs,
    forward_mode,
    validate_grad,
    zeros=None,
):
    """Call `draw(key)` with fresh keys until potential (and gradient) are finite.

    `zeros`: the initial `(z, pe, grad, ok)` carry; traced from `draw` if None.
    """
    pe_fn = partial(potential_energy, model, model_args, model_kwargs)
    vg = _value_and_grad(pe_fn, forward_mode)

    def attempt(key):
        z = draw(key)
        pe, grad = vg(z)
        ok = jnp.isfinite(pe)
        if validate_grad:
            ok = ok & jnp.all(
                jnp.array(
                    [jnp.all(jnp.isfinite(g)) for g in jtu.tree_leaves(grad)] or [True]
                )
            )
        if zeros is not None:
            pe = pe.astype(zeros[1].dtype)
        return z, pe, grad, ok

    if zeros is None:
        shapes = jax.eval_shape(attempt, rng_key)
        zeros = jtu.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def cond(state):
        i, _, _, _, _, ok = state
        return (~ok) & (i < MAX_INIT_TRIES)

    def body(state):
        i, key, *_ = state
        # a derived key per attempt: no threefry call of its own to compile
        # (salts from 2: the MCMC program derives `rng_key` itself with salt 1)
        return (i + 1, key, *attempt(derived_key(key, i + 2)))

    state = (jnp.array(0), rng_key, *zeros)
    _, _, z, pe, grad, ok = jax.lax.while_loop(cond, body, state)
    z = _raise_if_invalid(model, model_args, model_kwargs, z, grad, ok, validate_grad)
    return ParamInfo(z, pe, grad), ok


def _raise_if_invalid(model, model_args, model_kwargs, z, grad, ok, validate_grad):
    terms = _potential_terms(model, model_args, model_kwargs, z)
    problems = site_problems(terms, grad if validate_grad else {})
    messages = [m for m, _ in problems]
    bad = [b for _, b in problems]
    header = f"Cannot find valid initial parameters after {MAX_INIT_TRIES} tries: "
    messages = [header + m + " at every attempt." for m in messages] or [
        header + "no sites."
    ]
    bad = jnp.array(bad) if bad else jnp.zeros(1, bool)
    index = jnp.argmax(bad)
    if isinstance(ok, jax.core.Tracer):
        leaves, treedef = jtu.tree_flatten(z)
        if leaves:
            leaves[0] = eqx.branched_error_if(leaves[0], ~ok, index, tuple(messages))
        return jtu.tree_unflatten(treedef, leaves)
    if not bool(ok):
        raise RuntimeError(f"{messages[int(index)]} Last attempt (unconstrained): {z}")
    return z


def site_problems(terms: dict, grad: dict) -> list:
    """`(message, flag)` per site: its log-density term, then its gradient."""
    problems = [
        (f"the log-density of site '{name}' is not finite", ~jnp.isfinite(lp))
        for name, lp in terms.items()
    ]
    return problems + [
        (
            f"the gradient of the potential w.r.t. site '{name}' is not finite",
            ~jnp.all(jnp.isfinite(g)),
        )
        for name, g in grad.items()
    ]


def _is_batched_key(key):
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.ndim >= 1
    return key.ndim >= 2


def initialize_model(
    rng_key: PRNGKeyArray | Key[Array, " chains"] | UInt32[Array, "chains 2"],
    model: Callable,
    *,
    init_strategy: Callable = init_to_uniform,
    dynamic_args: bool = False,
    model_args: tuple = (),
    model_kwargs: dict | None = None,
    forward_mode_differentiation: bool = False,
    validate_grad: bool = True,
) -> ModelInfo:
    """Find a valid initial point; build ``potential_fn`` and ``postprocess_fn``.

    Args:
        rng_key: a key, or a batch of keys (one init per key, e.g. per chain).
        model: the model function.
        init_strategy: e.g. ``init_to_uniform`` or ``init_to_median(num_samples=15)``.
        dynamic_args: if True, ``potential_fn(*args, **kwargs)`` and
            ``postprocess_fn(*args, **kwargs)`` return the functions for new model
            arguments (so data can change without rebuilding the sampler).
        model_args, model_kwargs: arguments of the model used for initialisation.
        forward_mode_differentiation: use forward-mode AD for the gradient.
        validate_grad: also require a finite gradient at the initial point.

    Returns:
        ``ModelInfo(param_info, potential_fn, postprocess_fn, model_trace)``;
        ``potential_fn(z)`` is differentiable in the unconstrained dict ``z``.
    """
    model_kwargs = {} if model_kwargs is None else model_kwargs
    model = maybe_enumerate(model, model_args, model_kwargs)
    find = partial(
        find_valid_initial_params,
        model=model,
        init_strategy=init_strategy,
        model_args=model_args,
        model_kwargs=model_kwargs,
        forward_mode_differentiation=forward_mode_differentiation,
        validate_grad=validate_grad,
    )
    with explain_differentiation_errors():
        if _is_batched_key(rng_key):
            param_info, _ = jax.vmap(lambda k: find(k))(rng_key)
            first_z = jtu.tree_map(lambda x: x[0], param_info.z)
        else:
            param_info, _ = find(rng_key)
            first_z = param_info.z
    model_trace = _constrained_trace(model, model_args, model_kwargs, first_z)
    if dynamic_args:

        def potential_fn(*args, **kwargs):
            return partial(potential_energy, model, args, kwargs)

        def postprocess_fn(*args, **kwargs):
            return partial(constrain_fn, model, args, kwargs, return_deterministic=True)
    else:
        potential_fn = partial(potential_energy, model, model_args, model_kwargs)
        postprocess_fn = partial(
            constrain_fn, model, model_args, model_kwargs, return_deterministic=True
        )
    return ModelInfo(param_info, potential_fn, postprocess_fn, model_trace)
