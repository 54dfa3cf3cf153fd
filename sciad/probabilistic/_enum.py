"""Parallel enumeration of discrete latent sites (NumPyro's ``enum``).

A site marked ``infer={"enumerate": "parallel"}`` (or by :func:`config_enumerate`)
whose distribution has ``enumerate_support`` gets, instead of a draw, *all* its
values (``0, ..., K-1`` for a Categorical) laid out along a fresh batch dimension
to the left of every plate: the first such site uses ``first_available_dim`` (NumPyro:
``-max_plate_nesting - 1``), the next one dim further left, and so on. Everything
downstream broadcasts over that dimension, so one run of the model computes the
log-density for every assignment at once; :mod:`sciad.probabilistic.infer` then
sums the assignments out (``logsumexp``) plate by plate.
"""

import functools
from collections.abc import Callable

import jax.numpy as jnp

from ._primitives import Messenger

__all__ = ["config_enumerate", "enum", "markov"]

# Key in a site's ``infer`` dict: the (negative) batch dim its enumeration occupies.
ENUM_DIM = "_enumerate_dim"


def _is_enumerable(msg) -> bool:
    return (
        msg["type"] == "sample"
        and not msg["is_observed"]
        and msg["value"] is None
        and msg["infer"].get("enumerate") == "parallel"
        and msg["fn"].has_enumerate_support
    )


class enum(Messenger):
    """Enumerate marked discrete sites in parallel along fresh left batch dims.

    Args:
        fn: the model.
        first_available_dim: the rightmost dim free for enumeration, a negative int;
            ``-max_plate_nesting - 1`` for a model whose plates use dims -1 ... .

    Each enumerated site's value is its support (``enumerate_support``, e.g.
    ``arange(K)``) shaped ``(K,) + (1,) * (-dim - 1)`` and its ``infer`` dict
    records the dim under ``"_enumerate_dim"``.
    """

    def __init__(
        self, fn: Callable | None = None, first_available_dim: int | None = None
    ):
        if first_available_dim is None or first_available_dim >= 0:
            raise ValueError(
                "enum: `first_available_dim` must be a negative int "
                f"(-max_plate_nesting - 1); got {first_available_dim!r}"
            )
        self.first_available_dim = int(first_available_dim)
        self._next_dim = self.first_available_dim
        super().__init__(fn)

    def __enter__(self):
        self._next_dim = self.first_available_dim
        self._free = []
        return super().__enter__()

    def _allocate(self) -> int:
        if self._free:  # released by a `markov` step: the one nearest the plates
            dim = max(self._free)
            self._free.remove(dim)
        else:
            dim = self._next_dim
            self._next_dim -= 1
        if _MARKOV:
            _MARKOV[-1].steps[-1].append((self, dim))
        return dim

    def process_message(self, msg):
        if not _is_enumerable(msg):
            return
        # Batch dims left of the plates are checked when the log-density is summed
        # (infer._enum): here the batch shape may already carry enumeration dims.
        support = msg["fn"].enumerate_support(expand=False)
        size = support.shape[0]
        dim = self._allocate()
        # the support's values (not their indices: DiscreteUniform(-1, 2) is
        # -1, ..., 2), one value per position along the site's dim
        value = jnp.reshape(support, (size,) + (1,) * (-dim - 1))
        msg["value"] = value
        msg["infer"] = {**msg["infer"], ENUM_DIM: dim}


# active `markov` loops, innermost last
_MARKOV: list = []


class markov:
    """Declare a Markov chain: ``for t in markov(range(T)): ...`` (NumPyro's).

    Under enumeration, a discrete site sampled in step ``t`` may only be used by
    the sites of steps ``t, ..., t + history``; after that its enumeration dim
    is recycled for later steps. A chain of ``T`` sites with ``K`` values then
    costs ``T`` tensors of ``K**(history + 1)`` entries instead of one of
    ``K**T``, and the sum over all paths is the forward algorithm (variable
    elimination in step order; `infer_discrete` then samples backwards, or
    takes the Viterbi path with ``temperature=0``). Outside enumeration it is
    a plain iterator.

    Only the iterator form over a Python loop: no ``with markov():`` and no
    vectorised markov over a plate (``markov(plate)``) or ``scan``.
    """

    def __init__(self, iterable, history: int = 1):
        if not isinstance(history, int) or history < 1:
            raise ValueError(f"markov: `history` must be an int >= 1; got {history!r}")
        if callable(iterable) and not hasattr(iterable, "__iter__"):
            raise TypeError(
                "markov: wrap the loop's iterable, `for t in markov(range(T))`; "
                "the decorator and context-manager forms are not supported."
            )
        self.iterable = iterable
        self.history = history
        self.steps: list = []

    def __iter__(self):
        _MARKOV.append(self)
        self.steps = []
        try:
            for item in self.iterable:
                self.steps.append([])
                if len(self.steps) > self.history + 1:
                    for handler, dim in self.steps.pop(0):
                        handler._free.append(dim)
                yield item
        finally:
            _MARKOV.remove(self)


def _config_enumerate_fn(site, default):
    if (
        site["type"] == "sample"
        and not site["is_observed"]
        and site["fn"].has_enumerate_support
    ):
        return {"enumerate": site["infer"].get("enumerate", default)}
    return {}


def config_enumerate(fn: Callable | None = None, default: str = "parallel") -> Callable:
    """Mark every discrete latent site with enumerate support for enumeration.

    Use as ``config_enumerate(model)`` or as a decorator. Sites that already have
    an ``"enumerate"`` entry keep it. Only ``default="parallel"`` is supported (as
    in NumPyro).
    """
    if default != "parallel":
        raise ValueError(
            f"config_enumerate: only default='parallel' is supported; got {default!r}"
        )
    if fn is None:
        return functools.partial(config_enumerate, default=default)
    from .handlers import infer_config

    return infer_config(fn, functools.partial(_config_enumerate_fn, default=default))
