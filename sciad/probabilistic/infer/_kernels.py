"""`HMC` and `NUTS`: configured samplers for the `MCMC` driver (NumPyro API).

A kernel object holds configuration only. `setup` turns a model (or a raw
potential) plus the run's arguments into a `Problem`: functions that build the
potential, the postprocessing and the initial position *from traced
arguments*, so that the driver compiles one program per model and argument
shapes and reuses it for new data.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import numpy as np

from . import _hmc, _nuts
from ._init_strategies import init_to_uniform


class Problem(NamedTuple):
    """Traceable ingredients of a run; `args` are the model's (args, kwargs)."""

    potential_fn: Callable  # (args, kwargs) -> potential_fn(z)
    postprocess_fn: Callable | None  # (args, kwargs) -> fn(z) -> constrained dict
    init_fn: Callable | None  # (key, args, kwargs) -> (z, pe, grad), traceable
    prototype_z: Any  # the initial position, or its shapes (ShapeDtypeStructs)
    model: Callable | None = None  # None for a raw `potential_fn`


def _as_dense_mass(value):
    """`True`/`False`, or NumPyro's blocks: a list of tuples of site names."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    blocks = tuple(value) if isinstance(value, list | tuple) else None
    if (
        not blocks
        or not all(isinstance(b, list | tuple) and b for b in blocks)
        or not all(isinstance(n, str) for b in blocks for n in b)
    ):
        raise TypeError(
            "`dense_mass` must be True, False or a non-empty list of non-empty "
            f"tuples of site names (NumPyro's blocks); got {value!r}."
        )
    return tuple(tuple(b) for b in blocks)


class AbstractHMCKernel(eqx.Module):
    """Shared configuration of the gradient-based kernels."""

    model: Callable | None = eqx.field(static=True, default=None)
    potential_fn: Callable | None = eqx.field(static=True, default=None)
    step_size: float = eqx.field(static=True, default=1.0)
    adapt_step_size: bool = eqx.field(static=True, default=True)
    adapt_mass_matrix: bool = eqx.field(static=True, default=True)
    dense_mass: bool | tuple[tuple[str, ...], ...] = eqx.field(
        static=True, default=False, converter=_as_dense_mass
    )
    target_accept_prob: float = eqx.field(static=True, default=0.8)
    init_strategy: Callable = eqx.field(static=True, default=init_to_uniform)

    def __check_init__(self):
        if (self.model is None) == (self.potential_fn is None):
            raise ValueError("Give exactly one of `model` and `potential_fn`.")
        for name in ("model", "potential_fn", "init_strategy"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"`{name}` must be callable; got {type(value).__name__}."
                )
        if not self.step_size > 0:
            raise ValueError(f"`step_size` must be positive; got {self.step_size}.")
        if not 0 < self.target_accept_prob < 1:
            got = self.target_accept_prob
            raise ValueError(f"`target_accept_prob` must be in (0, 1); got {got}.")

    def build_kernel(self, potential_fn: Callable) -> Callable:
        raise NotImplementedError

    def mass_matrix_mask(self, prototype_z) -> np.ndarray | None:
        """The block structure of a `dense_mass` given as site-name tuples.

        Returns None for `dense_mass=True`/`False`, else a boolean `(d, d)`
        matrix over the flat position (sites in `ravel_pytree` order): True
        within each block and on the diagonal. The adapted inverse mass matrix
        is zero elsewhere, so each block is dense and every other site diagonal.
        """
        if isinstance(self.dense_mass, bool):
            return None
        if not isinstance(prototype_z, dict):
            raise ValueError(
                "`dense_mass` as site-name tuples needs a model, or a dict "
                f"position for `potential_fn`; got a {type(prototype_z).__name__}."
            )
        # `ravel_pytree` lays a dict's leaves out in sorted key order
        sizes = {
            k: int(np.prod(getattr(v, "shape", np.shape(v))))
            for k, v in sorted(prototype_z.items())
        }
        offsets = dict(zip(sizes, np.cumsum([0, *sizes.values()]), strict=False))
        mask = np.eye(sum(sizes.values()), dtype=bool)
        seen: dict = {}
        for block in self.dense_mass:
            idx = []
            for name in block:
                if name not in sizes:
                    raise ValueError(
                        f"`dense_mass` names site {name!r}, which is not a latent "
                        f"site; the latent sites are {sorted(sizes)}."
                    )
                if name in seen:
                    raise ValueError(
                        f"`dense_mass`: site {name!r} is in two blocks, "
                        f"{seen[name]} and {block}."
                    )
                seen[name] = block
                start = int(offsets[name])
                idx.extend(range(start, start + sizes[name]))
            mask[np.ix_(idx, idx)] = True
        return mask

    def setup(self, rng_key, args: tuple, kwargs: dict, init_params=None) -> Problem:
        """Eager, once per model and argument shapes: build the `Problem`."""
        if self.potential_fn is not None:
            if init_params is None:
                raise ValueError(
                    "A kernel built from `potential_fn` needs `init_params` in "
                    "`MCMC.run(..., init_params=...)`."
                )
            pot = self.potential_fn
            return Problem(lambda a, k: pot, None, None, init_params)
        from functools import partial

        from . import _init_uniform, util  # the modelling layer (issue 3)

        strategy = self.init_strategy
        model = self.model
        proto = _init_uniform.uniform_prototype(rng_key, model, strategy, args, kwargs)
        if proto is not None:
            radius = _init_uniform.uniform_radius(strategy)

            def init_fn(key, a, k):
                found = _init_uniform.find_valid_uniform_params
                info, _ = found(key, model, proto, radius, a, k)
                return info

            prototype = proto
        else:

            def init_fn(key, a, k):
                # a lax.while_loop over init attempts; under jit a failure
                # raises an error naming the offending site
                info, _ = util.find_valid_initial_params(
                    key, model, init_strategy=strategy, model_args=a, model_kwargs=k
                )
                return info  # ParamInfo(z, potential_energy, z_grad)

            # tracing only (no compilation): the shapes of the latent position
            shapes = jax.eval_shape(lambda key: init_fn(key, args, kwargs), rng_key)
            prototype = shapes.z
        return Problem(
            lambda a, k: partial(util.potential_energy, model, a, k),
            lambda a, k: partial(
                util.constrain_fn, model, a, k, return_deterministic=True
            ),
            init_fn,
            prototype,
            model,
        )


class HMC(AbstractHMCKernel):
    r"""Hamiltonian Monte Carlo with a fixed trajectory length.

    Args:
        model: a model function (`sample` statements), or None.
        potential_fn: negative log density of an unconstrained position pytree,
            used instead of `model`.
        step_size: initial leapfrog step size.
        trajectory_length: integration time $L\epsilon$.
        num_steps: a fixed number of leapfrog steps $L$ instead (as NumPyro's
            `num_steps`; `trajectory_length` is then ignored).
        adapt_step_size: dual-averaging step size adaptation during warmup.
        adapt_mass_matrix: Welford mass-matrix adaptation during warmup.
        dense_mass: dense rather than diagonal mass matrix; or, as in NumPyro,
            a list of tuples of site names, e.g. `[("a", "b"), ("c",)]`: each
            tuple's sites share one dense block, every other site is diagonal.
            (The blocks are held in one masked `d x d` matrix, so a step costs
            what `dense_mass=True` costs.)
        target_accept_prob: target mean acceptance probability.
        init_strategy: initialisation strategy (default `init_to_uniform`).

    References:
        Neal (2011), arXiv:1206.1901.
    """

    trajectory_length: float = eqx.field(static=True, default=2 * math.pi)
    num_steps: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not 0 < self.trajectory_length < math.inf:
            raise ValueError(
                "`trajectory_length` must be positive and finite; got "
                f"{self.trajectory_length}."
            )
        _hmc.check_num_steps(self.num_steps)

    def build_kernel(self, potential_fn):
        return _hmc.build_hmc_kernel(
            potential_fn, self.trajectory_length, num_steps=self.num_steps
        )


class NUTS(AbstractHMCKernel):
    r"""The No-U-Turn Sampler (iterative, multinomial, generalised U-turn).

    Same arguments as `HMC` without `trajectory_length`, plus `max_tree_depth`:
    a trajectory has at most `2**max_tree_depth - 1` leapfrog steps.

    References:
        Hoffman & Gelman (2014), arXiv:1111.4246; Betancourt (2017),
        arXiv:1701.02434; Phan et al. (2019), arXiv:1912.11554.
    """

    max_tree_depth: int = eqx.field(static=True, default=10)

    def __check_init__(self):
        _nuts.check_max_tree_depth(self.max_tree_depth)

    def build_kernel(self, potential_fn):
        return _nuts.build_nuts_kernel(potential_fn, self.max_tree_depth)
