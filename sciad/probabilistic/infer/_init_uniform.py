"""`init_to_uniform` without the model: the initial point as one flat draw.

`init_to_uniform` draws every latent site uniformly in unconstrained space, so
the initial point of a chain can be drawn as one flat vector and unravelled,
without tracing the model with per-site seeds: one random-number call instead
of two per site and no forward pass of the model besides the potential's own.
The distribution is the same; the compiled init is much smaller (see
`docs/inference.md`, "First-call compile size").
"""

from functools import partial

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jax.flatten_util import ravel_pytree

from ..._custom_types import Array, Bool
from ..distributions.transforms import biject_to
from ..handlers import seed, substitute, trace
from ._enum import maybe_enumerate
from ._init_strategies import init_to_feasible, init_to_uniform
from .util import ParamInfo, _latent_sites, _retry_until_valid


def uniform_radius(init_strategy) -> float | None:
    """The radius of `init_to_uniform` (`init_to_feasible`: 0), else None."""
    if init_strategy is init_to_uniform:
        return 2.0
    if init_strategy is init_to_feasible:
        return 0.0
    if (
        isinstance(init_strategy, partial)
        and init_strategy.func is init_to_uniform
        and not init_strategy.args
        and set(init_strategy.keywords) <= {"radius"}
    ):
        return float(init_strategy.keywords.get("radius", 2.0))
    return None


def uniform_prototype(rng_key, model, init_strategy, model_args, model_kwargs):
    """Shapes of the unconstrained latent sites, if uniform init may skip the model.

    Returns None (use `find_valid_initial_params`) for any other strategy, or
    when a latent site already has a value (e.g. from `substitute`).
    """
    if uniform_radius(init_strategy) is None:
        return None
    model = maybe_enumerate(model, model_args, model_kwargs)
    preset = []

    def probe(site):
        if site["type"] == "sample" and not site["is_observed"]:
            preset.append(site["value"] is not None)
        return init_strategy(site)

    def shapes(key):
        tr = trace(substitute(seed(model, key), substitute_fn=probe)).get_trace(
            *model_args, **model_kwargs
        )
        return {
            name: biject_to(site["fn"].support).inv(site["value"])
            for name, site in _latent_sites(tr).items()
        }

    proto = jax.eval_shape(shapes, rng_key)
    return None if any(preset) else proto


def find_valid_uniform_params(
    rng_key, model, prototype, radius, model_args, model_kwargs, forward_mode=False
) -> tuple[ParamInfo, Bool[Array, ""]]:
    """`find_valid_initial_params` for `init_to_uniform(radius)`, one draw per try.

    Equal in distribution to the per-site draws (each unconstrained coordinate
    is uniform on (-radius, radius)); `prototype` is `uniform_prototype`'s.
    """
    model = maybe_enumerate(model, model_args, model_kwargs)
    zeros = jtu.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), prototype)
    flat, unravel = ravel_pytree(zeros)

    def draw(key):
        return unravel(jr.uniform(key, flat.shape, flat.dtype, -radius, radius))

    # the loop's initial carry, built without tracing the potential once more
    carry = (zeros, jnp.zeros((), flat.dtype), zeros, jnp.asarray(False))
    return _retry_until_valid(
        rng_key, draw, model, model_args, model_kwargs, forward_mode, True, carry
    )
