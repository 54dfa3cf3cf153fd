r"""`infer_discrete`: draw enumerated discrete sites from their posterior.

After NUTS has sampled a model's continuous sites with its discrete sites summed
out (parallel enumeration), the discrete sites' conditional posterior given one
draw of the continuous ones is recovered by *forward-filter backward-sample*
over the same variable elimination (`_enum.eliminate`): the forward pass keeps,
for each eliminated site, the sum of the log-factors using it before the
reduction; walking the sites backwards, each is drawn (Gumbel-max) from its
factor conditioned on the values already drawn for the sites eliminated after
it. With `temperature=0` the reduction is a max instead of a
log-sum-exp and the draw an argmax: the jointly most probable assignment
(Viterbi, max-product). NumPyro's `numpyro.contrib.funsor.infer_discrete` does
the same with funsor.

References:
    Obermeyer, Bingham, Jankowiak, et al., "Tensor Variable Elimination for
    Plated Factor Graphs", ICML 2019, arXiv:1902.03210 (section 5: sampling).
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from .._enum import enum
from ..handlers import _sealed, seed, substitute, trace
from ._enum import eliminate, enumerated_sites, maybe_enumerate

__all__ = ["infer_discrete"]


def infer_discrete(
    fn: Callable | None = None,
    first_available_dim: int | None = None,
    temperature: int = 1,
    rng_key=None,
):
    """A model whose enumerated discrete sites are drawn from their posterior.

    As NumPyro's `infer_discrete`: the returned callable runs `fn` once with
    its sites marked for parallel enumeration (`config_enumerate`) summed
    out, draws every such site from its posterior given the rest of the
    trace (`temperature=1`) or takes the most probable joint assignment
    (`temperature=0`), then runs `fn` again with those values substituted,
    as ordinary sample sites. The continuous sites keep the values of the
    first run, so give them inside: `infer_discrete(condition(model,
    draw), ...)`, or use `Predictive(model, samples, infer_discrete=True)`,
    which does that for every posterior draw. (The first run is hidden from
    handlers outside, as in NumPyro: a `substitute` wrapped around the result
    would not reach it.)

    Args:
        fn: the model; None returns a decorator.
        first_available_dim: the rightmost dim free for enumeration (a
            negative int, `-max_plate_nesting - 1`); found by probing the
            model when None.
        temperature: 1 to sample, 0 for the most probable assignment.
        rng_key: PRNG key; required for `temperature=1` and used to seed the
            model's own unconditioned sample sites.

    On a chain declared with `markov` (an HMM) this is forward filtering,
    backward sampling; with `temperature=0`, the Viterbi path.
    """
    if temperature not in (0, 1):
        raise ValueError(
            "infer_discrete: `temperature` must be 1 (sample) or 0 (most "
            f"probable assignment); got {temperature!r}."
        )
    if temperature == 1 and rng_key is None:
        raise ValueError("infer_discrete: `temperature=1` needs an `rng_key`.")
    if first_available_dim is not None and (
        not isinstance(first_available_dim, int) or first_available_dim >= 0
    ):
        raise ValueError(
            "infer_discrete: `first_available_dim` must be a negative int "
            f"(-max_plate_nesting - 1) or None; got {first_available_dim!r}."
        )
    if fn is None:
        return functools.partial(
            infer_discrete,
            first_available_dim=first_available_dim,
            temperature=temperature,
            rng_key=rng_key,
        )

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        values = _posterior_values(
            fn, first_available_dim, temperature, rng_key, args, kwargs
        )

        def fill(site):
            if site["type"] != "sample" or site["name"] not in values:
                return None
            return _natural_shape(site, values[site["name"]])

        return substitute(fn, substitute_fn=fill)(*args, **kwargs)

    return wrapped


def _posterior_values(fn, first_dim, temperature, rng_key, args, kwargs) -> dict:
    """Every sample site's value: enumerated ones drawn, the others as run."""
    key_model = key_draw = None
    if rng_key is not None:
        key_model, key_draw = jr.split(rng_key)
    model = fn if key_model is None else seed(fn, key_model)
    # hidden from outer handlers: the enumeration probe's run and this one
    with _sealed():
        if first_dim is None:
            # probed on `fn`, whose answer is cached, not on the seeded copy
            # (a new object per call, which would be probed every time)
            probed = maybe_enumerate(fn, args, kwargs)
            if isinstance(probed, enum):
                first_dim = probed.first_available_dim
        if first_dim is not None:
            model = enum(model, first_available_dim=first_dim)
        else:  # nothing to enumerate, or the probe's error to report
            model = maybe_enumerate(model, args, kwargs)
        tr = trace(model).get_trace(*args, **kwargs)
    values = {
        name: site["value"]
        for name, site in tr.items()
        if site["type"] == "sample" and not site["is_observed"]
    }
    dims = enumerated_sites(tr)
    if not dims:
        return values
    reduce = _logsumexp if temperature == 1 else _max
    _, records = eliminate(tr, reduce)
    drawn = {}  # site -> index array (size 1 at every enum dim)
    keys = [None] * len(records)  # no noise: argmax (temperature 0)
    if temperature == 1:
        keys = list(jr.split(key_draw, len(records)))
    for record, key in zip(reversed(records), keys, strict=True):
        drawn[record.name] = _draw(record, drawn, key)
    ndim = -min(dims.values())
    for name, dim in dims.items():
        support = tr[name]["value"]
        support = jnp.reshape(support, (1,) * (ndim - support.ndim) + support.shape)
        index = drawn.get(name, jnp.zeros((1,) * ndim, jnp.int32))
        values[name] = jnp.take_along_axis(
            jnp.broadcast_to(support, _with(index.shape, dim, support.shape[dim])),
            index,
            axis=dim,
        )
    return values


def _draw(record, drawn: dict, key):
    """Draw the record's site given the values drawn for the sites after it."""
    array = record.array
    for name, dim in record.dims.items():
        if name != record.name and name in drawn:
            target = _with(array.shape, dim, 1)
            index = jnp.broadcast_to(drawn[name], target)
            array = jnp.take_along_axis(array, index, axis=dim)
    axis = record.dims[record.name]
    if key is not None:
        array = array + jr.gumbel(key, array.shape, array.dtype)
    return jnp.argmax(array, axis=axis, keepdims=True).astype(jnp.int32)


def _with(shape, dim, size) -> tuple:
    shape = list(shape)
    shape[dim] = size
    return tuple(shape)


def _natural_shape(site, value):
    """`value` (enum dims of size 1 on the left) in the site's own shape."""
    shape = site["fn"].shape(site["kwargs"].get("sample_shape", ()))
    extra = value.ndim - len(shape)
    if extra > 0:
        if any(n != 1 for n in value.shape[:extra]):
            raise ValueError(
                f"infer_discrete: site '{site['name']}' has value shape "
                f"{value.shape} in the enumerated run, wider than its shape "
                f"{shape}: a latent site downstream of an enumerated one "
                "cannot be enumerated over; observe it, or enumerate it too."
            )
        value = jnp.reshape(value, value.shape[extra:])
    return jnp.broadcast_to(value, shape)


def _logsumexp(array, axes):
    return jax.scipy.special.logsumexp(array, axis=axes, keepdims=True)


def _max(array, axes):
    return jnp.max(array, axis=axes, keepdims=True)
