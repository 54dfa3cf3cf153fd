"""`cond`: a `jax.lax.cond` whose branches may hold `sample` sites (NumPyro's `cond`).

``cond(pred, true_fun, false_fun, operand)`` traces both branches, runs the one
`pred` selects, and records its sites once, as the trace of the model that took
that branch. Both branches must record the same sites (names, types and
distribution families; parameters may differ), as `lax.cond` needs one output
structure. Handlers meet the branches as they meet `scan`'s body (see
`_scan`): `seed`, `substitute`, `condition`, `replay`, `scope` and `reparam`
act inside, `trace`, `scale`, `mask` and `block` on the recorded sites.
"""

from collections.abc import Callable

import jax

from ._primitives import _PYRO_STACK, _new_msg, apply_stack
from ._scan import _AtStep, _split, recorded_site

__all__ = ["cond"]


def cond(pred, true_fun: Callable, false_fun: Callable, operand):
    """`jax.lax.cond(pred, true_fun, false_fun, operand)` where the branches may sample.

    Example (a site whose prior depends on a latent sign)::

        def model():
            cluster = sample("cluster", dist.Normal())
            return cond(cluster > 0,
                        lambda _: sample("x", dist.Normal(20.0, 1.0)),
                        lambda _: sample("x", dist.Normal(0.0, 1.0)),
                        None)

    Returns the selected branch's value. Enumerated discrete sites in a branch
    are not supported (each raises).
    """
    if not _PYRO_STACK:
        return jax.lax.cond(pred, true_fun, false_fun, operand)
    msg = _new_msg(
        "control_flow", None, kwargs={"rng_key": None, "per_step_handlers": []}
    )
    apply_stack(msg)
    key, handlers = msg["kwargs"]["rng_key"], msg["kwargs"]["per_step_handlers"]
    records = {}
    branches = [
        _branch(fn, which, key, handlers, records)
        for which, fn in (("true_fun", true_fun), ("false_fun", false_fun))
    ]
    try:
        value, recorded = jax.lax.cond(pred, *branches, operand)
    except TypeError:  # the branches' outputs differ in structure
        _check_same_sites(records)
        raise
    _check_same_sites(records)  # same structure, but perhaps other names
    for static, dynamic in zip(records["true_fun"], recorded, strict=True):
        apply_stack(recorded_site(static, dynamic, "cond", lambda fn: fn))
    return value


def _branch(fn, which, key, per_step, records):
    from .handlers import _sealed, seed, trace

    def run(operand):
        branch = fn if key is None else seed(fn, rng_seed=key)
        for handler in per_step:  # innermost first, as on the stack
            branch = _AtStep(branch, handler, None, None)
        with _sealed(), trace() as tr:
            value = branch(operand)
        split = [_split(site, "cond") for site in tr.values()]
        split = [(s, d) for s, d in split if s is not None]
        records[which] = [s for s, _ in split]
        return value, [d for _, d in split]

    return run


def _check_same_sites(records):
    """Raise a clear error when the branches recorded different sites."""
    if len(records) < 2:
        return
    sides = {
        which: [(s["type"], s["name"]) for s in recs] for which, recs in records.items()
    }
    if sides["true_fun"] != sides["false_fun"]:
        raise ValueError(
            "cond: both branches must record the same sites, in the same order; "
            f"true_fun records {sides['true_fun']}, false_fun {sides['false_fun']}."
        )
    families = {
        which: [type(s.get("fn_static")).__name__ for s in recs]
        for which, recs in records.items()
    }
    if families["true_fun"] != families["false_fun"]:
        raise ValueError(
            "cond: both branches must draw each site from the same family; "
            f"true_fun uses {families['true_fun']}, false_fun "
            f"{families['false_fun']}."
        )
